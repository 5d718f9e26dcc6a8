//! `POST /events`: `opinion.created` counted once per event id, regenerations it triggers.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use crate::common::*;

#[tokio::test]
async fn the_first_opinion_of_a_venue_generates_its_summary() {
    let engine = Concat::new();
    let s = with_engine(engine.clone()).await;
    s.opinions.add("v1", "Primera", s.now());
    assert_eq!(deliver(&s.app, opinion_event("e1", "v1")).await, "applied");
    s.settle().await;
    assert_eq!(engine.calls(), 1);
    assert_eq!(s.summary("v1").await["text"], "Primera");
}

#[tokio::test]
async fn enough_new_opinions_trigger_a_regeneration() {
    let engine = Concat::new();
    let s = with_engine(engine.clone()).await;
    s.opinions.add("v1", "a", s.now());
    assert_eq!(s.generated("v1").await["text"], "a");
    for i in 1..=4 {
        s.opinions
            .add("v1", &i.to_string(), s.now() + chrono::Duration::seconds(i));
        assert_eq!(
            deliver(&s.app, opinion_event(&format!("e{i}"), "v1")).await,
            "applied"
        );
        s.settle().await;
    }
    assert_eq!(engine.calls(), 1, "four new opinions are not enough");
    assert_eq!(s.summary("v1").await["text"], "a");
    s.opinions
        .add("v1", "5", s.now() + chrono::Duration::seconds(5));
    deliver(&s.app, opinion_event("e5", "v1")).await;
    s.settle().await;
    assert_eq!(engine.calls(), 2);
    assert_eq!(s.summary("v1").await["text"], "54321a");
    // The count starts again from the new summary.
    deliver(&s.app, opinion_event("e6", "v1")).await;
    s.settle().await;
    assert_eq!(engine.calls(), 2);
}

#[tokio::test]
async fn events_are_counted_once_per_id() {
    let engine = Concat::new();
    let s = with_engine(engine.clone()).await;
    s.opinions.add("v1", "a", s.now());
    s.generated("v1").await;
    assert_eq!(
        deliver(&s.app, opinion_event("same", "v1")).await,
        "applied"
    );
    for _ in 0..6 {
        assert_eq!(
            deliver(&s.app, opinion_event("same", "v1")).await,
            "duplicate"
        );
    }
    s.settle().await;
    assert_eq!(engine.calls(), 1, "one opinion, however often delivered");
    assert_eq!(s.rows("inbox"), 1);
}

#[tokio::test]
async fn opinions_arriving_during_a_generation_are_not_left_behind() {
    let gate = Arc::new(Semaphore::new(0));
    let engine = Concat::gated(gate.clone());
    let s = with_engine(engine.clone()).await;
    s.opinions.add("v1", "a", s.now());
    deliver(&s.app, opinion_event("e0", "v1")).await;
    wait_until("the first generation reached the engine", || {
        engine.calls() == 1
    })
    .await;
    // The first generation is waiting in the engine; five opinions arrive meanwhile.
    for i in 1..=5 {
        s.opinions
            .add("v1", &i.to_string(), s.now() + chrono::Duration::seconds(i));
        deliver(&s.app, opinion_event(&format!("e{i}"), "v1")).await;
    }
    assert_eq!(engine.calls(), 1, "joined the running generation");
    gate.add_permits(2);
    s.settle().await;
    assert_eq!(
        engine.calls(),
        2,
        "went again for the opinions counted meanwhile"
    );
    assert_eq!(s.summary("v1").await["text"], "54321a");
}

#[tokio::test]
async fn other_topics_are_ignored_and_unreadable_events_are_422() {
    let s = Service::start(Setup::default()).await;
    let status = json!({"id": "s1", "topic": "reservation.status", "payload": {"reservation": 1}});
    assert_eq!(deliver(&s.app, status).await, "ignored");
    for bad in [
        json!({"id": "e1", "topic": "opinion.created", "payload": {"user": "u1"}}),
        json!({"id": "e1", "topic": "opinion.created", "payload": {"venue": "a/b"}}),
        json!({"id": "", "topic": "opinion.created", "payload": {"venue": "v1"}}),
        json!({"topic": "opinion.created", "payload": {"venue": "v1"}}),
        json!([1, 2]),
    ] {
        let answer = post(&s.app, "/events", bad.clone()).await;
        assert_eq!(answer.status, 422, "{bad}: {answer:?}");
        assert!(answer.body["description"].is_string());
    }
    let malformed = call(
        &s.app,
        axum::http::Method::POST,
        "/events",
        Some(axum::body::Body::from("{\"id\":")),
    )
    .await;
    assert_eq!(malformed.status, 422);
    s.settle().await;
    assert_eq!(s.rows("inbox"), 0, "nothing refused is recorded");
    assert_eq!(s.opinions.calls(), 0);
}
