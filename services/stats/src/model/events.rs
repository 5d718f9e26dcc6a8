//! What the counters take: reservations that reached a final status, read from the
//! reservations outbox's `reservation.status` events or from the original's direct
//! `POST /update-data` body.
//!
//! Only the payload fields the rules need are read (`reservation`, `user`, `venue`, `to`,
//! `people`, `time`); `from`, `by` and `at` may change shape without breaking this consumer.

use chrono::{DateTime, Datelike, Timelike, Utc};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::ids::RawId;
use super::{Id, MAX_PEOPLE, Malformed, Rejected, UserId, VenueId};

/// A reservation changed status (producer: reservations).
pub const RESERVATION_STATUS: &str = "reservation.status";

/// One outbox delivery, `POST /events`: `{"id","topic","payload"}`.
pub type Delivery = chefcito::outbox::Delivery<serde_json::Value>;

/// A reservation status, spelt as on the wire (`Uncomfirmed` included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Status {
    Uncomfirmed,
    Accepted,
    Canceled,
    Assisted,
    Expired,
}

impl Status {
    /// The bucket a reservation counts in once it has this status; `None` while it is open.
    pub fn outcome(self) -> Option<Final> {
        match self {
            Status::Canceled => Some(Final::Canceled),
            Status::Expired => Some(Final::Expired),
            Status::Assisted => Some(Final::Assisted),
            Status::Uncomfirmed | Status::Accepted => None,
        }
    }
}

/// The three final statuses, the only ones the counters know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Final {
    Canceled,
    Expired,
    Assisted,
}

impl Final {
    pub fn as_str(self) -> &'static str {
        match self {
            Final::Canceled => "Canceled",
            Final::Expired => "Expired",
            Final::Assisted => "Assisted",
        }
    }

    /// The original's status text (exact spelling, as `status.status` carries it).
    pub fn parse(text: &str) -> Option<Final> {
        [Final::Canceled, Final::Expired, Final::Assisted]
            .into_iter()
            .find(|f| f.as_str() == text)
    }
}

/// A reservation that reached a final status: one count for its user and its venue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finished {
    pub reservation: Id,
    pub user: UserId,
    pub venue: VenueId,
    pub outcome: Final,
    /// 1 to [`MAX_PEOPLE`]; summed for attended reservations only.
    pub people: i64,
    /// The reservation's time (not the moment of the change).
    pub time: DateTime<Utc>,
}

impl Finished {
    /// The weekday bucket of the reservation's time: 0 = Monday … 6 = Sunday, in UTC (H7).
    pub fn weekday(&self) -> u8 {
        self.time.weekday().num_days_from_monday() as u8
    }

    /// The turn bucket: `"HH:MM"` of the reservation's time in UTC (H6; the portal shifts it).
    pub fn turn(&self) -> String {
        format!("{:02}:{:02}", self.time.hour(), self.time.minute())
    }
}

fn people(n: i64) -> Result<i64, Rejected> {
    (1..=MAX_PEOPLE)
        .contains(&n)
        .then_some(n)
        .ok_or(Rejected::InvalidPeople(n))
}

/// What a delivery says, for this service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A topic this service does not read (`opinion.created`, `user.phone`, future ones).
    Unknown,
    /// A status change that leaves the reservation open (creation, acceptance).
    Open,
    Finished(Finished),
}

#[derive(Deserialize)]
struct StatusPayload {
    reservation: RawId,
    user: String,
    venue: String,
    to: Status,
    people: i64,
    time: String,
}

fn payload<T: DeserializeOwned>(value: serde_json::Value) -> Result<T, Malformed> {
    serde_json::from_value(value).map_err(|e| Malformed(format!("invalid payload: {e}")))
}

fn field<T>(name: &str, value: Result<T, Rejected>) -> Result<T, Malformed> {
    value.map_err(|e| Malformed(format!("`{name}`: {e}")))
}

