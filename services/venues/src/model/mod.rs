//! Domain types: the venue and its status, the validated forms of the request bodies and
//! queries, the vocabularies and the geometry. Nothing here touches HTTP or SQL.
//!
//! Two kinds of refusal, both raised before anything is written:
//! * [`Invalid`] (422): the request is malformed — a word outside a vocabulary, a datetime or
//!   a number that does not parse, coordinates off the globe;
//! * [`Rejected`] (400): well-formed but against a rule — over-long text, control characters,
//!   negative or huge numbers, too many list entries, an unusable id.

pub mod geo;
pub mod query;
pub mod venue;
pub mod vocabulary;

pub use geo::Point;
pub use query::{ListFilter, ListQuery, NearFilter, NearQuery};
pub use venue::{
    Change, NearPage, NewVenue, Problem, Venue, VenueCreate, VenueData, VenueDistance, VenuePage,
    VenueStatus, VenueUpdate,
};
pub use vocabulary::{Tag, TagKind};

/// A malformed request (422). The tag texts are the original's, byte for byte.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Invalid {
    #[error("Invalid characteristic: {0}")]
    Characteristic(String),
    #[error("Invalid feature: {0}")]
    Feature(String),
    #[error(
        "Invalid {field}: {value:?} is not an ISO-8601 datetime such as 2024-05-01T20:00:00.000Z"
    )]
    Datetime { field: &'static str, value: String },
    #[error("Invalid request body: missing field `name`")]
    MissingName,
    #[error("Invalid limit: {0:?} must be a whole number from 0 to {max}", max = query::MAX_LIMIT)]
    Limit(String),
    #[error("Invalid start: {0:?} must be a whole number, 0 or more")]
    Start(String),
    #[error(
        "Invalid location: give it exactly twice, latitude first (?location=<lat>&location=<lon>)"
    )]
    LocationArity,
    #[error("Invalid latitude: {0}")]
    Latitude(String),
    #[error("Invalid longitude: {0}")]
    Longitude(String),
    #[error("Invalid max_distance: {0:?} must be a number of metres, 0 or more")]
    MaxDistance(String),
}

/// Input that breaks a rule (400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error("Invalid {field}: at most {max} characters")]
    TooLong { field: &'static str, max: usize },
    #[error("Invalid {field}: control characters are not allowed")]
    ControlCharacters { field: &'static str },
    #[error("Invalid {field}: it must be 0 or more")]
    Negative { field: &'static str },
    #[error("Invalid {field}: at most {max}")]
    TooLarge { field: &'static str, max: i64 },
    #[error("Too many {field}: at most {max}")]
    TooMany { field: &'static str, max: usize },
    #[error(
        "Invalid id: 1 to {max} characters without spaces, slashes or control characters, and not `near` or `promotions`",
        max = venue::MAX_ID_CHARS
    )]
    Id,
    /// The original's text for the query keys it declared but never implemented.
    #[error("Capacity, location, logo, pictures, menu and slots query not implemented")]
    UnsupportedQuery,
}

/// Checks a stored text: at most `max` characters, no control characters.
pub fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), Rejected> {
    if value.chars().count() > max {
        return Err(Rejected::TooLong { field, max });
    }
    if value.chars().any(char::is_control) {
        return Err(Rejected::ControlCharacters { field });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_are_bounded_and_printable() {
        assert!(check_text("name", "Parrilla Don Julio ñ", 20).is_ok());
        assert_eq!(
            check_text("name", "ab", 1),
            Err(Rejected::TooLong {
                field: "name",
                max: 1
            })
        );
        for bad in ["a\nb", "a\u{0}", "\u{7f}", "tab\there"] {
            assert_eq!(
                check_text("name", bad, 100),
                Err(Rejected::ControlCharacters { field: "name" }),
                "{bad:?}"
            );
        }
        // Lengths count characters, so accents are not penalised.
        assert!(check_text("name", "ñññ", 3).is_ok());
    }
}
