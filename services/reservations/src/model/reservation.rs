//! A reservation and the shapes it takes on the wire.

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use super::{Status, StatusObject, UserRef, VenueId};

/// A stored reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reservation {
    pub id: String,
    pub user: UserRef,
    pub venue: VenueId,
    pub time: DateTime<Utc>,
    pub people: i64,
    pub status: Status,
}

/// What create and update answer: `user` is the `user/<uid>` string and `time` is UTC with
/// `Z`, unshifted (R9, R23).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservationOut {
    pub id: String,
    pub user: String,
    pub venue: String,
    pub time: String,
    pub people: i64,
    pub status: StatusObject,
}

impl From<&Reservation> for ReservationOut {
    fn from(r: &Reservation) -> Self {
        ReservationOut {
            id: r.id.clone(),
            user: r.user.as_str().to_string(),
            venue: r.venue.as_str().to_string(),
            time: chefcito::time::with_z(&r.time),
            people: r.people,
            status: StatusObject { status: r.status },
        }
    }
}

/// The diner as listings show it (`UserData` of the original).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserView {
    /// The bare uid (the portal uses it as a path segment, hazard H14).
    pub id: String,
    pub name: String,
    pub phone: String,
    pub times_assisted: i64,
    pub times_expired: i64,
}

impl UserView {
    /// The original's placeholder text for a diner whose profile could not be read; the
    /// counts and the id are ours, so they stay real.
    pub const PLACEHOLDER: &'static str = "None";
}

/// A listed reservation: `user` is an object and `time` is shifted for display, naive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservationView {
    pub id: String,
    pub user: UserView,
    pub venue: String,
    pub time: String,
    pub people: i64,
    pub status: StatusObject,
}

impl ReservationView {
    pub fn new(r: &Reservation, user: UserView, display_offset: Duration) -> Self {
        ReservationView {
            id: r.id.clone(),
            user,
            venue: r.venue.as_str().to_string(),
            time: chefcito::time::shifted(&r.time, display_offset),
            people: r.people,
            status: StatusObject { status: r.status },
        }
    }
}

/// `GET /reservations`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Listing {
    pub result: Vec<ReservationView>,
    /// `{reservation id: Opinion}` for the reservations on the page.
    pub opinions: serde_json::Map<String, serde_json::Value>,
    pub total: i64,
}
