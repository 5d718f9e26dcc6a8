//! One generation per venue at a time: simultaneous triggers coalesce.

use std::sync::Arc;

use serde_json::json;
use tokio::sync::Semaphore;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ten_concurrent_triggers_make_one_generation() {
    let gate = Arc::new(Semaphore::new(0));
    let engine = Concat::gated(gate.clone());
    let s = with_engine(engine.clone()).await;
    s.opinions.add("v1", "Rico", s.now());
    let mut tasks = Vec::new();
    for i in 0..10 {
        let app = s.app.clone();
        tasks.push(tokio::spawn(async move {
            if i % 3 == 0 {
                post(&app, "/summaries/v1", json!({})).await
            } else {
                get(&app, "/summaries/v1").await
            }
        }));
    }
    for task in tasks {
        let answer = task.await.unwrap();
        assert!(matches!(answer.status.as_u16(), 200 | 202), "{answer:?}");
        assert_eq!(answer.body["text"], summaries::model::UNAVAILABLE_TEXT);
    }
    assert_eq!(s.summaries.generating(), 1);
    gate.add_permits(10);
    s.settle().await;
    assert_eq!(engine.calls(), 1);
    assert_eq!(s.opinions.calls(), 1);
    assert_eq!(s.summary("v1").await["text"], "Rico");
    assert_eq!(s.rows("summaries"), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn venues_are_generated_independently() {
    let gate = Arc::new(Semaphore::new(0));
    let engine = Concat::gated(gate.clone());
    let s = with_engine(engine.clone()).await;
    for venue in ["v1", "v2", "v3"] {
        s.opinions.add(venue, venue, s.now());
        assert_eq!(
            get(&s.app, &format!("/summaries/{venue}")).await.status,
            200
        );
    }
    assert_eq!(s.summaries.generating(), 3);
    gate.add_permits(3);
    s.settle().await;
    assert_eq!(engine.calls(), 3);
    for venue in ["v1", "v2", "v3"] {
        assert_eq!(s.summary(venue).await["text"], venue);
    }
}
