//! Status events: every status transition (creation included) is written to the outbox in the
//! same transaction as the change, and delivered to each consumer routed here.

use chefcito::client::Downstream;
use chefcito::outbox::Route;
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{Reservation, Status};
use crate::transition::Actor;

/// The topic of [`StatusChanged`].
pub const STATUS_TOPIC: &str = "reservation.status";

/// The services that hear about status changes.
#[derive(Debug, Clone)]
pub struct Consumers {
    pub points: Downstream,
    pub stats: Downstream,
    pub communications: Downstream,
}

/// Who hears about status changes. Adding a consumer is one more line here (and its base URL
/// in the configuration).
pub fn routes(c: Consumers) -> Vec<Route> {
    let route = |consumer: &'static str, target: Downstream| Route {
        topic: STATUS_TOPIC,
        consumer,
        target,
        path: "/events",
    };
    vec![
        route("points", c.points),
        route("stats", c.stats),
        route("communications", c.communications),
    ]
}

/// The payload of a `reservation.status` event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StatusChanged {
    pub reservation: String,
    /// The bare uid (points and communications key users by it).
    pub user: String,
    pub venue: String,
    /// `None` on creation.
    pub from: Option<Status>,
    pub to: Status,
    pub by: Actor,
    /// The reservation's time, UTC with `Z`.
    pub time: String,
    pub people: i64,
    /// When the transition happened, UTC with `Z`.
    pub at: String,
}

impl StatusChanged {
    /// `reservation` as it is after the transition from `from`.
    pub fn new(
        reservation: &Reservation,
        from: Option<Status>,
        by: Actor,
        at: DateTime<Utc>,
    ) -> StatusChanged {
        StatusChanged {
            reservation: reservation.id.clone(),
            user: reservation.user.uid().to_string(),
            venue: reservation.venue.as_str().to_string(),
            from,
            to: reservation.status,
            by,
            time: chefcito::time::with_z(&reservation.time),
            people: reservation.people,
            at: chefcito::time::with_z(&at),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{UserRef, VenueId};

    #[test]
    fn payload_shape() {
        let r = Reservation {
            id: "r1".into(),
            user: UserRef::parse("user/diner").unwrap(),
            venue: VenueId::parse("resto").unwrap(),
            time: chefcito::time::parse("2030-01-01T20:00:00Z").unwrap(),
            people: 4,
            status: Status::Assisted,
        };
        let at = chefcito::time::parse("2030-01-01T20:05:00.250Z").unwrap();
        let event = StatusChanged::new(&r, Some(Status::Accepted), Actor::Owner, at);
        assert_eq!(
            serde_json::to_value(&event).unwrap(),
            serde_json::json!({"reservation": "r1", "user": "diner", "venue": "resto",
                "from": "Accepted", "to": "Assisted", "by": "owner",
                "time": "2030-01-01T20:00:00Z", "people": 4, "at": "2030-01-01T20:05:00.250000Z"})
        );
        let created = StatusChanged::new(&r, None, Actor::System, at);
        assert_eq!(
            serde_json::to_value(&created).unwrap()["from"],
            serde_json::Value::Null
        );
        assert_eq!(serde_json::to_value(&created).unwrap()["by"], "system");
    }
}
