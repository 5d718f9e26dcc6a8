//! The service's operations and rules: counting finished reservations (from events or the
//! original's direct call) and the per-user and per-venue views. No HTTP, no SQL: validation
//! happens here (through [`crate::model`]), storage in [`crate::store`].

use chefcito::db::{Db, DbError};
use serde::Serialize;

use crate::model::events::{self, Event};
use crate::model::{
    Delivery, Finished, Malformed, Rejected, Thresholds, Update, UserId, UserStatData, VenueId,
    VenueStatData,
};
use crate::store::{self, Recorded};

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

/// What `POST /events` did with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// A reservation was counted.
    Applied,
    /// This event id had been consumed before; nothing changed.
    Duplicate,
    /// Understood and nothing to count: an open status, a reservation already counted, or a
    /// topic this service does not read.
    Ignored,
}

/// The stats service: its store.
#[derive(Debug)]
pub struct Stats {
    db: Db,
}

impl Stats {
    pub fn new(db: Db) -> Stats {
        Stats { db }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Consumes one outbox delivery, at most once per event id and once per reservation.
    pub async fn consume(&self, delivery: Delivery) -> Result<Outcome> {
        let topic = delivery.topic.clone();
        let (id, event) = events::parse(delivery)?;
        let finished = match event {
            Event::Unknown => {
                tracing::debug!(event = id.as_str(), topic = ?topic, "event of a topic stats does not read");
                return Ok(Outcome::Ignored);
            }
            Event::Open => None,
            Event::Finished(f) => Some(f),
        };
        let recorded = store::record(&self.db, Some(id.clone()), finished.clone()).await?;
        Ok(outcome(id.as_str(), finished.as_ref(), recorded))
    }

    /// The original's `POST /update-data`: counts a finished reservation given whole. Not tied
    /// to an event id, but still counted once per reservation.
    pub async fn update(&self, update: Update) -> Result<Outcome> {
        let finished = update.finished()?;
        let recorded = store::record(&self.db, None, Some(finished.clone())).await?;
        Ok(outcome("-", Some(&finished), recorded))
    }

    /// A user's stats; a user never counted has zeros, never an error.
    pub async fn user(&self, user: &str) -> Result<UserStatData> {
        let user = UserId::parse(user)?;
        let counts = store::user(&self.db, user.as_str()).await?;
        Ok(UserStatData::new(&user, counts, Thresholds::DEFAULT))
    }

    /// A venue's stats; a venue never counted has zeros, never an error.
    pub async fn venue(&self, venue: &str) -> Result<VenueStatData> {
        let venue = VenueId::parse(venue)?;
        let counts = store::venue(&self.db, venue.as_str()).await?;
        Ok(VenueStatData::new(&venue, counts))
    }
}

/// What a recording means for the caller, logged once here.
fn outcome(event: &str, finished: Option<&Finished>, recorded: Recorded) -> Outcome {
    match (recorded, finished) {
        (Recorded::Counted, Some(f)) => {
            tracing::info!(
                event,
                reservation = f.reservation.as_str(),
                status = f.outcome.as_str(),
                "reservation counted"
            );
            Outcome::Applied
        }
        (Recorded::Duplicate, _) => {
            tracing::debug!(event, "event delivered again: nothing to do");
            Outcome::Duplicate
        }
        (Recorded::AlreadyCounted { as_status }, Some(f)) => {
            if as_status == f.outcome.as_str() {
                tracing::info!(
                    event,
                    reservation = f.reservation.as_str(),
                    "reservation already counted: nothing to do"
                );
            } else {
                // Final statuses are final in the reservations service, so this is a
                // producer's bug; the first count is kept rather than counting twice.
                tracing::warn!(
                    event,
                    reservation = f.reservation.as_str(),
                    counted_as = %as_status,
                    reported_as = f.outcome.as_str(),
                    "reservation reported with a second final status; the first is kept"
                );
            }
            Outcome::Ignored
        }
        _ => Outcome::Ignored,
    }
}
