//! Identifiers received from other services. Each is checked once, here, and travels as a
//! type afterwards.

use super::{Malformed, Rejected};

/// A bare user id (the uid, without the reservations service's `user/` prefix). It is a path
/// segment of `/points/{user}`, so no slashes or spaces.
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

    pub fn into_string(self) -> String {
        self.0
    }
}

/// The id of an event, a reservation or an opinion, as another service wrote it. JSON numbers
/// are accepted as well as strings (the producer's ids may be either) and kept as text.
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
        assert_eq!(
            UserId::parse("uC4M1ItQEgYLoeb1taxY3co6XED2")
                .unwrap()
                .as_str(),
            "uC4M1ItQEgYLoeb1taxY3co6XED2"
        );
        assert!(UserId::parse(&"x".repeat(UserId::MAX_LEN)).is_ok());
        for bad in [
            "",
            "user/u1",
            "a b",
            "a\tb",
            "a\u{0}b",
            &"x".repeat(UserId::MAX_LEN + 1),
        ] {
            assert_eq!(UserId::parse(bad), Err(Rejected::InvalidUser), "{bad:?}");
        }
    }

    #[test]
    fn ids_accept_text_and_numbers() {
        let text: RawId = serde_json::from_str("\"0b7e-41\"").unwrap();
        assert_eq!(Id::parse(text, "id").unwrap().as_str(), "0b7e-41");
        let number: RawId = serde_json::from_str("42").unwrap();
        assert_eq!(Id::parse(number, "id").unwrap().as_str(), "42");
        for bad in ["\"\"", "\"a b\"", "\"a\\nb\""] {
            let raw: RawId = serde_json::from_str(bad).unwrap();
            let err = Id::parse(raw, "reservation").unwrap_err();
            assert!(err.0.starts_with("`reservation`"), "{err}");
        }
        let long = RawId::Text("x".repeat(Id::MAX_LEN + 1));
        assert!(Id::parse(long, "id").is_err());
        assert!(serde_json::from_str::<RawId>("-1").is_err());
        assert!(serde_json::from_str::<RawId>("1.5").is_err());
    }
}