/// The event id and what the event says. The whole payload of a known topic is checked, open
/// statuses included: a malformed event is a producer's bug that should be seen (parked), not
/// half read.
pub fn parse(delivery: Delivery) -> Result<(Id, Event), Malformed> {
    let id = Id::parse(RawId::Text(delivery.id)).ok_or_else(|| {
        Malformed(format!(
            "`id` must be 1 to {} characters without spaces or control characters",
            super::MAX_ID_LEN
        ))
    })?;
    if delivery.topic != RESERVATION_STATUS {
        return Ok((id, Event::Unknown));
    }
    let p: StatusPayload = payload(delivery.payload)?;
    let reservation = field(
        "reservation",
        Id::parse(p.reservation).ok_or(Rejected::InvalidReservation),
    )?;
    let user = field("user", UserId::of_reservation(&p.user))?;
    let venue = field("venue", VenueId::parse(&p.venue))?;
    let people = field("people", people(p.people))?;
    let time = chefcito::time::parse(&p.time).map_err(|e| Malformed(format!("`time`: {e}")))?;
    let event = match p.to.outcome() {
        None => Event::Open,
        Some(outcome) => Event::Finished(Finished {
            reservation,
            user,
            venue,
            outcome,
            people,
            time,
        }),
    };
    Ok((id, event))
}

/// `POST /update-data`: a whole reservation as the original reservations service sent it,
/// `{"id","user","venue","time","people","status":{"status"}}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Update {
    pub id: RawId,
    pub user: String,
    pub venue: String,
    #[serde(with = "chefcito::time::serde_naive")]
    pub time: DateTime<Utc>,
    pub people: i64,
    pub status: StatusObject,
}

/// `{"status": "..."}`, the original's status object.
#[derive(Debug, Clone, Deserialize)]
pub struct StatusObject {
    pub status: String,
}

