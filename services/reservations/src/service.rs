//! The service's operations: booking, updating through the state machine, deleting, listing
//! (with lazy expiry and enrichment) and the expiry sweep. No HTTP, no SQL: rules come from
//! [`crate::model`] and [`crate::transition`], storage from [`crate::store`].

use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

use chefcito::ApiError;
use chefcito::api::UserData;
use chefcito::db::{Db, DbError};
use chefcito::outbox::Outbox;
use chrono::{DateTime, Duration, Utc};

use crate::downstream::{Users, Venues};
use crate::model::{
    DEFAULT_LIMIT, Import, ImportedReservation, ListQuery, Listing, MAX_IMPORT, MAX_LIMIT,
    NewReservation, People, Rejected, Reservation, ReservationUpdate, ReservationView, Status,
    UserRef, UserView, VenueId, is_valid_id,
};
use crate::opinions::Opinions;
use crate::store::{self, EXPIRY_BATCH, Filter, Seating, Written};
use crate::transition::{self, Change, Operation, Parties, Refusal};

/// An Accepted reservation expires this long after its time (the original's 15 minutes).
pub const EXPIRY_GRACE: Duration = Duration::minutes(15);

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error(transparent)]
    Refused(#[from] Refusal),
    #[error("Venue does not exist")]
    VenueNotFound,
    #[error("Venue is closed: it takes no reservations")]
    VenueClosed,
    #[error("The venue is full at that time: {free} seats are left within the seating window")]
    Full { free: i64 },
    #[error("Reservation does not exist")]
    NotFound,
    #[error("The caller's identity is required: user=user/<uid>")]
    MissingIdentity,
    /// A downstream service failed or refused; its status and text travel on.
    #[error("{0}")]
    Downstream(ApiError),
    #[error(transparent)]
    Store(#[from] DbError),
}

impl From<rusqlite::Error> for Error {
    fn from(e: rusqlite::Error) -> Self {
        Error::Store(DbError::Sqlite(e))
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The time; a trait so that tests can move it.
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

/// Tunables from the configuration.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Reservations less than this apart share seats.
    pub seating_window: Duration,
    /// Added to every `time` of a listing (−3 h by default, hazard H6).
    pub display_offset: Duration,
}

/// The reservations service: its store, its outbox, the services it reads and the clock.
pub struct Reservations {
    db: Db,
    outbox: Outbox,
    venues: Venues,
    users: Users,
    opinions: Opinions,
    clock: Arc<dyn Clock>,
    settings: Settings,
}

impl std::fmt::Debug for Reservations {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reservations")
            .field("db", &self.db)
            .field("venues", &self.venues)
            .field("users", &self.users)
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl Reservations {
    pub fn new(
        db: Db,
        outbox: Outbox,
        venues: Venues,
        users: Users,
        opinions: Opinions,
        clock: Arc<dyn Clock>,
        settings: Settings,
    ) -> Reservations {
        Reservations {
            db,
            outbox,
            venues,
            users,
            opinions,
            clock,
            settings,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    /// Books a table: valid people, a future time, an existing venue that is not closed and
    /// has room in the seating window. Starts `Uncomfirmed`.
    pub async fn create(&self, body: NewReservation) -> Result<Reservation> {
        let user = UserRef::parse(&body.user)?;
        let venue = VenueId::parse(&body.venue)?;
        let people = People::parse(body.people)?;
        let now = self.clock.now();
        if body.time <= now {
            return Err(Rejected::PastTime.into());
        }
        let seating = self.seating_at(&venue).await?;
        let reservation = Reservation {
            id: uuid::Uuid::new_v4().to_string(),
            user,
            venue,
            time: body.time,
            people: people.get(),
            status: Status::Uncomfirmed,
        };
        let created =
            written(store::insert(&self.db, &self.outbox, reservation, seating, now).await?)?;
        self.outbox.notify();
        // Per request: at debug, like the access log (the row and its outbox event are the record).
        tracing::debug!(reservation = %created.id, venue = %created.venue.as_str(), "reservation created");
        Ok(created)
    }

    /// Writes reservations kept elsewhere as they were, all or none: no event (they are
    /// history: nobody is notified, no points move), no venue lookup, no capacity check, any
    /// time. An id already stored is left as it is and counted as skipped, so that an import
    /// cut short can be sent again.
    pub async fn import(&self, body: Import) -> Result<Imported> {
        let count = body.reservations.len();
        if count == 0 || count > MAX_IMPORT {
            return Err(Rejected::ImportSize(count).into());
        }
        let reservations = body
            .reservations
            .into_iter()
            .enumerate()
            .map(|(index, record)| {
                imported(record).map_err(|reason| Rejected::InImport {
                    index,
                    reason: Box::new(reason),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let imported = store::import(&self.db, reservations, self.clock.now()).await?;
        tracing::info!(
            imported,
            skipped = count - imported,
            "reservations imported"
        );
        Ok(Imported {
            imported,
            skipped: count - imported,
        })
    }

    /// Applies one move of the state machine (or an edit) asked by `body.user`.
    pub async fn update(&self, id: &str, body: ReservationUpdate) -> Result<Reservation> {
        let caller = UserRef::parse(&body.user)?;
        let people = body.people.map(People::parse).transpose()?;
        let now = self.clock.now();
        let operation = Operation::from_fields(
            body.cancel.unwrap_or(false),
            body.advance_forward,
            body.time,
            people,
        )?;
        let current = self.find(id).await?;
        // Refused early, before asking the venues service anything; the write decides again
        // on what is stored by then.
        decide(&current, &caller, &operation, now)?;
        let seating = match operation {
            Operation::Edit { .. } => self.seating_at(&current.venue).await?,
            _ => None,
        };
        let updated = written(
            store::update(&self.db, &self.outbox, id, seating, now, move |fresh| {
                decide(fresh, &caller, &operation, now)
            })
            .await?,
        )?;
        self.outbox.notify();
        if updated.status != current.status {
            tracing::debug!(reservation = %id, from = %current.status, to = %updated.status, "reservation moved");
        }
        Ok(updated)
    }

    /// Hard delete by the owner or the venue; no event (spec §2.5).
    pub async fn delete(&self, id: &str, user: Option<&str>) -> Result<()> {
        let caller = UserRef::parse(user.ok_or(Error::MissingIdentity)?)?;
        if !is_valid_id(id) {
            return Err(Error::NotFound);
        }
        written(
            store::delete(&self.db, id, move |r| {
                if Parties::of(r, &caller).any() {
                    Ok(())
                } else {
                    Err(Error::Refused(Refusal::NotAParty))
                }
            })
            .await?,
        )?;
        tracing::info!(reservation = %id, "reservation deleted");
        Ok(())
    }

    /// A page of reservations, after expiring what is due within the listing's scope.
    pub async fn list(&self, query: ListQuery) -> Result<Listing> {
        let limit = query.limit.unwrap_or(DEFAULT_LIMIT);
        if !(0..=MAX_LIMIT).contains(&limit) {
            return Err(Rejected::InvalidLimit(limit).into());
        }
        let start = query.start.unwrap_or(0);
        if start < 0 {
            return Err(Rejected::InvalidStart(start).into());
        }
        let party = query.caller.as_deref().map(UserRef::parse).transpose()?;
        let filter = Filter {
            id: query.id,
            party,
            user: query.user,
            venue: query.venue,
            statuses: query.status,
            from_time: query.from_time,
            to_time: query.to_time,
            from_people: query.from_people,
            to_people: query.to_people,
        };
        self.expire(filter.clone(), self.clock.now()).await?;
        let page = store::list(&self.db, filter, limit, start).await?;
        let profiles = self.profiles(&page.rows).await;
        let opinions = self.opinions.for_page(&page.rows).await;
        let result = page
            .rows
            .iter()
            .map(|r| {
                let key = (r.user.as_str().to_string(), r.venue.as_str().to_string());
                let visits = page.visits.get(&key).copied().unwrap_or_default();
                let uid = r.user.uid();
                let (name, phone) = match profiles.get(uid) {
                    Some(p) => (p.name.clone(), p.phone_number.clone()),
                    None => (UserView::PLACEHOLDER.into(), UserView::PLACEHOLDER.into()),
                };
                let user = UserView {
                    id: uid.to_string(),
                    name,
                    phone,
                    times_assisted: visits.assisted,
                    times_expired: visits.expired,
                };
                ReservationView::new(r, user, self.settings.display_offset)
            })
            .collect();
        Ok(Listing {
            result,
            opinions,
            total: page.total,
        })
    }

    /// The background sweep: expires every Accepted reservation that is due.
    pub async fn expire_due(&self) -> Result<usize> {
        self.expire(Filter::default(), self.clock.now()).await
    }

    async fn expire(&self, scope: Filter, now: DateTime<Utc>) -> Result<usize> {
        let cutoff = now - EXPIRY_GRACE;
        if !store::any_stale(&self.db, scope.clone(), cutoff).await? {
            return Ok(0);
        }
        let mut expired = 0;
        loop {
            let batch =
                store::expire_stale(&self.db, &self.outbox, scope.clone(), cutoff, now).await?;
            expired += batch;
            if batch < EXPIRY_BATCH {
                break;
            }
        }
        if expired > 0 {
            self.outbox.notify();
            tracing::info!(expired, "accepted reservations expired");
        }
        Ok(expired)
    }

    async fn find(&self, id: &str) -> Result<Reservation> {
        if !is_valid_id(id) {
            return Err(Error::NotFound);
        }
        store::get(&self.db, id).await?.ok_or(Error::NotFound)
    }

    /// The venue's seating rule, refusing unknown and closed venues.
    async fn seating_at(&self, venue: &VenueId) -> Result<Option<Seating>> {
        let info = self
            .venues
            .get(venue)
            .await
            .map_err(Error::Downstream)?
            .ok_or(Error::VenueNotFound)?;
        if info.closed {
            return Err(Error::VenueClosed);
        }
        Ok(info.capacity.map(|capacity| Seating {
            capacity,
            window: self.settings.seating_window,
        }))
    }

    /// Profiles of the page's diners in one users call; when the users service fails the
    /// listing still answers, with placeholders (R13).
    async fn profiles(&self, rows: &[Reservation]) -> HashMap<String, UserData> {
        if rows.is_empty() {
            return HashMap::new();
        }
        let uids: Vec<String> = rows
            .iter()
            .map(|r| r.user.uid())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(str::to_string)
            .collect();
        self.users.profiles(&uids).await.unwrap_or_else(|e| {
            tracing::warn!(error = %e, "users lookup failed: listing with placeholders");
            HashMap::new()
        })
    }
}

/// The state machine plus the rule that an edited reservation must still be in the future.
/// What an import wrote: `skipped` reservations had an id already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Imported {
    pub imported: usize,
    pub skipped: usize,
}

fn imported(record: ImportedReservation) -> Result<Reservation, Rejected> {
    let id = match record.id {
        Some(id) if is_valid_id(&id) => id,
        Some(_) => return Err(Rejected::InvalidId),
        None => uuid::Uuid::new_v4().to_string(),
    };
    Ok(Reservation {
        id,
        user: UserRef::parse(&record.user)?,
        venue: VenueId::parse(&record.venue)?,
        time: record.time,
        people: People::parse(record.people)?.get(),
        status: record.status.unwrap_or(Status::Uncomfirmed),
    })
}

fn decide(
    current: &Reservation,
    caller: &UserRef,
    operation: &Operation,
    now: DateTime<Utc>,
) -> Result<Change> {
    let change = transition::apply(current, caller, operation)?;
    if matches!(operation, Operation::Edit { .. }) && change.time <= now {
        return Err(Rejected::PastTime.into());
    }
    Ok(change)
}

fn written<T>(outcome: Written<T>) -> Result<T> {
    match outcome {
        Written::Done(value) => Ok(value),
        Written::NotFound => Err(Error::NotFound),
        Written::Full { free } => Err(Error::Full { free }),
    }
}
