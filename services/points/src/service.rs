//! The service's operations and rules: balances as read (decayed, with their level), direct
//! changes and event consumption. No HTTP, no SQL: validation happens here (through
//! [`crate::model`]), storage in [`crate::store`].

use std::sync::Arc;

use chefcito::api::PointsView;
use chefcito::db::{Db, DbError};
use serde::Serialize;

use crate::model::{
    self, Award, Decay, Delivery, Delta, MAX_BATCH, Malformed, Reason, Rejected, UserId,
};
use crate::store::{self, Entry, Recorded};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error(transparent)]
    Store(#[from] DbError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Unix time in seconds; a trait so that tests can move time forward.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// What `POST /events` did with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A balance changed.
    Applied,
    /// This event id had been consumed before; nothing changed.
    Duplicate,
    /// Understood and worth nothing (a venue's cancel, a non-final transition, a reservation
    /// that had already counted), or a topic this service does not know.
    Ignored,
}

/// The points service: its store, its clock and its decay.
pub struct Points {
    db: Db,
    clock: Arc<dyn Clock>,
    decay: Decay,
}

impl std::fmt::Debug for Points {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Points")
            .field("db", &self.db)
            .field("decay", &self.decay)
            .finish_non_exhaustive()
    }
}

impl Points {
    pub fn new(db: Db, clock: Arc<dyn Clock>, decay: Decay) -> Points {
        Points { db, clock, decay }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// A user's balance now; a user without history has 0 (`Novato`), never an error.
    pub async fn get(&self, user: &str) -> Result<PointsView> {
        let user = UserId::parse(user)?;
        let stored = store::balance(&self.db, user.as_str()).await?;
        Ok(self.view(&user, stored))
    }

    /// Several balances, one per requested user, in the requested order (repeats included).
    pub async fn get_many(&self, users: &[String]) -> Result<Vec<PointsView>> {
        if users.len() > MAX_BATCH {
            return Err(Rejected::TooManyUsers.into());
        }
        let users = users
            .iter()
            .map(|u| UserId::parse(u))
            .collect::<Result<Vec<_>, _>>()?;
        let uids = users.iter().map(|u| u.as_str().to_string()).collect();
        let stored = store::balances(&self.db, uids).await?;
        Ok(users
            .iter()
            .zip(stored)
            .map(|(user, stored)| self.view(user, stored))
            .collect())
    }

    /// Adds a signed delta to a balance (`POST /points`). Not idempotent: each call counts.
    /// A zero delta changes nothing, not even the decay clock.
    pub async fn add(&self, user: &str, delta: i64) -> Result<()> {
        let award = Award {
            user: UserId::parse(user)?,
            delta: Delta::parse(delta)?.get(),
            reason: Reason::Manual,
            reservation: None,
        };
        let entry = Entry {
            event: None,
            award: Some(award),
            now: self.clock.now(),
        };
        if let Recorded::Applied { total } = store::record(&self.db, entry, self.decay).await? {
            tracing::info!(user, delta, total, "points changed by a direct call");
        }
        Ok(())
    }

    /// Consumes one outbox delivery, at most once per event id.
    pub async fn consume(&self, delivery: Delivery) -> Result<Outcome> {
        let topic = delivery.topic.clone();
        let (id, event) = model::events::parse(delivery)?;
        let Some(event) = event else {
            tracing::debug!(event = id.as_str(), topic = ?topic, "event of an unknown topic ignored");
            return Ok(Outcome::Ignored);
        };
        let award = event.award();
        let entry = Entry {
            event: Some(id.clone()),
            award: award.clone(),
            now: self.clock.now(),
        };
        let recorded = store::record(&self.db, entry, self.decay).await?;
        Ok(match (recorded, award) {
            (Recorded::Applied { total }, Some(award)) => {
                tracing::info!(
                    event = id.as_str(),
                    user = award.user.as_str(),
                    delta = award.delta,
                    reason = award.reason.as_str(),
                    total,
                    "points changed"
                );
                Outcome::Applied
            }
            (Recorded::Duplicate, _) => {
                tracing::debug!(event = id.as_str(), "event delivered again: nothing to do");
                Outcome::Duplicate
            }
            (Recorded::AlreadyCounted, _) => {
                tracing::info!(
                    event = id.as_str(),
                    topic = ?topic,
                    "reservation had already counted for this: nothing to do"
                );
                Outcome::Ignored
            }
            _ => Outcome::Ignored,
        })
    }

    fn view(&self, user: &UserId, stored: Option<model::Stored>) -> PointsView {
        let effective = stored.map_or(0, |s| self.decay.effective(s, self.clock.now()));
        model::balance::view(user, effective)
    }
}