impl Update {
    /// The reservation to count; any status but the three final ones is refused, as in the
    /// original.
    pub fn finished(self) -> Result<Finished, Rejected> {
        let outcome = Final::parse(&self.status.status).ok_or_else(|| {
            // Echoed in the error, so bounded and printable.
            let shown = self
                .status
                .status
                .chars()
                .filter(|c| !c.is_control())
                .take(40)
                .collect();
            Rejected::InvalidUpdate(shown)
        })?;
        Ok(Finished {
            reservation: Id::parse(self.id).ok_or(Rejected::InvalidReservation)?,
            user: UserId::of_reservation(&self.user)?,
            venue: VenueId::parse(&self.venue)?,
            outcome,
            people: people(self.people)?,
            time: self.time,
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

    fn status(to: &str, time: &str) -> Delivery {
        delivery(
            RESERVATION_STATUS,
            json!({"reservation": "r1", "user": "u1", "venue": "v1", "from": "Accepted",
                   "to": to, "by": "venue", "time": time, "people": 2,
                   "at": "2024-05-01T20:10:00Z"}),
        )
    }

    fn finished(d: Delivery) -> Finished {
        match parse(d).unwrap().1 {
            Event::Finished(f) => f,
            other => panic!("not finished: {other:?}"),
        }
    }

    #[test]
    fn final_statuses_count_and_open_ones_do_not() {
        for (to, outcome) in [
            ("Canceled", Final::Canceled),
            ("Expired", Final::Expired),
            ("Assisted", Final::Assisted),
        ] {
            let f = finished(status(to, "2024-05-01T20:00:00Z"));
            assert_eq!(f.outcome, outcome);
            assert_eq!(
                (f.reservation.as_str(), f.user.as_str(), f.venue.as_str()),
                ("r1", "u1", "v1")
            );
            assert_eq!(f.people, 2);
        }
        for to in ["Uncomfirmed", "Accepted"] {
            assert_eq!(
                parse(status(to, "2024-05-01T20:00:00Z")).unwrap().1,
                Event::Open
            );
        }
        let created = delivery(
            RESERVATION_STATUS,
            json!({"reservation": 7, "user": "u1", "venue": "v1", "from": null,
                   "to": "Uncomfirmed", "by": "owner", "time": "2024-05-01T20:00:00Z",
                   "people": 2, "at": "2024-05-01T10:00:00Z"}),
        );
        assert_eq!(parse(created).unwrap().1, Event::Open);
    }

    #[test]
    fn other_topics_are_unknown_whatever_their_payload() {
        for (topic, payload) in [
            ("opinion.created", json!({"opinion": 1})),
            ("user.phone", json!(null)),
            ("venue.closed", json!("anything")),
        ] {
            let (id, event) = parse(delivery(topic, payload)).unwrap();
            assert_eq!((id.as_str(), event), ("e1", Event::Unknown));
        }
    }

    /// Monday = 0, in UTC: 2024-04-14 is a Sunday, 2024-04-15 a Monday.
    #[test]
    fn buckets_are_the_utc_weekday_and_minute() {
        let cases = [
            ("2024-04-14T20:00:00.000Z", 6, "20:00"),
            ("2024-04-15 20:00:00", 0, "20:00"),
            ("2024-04-20T09:05:59Z", 5, "09:05"),
            // 23:30 in Argentina on Sunday is 02:30 UTC on Monday.
            ("2024-04-14T23:30:00-03:00", 0, "02:30"),
            ("2024-04-16T00:00:00+02:00", 0, "22:00"),
        ];
        for (time, weekday, turn) in cases {
            let f = finished(status("Assisted", time));
            assert_eq!((f.weekday(), f.turn().as_str()), (weekday, turn), "{time}");
        }
    }

    #[test]
    fn malformed_payloads_say_why() {
        let base = json!({"reservation": "r1", "user": "u1", "venue": "v1", "to": "Assisted",
                          "people": 2, "time": "2024-05-01T20:00:00Z"});
        let with = |key: &str, value: serde_json::Value| {
            let mut p = base.clone();
            p[key] = value;
            delivery(RESERVATION_STATUS, p)
        };
        let without = |key: &str| {
            let mut p = base.clone();
            p.as_object_mut().unwrap().remove(key);
            delivery(RESERVATION_STATUS, p)
        };
        let cases = [
            (without("to"), "missing field `to`"),
            (without("time"), "missing field `time`"),
            (without("venue"), "missing field `venue`"),
            (
                with("to", json!("Cancelled")),
                "unknown variant `Cancelled`",
            ),
            (with("people", json!(0)), "`people`"),
            (with("people", json!(-3)), "`people`"),
            (with("people", json!(MAX_PEOPLE + 1)), "`people`"),
            (with("people", json!(2.5)), "invalid payload"),
            (with("time", json!("tomorrow")), "`time`"),
            (with("user", json!("")), "`user`"),
            (with("user", json!("a b")), "`user`"),
            (with("venue", json!("v/1")), "`venue`"),
            (with("venue", json!(5)), "invalid payload"),
            (with("reservation", json!("")), "`reservation`"),
            (delivery(RESERVATION_STATUS, json!(null)), "invalid payload"),
        ];
        for (d, expected) in cases {
            let err = parse(d).unwrap_err();
            assert!(err.0.contains(expected), "{expected:?} not in {err}");
        }
        let bad_id = Delivery {
            id: "a b".into(),
            topic: RESERVATION_STATUS.into(),
            payload: json!({}),
        };
        assert!(parse(bad_id).unwrap_err().0.contains("`id`"));
    }

    #[test]
    fn updates_take_the_original_body() {
        let body = json!({"id": "r9", "user": "user/u1", "venue": "v1",
                          "time": "2024-04-14 20:00:00", "people": 4,
                          "status": {"status": "Assisted"}});
        let update: Update = serde_json::from_value(body.clone()).unwrap();
        let f = update.finished().unwrap();
        assert_eq!(
            (f.user.as_str(), f.outcome, f.people),
            ("u1", Final::Assisted, 4)
        );
        assert_eq!((f.weekday(), f.turn().as_str()), (6, "20:00"));
        for status in ["Accepted", "Uncomfirmed", "assisted", ""] {
            let mut b = body.clone();
            b["status"]["status"] = json!(status);
            let update: Update = serde_json::from_value(b).unwrap();
            let err = update.finished().unwrap_err();
            assert!(matches!(err, Rejected::InvalidUpdate(_)), "{status}");
            assert!(err.to_string().starts_with("Tried to do an invalid update"));
        }
    }
}
