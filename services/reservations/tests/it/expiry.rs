//! Expiry: an Accepted reservation 15 minutes past its time expires, lazily on listings and
//! through the background sweep, once, with one event.

use axum::http::Method;
use chrono::Duration;
use serde_json::json;

use crate::common::*;

fn expiries(s: &Service, id: &str) -> usize {
    transitions(s, id)
        .iter()
        .filter(|(_, to, _)| to == "Expired")
        .count()
}

#[tokio::test]
async fn a_listing_expires_what_is_due_once_however_many_list_at_once() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    let id = booked(&s, "diner", "resto", 60, 2).await;
    accept(&s, &id, "resto").await;
    s.clock.advance(Duration::minutes(60 + 15));
    let tasks: Vec<_> = (0..8)
        .map(|i| {
            let app = s.app.clone();
            let query = if i % 2 == 0 {
                "venue=resto"
            } else {
                "user=user/diner"
            };
            tokio::spawn(async move {
                call(&app, Method::GET, &format!("/reservations?{query}"), None).await
            })
        })
        .collect();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
        assert_eq!(answer.body["result"][0]["status"]["status"], "Expired");
    }
    assert_eq!(stored_status(&s, &id).as_deref(), Some("Expired"));
    assert_eq!(
        transitions(&s, &id).last().unwrap(),
        &(
            json!("Accepted"),
            "Expired".to_string(),
            "system".to_string()
        )
    );
    assert_eq!(expiries(&s, &id), 1);
    let expired = events(&s).into_iter().last().unwrap();
    assert_eq!(expired["at"], "2030-01-01T13:15:00Z");
    assert_eq!(expired["user"], "diner");
}

#[tokio::test]
async fn nothing_expires_before_fifteen_minutes_nor_while_unconfirmed() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    let accepted = booked(&s, "diner", "resto", 60, 2).await;
    accept(&s, &accepted, "resto").await;
    let unconfirmed = booked(&s, "diner", "resto", 60, 2).await;
    s.clock.advance(Duration::minutes(60 + 14));
    list(&s, "venue=resto").await;
    assert_eq!(stored_status(&s, &accepted).as_deref(), Some("Accepted"));
    s.clock.advance(Duration::days(30));
    list(&s, "venue=resto").await;
    assert_eq!(stored_status(&s, &accepted).as_deref(), Some("Expired"));
    assert_eq!(
        stored_status(&s, &unconfirmed).as_deref(),
        Some("Uncomfirmed")
    );
}

#[tokio::test]
async fn an_accepted_listing_no_longer_shows_what_just_expired() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    let id = booked(&s, "diner", "resto", 60, 2).await;
    accept(&s, &id, "resto").await;
    assert_eq!(
        list(&s, "&status=Accepted&limit=20").await.ids(),
        [id.as_str()]
    );
    s.clock.advance(Duration::hours(2));
    let home = list(&s, "&status=Accepted&limit=20&caller=user/diner").await;
    assert_eq!((home.ids().len(), home.total()), (0, 0));
    assert_eq!(list(&s, "status=Expired").await.ids(), [id]);
}

#[tokio::test]
async fn a_listing_expires_only_within_its_filters() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    s.fakes.venue("other", 0, "Available");
    let here = booked(&s, "diner", "resto", 60, 2).await;
    let there = booked(&s, "diner", "other", 60, 2).await;
    accept(&s, &here, "resto").await;
    accept(&s, &there, "other").await;
    s.clock.advance(Duration::hours(2));
    list(&s, "venue=resto").await;
    assert_eq!(stored_status(&s, &here).as_deref(), Some("Expired"));
    assert_eq!(stored_status(&s, &there).as_deref(), Some("Accepted"));
}

#[tokio::test]
async fn check_in_after_expiry_is_refused() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    let id = booked(&s, "diner", "resto", 60, 2).await;
    accept(&s, &id, "resto").await;
    s.clock.advance(Duration::minutes(80));
    list(&s, "user=user/diner").await;
    let answer = update(&s, &id, "diner", json!({"advance_forward": true})).await;
    assert_refused(&answer, 400, "Reservation is in a final state");
}

#[tokio::test]
async fn the_sweep_expires_without_anyone_listing_and_listings_add_nothing() {
    let s = service_with(Setup {
        sweep_secs: 1,
        ..Setup::default()
    })
    .await;
    s.fakes.venue("resto", 0, "Available");
    let id = booked(&s, "diner", "resto", 60, 2).await;
    accept(&s, &id, "resto").await;
    let untouched = booked(&s, "diner", "resto", 600, 2).await;
    accept(&s, &untouched, "resto").await;
    s.clock.advance(Duration::minutes(90));
    eventually(5, "the sweep", || {
        stored_status(&s, &id).as_deref() == Some("Expired")
    })
    .await;
    assert_eq!(stored_status(&s, &untouched).as_deref(), Some("Accepted"));
    list(&s, "venue=resto").await;
    assert_eq!(expiries(&s, &id), 1);
    // Its event reaches points like any other.
    eventually(10, "delivery of the expiry", || {
        s.fakes
            .accepted_events()
            .iter()
            .any(|d| d["payload"]["reservation"] == id.as_str() && d["payload"]["to"] == "Expired")
    })
    .await;
}
