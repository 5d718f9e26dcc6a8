//! Domain types: validated ids, the finished reservations the counters take, and the counts
//! with the views callers read. Nothing here touches HTTP or SQL.

pub mod events;
pub mod ids;
pub mod stats;

pub use events::{Delivery, Final, Finished, Status, Update};
pub use ids::{Id, MAX_ID_LEN, UserId, VenueId};
pub use stats::{Thresholds, UserCounts, UserStatData, VenueCounts, VenueStatData, ratio, round2};

/// Largest party a counted reservation may have. Far above any real table (the reservations
/// service allows 1,000) so that a future change there does not park events here, and far
/// below anything that could overflow a venue's sum.
pub const MAX_PEOPLE: i64 = 100_000;

/// Input of a direct call that breaks a rule: a 400, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error(
        "Invalid user: it must be 1 to {MAX_ID_LEN} characters, without spaces, slashes or control characters"
    )]
    InvalidUser,
    #[error(
        "Invalid venue: it must be 1 to {MAX_ID_LEN} characters, without spaces, slashes or control characters"
    )]
    InvalidVenue,
    #[error(
        "Invalid reservation id: it must be 1 to {MAX_ID_LEN} characters, without spaces or control characters"
    )]
    InvalidReservation,
    #[error("Invalid people: {0}; a counted reservation is for 1 to {MAX_PEOPLE} people")]
    InvalidPeople(i64),
    /// The original's text (`Tried to do an invalid update`), now a 400 instead of a 500.
    #[error(
        "Tried to do an invalid update: only Canceled, Expired and Assisted reservations are counted, not {0:?}"
    )]
    InvalidUpdate(String),
}

/// An event the service cannot read: a 422, so that the outbox dispatcher parks it instead of
/// retrying something that will never parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed event: {0}")]
pub struct Malformed(pub String);
