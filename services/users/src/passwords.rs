//! Password hashing with argon2id (the crate's default parameters: 19 MiB, 2 passes).
//!
//! Hashing takes tens of milliseconds of CPU and megabytes of memory, so it runs on tokio's
//! blocking pool (never on an async worker), and a semaphore bounds how many run at once: a
//! burst of sign-ins queues instead of exhausting memory.

use std::sync::{LazyLock, OnceLock};

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use tokio::sync::Semaphore;

use crate::model::Password;

static SLOTS: LazyLock<Semaphore> = LazyLock::new(|| {
    let cores = std::thread::available_parallelism().map_or(2, |n| n.get());
    Semaphore::new(cores * 2)
});

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> anyhow::Result<T> {
    let _slot = SLOTS.acquire().await?;
    Ok(tokio::task::spawn_blocking(f).await?)
}

fn hash_now(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut rand::rngs::OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// The PHC string (`$argon2id$v=19$...`) of `password` with a fresh salt.
pub async fn hash(password: &Password) -> anyhow::Result<String> {
    let password = password.expose().to_string();
    blocking(move || hash_now(&password)).await?
}

/// A hash of nothing anyone knows, verified against when the e-mail is unknown so that a
/// wrong e-mail takes as long as a wrong password (no account enumeration by timing).
fn decoy() -> &'static str {
    static DECOY: OnceLock<String> = OnceLock::new();
    DECOY.get_or_init(|| {
        hash_now(&crate::model::new_uid()).expect("hashing a random password cannot fail")
    })
}

/// Whether `password` matches `stored`; with no stored hash, burns the same time and says no.
pub async fn verify(password: &str, stored: Option<String>) -> anyhow::Result<bool> {
    let password = password.to_string();
    blocking(move || {
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| decoy().to_string());
        let parsed =
            PasswordHash::new(&phc).map_err(|e| anyhow::anyhow!("stored hash is corrupt: {e}"))?;
        let matches = Argon2::default()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok();
        Ok(known && matches)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_verify_and_salts_differ() {
        let pw = Password::parse("correct horse").unwrap();
        let a = hash(&pw).await.unwrap();
        let b = hash(&pw).await.unwrap();
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b);
        assert!(verify("correct horse", Some(a.clone())).await.unwrap());
        assert!(!verify("wrong horse!", Some(a)).await.unwrap());
        assert!(!verify("correct horse", None).await.unwrap());
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_match() {
        assert!(
            verify("whatever1", Some("not-a-hash".into()))
                .await
                .is_err()
        );
    }
}
