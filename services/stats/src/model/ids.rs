//! Identifiers received from other services. Each is checked once, here, and travels as a
//! type afterwards.

use chefcito::api::is_valid_id;

use super::Rejected;

/// Longest user, venue, reservation or event id accepted (the other services' limit).
pub const MAX_ID_LEN: usize = chefcito::api::MAX_ID_CHARS;

/// The prefix the reservations service puts before a uid (`user/<uid>`); the original stats
/// service stripped it, and so do we where a reservation's `user` arrives.
const USER_PREFIX: &str = "user/";

/// A bare user id (a uid), the key of a user's counters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// A uid as a caller names it (`GET /user/{uid}`).
    pub fn parse(raw: &str) -> Result<UserId, Rejected> {
        is_valid_id(raw)
            .then(|| UserId(raw.to_string()))
            .ok_or(Rejected::InvalidUser)
    }

    /// The `user` of a reservation: a bare uid, or `user/<uid>` as the reservations service
    /// stores it (the original's `user_key` rule strips one such prefix).
    pub fn of_reservation(raw: &str) -> Result<UserId, Rejected> {
        UserId::parse(raw.strip_prefix(USER_PREFIX).unwrap_or(raw))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A venue id (its owner's uid, or a UUID), the key of a venue's counters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VenueId(String);

impl VenueId {
    pub fn parse(raw: &str) -> Result<VenueId, Rejected> {
        is_valid_id(raw)
            .then(|| VenueId(raw.to_string()))
            .ok_or(Rejected::InvalidVenue)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of an event or a reservation, as another service wrote it: 1 to [`MAX_ID_LEN`]
/// characters without spaces or control characters. JSON numbers are accepted as well as
/// strings (a producer's ids may be either) and kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id(String);

impl Id {
    pub fn parse(raw: RawId) -> Option<Id> {
        raw.into_checked().map(Id)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An id as it arrives on the wire, before [`Id::parse`].
pub use chefcito::api::RawId;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids_are_path_safe_and_bounded() {
        assert_eq!(UserId::parse("uC4M1ItQ").unwrap().as_str(), "uC4M1ItQ");
        assert!(UserId::parse(&"x".repeat(MAX_ID_LEN)).is_ok());
        let long = "x".repeat(MAX_ID_LEN + 1);
        for bad in ["", "user/u1", "a b", "a\tb", "a\u{0}b", long.as_str()] {
            assert_eq!(UserId::parse(bad), Err(Rejected::InvalidUser), "{bad:?}");
            assert!(VenueId::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_reservation_user_loses_one_prefix() {
        assert_eq!(UserId::of_reservation("user/u1").unwrap().as_str(), "u1");
        assert_eq!(UserId::of_reservation("u1").unwrap().as_str(), "u1");
        assert!(UserId::of_reservation("user/user/u1").is_err());
        assert!(UserId::of_reservation("user/").is_err());
    }

    #[test]
    fn ids_accept_text_and_numbers() {
        let text: RawId = serde_json::from_str("\"0b7e-41\"").unwrap();
        assert_eq!(Id::parse(text).unwrap().as_str(), "0b7e-41");
        let number: RawId = serde_json::from_str("42").unwrap();
        assert_eq!(Id::parse(number).unwrap().as_str(), "42");
        for bad in ["\"\"", "\"a b\"", "\"a\\nb\""] {
            assert!(
                Id::parse(serde_json::from_str(bad).unwrap()).is_none(),
                "{bad}"
            );
        }
        assert!(Id::parse(RawId::Text("x".repeat(MAX_ID_LEN + 1))).is_none());
        assert!(serde_json::from_str::<RawId>("-1").is_err());
        assert!(serde_json::from_str::<RawId>("1.5").is_err());
    }
}
