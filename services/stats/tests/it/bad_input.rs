//! Bad input: each case gets a clear 4xx, never a 5xx, and changes nothing.

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn refuses_calls_without_the_internal_token() {
    let s = service().await;
    chefcito::testing::assert_internal(
        s.app.clone(),
        &[
            (Method::POST, "/events"),
            (Method::POST, "/update-data"),
            (Method::GET, "/user/u1"),
            (Method::GET, "/venue/v1"),
        ],
    )
    .await;
    s.assert_untouched();
}

#[tokio::test]
async fn malformed_json_is_422() {
    let s = service().await;
    let answer = post_text(&s.app, "/events", r#"{"id": "e1", "topic": "#).await;
    assert_refused(&answer, 422, "Malformed JSON");
    assert_eq!(answer.body["endpoint"], "/events");
    assert_refused(&post_text(&s.app, "/events", "").await, 422, "empty");
    assert_refused(
        &post_text(&s.app, "/update-data", "[").await,
        422,
        "Malformed JSON",
    );
    assert_refused(&post_text(&s.app, "/update-data", " ").await, 422, "empty");
    s.assert_untouched();
}

#[tokio::test]
async fn malformed_events_are_422_and_record_nothing() {
    let s = service().await;
    let good = r("r1").event("e1", "Assisted");
    let mut cases: Vec<(Value, &str)> = Vec::new();
    let mut with = |key: &str, value: Value, expected: &'static str| {
        let mut e = good.clone();
        e["payload"][key] = value;
        cases.push((e, expected));
    };
    with("to", json!("Cancelled"), "unknown variant `Cancelled`");
    with("to", json!(null), "invalid payload");
    with("time", json!("mañana"), "`time`");
    with("time", json!(1713211200), "invalid payload");
    with("people", json!(0), "`people`");
    with("people", json!(-2), "`people`");
    with("people", json!("2"), "invalid payload");
    with("user", json!(""), "`user`");
    with("user", json!("u\u{7}1"), "`user`");
    with("user", json!("x".repeat(129)), "`user`");
    with("venue", json!("a b"), "`venue`");
    with("venue", json!(null), "invalid payload");
    with("reservation", json!("r 1"), "`reservation`");
    with("reservation", json!(-1), "invalid payload");
    let mut missing = good.clone();
    missing["payload"]
        .as_object_mut()
        .unwrap()
        .remove("reservation");
    cases.push((missing, "missing field `reservation`"));
    let mut null_payload = good.clone();
    null_payload["payload"] = Value::Null;
    cases.push((null_payload, "invalid payload"));
    let mut bad_id = good.clone();
    bad_id["id"] = json!("");
    cases.push((bad_id, "`id`"));
    for (event, expected) in cases {
        let answer = post(&s.app, "/events", event.clone()).await;
        assert_refused(&answer, 422, expected);
        assert!(
            answer.description().starts_with("Malformed event"),
            "{answer:?}"
        );
    }
    // Envelope shapes the extractor refuses.
    for body in [
        json!({"topic": "reservation.status", "payload": {}}),
        json!({"id": 5, "topic": "reservation.status", "payload": {}}),
        json!({"id": "e1", "payload": {}}),
        json!(["e1"]),
    ] {
        assert_eq!(
            post(&s.app, "/events", body.clone()).await.status,
            422,
            "{body}"
        );
    }
    s.assert_untouched();
    // The same id, once fixed, is consumed normally.
    assert_eq!(deliver(&s.app, good).await, "applied");
}

#[tokio::test]
async fn updates_with_an_open_or_unknown_status_are_400() {
    let s = service().await;
    for status in ["Uncomfirmed", "Accepted", "Unconfirmed", "canceled", ""] {
        let answer = post(&s.app, "/update-data", r("r1").update(status)).await;
        assert_refused(&answer, 400, "Tried to do an invalid update");
    }
    let long = "\u{1}".repeat(10) + &"S".repeat(500);
    let answer = post(&s.app, "/update-data", r("r1").update(&long)).await;
    assert_refused(&answer, 400, "Tried to do an invalid update");
    assert!(
        answer.description().len() < 200,
        "echo is bounded: {answer:?}"
    );
    s.assert_untouched();
}

#[tokio::test]
async fn updates_with_bad_fields_are_4xx() {
    let s = service().await;
    let good = r("r1").update("Assisted");
    let with = |key: &str, value: Value| {
        let mut b = good.clone();
        b[key] = value;
        b
    };
    let cases = [
        (with("user", json!("user/")), 400, "Invalid user"),
        (with("user", json!("user/a b")), 400, "Invalid user"),
        (with("venue", json!("")), 400, "Invalid venue"),
        (with("id", json!("")), 400, "Invalid reservation"),
        (with("people", json!(0)), 400, "Invalid people"),
        (with("time", json!("yesterday")), 422, "invalid datetime"),
        (
            with("status", json!("Assisted")),
            422,
            "Invalid request body",
        ),
        (with("people", json!(1.5)), 422, "Invalid request body"),
    ];
    for (body, status, text) in cases {
        let answer = post(&s.app, "/update-data", body.clone()).await;
        assert_refused(&answer, status, text);
    }
    let mut missing = good.clone();
    missing.as_object_mut().unwrap().remove("venue");
    assert_refused(
        &post(&s.app, "/update-data", missing).await,
        422,
        "missing field `venue`",
    );
    s.assert_untouched();
}

#[tokio::test]
async fn ids_that_cannot_be_ids_are_400() {
    let s = service().await;
    let long = "u".repeat(129);
    for path in ["/user", "/venue"] {
        for id in [long.as_str(), "a%20b", "user%2Fu1", "a%09b"] {
            let answer = get(&s.app, &format!("{path}/{id}")).await;
            assert_eq!(answer.status, 400, "{path}/{id}: {answer:?}");
        }
        // The longest accepted id still reads.
        let answer = get(&s.app, &format!("{path}/{}", "u".repeat(128))).await;
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    assert_refused(&get(&s.app, "/user/a%20b").await, 400, "Invalid user");
    assert_refused(&get(&s.app, "/venue/a%20b").await, 400, "Invalid venue");
}

#[tokio::test]
async fn unknown_paths_and_methods_are_4xx() {
    let s = service().await;
    assert_eq!(get(&s.app, "/nope").await.status, 404);
    assert_eq!(get(&s.app, "/user").await.status, 404);
    assert_eq!(get(&s.app, "/stats/user/u1").await.status, 404);
    assert_eq!(get(&s.app, "/events").await.status, 405);
    assert_eq!(get(&s.app, "/update-data").await.status, 405);
    let post_user = post(&s.app, "/user/u1", json!({})).await;
    assert_eq!(post_user.status, 405);
    let delete = call(&s.app, Method::DELETE, "/venue/v1", None).await;
    assert_eq!(delete.status, 405);
    assert_eq!(delete.body["endpoint"], "/venue/v1");
}
