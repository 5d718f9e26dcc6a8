//! `POST /opinions/batch`: what a reservation listing attaches to its page, in one call.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn answers_the_opinion_of_each_reservation_that_has_one() {
    let s = quiet_service().await;
    reviewed(&s, "diner", "resto", "r1", "Uno", start()).await;
    reviewed(&s, "ana", "other", "r2", "Dos", start()).await;
    let answer = batch(&s, json!(["r1", "r2", "r3", "r1", ""])).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.body,
        json!({
            "r1": {"venue": "resto", "opinion": "Uno", "reservation": "r1", "date": "2030-01-01T12:00:00"},
            "r2": {"venue": "other", "opinion": "Dos", "reservation": "r2", "date": "2030-01-01T12:00:00"},
        })
    );
}

#[tokio::test]
async fn no_ids_is_an_empty_map() {
    let s = quiet_service().await;
    reviewed(&s, "diner", "resto", "r1", "Uno", start()).await;
    let answer = batch(&s, json!([])).await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.clone()),
        (200, json!({}))
    );
}

#[tokio::test]
async fn a_thousand_ids_are_one_call_and_more_are_400() {
    let s = quiet_service().await;
    reviewed(&s, "diner", "resto", "r999", "Rico", start()).await;
    let ids: Vec<String> = (0..1000).map(|i| format!("r{i}")).collect();
    let answer = batch(&s, json!(ids)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body.as_object().unwrap().len(), 1);
    assert_eq!(answer.body["r999"]["opinion"], "Rico");
    let too_many: Vec<String> = (0..1001).map(|i| format!("r{i}")).collect();
    assert_refused(
        &batch(&s, json!(too_many)).await,
        400,
        "Too many reservations: 1001",
    );
}

#[tokio::test]
async fn a_malformed_batch_is_422() {
    let s = quiet_service().await;
    for body in [
        json!({}),
        json!({"reservations": "r1"}),
        json!({"reservations": [1, 2]}),
    ] {
        let answer = crate::common::call(
            &s.app,
            axum::http::Method::POST,
            "/opinions/batch",
            Some(body.clone()),
        )
        .await;
        assert_eq!(answer.status, 422, "{body}: {answer:?}");
    }
}
