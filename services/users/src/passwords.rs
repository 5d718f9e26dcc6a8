//! Password hashing with argon2id (the crate's default parameters: 19 MiB, 2 passes).
//!
//! Hashing takes tens of milliseconds of CPU and 19 MiB of memory, so it runs on tokio's
//! blocking pool (never on an async worker), and only [`slots`] hashes run at once: a burst of
//! sign-ins queues instead of exhausting memory.
//!
//! **Memory is fixed.** Each slot owns one reusable argon2 memory buffer, handed to the crate
//! with `hash_password_into_with_memory`. Allocating 19 MiB per hash on ever-new blocking
//! threads made the C allocator keep every buffer in per-thread arenas: 600 sign-ins took the
//! service from 8 MB to 1.5–1.9 GB of RSS, for good. With the pool the service needs its idle
//! RSS plus `slots × 19 MiB`, whatever the load (`tests/memory.rs` checks it).
//!
//! **Cancel-safe.** The slot's permit and its buffer travel into the blocking closure, and the
//! buffer goes back to the pool when the closure ends, panics included: a sign-in abandoned
//! by its client cannot leave the pool short. The pool's lock is held only to push or pop.

use std::sync::{Arc, LazyLock, Mutex, OnceLock, PoisonError};

use argon2::password_hash::{PasswordHash, SaltString};
use argon2::{Algorithm, Argon2, Block, Params, Version};
use base64::Engine;
use base64::engine::general_purpose::STANDARD_NO_PAD;
use tokio::sync::Semaphore;

use crate::model::Password;

/// How many hashes run at once: one per core (argon2 is CPU-bound; more only adds memory).
pub fn slots() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().max(2))
}

/// The memory one slot holds, in bytes (what the pool adds to the idle RSS at most).
pub fn memory_per_slot() -> usize {
    Params::DEFAULT.block_count() * std::mem::size_of::<Block>()
}

struct Pool {
    slots: Arc<Semaphore>,
    idle: Mutex<Vec<Vec<Block>>>,
}

static POOL: LazyLock<Pool> = LazyLock::new(|| Pool {
    slots: Arc::new(Semaphore::new(slots())),
    idle: Mutex::new(Vec::new()),
});

/// A buffer lent to one hash; back to the pool on drop.
struct Lent(Vec<Block>);

impl Lent {
    fn take() -> Lent {
        let idle = POOL
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        Lent(idle.unwrap_or_default())
    }

    /// At least `blocks` blocks (a stored hash with a larger cost grows this buffer once).
    fn blocks(&mut self, blocks: usize) -> &mut [Block] {
        if self.0.len() < blocks {
            self.0.resize(blocks, Block::default());
        }
        &mut self.0[..blocks]
    }
}

impl Drop for Lent {
    fn drop(&mut self) {
        let blocks = std::mem::take(&mut self.0);
        POOL.idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(blocks);
    }
}

/// Runs `f` with a slot's memory on the blocking pool.
async fn with_memory<T: Send + 'static>(
    f: impl FnOnce(&mut Lent) -> T + Send + 'static,
) -> anyhow::Result<T> {
    let permit = POOL.slots.clone().acquire_owned().await?;
    Ok(tokio::task::spawn_blocking(move || {
        let _permit = permit;
        let mut lent = Lent::take();
        f(&mut lent)
    })
    .await?)
}

/// The raw argon2 output of `password` with `salt` under `params`.
fn derive(
    lent: &mut Lent,
    algorithm: Algorithm,
    version: Version,
    params: Params,
    password: &[u8],
    salt: &[u8],
    out: &mut [u8],
) -> anyhow::Result<()> {
    let blocks = params.block_count();
    Argon2::new(algorithm, version, params)
        .hash_password_into_with_memory(password, salt, out, lent.blocks(blocks))
        .map_err(|e| anyhow::anyhow!("argon2: {e}"))
}

/// The PHC string (`$argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>`) of `password`.
fn hash_with(lent: &mut Lent, password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::RngCore::fill_bytes(&mut rand::rngs::OsRng, &mut salt);
    let params = Params::DEFAULT;
    let mut out = [0u8; Params::DEFAULT_OUTPUT_LEN];
    derive(
        lent,
        Algorithm::Argon2id,
        Version::V0x13,
        params.clone(),
        password.as_bytes(),
        &salt,
        &mut out,
    )?;
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    Ok(format!(
        "$argon2id$v=19$m={},t={},p={}${}${}",
        params.m_cost(),
        params.t_cost(),
        params.p_cost(),
        salt.as_str(),
        STANDARD_NO_PAD.encode(out)
    ))
}

