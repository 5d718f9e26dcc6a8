//! The events the service consumes (delivered by the producers' transactional outboxes) and
//! the points each one is worth.
//!
//! Only the payload fields the rules need are read; the others (`venue`, `from`, `time`,
//! `people`, `at`, `opinion`) may change shape without breaking this consumer.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ids::RawId;
use super::{Id, Malformed, UserId};

/// A reservation changed status.
pub const RESERVATION_STATUS: &str = "reservation.status";
/// A diner reviewed a visit.
pub const OPINION_CREATED: &str = "opinion.created";

/// What a check-in and a first opinion earn, and what an owner's cancel or a no-show costs.
pub const VISIT_POINTS: i64 = 50;

/// One outbox delivery, `POST /events`: `{"id","topic","payload"}`.
pub type Delivery = chefcito::outbox::Delivery<serde_json::Value>;

/// An event of a topic this service knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    StatusChanged {
        reservation: Id,
        user: UserId,
        to: Status,
        by: Actor,
    },
    OpinionCreated {
        reservation: Id,
        user: UserId,
    },
}

/// A reservation status, spelt as on the wire (`Uncomfirmed` included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Status {
    Uncomfirmed,
    Accepted,
    Assisted,
    Expired,
    Canceled,
}

/// Who made a reservation change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    Owner,
    Venue,
    System,
}

/// Why a balance changed; stored in the ledger.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    CheckIn,
    Opinion,
    OwnerCancel,
    Expiry,
    /// `POST /points`, an operator's or a legacy caller's delta.
    Manual,
    /// What decay had taken when the balance next changed (so that the ledger sums to the
    /// stored total).
    Decay,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Reason::CheckIn => "check-in",
            Reason::Opinion => "opinion",
            Reason::OwnerCancel => "owner-cancel",
            Reason::Expiry => "expiry",
            Reason::Manual => "manual",
            Reason::Decay => "decay",
        }
    }
}

/// A change a rule gives: `delta` points to `user`. `reservation` is set for changes that a
/// reservation may cause only once (see the ledger's unique indexes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Award {
    pub user: UserId,
    pub delta: i64,
    pub reason: Reason,
    pub reservation: Option<Id>,
}

#[derive(Deserialize)]
struct StatusPayload {
    reservation: RawId,
    user: String,
    to: Status,
    by: Actor,
}

#[derive(Deserialize)]
struct OpinionPayload {
    reservation: RawId,
    user: String,
}

fn payload<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Malformed> {
    serde_json::from_value(value).map_err(|e| Malformed(format!("invalid payload: {e}")))
}

fn user(raw: &str) -> Result<UserId, Malformed> {
    UserId::parse(raw).map_err(|e| Malformed(format!("`user`: {e}")))
}

/// The event id and the event of a delivery; `None` for a topic this service does not know,
/// so that producers can add topics without blocking their dispatcher here.
pub fn parse(delivery: Delivery) -> Result<(Id, Option<Event>), Malformed> {
    let id = Id::parse(RawId::Text(delivery.id), "id")?;
    let event = match delivery.topic.as_str() {
        RESERVATION_STATUS => {
            let p: StatusPayload = payload(delivery.payload)?;
            Some(Event::StatusChanged {
                reservation: Id::parse(p.reservation, "reservation")?,
                user: user(&p.user)?,
                to: p.to,
                by: p.by,
            })
        }
        OPINION_CREATED => {
            let p: OpinionPayload = payload(delivery.payload)?;
            Some(Event::OpinionCreated {
                reservation: Id::parse(p.reservation, "reservation")?,
                user: user(&p.user)?,
            })
        }
        _ => None,
    };
    Ok((id, event))
}

