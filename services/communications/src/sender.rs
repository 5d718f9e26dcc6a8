//! The background sender: delivers pending messages through the messenger, off the request
//! path, with retries.
//!
//! * Wakes when a write created pending messages ([`Wake`]), when the next retry is due, and
//!   every second anyway (messages left pending by a restart).
//! * One message at a time, oldest due first, at most [`BATCH`] per round.
//! * Sent → `sent`; a permanent refusal → `failed`; a transient one → retried after
//!   `base · 2^(attempts−1)` (half of it random jitter), capped, or the provider's longer
//!   `Retry-After` (up to the cap); after `max_attempts` attempts → `failed`.
//! * **At least once**: a crash between the provider's acceptance and the mark sends that
//!   message again on restart. The window is one call; the alternative (marking before
//!   sending) would lose messages instead.
//! * Finished messages older than the retention are pruned hourly.

use std::sync::Arc;
use std::time::Duration;

use chefcito::db::Db;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::messenger::{Messenger, SendError};
use crate::store::{self, Attempt};

/// Messages read per round.
pub const BATCH: usize = 100;
const POLL: Duration = Duration::from_secs(1);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);

/// How the sender retries and how long finished messages are kept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub base: Duration,
    pub cap: Duration,
    pub max_attempts: u32,
    pub retention: Duration,
}

/// Wakes the sender after a write created pending messages.
#[derive(Debug, Default)]
pub struct Wake(Notify);

impl Wake {
    pub fn notify(&self) {
        // `notify_one` keeps a permit when the sender is busy, so the wake-up is not lost.
        self.0.notify_one();
    }
}

/// The running sender; dropping it stops the task (an interrupted attempt is simply made
/// again later).
#[derive(Debug)]
pub struct Running(JoinHandle<()>);

impl Drop for Running {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Starts the sender on `db`. Needs a tokio runtime.
pub fn spawn(db: Db, messenger: Arc<dyn Messenger>, wake: Arc<Wake>, policy: Policy) -> Running {
    Running(tokio::spawn(run(db, messenger, wake, policy)))
}

async fn run(db: Db, messenger: Arc<dyn Messenger>, wake: Arc<Wake>, policy: Policy) {
    let mut next_prune = tokio::time::Instant::now();
    loop {
        if tokio::time::Instant::now() >= next_prune {
            next_prune += PRUNE_EVERY;
            let cutoff = now_ms() - policy.retention.as_millis() as i64;
            match store::prune(&db, cutoff).await {
                Ok(0) => {}
                Ok(removed) => tracing::info!(removed, "pruned finished messages"),
                Err(e) => tracing::error!(error = %e, "pruning messages failed"),
            }
        }
        let full = match round(&db, messenger.as_ref(), policy).await {
            Ok(full) => full,
            Err(e) => {
                tracing::error!(error = %e, "message sender: store failure; retrying");
                false
            }
        };
        if full {
            continue;
        }
        let wait = match store::next_due(&db).await {
            Ok(Some(at)) => Duration::from_millis((at - now_ms()).max(0) as u64).min(POLL),
            _ => POLL,
        };
        tokio::select! {
            () = wake.0.notified() => {}
            () = tokio::time::sleep(wait) => {}
        }
    }
}

/// Sends what is due; `true` when the batch was full (more may be due).
async fn round(
    db: &Db,
    messenger: &dyn Messenger,
    policy: Policy,
) -> Result<bool, chefcito::db::DbError> {
    let due = store::due(db, now_ms(), BATCH).await?;
    let full = due.len() == BATCH;
    for message in due {
        let attempts = message.attempts + 1;
        let attempt = match messenger.send(&message.phone, &message.body).await {
            Ok(sent) => {
                // One per booking and per move: at debug, like the access log; failures
                // stay at warn and `GET /messages` lists what was sent.
                tracing::debug!(
                    message = message.id,
                    messenger = messenger.name(),
                    attempts,
                    "message sent"
                );
                Attempt::Sent {
                    provider_id: sent.provider_id,
                }
            }
            Err(SendError::Permanent(error)) => {
                tracing::warn!(message = message.id, messenger = messenger.name(), %error, "message refused for good");
                Attempt::Failed { error }
            }
            Err(SendError::Transient { error, .. })
                if attempts >= i64::from(policy.max_attempts) =>
            {
                tracing::warn!(message = message.id, messenger = messenger.name(), attempts, %error, "message given up after too many attempts");
                Attempt::Failed {
                    error: format!("gave up after {attempts} attempts: {error}"),
                }
            }
            Err(SendError::Transient { error, retry_after }) => {
                let delay = policy
                    .delay(attempts, jitter())
                    .max(retry_after.unwrap_or_default().min(policy.cap));
                tracing::warn!(message = message.id, messenger = messenger.name(), attempts, retry_in_ms = delay.as_millis() as u64, %error, "message not sent; will retry");
                Attempt::Retry {
                    at: now_ms() + delay.as_millis() as i64,
                    error,
                }
            }
        };
        store::record_attempt(db, message.id, attempts, attempt, now_ms()).await?;
    }
    Ok(full)
}

impl Policy {
    /// Exponential with "equal jitter" (`unit` in [0, 1]): half fixed so that it grows, half
    /// random so that messages that failed together do not retry together.
    pub fn delay(&self, attempts: i64, unit: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let step = self.base.saturating_mul(1 << doublings).min(self.cap);
        step / 2 + step.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
    }
}

fn jitter() -> f64 {
    use std::hash::{BuildHasher, RandomState};
    // A fresh RandomState is seeded from the OS: randomness enough for jitter, no dependency.
    let bits = RandomState::new().hash_one(now_ms());
    (bits >> 11) as f64 / (1u64 << 53) as f64
}

pub(crate) fn now_ms() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_stops_at_the_cap() {
        let p = Policy {
            base: Duration::from_secs(2),
            cap: Duration::from_secs(600),
            max_attempts: 12,
            retention: Duration::from_secs(1),
        };
        assert_eq!(p.delay(1, 0.0), Duration::from_secs(1));
        assert_eq!(p.delay(1, 1.0), Duration::from_secs(2));
        assert_eq!(p.delay(4, 1.0), Duration::from_secs(16));
        assert!(p.delay(5, 0.0) >= p.delay(4, 1.0));
        assert_eq!(p.delay(20, 1.0), Duration::from_secs(600));
        for _ in 0..50 {
            assert!((0.0..1.0).contains(&jitter()));
        }
    }
}
