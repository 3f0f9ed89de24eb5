//! Connection values: its name, how it authenticates, and BigCommerce OAuth scopes.

use std::fmt;

use super::DomainError;

/// A connection's name, unique within its tenant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionName(String);

impl ConnectionName {
    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        super::names::display_name(raw, "Give the connection a name.").map(Self)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ConnectionName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// How a connection authenticates to BigCommerce.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuthType {
    /// Authorization-code flow with one of the tenant's OAuth client records.
    OAuth,
    /// A store-level API account: client id + access token.
    Token,
    /// The same credentials typed as username (client id) and password (access token).
    Basic,
}

impl AuthType {
    pub const ALL: [AuthType; 3] = [AuthType::OAuth, AuthType::Token, AuthType::Basic];

    pub fn parse(raw: &str) -> Result<Self, DomainError> {
        match raw.trim() {
            "oauth" => Ok(Self::OAuth),
            "token" => Ok(Self::Token),
            "basic" => Ok(Self::Basic),
            _ => Err(DomainError::new(
                "Choose how the connection signs in: OAuth 2.0, API token or Basic.",
            )),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::OAuth => "oauth",
            Self::Token => "token",
            Self::Basic => "basic",
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Self::OAuth => "OAuth 2.0",
            Self::Token => "API token",
            Self::Basic => "Basic (client id + access token)",
        }
    }
}

impl fmt::Display for AuthType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One BigCommerce OAuth scope cartbridge knows, with the control-panel permission it maps to.
pub struct ScopeInfo {
    pub name: &'static str,
    pub permission: &'static str,
}

/// Every scope offered in the wizard (the `_read_only` form allows GET only; the other
/// form covers reading too).
pub const KNOWN_SCOPES: &[ScopeInfo] = &[
    ScopeInfo {
        name: "store_v2_information_read_only",
        permission: "Information & settings: read-only",
    },
    ScopeInfo {
        name: "store_v2_information",
        permission: "Information & settings: modify",
    },
    ScopeInfo {
        name: "store_v2_products_read_only",
        permission: "Products: read-only",
    },
    ScopeInfo {
        name: "store_v2_products",
        permission: "Products: modify",
    },
    ScopeInfo {
        name: "store_inventory_read_only",
        permission: "Store inventory: read-only",
    },
    ScopeInfo {
        name: "store_inventory",
        permission: "Store inventory: modify",
    },
    ScopeInfo {
        name: "store_v2_orders_read_only",
        permission: "Orders: read-only",
    },
    ScopeInfo {
        name: "store_v2_orders",
        permission: "Orders: modify",
    },
    ScopeInfo {
        name: "store_v2_customers_read_only",
        permission: "Customers: read-only",
    },
    ScopeInfo {
        name: "store_v2_customers",
        permission: "Customers: modify",
    },
    ScopeInfo {
        name: "store_channel_settings_read_only",
        permission: "Channel settings: read-only",
    },
    ScopeInfo {
        name: "store_channel_settings",
        permission: "Channel settings: modify",
    },
];

/// What the four flows need, pre-checked in the wizard.
pub const DEFAULT_SCOPES: &[&str] = &[
    "store_v2_information_read_only",
    "store_v2_products_read_only",
    "store_v2_orders",
    "store_v2_customers",
    "store_channel_settings_read_only",
];

/// The control-panel permission for a scope, e.g. `Products: modify`.
pub fn permission_of(scope: &str) -> &'static str {
    KNOWN_SCOPES
        .iter()
        .find(|s| s.name == scope)
        .map(|s| s.permission)
        .unwrap_or("")
}

/// A set of known scopes, kept in `KNOWN_SCOPES` order, stored space-separated.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Scopes(Vec<&'static str>);

impl Scopes {
    /// Parses scope names (from checkboxes or a space-separated string); unknown names fail.
    pub fn parse<'a>(raw: impl IntoIterator<Item = &'a str>) -> Result<Self, DomainError> {
        let mut chosen = Vec::new();
        for name in raw
            .into_iter()
            .flat_map(|r| r.split([' ', '+', ',']))
            .filter(|s| !s.is_empty())
        {
            let known = KNOWN_SCOPES
                .iter()
                .find(|s| s.name == name)
                .ok_or_else(|| {
                    DomainError::new(format!(
                        "“{name}” is not a BigCommerce scope cartbridge knows."
                    ))
                })?;
            chosen.push(known.name);
        }
        let mut scopes: Vec<&'static str> = KNOWN_SCOPES
            .iter()
            .map(|s| s.name)
            .filter(|n| chosen.contains(n))
            .collect();
        scopes.dedup();
        Ok(Self(scopes))
    }

    pub fn defaults() -> Self {
        Self(
            KNOWN_SCOPES
                .iter()
                .map(|s| s.name)
                .filter(|n| DEFAULT_SCOPES.contains(n))
                .collect(),
        )
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn contains(&self, name: &str) -> bool {
        self.0.contains(&name)
    }

    /// Whether these scopes allow what `needed` allows (a modify scope covers its read-only form).
    pub fn grants(&self, needed: &str) -> bool {
        self.contains(needed)
            || needed
                .strip_suffix("_read_only")
                .is_some_and(|modify| self.contains(modify))
    }

    pub fn names(&self) -> &[&'static str] {
        &self.0
    }

    /// Space-separated, as BigCommerce writes scopes.
    pub fn to_text(&self) -> String {
        self.0.join(" ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(
            ConnectionName::parse("  Main store ").map(|n| n.0),
            Ok("Main store".into())
        );
        assert!(ConnectionName::parse("").is_err());
        assert!(ConnectionName::parse(&"n".repeat(101)).is_err());
    }

    #[test]
    fn auth_types_round_trip() {
        for t in AuthType::ALL {
            assert_eq!(AuthType::parse(t.as_str()), Ok(t));
        }
        assert!(AuthType::parse("password").is_err());
    }

    #[test]
    fn scopes_parse_in_every_written_form_and_reject_unknown_ones() {
        let s = Scopes::parse(["store_v2_orders+store_v2_products_read_only"]).expect("plus form");
        assert_eq!(s.to_text(), "store_v2_products_read_only store_v2_orders");
        assert_eq!(
            Scopes::parse(["store_v2_orders store_v2_orders"])
                .expect("dupes")
                .names()
                .len(),
            1
        );
        assert!(Scopes::parse(["store_v2_everything"]).is_err());
        assert!(
            s.grants("store_v2_orders_read_only"),
            "modify covers read-only"
        );
        assert!(
            !s.grants("store_v2_products"),
            "read-only does not cover modify"
        );
        assert_eq!(permission_of("store_v2_products"), "Products: modify");
        assert_eq!(Scopes::defaults().names().len(), DEFAULT_SCOPES.len());
    }
}
