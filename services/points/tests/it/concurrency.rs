//! Concurrent deliveries and posts: no event applies twice, no change is lost.

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_same_event_delivered_five_times_concurrently_applies_once() {
    let s = service().await;
    let event = status_event("e1", "r1", "u1", "Assisted", "venue");
    let tasks = (0..5)
        .map(|_| {
            let (app, event) = (s.app.clone(), event.clone());
            tokio::spawn(async move { deliver(&app, event).await })
        })
        .collect();
    let mut outcomes = join_all(tasks).await;
    outcomes.sort();
    assert_eq!(
        outcomes,
        [
            "applied",
            "duplicate",
            "duplicate",
            "duplicate",
            "duplicate"
        ]
    );
    assert_eq!(total_of(&s.app, "u1").await, 50);
    assert_eq!((s.rows("inbox"), s.rows("ledger")), (1, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_events_for_one_user_give_the_exact_total() {
    let s = service().await;
    // 60 visits attended and 20 cancelled by the diner, plus an opinion on each of the first
    // 20 visits: 60·50 − 20·50 + 20·50 = 3000.
    let events: Vec<_> = (0..80)
        .map(|i| {
            let (id, reservation) = (format!("status-{i}"), format!("r{i}"));
            if i < 60 {
                status_event(&id, &reservation, "u1", "Assisted", "owner")
            } else {
                status_event(&id, &reservation, "u1", "Canceled", "owner")
            }
        })
        .chain((0..20).map(|i| opinion_event(&format!("opinion-{i}"), &format!("r{i}"), "u1")))
        .collect::<Vec<_>>();
    assert_eq!(events.len(), 100);
    let tasks = events
        .into_iter()
        .map(|event| {
            let app = s.app.clone();
            tokio::spawn(async move { deliver(&app, event).await })
        })
        .collect();
    let outcomes = join_all(tasks).await;
    assert!(outcomes.iter().all(|o| o == "applied"), "{outcomes:?}");
    assert_eq!(total_of(&s.app, "u1").await, 3000);
    assert_eq!(s.stored_total("u1"), Some(3000));
    assert_eq!(s.ledger_sum("u1"), 3000);
    assert_eq!(s.rows("ledger"), 100);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_direct_posts_all_count() {
    let s = service().await;
    let tasks = (0..50)
        .map(|i| {
            let app = s.app.clone();
            tokio::spawn(async move { add(&app, "u1", if i % 5 == 0 { -10 } else { 20 }).await })
        })
        .collect();
    join_all(tasks).await;
    assert_eq!(total_of(&s.app, "u1").await, 40 * 20 - 10 * 10);
}
