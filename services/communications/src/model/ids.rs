//! Identifiers received from other services, checked once and carried as types afterwards.

use super::{Malformed, Rejected};

/// A bare user id (the uid; a venue's id is its owner's uid). It is a path segment of
/// `/users/{uid}/phone`, so no slashes or spaces.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UserId(String);

impl UserId {
    /// The limit every service shares, so that every registered uid fits.
    pub const MAX_LEN: usize = chefcito::api::MAX_ID_CHARS;

    pub fn parse(raw: &str) -> Result<UserId, Rejected> {
        chefcito::api::is_valid_id(raw)
            .then(|| UserId(raw.to_string()))
            .ok_or(Rejected::InvalidUser)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The id of an event or a reservation, as another service wrote it: text or a JSON number,
/// kept as text.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Id(String);

impl Id {
    pub const MAX_LEN: usize = chefcito::api::MAX_ID_CHARS;

    /// `what` names the field in the error, e.g. `"reservation"`.
    pub fn parse(raw: RawId, what: &str) -> Result<Id, Malformed> {
        raw.into_checked().map(Id).ok_or_else(|| {
            Malformed(format!(
                "`{what}` must be 1 to {} characters without spaces or control characters",
                Self::MAX_LEN
            ))
        })
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
        assert_eq!(UserId::parse("uid_1").unwrap().as_str(), "uid_1");
        assert!(UserId::parse(&"x".repeat(UserId::MAX_LEN)).is_ok());
        for bad in [
            "",
            "user/u1",
            "a b",
            "a\u{0}b",
            &"x".repeat(UserId::MAX_LEN + 1),
        ] {
            assert_eq!(UserId::parse(bad), Err(Rejected::InvalidUser), "{bad:?}");
        }
    }

    #[test]
    fn ids_accept_text_and_numbers() {
        let number: RawId = serde_json::from_str("42").unwrap();
        assert_eq!(Id::parse(number, "id").unwrap().as_str(), "42");
        let blank = RawId::Text(" ".into());
        assert!(
            Id::parse(blank, "reservation")
                .unwrap_err()
                .0
                .contains("`reservation`")
        );
    }
}
