//! The `opinion.created` event: written to the outbox in the same transaction as the opinion,
//! and delivered to each consumer routed here.

use chefcito::client::Downstream;
use chefcito::outbox::Route;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::Opinion;

/// The topic of [`OpinionCreated`].
pub const OPINION_TOPIC: &str = "opinion.created";

/// Who hears about new opinions: points (+50 for the visit's first opinion), communications
/// (the venue's "nueva opinion" message) and summaries (new material for the venue's
/// summary). Adding a consumer is one more line here (and its base URL in the configuration).
pub fn routes(points: Downstream, communications: Downstream, summaries: Downstream) -> Vec<Route> {
    vec![
        Route {
            topic: OPINION_TOPIC,
            consumer: "points",
            target: points,
            path: "/events",
        },
        Route {
            topic: OPINION_TOPIC,
            consumer: "communications",
            target: communications,
            path: "/events",
        },
        Route {
            topic: OPINION_TOPIC,
            consumer: "summaries",
            target: summaries,
            path: "/events",
        },
    ]
}

/// The payload of an `opinion.created` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OpinionCreated {
    /// The opinion's id.
    pub opinion: String,
    pub reservation: String,
    /// The diner's bare uid.
    pub user: String,
    pub venue: String,
    pub opinion_text: String,
    /// When the opinion was written (its `date`), UTC with `Z`.
    pub at: String,
}

impl OpinionCreated {
    pub fn new(o: &Opinion, at: DateTime<Utc>) -> OpinionCreated {
        OpinionCreated {
            opinion: o.id.clone(),
            reservation: o.reservation.as_str().to_string(),
            user: o.user.as_str().to_string(),
            venue: o.venue.as_str().to_string(),
            opinion_text: o.text.as_str().to_string(),
            at: chefcito::time::with_z(&at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{OpinionText, ReservationId, Uid, VenueId};

    #[test]
    fn payload_shape() {
        let at = chefcito::time::parse("2030-01-01T12:00:00.250Z").unwrap();
        let o = Opinion {
            id: "o1".into(),
            reservation: ReservationId::parse("r1").unwrap(),
            venue: VenueId::parse("resto").unwrap(),
            user: Uid::parse("diner").unwrap(),
            text: OpinionText::parse("Muy rico\nVolveremos").unwrap(),
            date: at,
        };
        assert_eq!(
            serde_json::to_value(OpinionCreated::new(&o, at)).unwrap(),
            serde_json::json!({"opinion": "o1", "reservation": "r1", "user": "diner",
                "venue": "resto", "opinion_text": "Muy rico\nVolveremos",
                "at": "2030-01-01T12:00:00.250000Z"})
        );
    }
}
