//! Standard Webhooks signing: secrets are `whsec_` + base64 of 32 random bytes; a message is
//! signed as `v1,<base64 HMAC-SHA256(secret bytes, "{id}.{timestamp}.{body}")>` and sent
//! with `webhook-id`, `webhook-timestamp` and `webhook-signature`. Must not log or print a
//! secret: it only ever lives in a `Secret`.

use base64::{Engine, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use sha2::Sha256;

use crate::domain::Secret;

pub const SECRET_PREFIX: &str = "whsec_";

/// A fresh signing secret (`whsec_…`).
pub fn generate_secret() -> Secret {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    Secret::new(format!("{SECRET_PREFIX}{}", STANDARD.encode(bytes)))
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("the signing secret is not a whsec_ secret")]
pub struct BadSecret;

/// The `webhook-signature` header value for one message.
pub fn sign(secret: &Secret, id: &str, timestamp: i64, body: &[u8]) -> Result<String, BadSecret> {
    let raw = secret
        .expose()
        .strip_prefix(SECRET_PREFIX)
        .ok_or(BadSecret)?;
    let key = zeroize::Zeroizing::new(STANDARD.decode(raw).map_err(|_| BadSecret)?);
    let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|_| BadSecret)?;
    mac.update(id.as_bytes());
    mac.update(b".");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    Ok(format!(
        "v1,{}",
        STANDARD.encode(mac.finalize().into_bytes())
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example from the Standard Webhooks specification's reference tests.
    #[test]
    fn signs_the_specification_example() {
        let secret = Secret::new("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw".into());
        let body = br#"{"test": 2432232314}"#;
        let sig = sign(&secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body).unwrap();
        assert_eq!(sig, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
    }

    #[test]
    fn secrets_are_fresh_and_well_formed() {
        let a = generate_secret();
        assert!(a.expose().starts_with("whsec_"));
        assert_ne!(a.expose(), generate_secret().expose());
        assert!(sign(&a, "msg_1", 1, b"{}").is_ok());
        assert_eq!(
            sign(&Secret::new("nope".into()), "m", 1, b""),
            Err(BadSecret)
        );
    }
}
