//! Identities: who a reservation belongs to, which venue it is at, how many people it seats.

use super::{MAX_PEOPLE, Rejected};

/// Longest uid or venue id accepted (an external provider's subject may be longer than a
/// Firebase uid).
pub const MAX_ID_LEN: usize = chefcito::api::MAX_ID_CHARS;

const USER_PREFIX: &str = "user/";

/// Ids end up in URL paths and in other services' keys.
pub use chefcito::api::is_valid_id;

/// A user as reservations name them: `user/<uid>`. The gateway adds the prefix; a venue acts
/// as `user/<venue id>` (a venue's id is its owner's uid).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserRef(String);

impl UserRef {
    pub fn parse(raw: &str) -> Result<UserRef, Rejected> {
        raw.strip_prefix(USER_PREFIX)
            .filter(|uid| is_valid_id(uid))
            .map(|_| UserRef(raw.to_string()))
            .ok_or(Rejected::InvalidUser)
    }

    /// The identity a venue acts with.
    pub fn of_venue(venue: &VenueId) -> UserRef {
        UserRef(format!("{USER_PREFIX}{}", venue.as_str()))
    }

    /// `user/<uid>`.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The bare uid, as points, users and the listings' `user.id` know it.
    pub fn uid(&self) -> &str {
        &self.0[USER_PREFIX.len()..]
    }
}

/// A venue id (the owner's uid, or a UUID for venues created directly).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct VenueId(String);

impl VenueId {
    /// An empty id is refused: in the original it meant "no filter" and passed the existence
    /// check (R18).
    pub fn parse(raw: &str) -> Result<VenueId, Rejected> {
        is_valid_id(raw)
            .then(|| VenueId(raw.to_string()))
            .ok_or(Rejected::InvalidVenue)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The size of a party: 1 to [`MAX_PEOPLE`]. An explicit 0 is invalid, never "no change" (R6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct People(i64);

impl People {
    pub fn parse(n: i64) -> Result<People, Rejected> {
        (1..=MAX_PEOPLE)
            .contains(&n)
            .then_some(People(n))
            .ok_or(Rejected::InvalidPeople(n))
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_refs_need_the_prefix_and_a_clean_uid() {
        let u = UserRef::parse("user/uC4M1ItQEgYLoeb1taxY3co6XED2").unwrap();
        assert_eq!(u.uid(), "uC4M1ItQEgYLoeb1taxY3co6XED2");
        assert_eq!(u.as_str(), "user/uC4M1ItQEgYLoeb1taxY3co6XED2");
        let long = format!("user/{}", "x".repeat(MAX_ID_LEN + 1));
        for bad in [
            "",
            "user/",
            "abc",
            "users/abc",
            "user/a/b",
            "user/a b",
            "user/a\u{7}",
            long.as_str(),
        ] {
            assert_eq!(UserRef::parse(bad), Err(Rejected::InvalidUser), "{bad:?}");
        }
    }

    #[test]
    fn venues_act_as_user_refs() {
        let v = VenueId::parse("ADSAF").unwrap();
        assert_eq!(UserRef::of_venue(&v).as_str(), "user/ADSAF");
        for bad in ["", "a/b", " a", "a\n"] {
            assert_eq!(VenueId::parse(bad), Err(Rejected::InvalidVenue), "{bad:?}");
        }
    }

    #[test]
    fn people_are_bounded() {
        assert_eq!(People::parse(1).unwrap().get(), 1);
        assert_eq!(People::parse(MAX_PEOPLE).unwrap().get(), MAX_PEOPLE);
        for bad in [0, -1, MAX_PEOPLE + 1, i64::MAX, i64::MIN] {
            assert_eq!(People::parse(bad), Err(Rejected::InvalidPeople(bad)));
        }
    }
}
