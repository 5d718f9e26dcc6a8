//! The events the service consumes (delivered by the producers' transactional outboxes) and
//! the messages each one asks for.
//!
//! Only the payload fields the rules need are read; the others may change shape without
//! breaking this consumer.

use chrono::{DateTime, Duration, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ids::RawId;
use super::{Id, Malformed, Status, UserId, texts};

/// A reservation was created or changed status (producer: reservations).
pub const RESERVATION_STATUS: &str = "reservation.status";
/// A diner reviewed a visit (producer: opinions).
pub const OPINION_CREATED: &str = "opinion.created";
/// A user set or changed their phone number (producer: users).
pub const USER_PHONE: &str = "user.phone";

/// One outbox delivery, `POST /events`: `{"id","topic","payload"}`.
pub type Delivery = chefcito::outbox::Delivery<serde_json::Value>;

/// An event of a topic this service knows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// `from: None` is the creation.
    ReservationStatus {
        reservation: Id,
        user: UserId,
        venue: UserId,
        from: Option<Status>,
        to: Status,
        /// The reservation's time the texts name (see [`StatusPayload::previous_time`]).
        time: DateTime<Utc>,
    },
    OpinionCreated {
        venue: UserId,
    },
    /// The number as the user typed it; normalised (or refused) by the service.
    PhoneChanged {
        user: UserId,
        phone: String,
    },
}

#[derive(Deserialize)]
struct StatusPayload {
    reservation: RawId,
    user: String,
    venue: String,
    from: Option<Status>,
    to: Status,
    time: String,
    /// The reservation's time before this change, when the producer sends it: the original's
    /// change message names the date the reservation had before an edit. Optional, because
    /// the producer does not send it today; then `time` is used.
    #[serde(default)]
    previous_time: Option<String>,
}

#[derive(Deserialize)]
struct OpinionPayload {
    venue: String,
}

#[derive(Deserialize)]
struct PhonePayload {
    user: String,
    phone: String,
}

fn payload<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Malformed> {
    serde_json::from_value(value).map_err(|e| Malformed(format!("invalid payload: {e}")))
}

fn user(raw: &str, what: &str) -> Result<UserId, Malformed> {
    UserId::parse(raw).map_err(|e| Malformed(format!("`{what}`: {e}")))
}

fn time(raw: &str, what: &str) -> Result<DateTime<Utc>, Malformed> {
    chefcito::time::parse(raw).map_err(|e| Malformed(format!("`{what}`: {e}")))
}

/// The event id and the event of a delivery; `None` for a topic this service does not know,
/// so that producers can add topics without blocking their dispatcher here.
pub fn parse(delivery: Delivery) -> Result<(Id, Option<Event>), Malformed> {
    let id = Id::parse(RawId::Text(delivery.id), "id")?;
    let event = match delivery.topic.as_str() {
        RESERVATION_STATUS => {
            let p: StatusPayload = payload(delivery.payload)?;
            let time = match &p.previous_time {
                Some(previous) => time(previous, "previous_time")?,
                None => time(&p.time, "time")?,
            };
            Some(Event::ReservationStatus {
                reservation: Id::parse(p.reservation, "reservation")?,
                user: user(&p.user, "user")?,
                venue: user(&p.venue, "venue")?,
                from: p.from,
                to: p.to,
                time,
            })
        }
        OPINION_CREATED => {
            let p: OpinionPayload = payload(delivery.payload)?;
            Some(Event::OpinionCreated {
                venue: user(&p.venue, "venue")?,
            })
        }
        USER_PHONE => {
            let p: PhonePayload = payload(delivery.payload)?;
            Some(Event::PhoneChanged {
                user: user(&p.user, "user")?,
                phone: p.phone,
            })
        }
        _ => None,
    };
    Ok((id, event))
}

/// The text of a planned message: ready, or waiting for the venue's name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Text {
    Ready(String),
    /// "Tienes un cambio de estado en tu reserva en {name}!…": needs the venue's name, which
    /// only the venues service knows.
    StatusToDiner {
        venue: UserId,
        status: Status,
    },
}

impl Text {
    /// The final text, given the venue's name when it is needed.
    pub fn render(&self, venue_name: Option<&str>) -> String {
        match self {
            Text::Ready(text) => text.clone(),
            Text::StatusToDiner { status, .. } => {
                texts::changed_to_diner(venue_name.unwrap_or(texts::UNKNOWN_VENUE_NAME), *status)
            }
        }
    }
}

/// One message an event asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Planned {
    pub to: UserId,
    pub text: Text,
}

