//! An opinion and the shape it takes on the wire.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::{OpinionText, ReservationId, Uid, VenueId};

/// A stored opinion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opinion {
    /// Ours (a UUID): the `opinion` of the `opinion.created` event; not on the public wire.
    pub id: String,
    pub reservation: ReservationId,
    pub venue: VenueId,
    /// The diner who wrote it; not on the public wire (the original had no author field).
    pub user: Uid,
    pub text: OpinionText,
    /// When it was written, by the server's clock, to the millisecond.
    pub date: DateTime<Utc>,
}

/// The original's `Opinion`: `{"venue","opinion","reservation","date"}`, `date` naive UTC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpinionView {
    pub venue: String,
    pub opinion: String,
    pub reservation: String,
    #[serde(with = "chefcito::time::serde_naive")]
    pub date: DateTime<Utc>,
}

impl From<&Opinion> for OpinionView {
    fn from(o: &Opinion) -> Self {
        OpinionView {
            venue: o.venue.as_str().to_string(),
            opinion: o.text.as_str().to_string(),
            reservation: o.reservation.as_str().to_string(),
            date: o.date,
        }
    }
}

/// `GET /opinions`: one page and the count of every match (`total` ignores paging).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Page {
    pub result: Vec<OpinionView>,
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_shape_is_the_originals() {
        let o = Opinion {
            id: "o1".into(),
            reservation: ReservationId::parse("r1").unwrap(),
            venue: VenueId::parse("resto").unwrap(),
            user: Uid::parse("diner").unwrap(),
            text: OpinionText::parse("Rico").unwrap(),
            date: chefcito::time::parse("2024-07-24T20:20:45.120Z").unwrap(),
        };
        assert_eq!(
            serde_json::to_value(OpinionView::from(&o)).unwrap(),
            serde_json::json!({"venue": "resto", "opinion": "Rico", "reservation": "r1",
                               "date": "2024-07-24T20:20:45.120000"})
        );
    }
}
