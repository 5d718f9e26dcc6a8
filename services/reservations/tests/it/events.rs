//! Status events through the transactional outbox: each transition reaches points once, with
//! the right payload, even when points fails at first.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn every_transition_reaches_points_once_even_after_a_failure() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    // Points is failing when the first event is ready.
    s.fakes.points_failures.store(1, Ordering::SeqCst);
    let id = booked(&s, "diner", "resto", 60, 3).await;
    accept(&s, &id, "resto").await;
    let answer = update(&s, &id, "diner", json!({"advance_forward": true})).await;
    assert_eq!(moved(&answer), "Assisted");
    eventually(15, "three deliveries", || {
        s.fakes.accepted_events().len() >= 3
    })
    .await;
    // Nothing else is on its way.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let accepted = s.fakes.accepted_events();
    assert_eq!(accepted.len(), 3, "{accepted:?}");
    assert!(
        s.fakes.points_attempts.load(Ordering::SeqCst) >= 4,
        "the failure was retried"
    );
    let mut per_id: HashMap<String, usize> = HashMap::new();
    for delivery in &accepted {
        assert_eq!(delivery["topic"], "reservation.status");
        *per_id
            .entry(delivery["id"].as_str().unwrap().to_string())
            .or_default() += 1;
    }
    assert!(per_id.values().all(|&n| n == 1), "{per_id:?}");
    let payloads: Vec<_> = accepted.iter().map(|d| d["payload"].clone()).collect();
    let expected = |from: serde_json::Value, to: &str, by: &str| {
        json!({"reservation": id, "user": "diner", "venue": "resto", "from": from, "to": to,
               "by": by, "time": "2030-01-01T13:00:00Z", "people": 3,
               "at": "2030-01-01T12:00:00Z"})
    };
    // In event order, the failed first one included.
    assert_eq!(
        payloads,
        [
            expected(json!(null), "Uncomfirmed", "owner"),
            expected(json!("Uncomfirmed"), "Accepted", "venue"),
            expected(json!("Accepted"), "Assisted", "owner"),
        ]
    );
    assert_eq!(
        s.fakes.missing_token.load(Ordering::SeqCst),
        0,
        "deliveries carry the token"
    );
}

#[tokio::test]
async fn a_points_outage_never_fails_the_diner() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    s.fakes.points_failures.store(usize::MAX, Ordering::SeqCst);
    let id = booked(&s, "diner", "resto", 60, 2).await;
    let answer = update(&s, &id, "diner", json!({"cancel": true})).await;
    assert_eq!(moved(&answer), "Canceled");
    eventually(5, "a delivery attempt", || {
        s.fakes.points_attempts.load(Ordering::SeqCst) >= 1
    })
    .await;
    assert!(s.fakes.accepted_events().is_empty());
    // Both events wait in the outbox, in order.
    assert_eq!(transitions(&s, &id).len(), 2);
}

#[tokio::test]
async fn events_committed_before_a_crash_are_delivered_once_after_the_restart() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    // Points refuses everything while the reservation changes: the events stay in the outbox.
    s.fakes
        .points_failures
        .store(usize::MAX / 2, Ordering::SeqCst);
    let id = booked(&s, "diner", "resto", 60, 2).await;
    accept(&s, &id, "resto").await;
    let answer = update(&s, &id, "diner", json!({"advance_forward": true})).await;
    assert_eq!(moved(&answer), "Assisted");
    eventually(10, "a first delivery attempt", || {
        s.fakes.points_attempts.load(Ordering::SeqCst) >= 1
    })
    .await;
    assert!(s.fakes.accepted_events().is_empty());
    // Killed after the commits, before any delivery; points comes back; so does the service.
    let fakes = s.fakes.clone();
    let s = s.restart().await;
    fakes.points_failures.store(0, Ordering::SeqCst);
    eventually(15, "three deliveries after the restart", || {
        fakes.accepted_events().len() >= 3
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let accepted = fakes.accepted_events();
    let ids: std::collections::HashSet<&str> =
        accepted.iter().map(|d| d["id"].as_str().unwrap()).collect();
    assert_eq!((accepted.len(), ids.len()), (3, 3), "{accepted:?}");
    let tos: Vec<&str> = accepted
        .iter()
        .map(|d| d["payload"]["to"].as_str().unwrap())
        .collect();
    assert_eq!(tos, ["Uncomfirmed", "Accepted", "Assisted"]);
    drop(s);
}
