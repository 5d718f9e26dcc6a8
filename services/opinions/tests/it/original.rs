//! The original's opinion tests (spec §9), ported: `test_opinions.*` (unit, in-memory store)
//! and `services/test_opinions.test_opinions_loop` (a) and (b). Part (c) is the summaries
//! service's.

use chrono::{Duration, TimeZone, Utc};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_created_opinion_can_be_retrieved() {
    let s = quiet_service().await;
    let when = Utc.with_ymd_and_hms(2024, 7, 24, 20, 20, 45).unwrap();
    reviewed(&s, "diner", "SomeVenue", "r1", "This is an opinion", when).await;
    let found = list(&s, "venue=SomeVenue").await;
    assert_eq!(found.total(), 1);
    // Field by field, the date naive as the original answered it.
    assert_eq!(
        found.body["result"][0],
        json!({"venue": "SomeVenue", "opinion": "This is an opinion", "reservation": "r1",
               "date": "2024-07-24T20:20:45"})
    );
}

#[tokio::test]
async fn opinions_from_different_restaurants_do_not_show_up_on_the_same_query() {
    let s = quiet_service().await;
    reviewed(&s, "diner", "SomeVenue", "r1", "Good", start()).await;
    reviewed(&s, "diner", "OtherVenue", "r2", "Bad", start()).await;
    let found = list(&s, "venue=SomeVenue").await;
    assert_eq!(found.total(), 1);
    assert_eq!(found.reservations(), ["r1"]);
    assert_eq!(found.body["result"][0]["opinion"], "Good");
}

#[tokio::test]
async fn opinions_loop_queries_by_date_range_across_venues() {
    let s = quiet_service().await;
    // 24 hourly opinions from 2024-07-25 20:00 to 2024-07-26 19:00, each at its own venue.
    let first = Utc.with_ymd_and_hms(2024, 7, 25, 20, 0, 0).unwrap();
    for hour in 0..24 {
        reviewed(
            &s,
            "diner",
            &format!("venue{hour}"),
            &format!("r{hour:02}"),
            "This is an opinion",
            first + Duration::hours(hour),
        )
        .await;
    }
    let range = list(
        &s,
        "from_date=2024-07-25T20:00:00&to_date=2024-07-26T08:00:00&limit=20",
    )
    .await;
    assert_eq!(range.total(), 13);
    let dates: Vec<String> = range.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["date"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(dates.len(), 13);
    assert_eq!(dates.first().unwrap(), "2024-07-26T08:00:00");
    assert_eq!(dates.last().unwrap(), "2024-07-25T20:00:00");
    assert!(
        dates.windows(2).all(|w| w[0] > w[1]),
        "newest first: {dates:?}"
    );
    let later = list(
        &s,
        "from_date=2024-07-26T09:00:00&to_date=2024-07-26T20:00:00&limit=20",
    )
    .await;
    assert_eq!(later.total(), 11);
    assert_eq!(later.reservations().len(), 11);
}
