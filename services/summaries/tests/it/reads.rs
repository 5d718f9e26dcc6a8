//! `GET /summaries/{venue}` (always 200, H10) and `POST /summaries/{venue}`: placeholders,
//! background generation, staleness, failures and their cooldown, forced regeneration.

use serde_json::json;
use summaries::model::{NO_SUMMARY_TEXT, UNAVAILABLE_TEXT};

use crate::common::*;

#[tokio::test]
async fn a_venue_without_opinions_reads_the_original_placeholders() {
    let s = Service::start(Setup::default()).await;
    let first = get(&s.app, "/summaries/v1?limit=3&skip=0").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.body,
        json!({"text": UNAVAILABLE_TEXT, "venue": "v1", "date": "2025-06-15T12:00:00Z"})
    );
    s.settle().await;
    // The attempt found nothing to summarise: the summarizer's own placeholder from now on.
    let then = s.summary("v1").await;
    assert_eq!(then["text"], NO_SUMMARY_TEXT);
    assert_eq!(s.rows("summaries"), 0, "a placeholder is never stored");
}

#[tokio::test]
async fn fewer_opinions_than_required_make_no_summary() {
    let engine = Concat::new();
    let s = Service::start(Setup {
        engine: Some(engine.clone()),
        args: &["--summary-min-opinions", "5"],
    })
    .await;
    for i in 0..4 {
        s.opinions.add("v1", "Rico", s.now() - days(i));
    }
    assert_eq!(s.generated("v1").await["text"], NO_SUMMARY_TEXT);
    assert_eq!(engine.calls(), 0);
    s.opinions.add("v1", "Rico", s.now());
    s.clock.advance(chrono::Duration::minutes(6));
    assert_eq!(s.generated("v1").await["text"], "RicoRicoRicoRicoRico");
}

#[tokio::test]
async fn a_read_generates_in_the_background_with_the_extractive_engine() {
    let s = Service::start(Setup::default()).await;
    s.opinions.add(
        "v1",
        "La comida es excelente. El lugar es chico.",
        s.now() - days(2),
    );
    s.opinions.add(
        "v1",
        "Excelente comida y buena atención.",
        s.now() - days(1),
    );
    s.opinions.add(
        "v1",
        "La atención fue lenta, pero la comida excelente.",
        s.now(),
    );
    let first = get(&s.app, "/summaries/v1").await;
    assert_eq!(
        first.body["text"], UNAVAILABLE_TEXT,
        "never generated on the request path"
    );
    s.settle().await;
    let summary = s.summary("v1").await;
    let text = summary["text"].as_str().unwrap();
    assert!(text.starts_with("Resumen de 3 opiniones. "), "{text}");
    assert!(text.contains("omida"), "{text}");
    assert_eq!(summary["venue"], "v1");
    assert_eq!(summary["date"], "2025-06-15T12:00:00Z");
    assert_eq!(s.engine_of("v1").as_deref(), Some("extractive"));
}

#[tokio::test]
async fn a_stale_summary_is_regenerated_on_read() {
    let engine = Concat::new();
    let s = with_engine(engine.clone()).await;
    s.opinions.add("v1", "Vieja. ", s.now());
    assert_eq!(s.generated("v1").await["text"], "Vieja.");
    s.opinions.add("v1", "Nueva. ", s.now() + days(1));
    s.clock.advance(days(6));
    assert_eq!(
        s.summary("v1").await["text"],
        "Vieja.",
        "6 days: still fresh"
    );
    assert_eq!(engine.calls(), 1);
    s.clock.advance(days(1));
    let stale = s.summary("v1").await;
    assert_eq!(
        stale["text"], "Vieja.",
        "the stale summary is served meanwhile"
    );
    let fresh = s.summary("v1").await;
    assert_eq!(fresh["text"], "Nueva. Vieja.");
    assert_eq!(fresh["date"], "2025-06-22T12:00:00Z");
    assert_eq!(engine.calls(), 2);
}

#[tokio::test]
async fn a_failing_opinions_service_keeps_the_placeholder_and_is_not_hammered() {
    let engine = Concat::new();
    let s = with_engine(engine.clone()).await;
    s.opinions.add("v1", "Rico", s.now());
    s.opinions.fail(true);
    assert_eq!(s.generated("v1").await["text"], UNAVAILABLE_TEXT);
    for _ in 0..5 {
        assert_eq!(s.summary("v1").await["text"], UNAVAILABLE_TEXT);
    }
    assert_eq!(s.opinions.calls(), 1, "no retry within the cooldown");
    s.clock.advance(chrono::Duration::minutes(5));
    s.summary("v1").await;
    assert_eq!(s.opinions.calls(), 2, "retried once the cooldown is over");
    s.opinions.fail(false);
    s.clock.advance(chrono::Duration::minutes(5));
    assert_eq!(s.generated("v1").await["text"], "Rico");
    assert_eq!(engine.calls(), 1);
}

#[tokio::test]
async fn a_failing_regeneration_keeps_the_previous_summary() {
    let s = with_engine(Concat::new()).await;
    s.opinions.add("v1", "Rico", s.now());
    assert_eq!(s.generated("v1").await["text"], "Rico");
    s.opinions.fail(true);
    s.clock.advance(days(8));
    assert_eq!(s.generated("v1").await["text"], "Rico");
    assert_eq!(s.opinions.calls(), 2);
}

#[tokio::test]
async fn the_summary_survives_a_restart() {
    let first = Concat::new();
    let mut s = with_engine(first.clone()).await;
    s.opinions.add("v1", "Rico", s.now());
    let before = s.generated("v1").await;
    let second = Concat::new();
    s.restart(Setup {
        engine: Some(second.clone()),
        args: &[],
    })
    .await;
    assert_eq!(s.summary("v1").await, before);
    assert_eq!(
        second.calls(),
        0,
        "a fresh stored summary is not regenerated"
    );
}

#[tokio::test]
async fn forcing_regenerates_in_the_background_with_202() {
    let engine = Concat::new();
    let s = with_engine(engine.clone()).await;
    s.opinions.add("v1", "Uno. ", s.now());
    assert_eq!(s.generated("v1").await["text"], "Uno.");
    s.opinions
        .add("v1", "Dos. ", s.now() + chrono::Duration::minutes(1));
    s.clock.advance(chrono::Duration::minutes(6));
    let forced = post(&s.app, "/summaries/v1", json!({})).await;
    assert_eq!(forced.status, 202, "{forced:?}");
    assert_eq!(
        forced.body["text"], "Uno.",
        "answers the summary as it is now"
    );
    s.settle().await;
    assert_eq!(s.summary("v1").await["text"], "Dos. Uno.");
    // Again right away: too soon, nothing starts.
    let again = post(&s.app, "/summaries/v1", json!({})).await;
    assert_eq!(again.status, 200, "{again:?}");
    assert_eq!(again.body["text"], "Dos. Uno.");
    s.settle().await;
    assert_eq!(engine.calls(), 2);
}

#[tokio::test]
async fn forcing_a_venue_without_summary_answers_the_placeholder() {
    let s = with_engine(Concat::new()).await;
    s.opinions.add("v1", "Rico", s.now());
    let forced = post(&s.app, "/summaries/v1", json!({})).await;
    assert_eq!(forced.status, 202);
    assert_eq!(forced.body["text"], UNAVAILABLE_TEXT);
    assert_eq!(forced.body["venue"], "v1");
    s.settle().await;
    assert_eq!(s.summary("v1").await["text"], "Rico");
}
