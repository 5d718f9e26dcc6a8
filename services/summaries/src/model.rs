//! Domain types: validated venue and event ids, the summary as the clients read it, the two
//! placeholder texts, and the events the service consumes. Nothing here touches HTTP or SQL.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// Longest venue or event id accepted (a venue id is its owner's uid; an external identity
/// provider's subject may be longer than a Firebase uid).
pub const MAX_ID_LEN: usize = chefcito::api::MAX_ID_CHARS;

/// Longest summary stored. An engine's longer answer is cut at a word boundary.
pub const MAX_SUMMARY_CHARS: usize = 2000;

/// The original summarizer's answer when a venue had too few opinions to summarise (spec §3.2).
/// Byte for byte: the clients show it as is.
pub const NO_SUMMARY_TEXT: &str = "No hay un resumen para este restaurant aun";

/// The original opinions service's answer when no summary could be had (spec §2.2). Byte for
/// byte.
pub const UNAVAILABLE_TEXT: &str =
    "Este restaurant aun no tiene un resumen de opiniones disponible";

/// A venue id, checked once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct VenueId(String);

impl VenueId {
    pub fn parse(raw: &str) -> Result<VenueId, InvalidVenue> {
        chefcito::api::is_valid_id(raw)
            .then(|| VenueId(raw.to_string()))
            .ok_or(InvalidVenue)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A venue id that breaks [`VenueId::parse`]'s rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "Invalid venue: it must be 1 to {MAX_ID_LEN} characters, without spaces, slashes or control characters"
)]
pub struct InvalidVenue;

/// What `GET /summaries/{venue}` answers: the original `Summary` (spec §3.1), `date` with `Z`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SummaryView {
    pub text: String,
    /// When the summary was generated (the original meant "opinions up to this instant").
    #[serde(with = "chefcito::time::serde_z")]
    pub date: DateTime<Utc>,
    pub venue: String,
}

/// Which placeholder a venue without a summary gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Placeholder {
    /// The last attempt found too few opinions ([`NO_SUMMARY_TEXT`]).
    TooFewOpinions,
    /// Not generated yet, being generated, or the last attempt failed ([`UNAVAILABLE_TEXT`]).
    Unavailable,
}

impl Placeholder {
    pub fn text(self) -> &'static str {
        match self {
            Placeholder::TooFewOpinions => NO_SUMMARY_TEXT,
            Placeholder::Unavailable => UNAVAILABLE_TEXT,
        }
    }

    /// The placeholder as a summary dated `now` (never stored).
    pub fn view(self, venue: &str, now: DateTime<Utc>) -> SummaryView {
        SummaryView {
            text: self.text().to_string(),
            date: now,
            venue: venue.to_string(),
        }
    }
}

/// How an attempt to generate a summary ended; stored per venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// A summary was stored.
    Generated,
    /// The venue had fewer opinions than required, or none the engines could use.
    TooFew,
    /// The opinions could not be read (the engines never fail: the extractive one is local).
    Failed,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Generated => "generated",
            Outcome::TooFew => "too_few",
            Outcome::Failed => "failed",
        }
    }

    pub fn parse(text: &str) -> Option<Outcome> {
        match text {
            "generated" => Some(Outcome::Generated),
            "too_few" => Some(Outcome::TooFew),
            "failed" => Some(Outcome::Failed),
            _ => None,
        }
    }
}

/// A diner reviewed a visit (producer: the opinions service's outbox).
pub const OPINION_CREATED: &str = "opinion.created";

/// One outbox delivery, `POST /events`: `{"id","topic","payload"}`.
pub type Delivery = chefcito::outbox::Delivery<serde_json::Value>;

/// An event the service cannot read: a 422, so that the dispatcher parks it instead of
/// retrying something that will never parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed event: {0}")]
pub struct Malformed(pub String);

/// An event id: the idempotency key of a delivery.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventId(String);

impl EventId {
    pub fn parse(raw: &str) -> Result<EventId, Malformed> {
        chefcito::api::is_valid_reference(raw)
            .then(|| EventId(raw.to_string()))
            .ok_or_else(|| {
                Malformed(format!(
                    "`id` must be 1 to {MAX_ID_LEN} characters without spaces or control characters"
                ))
            })
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Only the field this service needs; the rest of the payload (`opinion`, `reservation`,
/// `user`, `opinion_text`, `at`) may change shape without breaking this consumer.
#[derive(Deserialize)]
struct OpinionPayload {
    venue: String,
}

/// The event id of a delivery and, for an `opinion.created`, the venue it is about; `None`
/// for a topic this service does not know, so that producers can add topics freely.
pub fn parse_event(delivery: &Delivery) -> Result<(EventId, Option<VenueId>), Malformed> {
    let id = EventId::parse(&delivery.id)?;
    if delivery.topic != OPINION_CREATED {
        return Ok((id, None));
    }
    let payload: OpinionPayload = serde_json::from_value(delivery.payload.clone())
        .map_err(|e| Malformed(format!("invalid payload: {e}")))?;
    let venue = VenueId::parse(&payload.venue).map_err(|e| Malformed(format!("`venue`: {e}")))?;
    Ok((id, Some(venue)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delivery(id: &str, topic: &str, payload: serde_json::Value) -> Delivery {
        Delivery {
            id: id.into(),
            topic: topic.into(),
            payload,
        }
    }

    #[test]
    fn venue_ids_are_path_safe_and_bounded() {
        assert!(VenueId::parse("uC4M1ItQEgYLoeb1taxY3co6XED2").is_ok());
        assert!(VenueId::parse(&"v".repeat(MAX_ID_LEN)).is_ok());
        for bad in ["", "a/b", "a b", "a\u{7}b", &"v".repeat(MAX_ID_LEN + 1)] {
            assert_eq!(VenueId::parse(bad), Err(InvalidVenue), "{bad:?}");
        }
    }

    #[test]
    fn opinion_events_name_their_venue_and_other_topics_are_none() {
        let (id, venue) = parse_event(&delivery(
            "e1",
            OPINION_CREATED,
            json!({"opinion": 7, "reservation": "r1", "user": "u1", "venue": "v1",
                   "opinion_text": "Rico", "at": "2025-06-16T10:00:00.000Z"}),
        ))
        .unwrap();
        assert_eq!(id.as_str(), "e1");
        assert_eq!(venue.unwrap().as_str(), "v1");
        let (_, venue) = parse_event(&delivery("e2", "reservation.status", json!({}))).unwrap();
        assert_eq!(venue, None);
    }

    #[test]
    fn malformed_events_say_why() {
        let no_venue = parse_event(&delivery("e1", OPINION_CREATED, json!({"user": "u"})));
        assert!(no_venue.unwrap_err().0.contains("venue"));
        let bad_venue = parse_event(&delivery("e1", OPINION_CREATED, json!({"venue": "a/b"})));
        assert!(bad_venue.unwrap_err().0.starts_with("`venue`"));
        let bad_id = parse_event(&delivery("", OPINION_CREATED, json!({"venue": "v"})));
        assert!(bad_id.unwrap_err().0.starts_with("`id`"));
    }

    #[test]
    fn summaries_print_their_date_with_z() {
        let view = Placeholder::Unavailable
            .view("v1", chefcito::time::parse("2024-07-24T20:20:45Z").unwrap());
        assert_eq!(
            serde_json::to_value(&view).unwrap(),
            json!({"text": UNAVAILABLE_TEXT, "date": "2024-07-24T20:20:45Z", "venue": "v1"})
        );
    }
}
