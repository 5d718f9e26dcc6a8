//! The service's operations: writing an opinion (checked against its reservation), listing
//! and batch lookups. No HTTP, no SQL: rules come from [`crate::model`], storage from
//! [`crate::store`], reservations from [`crate::downstream`].

use std::collections::BTreeMap;
use std::sync::Arc;

use chefcito::ApiError;
use chefcito::db::{Db, DbError};
use chefcito::outbox::Outbox;
use chrono::{DateTime, DurationRound, TimeDelta, Utc};

use crate::downstream::{ASSISTED, Reservations};
use crate::model::{
    Batch, DEFAULT_LIMIT, ListQuery, MAX_BATCH, MAX_LIMIT, NewOpinion, Opinion, OpinionText,
    OpinionView, Page, Rejected, ReservationId, Uid, VenueId,
};
use crate::store::{self, Filter, Written};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    /// Unknown, or not visible to the caller: the reservations service does not tell them
    /// apart, and neither do we.
    #[error("Reservation does not exist")]
    UnknownReservation,
    /// The caller sees the reservation as its venue, not as its diner.
    #[error("Only the diner of a reservation can give an opinion on it")]
    NotTheDiner,
    #[error("The reservation is {0}: only Assisted reservations can get an opinion")]
    NotAssisted(String),
    #[error("The reservation is not at this venue")]
    VenueMismatch,
    #[error("This reservation already has an opinion")]
    AlreadyReviewed,
    /// A downstream service failed or refused; its status and text travel on.
    #[error("{0}")]
    Downstream(ApiError),
    #[error(transparent)]
    Store(#[from] DbError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The time; a trait so that tests can set it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The opinions service: its store, its outbox, the reservations service and the clock.
pub struct Opinions {
    db: Db,
    outbox: Outbox,
    reservations: Reservations,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for Opinions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Opinions")
            .field("db", &self.db)
            .field("reservations", &self.reservations)
            .finish_non_exhaustive()
    }
}

/// Stored dates keep milliseconds, as the original's store did.
fn to_millis(t: DateTime<Utc>) -> DateTime<Utc> {
    t.duration_trunc(TimeDelta::milliseconds(1)).unwrap_or(t)
}

/// Reservation statuses the reservations service may answer, named in refusals; anything
/// else is not echoed back.
const KNOWN_STATUSES: [&str; 5] = ["Uncomfirmed", "Accepted", "Canceled", "Assisted", "Expired"];

impl Opinions {
    pub fn new(db: Db, outbox: Outbox, reservations: Reservations, clock: Arc<dyn Clock>) -> Self {
        Opinions {
            db,
            outbox,
            reservations,
            clock,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Stores the opinion of `body.user` on one of their `Assisted` reservations at
    /// `body.venue`, at most one per reservation, and announces it (`opinion.created`) in
    /// the same write.
    pub async fn create(&self, body: NewOpinion) -> Result<Opinion> {
        // Everything that can be refused locally is, before asking anyone anything.
        let user = Uid::parse(&body.user)?;
        let venue = VenueId::parse(&body.venue)?;
        let reservation = ReservationId::parse(&body.reservation)?;
        let text = OpinionText::parse(&body.opinion)?;
        let found = self
            .reservations
            .find(&reservation, &user)
            .await
            .map_err(Error::Downstream)?
            .ok_or(Error::UnknownReservation)?;
        if found.user != user.as_str() {
            return Err(Error::NotTheDiner);
        }
        if found.status != ASSISTED {
            let status = if KNOWN_STATUSES.contains(&found.status.as_str()) {
                found.status
            } else {
                "in an unknown state".to_string()
            };
            return Err(Error::NotAssisted(status));
        }
        if found.venue != venue.as_str() {
            return Err(Error::VenueMismatch);
        }
        let opinion = Opinion {
            id: uuid::Uuid::new_v4().to_string(),
            reservation,
            venue,
            user,
            text,
            date: to_millis(self.clock.now()),
        };
        match store::insert(&self.db, &self.outbox, opinion).await? {
            Written::Done(opinion) => {
                self.outbox.notify();
                tracing::info!(opinion = %opinion.id, reservation = %opinion.reservation.as_str(),
                    venue = %opinion.venue.as_str(), "opinion created");
                Ok(opinion)
            }
            Written::Duplicate => Err(Error::AlreadyReviewed),
        }
    }

    /// Opinions matching every filter given, newest first, with the true total. As the
    /// original, a query with neither `venue` (nor `reservation`) nor both dates is empty.
    pub async fn list(&self, query: ListQuery) -> Result<Page> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(0..=MAX_LIMIT).contains(&limit) {
            return Err(Rejected::InvalidLimit(limit).into());
        }
        let start = query.start.unwrap_or(0);
        if start < 0 {
            return Err(Rejected::InvalidStart(start).into());
        }
        let narrowed = query.venue.is_some() || query.reservation.is_some();
        if !narrowed && (query.from_date.is_none() || query.to_date.is_none()) {
            return Ok(Page::default());
        }
        let filter = Filter {
            venue: query.venue,
            reservation: query.reservation,
            from_date: query.from_date,
            to_date: query.to_date,
        };
        let (rows, total) = store::list(&self.db, filter, limit, start).await?;
        Ok(Page {
            result: rows.iter().map(OpinionView::from).collect(),
            total,
        })
    }

    /// The opinion of each reservation in `batch` that has one, by reservation id.
    pub async fn batch(&self, batch: Batch) -> Result<BTreeMap<String, OpinionView>> {
        if batch.reservations.len() > MAX_BATCH {
            return Err(Rejected::BatchTooLarge(batch.reservations.len()).into());
        }
        if batch.reservations.is_empty() {
            return Ok(BTreeMap::new());
        }
        let found = store::of_reservations(&self.db, batch.reservations).await?;
        Ok(found
            .iter()
            .map(|o| (o.reservation.as_str().to_string(), OpinionView::from(o)))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_keep_milliseconds() {
        let t = chefcito::time::parse("2024-07-24T20:20:45.123456Z").unwrap();
        assert_eq!(
            chefcito::time::naive(&to_millis(t)),
            "2024-07-24T20:20:45.123000"
        );
    }
}
