//! `opinion.created` through the transactional outbox: written with the opinion, delivered
//! once to each consumer, with the right payload, even when a consumer fails at first.

use std::collections::HashSet;
use std::sync::atomic::Ordering;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn the_event_is_written_with_the_opinion() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    s.clock
        .set(chefcito::time::parse("2030-01-01T12:00:00.250Z").unwrap());
    assert_eq!(
        review(&s, "diner", "resto", "r1", "Muy rico\nVolveremos")
            .await
            .status,
        200
    );
    let events = events(&s);
    assert_eq!(events.len(), 1);
    let opinion_id = events[0]["opinion"].as_str().unwrap().to_string();
    assert_eq!(opinion_id.len(), 36, "a UUID: {opinion_id}");
    assert_eq!(
        events[0],
        json!({"opinion": opinion_id, "reservation": "r1", "user": "diner", "venue": "resto",
               "opinion_text": "Muy rico\nVolveremos", "at": "2030-01-01T12:00:00.250000Z"})
    );
}

#[tokio::test]
async fn each_consumer_gets_the_event_once_even_after_a_failure() {
    let s = service().await;
    // Summaries fails on its first attempt; the others must not wait for it.
    s.fakes
        .failures
        .lock()
        .unwrap()
        .insert("summaries".into(), 1);
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    s.fakes.booking("r2", "diner", "resto", "Assisted");
    assert_eq!(review(&s, "diner", "resto", "r1", "Uno").await.status, 200);
    assert_eq!(review(&s, "diner", "resto", "r2", "Dos").await.status, 200);
    eventually(15, "two deliveries to every consumer", || {
        CONSUMERS.iter().all(|c| s.fakes.accepted(c).len() >= 2)
    })
    .await;
    // Nothing else is on its way.
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let stored_events = events(&s);
    for consumer in CONSUMERS {
        let accepted = s.fakes.accepted(consumer);
        assert_eq!(accepted.len(), 2, "{consumer}: {accepted:?}");
        let ids: HashSet<&str> = accepted.iter().map(|d| d["id"].as_str().unwrap()).collect();
        assert_eq!(ids.len(), 2, "{consumer}: each event once");
        // In event order, with the stored payloads.
        for (delivery, payload) in accepted.iter().zip(&stored_events) {
            assert_eq!(delivery["topic"], "opinion.created");
            assert_eq!(&delivery["payload"], payload);
        }
        assert_eq!(accepted[0]["payload"]["opinion_text"], "Uno");
        assert_eq!(accepted[1]["payload"]["reservation"], "r2");
    }
    assert!(
        s.fakes.attempts.load(Ordering::SeqCst) >= 7,
        "the failed delivery was retried"
    );
    assert_eq!(
        s.fakes.missing_token.load(Ordering::SeqCst),
        0,
        "deliveries carry the token"
    );
}

#[tokio::test]
async fn a_refused_opinion_announces_nothing() {
    let s = service().await;
    s.fakes.booking("r1", "diner", "resto", "Accepted");
    assert_eq!(review(&s, "diner", "resto", "r1", "Rico").await.status, 400);
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert!(events(&s).is_empty());
    assert_eq!(s.fakes.attempts.load(Ordering::SeqCst), 0);
}
