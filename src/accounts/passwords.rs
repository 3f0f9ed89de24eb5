//! argon2id password hashing, run off the async threads (it is deliberately slow).

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

use crate::domain::{Password, Secret};

/// A hash of a password nobody has, verified when the account does not exist so that a
/// wrong email takes as long as a wrong password.
const DUMMY_HASH: &str = "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$Dsq3Cv2tqk0nNm1gk+Wh3o6PwOg5t6JivRAx+RwdnXo";

pub async fn hash(password: &Password) -> anyhow::Result<String> {
    let secret = password.secret().clone();
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(secret.expose().as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| anyhow::anyhow!("cannot hash the password: {e}"))
    })
    .await?
}

/// True if `candidate` matches `stored` (a PHC string); `None` verifies against a dummy hash
/// and returns false.
pub async fn verify(candidate: &Secret, stored: Option<String>) -> bool {
    let candidate = candidate.clone();
    tokio::task::spawn_blocking(move || {
        let hash = stored.as_deref().unwrap_or(DUMMY_HASH);
        let ok = Argon2::default()
            .verify_password(candidate.expose().as_bytes(), hash)
            .is_ok();
        ok && stored.is_some()
    })
    .await
    .unwrap_or(false)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_wrong_passwords_fail() {
        let pw =
            Password::parse(Secret::new("correct horse battery".into()), "a@b.co").expect("ok");
        let stored = hash(&pw).await.expect("hash");
        assert!(stored.starts_with("$argon2id$"));
        assert!(verify(pw.secret(), Some(stored.clone())).await);
        assert!(!verify(&Secret::new("wrong horse battery".into()), Some(stored)).await);
        assert!(!verify(pw.secret(), None).await);
    }
}
