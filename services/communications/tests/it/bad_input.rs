//! Bad input: each case gets a clear 4xx, never a 5xx, and changes nothing.

use axum::http::Method;

use crate::common::*;

#[tokio::test]
async fn refuses_calls_without_the_internal_token() {
    let s = service().await;
    chefcito::testing::assert_internal(
        s.app.clone(),
        &[
            (Method::PUT, "/users/u1/phone"),
            (Method::GET, "/users/u1/phone"),
            (Method::POST, "/messages"),
            (Method::GET, "/messages"),
            (Method::POST, "/events"),
        ],
    )
    .await;
    assert_eq!(
        (s.rows("phones"), s.rows("messages"), s.rows("inbox")),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn malformed_json_is_422() {
    let s = service().await;
    let answer = post_text(&s.app, "/events", r#"{"id": "e1", "topic": "#).await;
    assert_refused(&answer, 422, "Malformed JSON");
    assert_eq!(answer.body["endpoint"], "/events");
    assert_refused(&post_text(&s.app, "/events", "").await, 422, "empty");
    assert_refused(
        &post_text(&s.app, "/messages", "[").await,
        422,
        "Malformed JSON",
    );
    let answer = call(
        &s.app,
        Method::PUT,
        "/users/u1/phone",
        Some(axum::body::Body::from(r#"{"phone": 1155550000}"#)),
    )
    .await;
    assert_refused(&answer, 422, "invalid type");
    assert_eq!(
        (s.rows("phones"), s.rows("messages"), s.rows("inbox")),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn unknown_routes_are_404() {
    let s = service().await;
    assert_eq!(get(&s.app, "/user").await.status, 404);
    assert_eq!(get(&s.app, "/users/u1").await.status, 404);
}
