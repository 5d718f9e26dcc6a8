//! The seating rule: per venue, the people of Uncomfirmed and Accepted reservations less than
//! the seating window (120 min) apart never exceed the capacity, also under concurrency.

use std::collections::HashMap;

use axum::http::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn a_full_window_refuses_more_people() {
    let s = service().await;
    s.fakes.venue("resto", 10, "Available");
    booked(&s, "a", "resto", 600, 6).await;
    booked(&s, "b", "resto", 660, 4).await;
    // 30 minutes after the first: both are seated then.
    let answer = book(&s, "c", "resto", 630, 1).await;
    assert_refused(
        &answer,
        400,
        "The venue is full at that time: 0 seats are left",
    );
    // Exactly one window after the first no longer overlaps it, only the second.
    booked(&s, "d", "resto", 720, 6).await;
    // One window before the first overlaps nobody.
    booked(&s, "e", "resto", 480, 10).await;
    assert_refused(
        &book(&s, "f", "resto", 700, 1).await,
        400,
        "The venue is full",
    );
    assert_eq!(list(&s, "venue=resto").await.total(), 4);
}

#[tokio::test]
async fn canceled_and_final_reservations_free_their_seats() {
    let s = service().await;
    s.fakes.venue("resto", 4, "Available");
    let first = booked(&s, "a", "resto", 600, 4).await;
    assert_refused(
        &book(&s, "b", "resto", 600, 1).await,
        400,
        "The venue is full",
    );
    moved(&update(&s, &first, "a", json!({"cancel": true})).await);
    booked(&s, "b", "resto", 600, 4).await;
    assert_refused(
        &book(&s, "c", "resto", 610, 1).await,
        400,
        "The venue is full",
    );
}

#[tokio::test]
async fn a_capacity_of_zero_is_unlimited_and_other_venues_do_not_count() {
    let s = service().await;
    s.fakes.venue("open", 0, "Available");
    s.fakes.venue("small", 2, "Occupied");
    for _ in 0..3 {
        booked(&s, "a", "open", 600, 1000).await;
    }
    // Occupied is informational: it still takes bookings.
    booked(&s, "a", "small", 600, 2).await;
    assert_refused(
        &book(&s, "b", "small", 600, 1).await,
        400,
        "The venue is full",
    );
}

#[tokio::test]
async fn a_closed_venue_takes_no_bookings_nor_edits() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    let id = booked(&s, "a", "resto", 600, 2).await;
    s.fakes.venue("resto", 0, "Closed");
    assert_refused(
        &book(&s, "a", "resto", 600, 2).await,
        400,
        "Venue is closed",
    );
    assert_refused(
        &update(&s, &id, "a", json!({"people": 3})).await,
        400,
        "Venue is closed",
    );
    // Cancelling needs no venue.
    assert_eq!(
        moved(&update(&s, &id, "a", json!({"cancel": true})).await),
        "Canceled"
    );
}

#[tokio::test]
async fn edits_are_checked_against_the_window_they_move_to() {
    let s = service().await;
    s.fakes.venue("resto", 4, "Available");
    booked(&s, "a", "resto", 600, 2).await;
    let b = booked(&s, "b", "resto", 900, 2).await;
    let answer = update(&s, &b, "b", json!({"time": at(610), "people": 3})).await;
    assert_refused(
        &answer,
        400,
        "The venue is full at that time: 2 seats are left",
    );
    assert_eq!(
        moved(&update(&s, &b, "b", json!({"time": at(610)})).await),
        "Uncomfirmed"
    );
    // Growing in place counts the others, never itself.
    assert_refused(
        &update(&s, &b, "b", json!({"people": 3})).await,
        400,
        "The venue is full",
    );
}

#[tokio::test]
async fn a_lower_capacity_cancels_nothing_and_shrinking_a_party_is_always_allowed() {
    let s = service().await;
    s.fakes.venue("resto", 10, "Available");
    let id = booked(&s, "a", "resto", 600, 8).await;
    s.fakes.venue("resto", 4, "Available");
    let answer = update(&s, &id, "a", json!({"people": 6})).await;
    assert_eq!(moved(&answer), "Uncomfirmed");
    assert_eq!(answer.body["people"], 6);
    assert_refused(
        &update(&s, &id, "a", json!({"people": 7})).await,
        400,
        "The venue is full",
    );
}

/// At any instant, the parties seated (each for the window from its time) fit.
fn assert_never_over(rows: &[(i64, i64)], capacity: i64, window: i64) {
    for &(t, _) in rows {
        let seated: i64 = rows
            .iter()
            .filter(|&&(u, _)| u > t - window && u <= t)
            .map(|&(_, p)| p)
            .sum();
        assert!(seated <= capacity, "{seated} seated at {t} with {rows:?}");
    }
}

#[tokio::test]
async fn concurrent_bookings_never_overfill_a_window() {
    let s = service().await;
    let capacity = 5;
    s.fakes.venue("resto", capacity, "Available");
    let tasks: Vec<_> = (0..120)
        .map(|i| {
            let app = s.app.clone();
            // Slots 0, 45, 90, …, 315 minutes from 10:00, parties of 1 to 3.
            let minutes = 600 + 45 * (i % 8);
            let body = json!({"user": format!("user/u{i}"), "venue": "resto",
                              "time": at(minutes), "people": 1 + i % 3});
            tokio::spawn(async move { call(&app, Method::POST, "/reservations", Some(body)).await })
        })
        .collect();
    let mut answers: HashMap<u16, usize> = HashMap::new();
    for task in tasks {
        let answer = task.await.unwrap();
        if answer.status != 200 {
            assert_refused(&answer, 400, "The venue is full");
        }
        *answers.entry(answer.status.as_u16()).or_default() += 1;
    }
    assert!(answers.get(&200).is_some_and(|&n| n >= 3), "{answers:?}");
    assert!(answers.get(&400).is_some_and(|&n| n >= 60), "{answers:?}");
    let listing = list(&s, "venue=resto&limit=1000").await;
    assert_eq!(listing.total() as usize, answers[&200]);
    let rows: Vec<(i64, i64)> = listing.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            let time = chefcito::time::parse(r["time"].as_str().unwrap()).unwrap();
            (time.timestamp() / 60, r["people"].as_i64().unwrap())
        })
        .collect();
    assert_never_over(&rows, capacity, 120);
    // And the store agrees with what was answered: every accepted booking is there.
    assert_eq!(events(&s).len(), answers[&200]);
}
