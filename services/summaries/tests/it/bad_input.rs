//! The internal token, and input that must never crash the service nor answer 5xx.

use axum::http::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn refuses_calls_without_the_internal_token() {
    let s = Service::start(Setup::default()).await;
    chefcito::testing::assert_internal(
        s.app.clone(),
        &[
            (Method::GET, "/summaries/v1"),
            (Method::POST, "/summaries/v1"),
            (Method::POST, "/events"),
        ],
    )
    .await;
    assert_eq!(s.opinions.calls(), 0, "nothing was generated");
    assert_eq!(s.rows("venue_state"), 0);
}

#[tokio::test]
async fn the_opinions_service_is_called_with_the_internal_token() {
    let s = Service::start(Setup::default()).await;
    s.generated("v1").await;
    let queries = s.opinions.queries();
    assert_eq!(queries.len(), 1, "{queries:?}");
    assert_eq!(queries[0].1.as_deref(), Some(TOKEN));
}

#[tokio::test]
async fn invalid_venues_still_read_200_with_the_placeholder_and_start_nothing() {
    let s = Service::start(Setup::default()).await;
    let long = "v".repeat(129);
    for path in [
        "/summaries/a%20b".to_string(),
        "/summaries/%FF%FE".to_string(),
        "/summaries/a%2Fb".to_string(),
        "/summaries/%07".to_string(),
        format!("/summaries/{long}"),
    ] {
        let answer = get(&s.app, &path).await;
        assert_eq!(answer.status, 200, "{path}: {answer:?}");
        assert_eq!(
            answer.body["text"],
            summaries::model::UNAVAILABLE_TEXT,
            "{path}"
        );
    }
    s.settle().await;
    assert_eq!(s.opinions.calls(), 0);
    assert_eq!(s.rows("venue_state"), 0);
}

#[tokio::test]
async fn forcing_an_invalid_venue_is_400() {
    let s = Service::start(Setup::default()).await;
    let answer = post(&s.app, "/summaries/a%20b", json!({})).await;
    assert_eq!(answer.status, 400, "{answer:?}");
    assert!(
        answer.body["description"]
            .as_str()
            .unwrap()
            .starts_with("Invalid venue"),
        "{answer:?}"
    );
    assert_eq!(answer.body["endpoint"], "/summaries/a%20b");
}

#[tokio::test]
async fn other_methods_are_405_with_the_envelope() {
    let s = Service::start(Setup::default()).await;
    let answer = call(&s.app, Method::DELETE, "/summaries/v1", None).await;
    assert_eq!(answer.status, 405);
    assert_eq!(answer.body["endpoint"], "/summaries/v1");
}