/// Whether `password` matches the PHC string `phc`, in constant time.
fn verify_with(lent: &mut Lent, password: &str, phc: &str) -> anyhow::Result<bool> {
    let parsed =
        PasswordHash::new(phc).map_err(|e| anyhow::anyhow!("stored hash is corrupt: {e}"))?;
    let algorithm =
        Algorithm::try_from(parsed.algorithm).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let version = Version::try_from(parsed.version.unwrap_or(0x13))
        .map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let params = Params::try_from(&parsed).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let (Some(salt), Some(expected)) = (parsed.salt, parsed.hash) else {
        anyhow::bail!("stored hash is corrupt: no salt or no hash");
    };
    let mut salt_bytes = [0u8; 64];
    let salt = salt
        .decode_b64(&mut salt_bytes)
        .map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    let mut out = vec![0u8; expected.len()];
    derive(
        lent,
        algorithm,
        version,
        params,
        password.as_bytes(),
        salt,
        &mut out,
    )?;
    Ok(chefcito::service::constant_time_eq(
        &out,
        expected.as_bytes(),
    ))
}

/// The PHC string of `password` with a fresh salt.
pub async fn hash(password: &Password) -> anyhow::Result<String> {
    let password = password.expose().to_string();
    with_memory(move |lent| hash_with(lent, &password)).await?
}

/// A hash of nothing anyone knows, verified against when the e-mail is unknown so that a
/// wrong e-mail takes as long as a wrong password (no account enumeration by timing).
fn decoy(lent: &mut Lent) -> anyhow::Result<&'static str> {
    static DECOY: OnceLock<String> = OnceLock::new();
    if let Some(decoy) = DECOY.get() {
        return Ok(decoy);
    }
    let made = hash_with(lent, &crate::model::new_uid())?;
    Ok(DECOY.get_or_init(|| made))
}

/// Whether `password` matches `stored`; with no stored hash, burns the same time and says no.
pub async fn verify(password: &str, stored: Option<String>) -> anyhow::Result<bool> {
    let password = password.to_string();
    with_memory(move |lent| {
        let known = stored.is_some();
        let phc = match stored {
            Some(phc) => phc,
            None => decoy(lent)?.to_string(),
        };
        let matches = verify_with(lent, &password, &phc)?;
        Ok(known && matches)
    })
    .await?
}

#[cfg(test)]
mod tests {
    use super::*;
    use argon2::PasswordVerifier;

    #[tokio::test]
    async fn hashes_verify_and_salts_differ() {
        let pw = Password::parse("correct horse").unwrap();
        let a = hash(&pw).await.unwrap();
        let b = hash(&pw).await.unwrap();
        assert!(a.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"), "{a}");
        assert_ne!(a, b);
        assert!(verify("correct horse", Some(a.clone())).await.unwrap());
        assert!(!verify("wrong horse!", Some(a)).await.unwrap());
        assert!(!verify("correct horse", None).await.unwrap());
    }

    #[tokio::test]
    async fn hashes_are_standard_phc_strings_both_ways() {
        // Ours verify with the argon2 crate's own verifier...
        let ours = hash(&Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        let parsed = PasswordHash::new(&ours).unwrap();
        assert!(
            Argon2::default()
                .verify_password(b"correct horse", &parsed)
                .is_ok()
        );
        // ...and hashes stored before the pool (the crate's hasher) verify with ours.
        let salt = SaltString::generate(&mut rand::rngs::OsRng);
        let theirs =
            argon2::PasswordHasher::hash_password(&Argon2::default(), b"old secret", &salt)
                .unwrap()
                .to_string();
        assert!(verify("old secret", Some(theirs.clone())).await.unwrap());
        assert!(!verify("old secret!", Some(theirs)).await.unwrap());
    }

    #[tokio::test]
    async fn a_corrupt_stored_hash_is_an_error_not_a_match() {
        assert!(
            verify("whatever1", Some("not-a-hash".into()))
                .await
                .is_err()
        );
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn abandoned_hashes_leave_the_pool_whole() {
        let phc = hash(&Password::parse("correct horse").unwrap())
            .await
            .unwrap();
        for _ in 0..40 {
            let verifying = verify("correct horse", Some(phc.clone()));
            let _ = tokio::time::timeout(std::time::Duration::from_micros(50), verifying).await;
        }
        let all: Vec<_> = (0..8)
            .map(|_| tokio::spawn(verify("correct horse", Some(phc.clone()))))
            .collect();
        for one in all {
            assert!(one.await.unwrap().unwrap());
        }
        // Abandoned work finishes on the blocking pool and gives everything back (other tests
        // of this binary may hold slots for a moment: wait for the pool to settle).
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        while POOL.slots.available_permits() != slots() {
            assert!(
                std::time::Instant::now() < deadline,
                "a slot was never returned"
            );
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
        assert!(POOL.idle.lock().unwrap().len() <= slots());
    }
}
