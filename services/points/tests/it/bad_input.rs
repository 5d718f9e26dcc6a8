//! Bad input: each case gets a clear 4xx, never a 5xx, and changes nothing.

use axum::http::Method;
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn refuses_calls_without_the_internal_token() {
    let s = service().await;
    chefcito::testing::assert_internal(
        s.app.clone(),
        &[
            (Method::GET, "/points/u1"),
            (Method::POST, "/points"),
            (Method::POST, "/points/batch"),
            (Method::POST, "/events"),
        ],
    )
    .await;
    assert_eq!(s.rows("points"), 0);
}

#[tokio::test]
async fn malformed_json_is_422() {
    let s = service().await;
    let answer = post_text(&s.app, "/points", r#"{"user": "u1", "total": 5"#).await;
    assert_refused(&answer, 422, "Malformed JSON");
    assert_eq!(answer.body["endpoint"], "/points");
    assert_refused(&post_text(&s.app, "/events", "").await, 422, "empty");
    assert_refused(
        &post_text(&s.app, "/points/batch", "[").await,
        422,
        "Malformed JSON",
    );
    assert_eq!(s.rows("points"), 0);
}

#[tokio::test]
async fn a_total_that_is_not_an_integer_is_422() {
    let s = service().await;
    for total in [
        json!(1.5),
        json!("5"),
        json!(null),
        json!(1e30),
        json!(true),
    ] {
        let answer = post(&s.app, "/points", json!({"user": "u1", "total": total})).await;
        assert_eq!(answer.status, 422, "{total}: {answer:?}");
    }
    let missing = post(&s.app, "/points", json!({"user": "u1"})).await;
    assert_refused(&missing, 422, "missing field `total`");
    assert_eq!(s.rows("points"), 0);
}

#[tokio::test]
async fn a_total_out_of_range_is_400() {
    let s = service().await;
    for total in [1_000_001, -1_000_001, i64::MAX, i64::MIN] {
        let answer = post(&s.app, "/points", json!({"user": "u1", "total": total})).await;
        assert_refused(&answer, 400, "between -1000000 and 1000000");
    }
    assert_eq!(s.rows("points"), 0);
}

#[tokio::test]
async fn bad_user_ids_are_400() {
    let s = service().await;
    let long = "u".repeat(129);
    for user in ["", "user/u1", "a b", "a\u{7}b", long.as_str()] {
        let answer = post(&s.app, "/points", json!({"user": user, "total": 50})).await;
        assert_refused(&answer, 400, "Invalid user");
        let batch = post(&s.app, "/points/batch", json!({"users": ["u1", user]})).await;
        assert_refused(&batch, 400, "Invalid user");
    }
    assert_eq!(s.rows("points"), 0);
    assert_refused(
        &get(&s.app, &format!("/points/{long}")).await,
        400,
        "Invalid user",
    );
    assert_refused(&get(&s.app, "/points/a%20b").await, 400, "Invalid user");
    assert_refused(&get(&s.app, "/points/user%2Fu1").await, 400, "Invalid user");
    // The longest accepted id still reads.
    assert_eq!(total_of(&s.app, &"u".repeat(128)).await, 0);
}

#[tokio::test]
async fn wrong_shapes_are_422() {
    let s = service().await;
    let batch = post(&s.app, "/points/batch", json!({"users": "u1"})).await;
    assert_eq!(batch.status, 422, "{batch:?}");
    let batch = post(&s.app, "/points/batch", json!(["u1"])).await;
    assert_eq!(batch.status, 422, "{batch:?}");
    let user = post(&s.app, "/points", json!({"user": 5, "total": 5})).await;
    assert_eq!(user.status, 422, "{user:?}");
    let event = post(&s.app, "/events", json!({"id": {}, "topic": "x"})).await;
    assert_eq!(event.status, 422, "{event:?}");
    let event = post(&s.app, "/events", json!({"id": -3, "topic": "x"})).await;
    assert_eq!(event.status, 422, "{event:?}");
    assert_eq!(s.rows("points") + s.rows("inbox"), 0);
}

#[tokio::test]
async fn unknown_paths_and_methods_are_4xx() {
    let s = service().await;
    assert_eq!(get(&s.app, "/nope").await.status, 404);
    assert_eq!(get(&s.app, "/points").await.status, 405);
    assert_eq!(get(&s.app, "/events").await.status, 405);
    let delete = call(&s.app, Method::DELETE, "/points/u1", None).await;
    assert_eq!(delete.status, 405);
    assert_eq!(delete.body["endpoint"], "/points/u1");
}