impl Event {
    /// The messages the original sent for this event, in its order (spec §5.4):
    /// creation → the diner, then the venue; any later change → the venue, then the diner;
    /// an opinion → the venue. `date_offset` turns the reservation's UTC time into the local
    /// date the texts print.
    pub fn messages(&self, date_offset: Duration) -> Vec<Planned> {
        match self {
            Event::ReservationStatus {
                reservation,
                user,
                venue,
                from,
                to,
                time,
            } => {
                let date = (*time + date_offset).format("%Y-%m-%d").to_string();
                match from {
                    None => vec![
                        Planned {
                            to: user.clone(),
                            text: Text::Ready(texts::created_to_diner(&date)),
                        },
                        Planned {
                            to: venue.clone(),
                            text: Text::Ready(texts::created_to_venue(&date)),
                        },
                    ],
                    Some(_) => vec![
                        Planned {
                            to: venue.clone(),
                            text: Text::Ready(texts::changed_to_venue(reservation.as_str(), &date)),
                        },
                        Planned {
                            to: user.clone(),
                            text: Text::StatusToDiner {
                                venue: venue.clone(),
                                status: *to,
                            },
                        },
                    ],
                }
            }
            Event::OpinionCreated { venue } => vec![Planned {
                to: venue.clone(),
                text: Text::Ready(texts::OPINION_TO_VENUE.to_string()),
            }],
            Event::PhoneChanged { .. } => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn delivery(topic: &str, payload: serde_json::Value) -> Delivery {
        serde_json::from_value(json!({"id": "e1", "topic": topic, "payload": payload})).unwrap()
    }

    fn status(from: Option<&str>, to: &str) -> serde_json::Value {
        json!({"reservation": "r1", "user": "diner", "venue": "resto", "from": from,
               "to": to, "by": "venue", "time": "2024-05-02T01:30:00.000Z", "people": 2,
               "at": "2024-05-01T20:10:00Z"})
    }

    fn planned(payload: serde_json::Value, offset_hours: i64) -> Vec<(String, String)> {
        let (_, event) = parse(delivery(RESERVATION_STATUS, payload)).unwrap();
        event
            .unwrap()
            .messages(Duration::hours(offset_hours))
            .into_iter()
            .map(|p| (p.to.as_str().to_string(), p.text.render(Some("La Cantina"))))
            .collect()
    }

    #[test]
    fn creation_tells_the_diner_then_the_venue() {
        assert_eq!(
            planned(status(None, "Uncomfirmed"), -3),
            [
                ("diner".into(), "Tu reserva para el dia 2024-05-01 fue creada con exito!".into()),
                (
                    "resto".into(),
                    "Crearon una nueva reserva para el dia 2024-05-01, podes verla agregada en la web!"
                        .into()
                ),
            ]
        );
        // Offset 0: the original's UTC date.
        assert!(
            planned(status(None, "Uncomfirmed"), 0)[0]
                .1
                .contains("2024-05-02")
        );
    }

    #[test]
    fn a_change_tells_the_venue_then_the_diner() {
        assert_eq!(
            planned(status(Some("Uncomfirmed"), "Accepted"), -3),
            [
                (
                    "resto".into(),
                    "Tienes una modeficacion en la reserva (r1): del dia 2024-05-01!\nPodes ver las modificaciones de la reserva en la web"
                        .into()
                ),
                (
                    "diner".into(),
                    "Tienes un cambio de estado en tu reserva en La Cantina!\nLa reserva fue aceptada por el local!"
                        .into()
                ),
            ]
        );
    }

    #[test]
    fn a_previous_time_names_the_old_date() {
        let mut payload = status(Some("Accepted"), "Uncomfirmed");
        payload["previous_time"] = json!("2024-04-20T23:00:00Z");
        assert!(planned(payload, -3)[0].1.contains("del dia 2024-04-20!"));
    }

    #[test]
    fn opinions_tell_the_venue() {
        let (_, event) = parse(delivery(
            OPINION_CREATED,
            json!({"opinion": 3, "reservation": "r1", "user": "diner", "venue": "resto",
                   "opinion_text": "Rico", "at": "2024-05-01T22:00:00Z"}),
        ))
        .unwrap();
        let planned = event.unwrap().messages(Duration::zero());
        assert_eq!(planned.len(), 1);
        assert_eq!(planned[0].to.as_str(), "resto");
        assert_eq!(
            planned[0].text.render(None),
            "Tenes una nueva opinion en tu local!\nPodes revisarla en nuestra web"
        );
    }

    #[test]
    fn unknown_topics_are_not_events() {
        let (_, event) = parse(delivery("venue.closed", json!(null))).unwrap();
        assert_eq!(event, None);
    }

    #[test]
    fn malformed_payloads_say_why() {
        let cases = [
            (
                delivery(RESERVATION_STATUS, json!({"reservation": "r1"})),
                "missing field",
            ),
            (
                delivery(RESERVATION_STATUS, status(None, "Cancelled")),
                "unknown variant",
            ),
            (
                delivery(RESERVATION_STATUS, {
                    let mut p = status(None, "Uncomfirmed");
                    p["time"] = json!("yesterday");
                    p
                }),
                "`time`",
            ),
            (
                delivery(RESERVATION_STATUS, {
                    let mut p = status(None, "Uncomfirmed");
                    p["user"] = json!("user/diner");
                    p
                }),
                "`user`",
            ),
            (
                delivery(USER_PHONE, json!({"user": "u1"})),
                "missing field `phone`",
            ),
            (delivery(OPINION_CREATED, json!({"venue": ""})), "`venue`"),
        ];
        for (d, expected) in cases {
            let err = parse(d).unwrap_err();
            assert!(err.0.contains(expected), "{expected:?} not in {err}");
        }
    }
}
