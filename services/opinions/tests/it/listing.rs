//! `GET /opinions`: filters, order, true totals, paging bounds and the lenient query strings
//! of the real clients.

use chrono::{Duration, TimeZone, Utc};

use crate::common::*;

/// Five opinions at `resto` one hour apart (r0 oldest), two at `other`.
async fn seeded() -> Service {
    let s = quiet_service().await;
    let base = Utc.with_ymd_and_hms(2024, 5, 1, 12, 0, 0).unwrap();
    for i in 0..5 {
        reviewed(
            &s,
            "diner",
            "resto",
            &format!("r{i}"),
            &format!("Opinión {i}"),
            base + Duration::hours(i),
        )
        .await;
    }
    for i in 0..2 {
        reviewed(
            &s,
            "other-diner",
            "other",
            &format!("o{i}"),
            "Otra",
            base + Duration::hours(i),
        )
        .await;
    }
    s
}

#[tokio::test]
async fn a_venue_lists_newest_first_with_the_true_total() {
    let s = seeded().await;
    let all = list(&s, "venue=resto").await;
    assert_eq!(all.total(), 5);
    assert_eq!(all.reservations(), ["r4", "r3", "r2", "r1", "r0"]);
    let page = list(&s, "venue=resto&limit=2&start=1").await;
    assert_eq!(page.total(), 5, "total ignores paging");
    assert_eq!(page.reservations(), ["r3", "r2"]);
    let past_the_end = list(&s, "venue=resto&start=10").await;
    assert_eq!(
        (past_the_end.total(), past_the_end.reservations().len()),
        (5, 0)
    );
    let counted = list(&s, "venue=resto&limit=0").await;
    assert_eq!((counted.total(), counted.reservations().len()), (5, 0));
    assert_eq!(list(&s, "venue=nowhere").await.total(), 0);
}

#[tokio::test]
async fn the_default_page_is_ten() {
    let s = quiet_service().await;
    for i in 0..12 {
        reviewed(
            &s,
            "diner",
            "resto",
            &format!("r{i:02}"),
            "Rico",
            start() + Duration::minutes(i),
        )
        .await;
    }
    let page = list(&s, "venue=resto").await;
    assert_eq!((page.total(), page.reservations().len()), (12, 10));
}

#[tokio::test]
async fn opinions_of_one_instant_page_stably() {
    let s = quiet_service().await;
    for i in 0..4 {
        reviewed(&s, "diner", "resto", &format!("r{i}"), "Rico", start()).await;
    }
    let first = list(&s, "venue=resto&limit=2").await.reservations();
    let second = list(&s, "venue=resto&limit=2&start=2").await.reservations();
    assert_eq!([first, second].concat(), ["r3", "r2", "r1", "r0"]);
}

#[tokio::test]
async fn the_clients_query_strings_work() {
    let s = seeded().await;
    // Portal (E19): leading `?&`, limit 100000.
    let portal = list(&s, "&start=0&limit=100000&venue=resto").await;
    assert_eq!(portal.total(), 5);
    assert_eq!(portal.reservations().len(), 5);
    // Mobile "Ver todas".
    let mobile = list(&s, "venue=resto&limit=10&start=0").await;
    assert_eq!(mobile.reservations().len(), 5);
}

#[tokio::test]
async fn date_bounds_are_inclusive_and_take_every_accepted_form() {
    let s = seeded().await;
    // r1 is at 13:00 UTC, r3 at 15:00 UTC.
    for (from, to) in [
        ("2024-05-01T13:00:00", "2024-05-01T15:00:00"),
        ("2024-05-01T13:00:00.000Z", "2024-05-01T15:00:00.000Z"),
        // A space, encoded either way.
        ("2024-05-01%2013:00:00", "2024-05-01+15:00:00"),
        ("2024-05-01T10:00:00-03:00", "2024-05-01T12:00:00-03:00"),
        // Python's str(datetime), its `+` encoded.
        ("2024-05-01%2013:00:00.000000%2B00:00", "2024-05-01T15:00"),
    ] {
        let found = list(&s, &format!("venue=resto&from_date={from}&to_date={to}")).await;
        assert_eq!(found.reservations(), ["r3", "r2", "r1"], "{from} .. {to}");
    }
    // One bound alone works with a venue.
    assert_eq!(
        list(&s, "venue=resto&from_date=2024-05-01T15:00:00Z")
            .await
            .total(),
        2
    );
    assert_eq!(
        list(&s, "venue=resto&to_date=2024-05-01T12:59:59.999Z")
            .await
            .total(),
        1
    );
    // A reversed range is empty, not an error.
    assert_eq!(
        list(&s, "venue=resto&from_date=2024-05-02&to_date=2024-05-01")
            .await
            .total(),
        0
    );
    // Both dates without a venue range over every venue.
    let everywhere = list(
        &s,
        "from_date=2024-05-01T12:00:00Z&to_date=2024-05-01T13:00:00Z",
    )
    .await;
    assert_eq!(everywhere.total(), 4);
}

#[tokio::test]
async fn without_venue_reservation_or_both_dates_the_answer_is_empty() {
    let s = seeded().await;
    for query in [
        "",
        "?&",
        "limit=100",
        "venue=",
        "from_date=2024-01-01T00:00:00Z",
        "to_date=2030-01-01T00:00:00Z",
    ] {
        let answer = list(&s, query).await;
        assert_eq!(answer.total(), 0, "{query}");
        assert!(answer.reservations().is_empty(), "{query}");
    }
}

#[tokio::test]
async fn the_reservation_filter_finds_its_opinion() {
    let s = seeded().await;
    let one = list(&s, "reservation=r2").await;
    assert_eq!(one.total(), 1);
    assert_eq!(one.body["result"][0]["opinion"], "Opinión 2");
    assert_eq!(list(&s, "reservation=r2&venue=other").await.total(), 0);
    assert_eq!(list(&s, "reservation=nope").await.total(), 0);
}

#[tokio::test]
async fn paging_out_of_bounds_is_400_and_non_numbers_are_422() {
    let s = seeded().await;
    for (query, text) in [
        ("venue=resto&limit=100001", "Invalid limit: 100001"),
        ("venue=resto&limit=-1", "Invalid limit: -1"),
        ("venue=resto&start=-1", "Invalid start: -1"),
    ] {
        assert_refused(&list(&s, query).await, 400, text);
    }
    for query in [
        "venue=resto&limit=ten",
        "venue=resto&start=1.5",
        "venue=resto&limit=99999999999999999999",
        "venue=resto&from_date=yesterday",
        "venue=resto&to_date=2024-13-01",
    ] {
        let answer = list(&s, query).await;
        assert_eq!(answer.status, 422, "{query}: {answer:?}");
    }
    // Empty values are no value.
    assert_eq!(
        list(&s, "venue=resto&limit=&start=")
            .await
            .reservations()
            .len(),
        5
    );
}
