//! `POST /points/batch`: many balances in one call, as listings need them.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn batch_answers_one_view_per_user_in_order() {
    let s = service().await;
    add(&s.app, "u1", 150).await;
    add(&s.app, "u2", -50).await;
    add(&s.app, "u3", 800).await;
    s.clock.advance(14 * DAY);
    add(&s.app, "u3", 0).await;
    let answer = post(
        &s.app,
        "/points/batch",
        json!({"users": ["u3", "nobody", "u1", "u2", "u1"]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.body,
        json!([
            {"user": "u3", "total": 600, "level": "Comensal Amateur"},
            {"user": "nobody", "total": 0, "level": "Novato"},
            {"user": "u1", "total": 0, "level": "Novato"},
            {"user": "u2", "total": 0, "level": "Novato"},
            {"user": "u1", "total": 0, "level": "Novato"},
        ])
    );
}

#[tokio::test]
async fn batch_of_nobody_is_empty() {
    let s = service().await;
    let answer = post(&s.app, "/points/batch", json!({"users": []})).await;
    assert_eq!(
        (answer.status.as_u16(), answer.body.clone()),
        (200, json!([]))
    );
}

#[tokio::test]
async fn batch_takes_up_to_a_thousand_users() {
    let s = service().await;
    add(&s.app, "u999", 100).await;
    let users: Vec<String> = (0..1000).map(|i| format!("u{i}")).collect();
    let answer = post(&s.app, "/points/batch", json!({ "users": users })).await;
    assert_eq!(answer.status, 200);
    let views = answer.body.as_array().unwrap();
    assert_eq!(views.len(), 1000);
    assert_eq!(
        views[999],
        json!({"user": "u999", "total": 100, "level": "Aficionado Gourmet"})
    );
    let one_more: Vec<String> = (0..1001).map(|i| format!("u{i}")).collect();
    let answer = post(&s.app, "/points/batch", json!({ "users": one_more })).await;
    assert_refused(&answer, 400, "at most 1000");
}
