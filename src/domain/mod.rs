//! Parsed values: each type here is built only through its `parse`, so holding one means it
//! is valid. This module knows nothing of HTTP or SQL.

pub mod connection;
pub mod email;
pub mod names;
pub mod password;
pub mod role;
pub mod secret;
pub mod store_hash;
pub mod time_zone;

pub use connection::{AuthType, ConnectionName, Scopes};
pub use email::Email;
pub use names::CompanyName;
pub use password::Password;
pub use role::Role;
pub use secret::Secret;
pub use store_hash::StoreHash;
pub use time_zone::TimeZone;

/// Why a value given by a user was refused; the message is shown to that user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct DomainError(pub String);

impl DomainError {
    pub fn new(message: impl Into<String>) -> Self {
        Self(message.into())
    }
}
