//! The background expiry sweep: Accepted reservations whose time is [`EXPIRY_GRACE`] past
//! expire even when nobody lists them, so their events (−50 points) are not left to chance.
//! Listings expire lazily too; both go through the same compare-and-set, so each reservation
//! expires once.
//!
//! [`EXPIRY_GRACE`]: crate::service::EXPIRY_GRACE

use std::sync::Arc;
use std::time::Duration;

use crate::service::Reservations;

/// The running sweep; dropping it stops it.
#[derive(Debug)]
pub struct Sweep(tokio::task::JoinHandle<()>);

impl Drop for Sweep {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Sweeps now (whatever fell due while the service was down) and then every `every`.
pub fn spawn(reservations: Arc<Reservations>, every: Duration) -> Sweep {
    Sweep(tokio::spawn(async move {
        let mut ticks = tokio::time::interval(every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            if let Err(e) = reservations.expire_due().await {
                tracing::error!(error = %e, "expiry sweep failed; retrying at the next tick");
            }
        }
    }))
}
