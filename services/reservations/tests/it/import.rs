//! `POST /import/reservations`: history written as it was, all or none, no events, and an
//! import sent twice writes once.

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::*;

async fn import(s: &Service, reservations: Value) -> Answer {
    call(
        &s.app,
        Method::POST,
        "/import/reservations",
        Some(json!({ "reservations": reservations })),
    )
    .await
}

#[tokio::test]
async fn history_is_written_as_it_was_without_events() {
    let s = service().await;
    // No venue is known to the fake venues service, and the first one is in the past, over
    // any capacity: an import checks neither.
    let batch = json!([
        {"id": "old-1", "user": "user/ana", "venue": "gone", "time": "2019-05-01T20:00:00Z",
         "people": 900, "status": "Assisted"},
        {"user": "user/ana", "venue": "resto", "time": at(60), "people": 2},
    ]);
    let answer = import(&s, batch.clone()).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, json!({"imported": 2, "skipped": 0}));
    assert_eq!(stored_status(&s, "old-1").as_deref(), Some("Assisted"));
    let listed = list(&s, "user=user/ana&limit=10").await;
    assert_eq!(listed.total(), 2, "{listed:?}");
    assert!(listed.ids().contains(&"old-1".to_string()));
    let fresh: Vec<String> = listed
        .ids()
        .into_iter()
        .filter(|id| id != "old-1")
        .collect();
    assert_eq!(
        stored_status(&s, &fresh[0]).as_deref(),
        Some("Uncomfirmed"),
        "no status reads Uncomfirmed"
    );
    assert!(
        events(&s).is_empty(),
        "history announces nothing: {:?}",
        events(&s)
    );

    // Sent again (an import cut short is retried): the id already there is skipped, the one
    // without an id gets another.
    let again = import(&s, json!([batch[0].clone()])).await;
    assert_eq!(again.body, json!({"imported": 0, "skipped": 1}));
    assert_eq!(list(&s, "user=user/ana").await.total(), 2);

    // The same id twice in one batch: the first is written, the second skipped.
    let twice =
        json!({"id": "dup", "user": "user/bea", "venue": "resto", "time": at(90), "people": 3});
    let mut other = twice.clone();
    other["people"] = json!(5);
    let answer = import(&s, json!([twice, other])).await;
    assert_eq!(answer.body, json!({"imported": 1, "skipped": 1}));
    let listed = list(&s, "user=user/bea").await;
    assert_eq!(listed.total(), 1);
    assert_eq!(listed.body["result"][0]["people"], 3, "{listed:?}");
}

#[tokio::test]
async fn one_bad_record_writes_nothing_and_names_itself() {
    let s = service().await;
    let cases = [
        (
            json!({"user": "ana", "venue": "v", "time": at(1), "people": 1}),
            "Invalid user",
        ),
        (
            json!({"user": "user/ana", "venue": "a b", "time": at(1), "people": 1}),
            "Invalid venue",
        ),
        (
            json!({"user": "user/ana", "venue": "v", "time": at(1), "people": 0}),
            "Invalid people",
        ),
        (
            json!({"id": "x/y", "user": "user/ana", "venue": "v", "time": at(1), "people": 1}),
            "Invalid id",
        ),
    ];
    for (bad, reason) in cases {
        let good =
            json!({"id": "fine", "user": "user/ana", "venue": "v", "time": at(1), "people": 1});
        let answer = import(&s, json!([good, bad])).await;
        assert_refused(&answer, 400, &format!("reservations[1]: {reason}"));
        assert_eq!(stored_status(&s, "fine"), None, "all or none");
    }
    let malformed = import(
        &s,
        json!([{"user": "user/ana", "venue": "v", "time": "soon", "people": 1}]),
    )
    .await;
    assert_eq!(malformed.status, 422, "{malformed:?}");
    let unknown_status = import(
        &s,
        json!([{"user": "user/ana", "venue": "v", "time": at(1), "people": 1, "status": "Done"}]),
    )
    .await;
    assert_eq!(unknown_status.status, 422, "{unknown_status:?}");
    assert_refused(
        &import(&s, json!([])).await,
        400,
        "An import holds 1 to 1000",
    );
    let too_many: Vec<Value> = (0..1001)
        .map(|_| json!({"user": "user/ana", "venue": "v", "time": at(1), "people": 1}))
        .collect();
    assert_refused(
        &import(&s, json!(too_many)).await,
        400,
        "An import holds 1 to 1000 reservations, not 1001",
    );
    assert_eq!(list(&s, "user=user/ana").await.total(), 0);
}

#[tokio::test]
async fn needs_the_internal_token() {
    let s = service().await;
    let answer = send(
        &s.app,
        axum::http::Request::post("/import/reservations")
            .header("content-type", "application/json")
            .body(axum::body::Body::from(
                json!({"reservations": [{"user": "user/ana", "venue": "v", "time": at(1), "people": 1}]})
                    .to_string(),
            ))
            .unwrap(),
    )
    .await;
    assert_eq!(answer.status, 401, "{answer:?}");
    assert_eq!(list(&s, "user=user/ana").await.total(), 0);
}
