//! Domain types: validated newtypes, the status enum, the reservation and its wire shapes, the
//! request bodies and the rejections their validation produces. Nothing here touches HTTP or
//! SQL.

mod ids;
mod requests;
mod reservation;
mod status;

pub use ids::{MAX_ID_LEN, People, UserRef, VenueId, is_valid_id};
pub use requests::{
    DeleteQuery, Import, ImportedReservation, ListQuery, NewReservation, ReservationUpdate,
};
pub use reservation::{Listing, Reservation, ReservationOut, ReservationView, UserView};
pub use status::{Status, StatusObject};

/// Largest party a single reservation may hold: a guard against typos and absurd numbers, far
/// above any real table.
pub const MAX_PEOPLE: i64 = 1000;

/// Largest page a listing may ask for. The portal asks `limit=100000` (hazard H8).
pub const MAX_LIMIT: i64 = 100_000;

/// Most reservations one import may hold: one write transaction of a few milliseconds, well
/// inside the request body limit.
pub const MAX_IMPORT: usize = 1000;

/// Page size when `limit` is absent, as the original.
pub const DEFAULT_LIMIT: i64 = 10;

/// Input that breaks a rule: always a 400, always before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error(
        "Invalid user: expected user/<uid>, with a uid of 1 to {MAX_ID_LEN} characters without spaces, slashes or control characters"
    )]
    InvalidUser,
    #[error(
        "Invalid venue: expected a venue id of 1 to {MAX_ID_LEN} characters without spaces, slashes or control characters"
    )]
    InvalidVenue,
    #[error("Invalid people: {0}; a reservation is for 1 to {MAX_PEOPLE} people")]
    InvalidPeople(i64),
    #[error("The reservation time must be in the future")]
    PastTime,
    #[error("Invalid limit: {0}; it must be between 0 and {MAX_LIMIT}")]
    InvalidLimit(i64),
    #[error("Invalid start: {0}; it must not be negative")]
    InvalidStart(i64),
    #[error("Nothing to change: give cancel, advance_forward, time or people")]
    NothingToChange,
    #[error("cancel cannot be combined with advance_forward, time or people")]
    CancelCombined,
    #[error("advance_forward cannot be combined with time or people")]
    AdvanceCombined,
    #[error(
        "Invalid id: expected 1 to {MAX_ID_LEN} characters without spaces, slashes or control characters"
    )]
    InvalidId,
    #[error("An import holds 1 to {MAX_IMPORT} reservations, not {0}; send them in batches")]
    ImportSize(usize),
    #[error("reservations[{index}]: {reason}")]
    InImport { index: usize, reason: Box<Rejected> },
}