impl Event {
    /// The points rule (spec §4): +50 check-in, +50 first opinion, −50 owner cancel or
    /// expiry, nothing for a venue's cancel or any other transition.
    pub fn award(&self) -> Option<Award> {
        let (user, reservation, delta, reason) = match self {
            Event::StatusChanged {
                reservation,
                user,
                to,
                by,
            } => match (to, by) {
                (Status::Assisted, _) => (user, reservation, VISIT_POINTS, Reason::CheckIn),
                (Status::Expired, _) => (user, reservation, -VISIT_POINTS, Reason::Expiry),
                (Status::Canceled, Actor::Owner) => {
                    (user, reservation, -VISIT_POINTS, Reason::OwnerCancel)
                }
                _ => return None,
            },
            Event::OpinionCreated { reservation, user } => {
                (user, reservation, VISIT_POINTS, Reason::Opinion)
            }
        };
        Some(Award {
            user: user.clone(),
            delta,
            reason,
            reservation: Some(reservation.clone()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delivery(topic: &str, payload: serde_json::Value) -> Delivery {
        serde_json::from_value(json!({"id": "e1", "topic": topic, "payload": payload})).unwrap()
    }

    fn status(to: &str, by: &str) -> Delivery {
        delivery(
            RESERVATION_STATUS,
            json!({"reservation": "r1", "user": "u1", "venue": "v1", "from": "Accepted",
                   "to": to, "by": by, "time": "2024-05-01T20:00:00Z", "people": 2,
                   "at": "2024-05-01T20:10:00Z"}),
        )
    }

    fn delta_of(d: Delivery) -> Option<(i64, Reason)> {
        let (_, event) = parse(d).unwrap();
        event.unwrap().award().map(|a| (a.delta, a.reason))
    }

    #[test]
    fn status_rules() {
        assert_eq!(
            delta_of(status("Assisted", "owner")),
            Some((50, Reason::CheckIn))
        );
        assert_eq!(
            delta_of(status("Assisted", "venue")),
            Some((50, Reason::CheckIn))
        );
        assert_eq!(
            delta_of(status("Expired", "system")),
            Some((-50, Reason::Expiry))
        );
        assert_eq!(
            delta_of(status("Expired", "venue")),
            Some((-50, Reason::Expiry))
        );
        assert_eq!(
            delta_of(status("Canceled", "owner")),
            Some((-50, Reason::OwnerCancel))
        );
        assert_eq!(delta_of(status("Canceled", "venue")), None);
        assert_eq!(delta_of(status("Canceled", "system")), None);
        assert_eq!(delta_of(status("Accepted", "venue")), None);
        assert_eq!(delta_of(status("Uncomfirmed", "owner")), None);
    }

    #[test]
    fn an_opinion_earns_once_per_reservation() {
        let (id, event) = parse(delivery(
            OPINION_CREATED,
            json!({"opinion": 7, "reservation": 42, "user": "u1", "venue": "v1",
                   "at": "2024-05-01T22:00:00Z"}),
        ))
        .unwrap();
        assert_eq!(id.as_str(), "e1");
        let award = event.unwrap().award().unwrap();
        assert_eq!(award.delta, 50);
        assert_eq!(award.reason, Reason::Opinion);
        assert_eq!(award.user.as_str(), "u1");
        assert_eq!(award.reservation.unwrap().as_str(), "42");
    }

    #[test]
    fn unknown_topics_are_not_events() {
        let (_, event) = parse(delivery("venue.closed", json!("anything"))).unwrap();
        assert_eq!(event, None);
        let (_, event) = parse(delivery("venue.closed", json!(null))).unwrap();
        assert_eq!(event, None);
    }

    #[test]
    fn malformed_payloads_say_why() {
        let cases = [
            (
                delivery(
                    RESERVATION_STATUS,
                    json!({"reservation": "r1", "user": "u1"}),
                ),
                "missing field `to`",
            ),
            (status("Cancelled", "owner"), "unknown variant `Cancelled`"),
            (status("Canceled", "admin"), "unknown variant `admin`"),
            (
                delivery(
                    OPINION_CREATED,
                    json!({"reservation": "r1", "user": "user/u1"}),
                ),
                "`user`",
            ),
            (
                delivery(OPINION_CREATED, json!({"reservation": "", "user": "u1"})),
                "`reservation`",
            ),
            (delivery(OPINION_CREATED, json!(null)), "invalid payload"),
        ];
        for (d, expected) in cases {
            let err = parse(d).unwrap_err();
            assert!(err.0.contains(expected), "{expected:?} not in {err}");
        }
        let bad_id = Delivery {
            id: String::new(),
            topic: "x".into(),
            payload: json!({}),
        };
        assert!(parse(bad_id).unwrap_err().0.contains("`id`"));
    }
}
