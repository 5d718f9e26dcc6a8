//! Domain types: validated ids, balances with their decay and levels, and the events the
//! service consumes with the points each one is worth. Nothing here touches HTTP or SQL.

pub mod balance;
pub mod events;
pub mod ids;

pub use balance::{Decay, Delta, Stored, level};
pub use events::{Award, Delivery, Event, Reason};
pub use ids::{Id, UserId};

/// Input that breaks a rule of a direct call (`/points…`): a 400, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error(
        "Invalid user: it must be 1 to {max} characters, without spaces, slashes or control characters",
        max = UserId::MAX_LEN
    )]
    InvalidUser,
    #[error("Invalid total: a change must be between -{max} and {max} points", max = Delta::MAX)]
    DeltaOutOfRange,
    #[error("Too many users: at most {max} per call", max = MAX_BATCH)]
    TooManyUsers,
}

/// An event the service cannot read: a 422, so that the dispatcher parks it instead of
/// retrying something that will never parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed event: {0}")]
pub struct Malformed(pub String);

/// Most users one `POST /points/batch` may ask for (a listing page is far smaller).
pub const MAX_BATCH: usize = 1000;

/// `POST /points`: the original's body, a signed delta in `total`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Change {
    pub user: String,
    pub total: i64,
}

/// `POST /points/batch`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct Batch {
    pub users: Vec<String>,
}
