//! What callers send. Unknown keys are ignored; a malformed value (a datetime that does not
//! parse, a number that is not an integer) fails deserialisation, which the extractors answer
//! with 422. Business rules (people bounds, a future time, id formats) are checked by the
//! service and answer 400.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use super::Status;

/// `POST /reservations`: the gateway fills `user` (`user/<uid>`) from the verified token.
#[derive(Debug, Clone, Deserialize)]
pub struct NewReservation {
    pub user: String,
    pub venue: String,
    #[serde(with = "chefcito::time::serde_z")]
    pub time: DateTime<Utc>,
    pub people: i64,
}

/// `POST /import/reservations`: reservations kept elsewhere (the original system, a backup),
/// written as they were.
#[derive(Debug, Clone, Deserialize)]
pub struct Import {
    pub reservations: Vec<ImportedReservation>,
}

/// One reservation of an [`Import`]: an absent `id` gets a fresh UUID, an absent `status` is
/// `Uncomfirmed`; the time may be in the past.
#[derive(Debug, Clone, Deserialize)]
pub struct ImportedReservation {
    #[serde(default)]
    pub id: Option<String>,
    pub user: String,
    pub venue: String,
    #[serde(with = "chefcito::time::serde_z")]
    pub time: DateTime<Utc>,
    pub people: i64,
    #[serde(default)]
    pub status: Option<Status>,
}

/// `PUT /reservations/{id}`: `user` is the updater (`user/<uid>`); absent and `null` fields
/// ask for nothing.
#[derive(Debug, Clone, Deserialize)]
pub struct ReservationUpdate {
    pub user: String,
    #[serde(default)]
    pub advance_forward: Option<bool>,
    /// The original's default is `false`; `null` reads the same.
    #[serde(default)]
    pub cancel: Option<bool>,
    #[serde(default, with = "chefcito::time::serde_z::option")]
    pub time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub people: Option<i64>,
}

/// `DELETE /reservations/{id}?user=user/<uid>`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct DeleteQuery {
    #[serde(default, deserialize_with = "non_empty")]
    pub user: Option<String>,
}

/// `GET /reservations`. Empty values (`?id=&venue=x`) mean "no filter", as in the original.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "non_empty")]
    pub id: Option<String>,
    /// The caller (`user/<uid>`), set by the gateway: the answer only holds the caller's own
    /// reservations and those of the caller's venue.
    #[serde(default)]
    pub caller: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub user: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub venue: Option<String>,
    #[serde(default)]
    pub status: Vec<Status>,
    #[serde(default, deserialize_with = "optional_time")]
    pub from_time: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "optional_time")]
    pub to_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub from_people: Option<i64>,
    #[serde(default)]
    pub to_people: Option<i64>,
    #[serde(default)]
    pub limit: Option<i64>,
    #[serde(default)]
    pub start: Option<i64>,
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

fn optional_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    non_empty(d)?
        .map(|text| chefcito::time::parse(&text).map_err(serde::de::Error::custom))
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chefcito::extract::parse_query;

    #[test]
    fn listing_query_reads_what_the_clients_send() {
        let q: ListQuery = parse_query(
            "&start=0&limit=100000&from_time=2024-05-01T03:00:00.000Z&to_time=2024-05-02T02:59:59.999Z",
        )
        .unwrap();
        assert_eq!(q.limit, Some(100_000));
        assert_eq!(q.start, Some(0));
        assert_eq!(
            q.from_time.unwrap(),
            chefcito::time::parse("2024-05-01T03:00:00Z").unwrap()
        );
        let q: ListQuery =
            parse_query("?&status=Accepted&status=Uncomfirmed&limit=20&id=").unwrap();
        assert_eq!(q.status, [Status::Accepted, Status::Uncomfirmed]);
        assert_eq!(q.id, None);
    }

    #[test]
    fn malformed_listing_values_fail() {
        assert!(parse_query::<ListQuery>("from_time=yesterday").is_err());
        assert!(parse_query::<ListQuery>("status=Pending").is_err());
        assert!(parse_query::<ListQuery>("limit=ten").is_err());
    }

    #[test]
    fn update_fields_default_to_nothing() {
        let u: ReservationUpdate = serde_json::from_str(r#"{"user":"user/a"}"#).unwrap();
        assert_eq!(
            (u.advance_forward, u.cancel, u.time, u.people),
            (None, None, None, None)
        );
        let u: ReservationUpdate = serde_json::from_str(
            r#"{"user":"user/a","cancel":null,"time":"2030-01-01T10:00:00.000Z","people":3}"#,
        )
        .unwrap();
        assert_eq!(u.cancel, None);
        assert_eq!(u.people, Some(3));
        assert!(
            serde_json::from_str::<ReservationUpdate>(r#"{"user":"user/a","time":"soon"}"#)
                .is_err()
        );
    }
}
