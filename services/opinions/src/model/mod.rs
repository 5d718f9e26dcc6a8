//! Domain types: validated newtypes, the opinion and its wire shape, the request bodies and
//! queries, and the rejections their validation produces. Nothing here touches HTTP or SQL.

mod ids;
mod opinion;
mod requests;
mod text;

pub use ids::{MAX_ID_LEN, ReservationId, Uid, VenueId, is_valid_id};
pub use opinion::{Opinion, OpinionView, Page};
pub use requests::{Batch, ListQuery, NewOpinion};
pub use text::{MAX_TEXT_CHARS, OpinionText};

/// Largest page a listing may ask for: the portal asks `limit=100000` (hazard H8).
pub const MAX_LIMIT: i64 = 100_000;

/// Page size when `limit` is absent, as the original.
pub const DEFAULT_LIMIT: i64 = 10;

/// Most reservation ids one batch lookup takes (a listing page of reservations is far below).
pub const MAX_BATCH: usize = 1000;

/// Input that breaks a rule: always a 400, always before anything is asked or written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error(
        "Invalid user: expected a bare uid of 1 to {MAX_ID_LEN} characters without spaces, slashes or control characters"
    )]
    InvalidUser,
    #[error(
        "Invalid venue: expected a venue id of 1 to {MAX_ID_LEN} characters without spaces, slashes or control characters"
    )]
    InvalidVenue,
    #[error(
        "Invalid reservation: expected a reservation id of 1 to {MAX_ID_LEN} characters without spaces, slashes or control characters"
    )]
    InvalidReservation,
    #[error("The opinion is empty")]
    EmptyText,
    #[error("The opinion is too long: {0} characters, at most {MAX_TEXT_CHARS}")]
    TextTooLong(usize),
    #[error("The opinion contains control characters: only line breaks are allowed")]
    ControlCharacters,
    #[error("Invalid limit: {0}; it must be between 0 and {MAX_LIMIT}")]
    InvalidLimit(i64),
    #[error("Invalid start: {0}; it must not be negative")]
    InvalidStart(i64),
    #[error("Too many reservations: {0}; at most {MAX_BATCH} per call")]
    BatchTooLarge(usize),
}
