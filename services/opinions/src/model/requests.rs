//! What callers send. Unknown keys are ignored; a malformed value (a datetime that does not
//! parse, a number that is not an integer, a missing key) fails deserialisation, which the
//! extractors answer with 422. Business rules (id formats, the text, paging bounds) are
//! checked by the service and answer 400.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

/// `POST /opinions`: the gateway adds `user` (the bare uid) from the verified token.
#[derive(Debug, Clone, Deserialize)]
pub struct NewOpinion {
    pub user: String,
    pub venue: String,
    pub opinion: String,
    pub reservation: String,
    /// The client's clock (E18 sends "now"). Read so that a malformed value is refused, but
    /// the stored date is the server's clock (spec §10 Q2).
    #[serde(default, with = "chefcito::time::serde_naive::option")]
    pub date: Option<DateTime<Utc>>,
}

/// `GET /opinions`. Empty values (`?venue=`) mean "no filter".
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default, deserialize_with = "non_empty")]
    pub venue: Option<String>,
    #[serde(default, deserialize_with = "non_empty")]
    pub reservation: Option<String>,
    #[serde(default, deserialize_with = "optional_time")]
    pub from_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "optional_time")]
    pub to_date: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "optional_number")]
    pub limit: Option<i64>,
    #[serde(default, deserialize_with = "optional_number")]
    pub start: Option<i64>,
}

/// `POST /opinions/batch`: the opinions of these reservations.
#[derive(Debug, Clone, Deserialize)]
pub struct Batch {
    pub reservations: Vec<String>,
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
}

fn optional_time<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    non_empty(d)?
        .map(|text| chefcito::time::parse(&text).map_err(serde::de::Error::custom))
        .transpose()
}

fn optional_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    non_empty(d)?
        .map(|text| {
            text.trim()
                .parse::<i64>()
                .map_err(|_| serde::de::Error::custom(format!("{text:?} is not an integer")))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chefcito::extract::parse_query;

    #[test]
    fn listing_query_reads_what_the_clients_send() {
        let q: ListQuery = parse_query("&start=0&limit=100000&venue=resto").unwrap();
        assert_eq!(
            (q.venue.as_deref(), q.limit, q.start),
            (Some("resto"), Some(100_000), Some(0))
        );
        let q: ListQuery = parse_query(
            "venue=&reservation=r1&from_date=2024-07-25 20:00:00&to_date=2024-07-26T08:00:00.000Z&start=",
        )
        .unwrap();
        assert_eq!(q.venue, None);
        assert_eq!(q.reservation.as_deref(), Some("r1"));
        assert_eq!(q.start, None);
        assert_eq!(
            q.from_date.unwrap(),
            chefcito::time::parse("2024-07-25T20:00:00Z").unwrap()
        );
        assert_eq!(
            q.to_date.unwrap(),
            chefcito::time::parse("2024-07-26T08:00:00Z").unwrap()
        );
    }

    #[test]
    fn malformed_listing_values_fail() {
        assert!(parse_query::<ListQuery>("from_date=yesterday").is_err());
        assert!(parse_query::<ListQuery>("limit=ten").is_err());
        assert!(parse_query::<ListQuery>("start=1.5").is_err());
    }

    #[test]
    fn new_opinion_reads_the_mobile_body_and_ignores_extra_keys() {
        let o: NewOpinion = serde_json::from_str(
            r#"{"user":"diner","reservation":"r1","opinion":"Rico","venue":"resto",
                "date":"2024-07-24T20:20:45.000Z","score":5}"#,
        )
        .unwrap();
        assert_eq!(o.reservation, "r1");
        assert!(o.date.is_some());
        let o: NewOpinion = serde_json::from_str(
            r#"{"user":"diner","reservation":"r1","opinion":"Rico","venue":"resto"}"#,
        )
        .unwrap();
        assert_eq!(o.date, None);
        assert!(
            serde_json::from_str::<NewOpinion>(
                r#"{"user":"diner","reservation":"r1","opinion":"Rico","venue":"resto","date":"today"}"#
            )
            .is_err()
        );
    }
}
