//! The embedded outbox: `GET /messages` listings and `POST /messages` direct sends.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn the_outbox_lists_by_uid_or_number_newest_first() {
    let s = service().await;
    set_phone(&s.app, "diner", "11 5555-0000").await;
    set_phone(&s.app, "resto", "11 4444-1111").await;
    deliver(&s.app, status_event("e1", None, "Uncomfirmed")).await;
    deliver(&s.app, status_event("e2", Some("Uncomfirmed"), "Accepted")).await;
    deliver(&s.app, opinion_event("o1")).await;
    settled(&s.app, "").await;

    let venue = messages(&s.app, "to=resto").await;
    assert_eq!(venue["total"], 3);
    let bodies: Vec<&str> = venue["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["body"].as_str().unwrap())
        .collect();
    assert!(
        bodies[0].starts_with("Tenes una nueva opinion"),
        "{bodies:?}"
    );
    assert!(
        bodies[1].starts_with("Tienes una modeficacion"),
        "{bodies:?}"
    );
    assert!(
        bodies[2].starts_with("Crearon una nueva reserva"),
        "{bodies:?}"
    );

    // The number, typed in any accepted form, finds the same messages.
    for number in ["%2B5491144441111", "011%2015%204444-1111", "11%204444-1111"] {
        let by_number = messages(&s.app, &format!("to={number}")).await;
        assert_eq!(by_number["total"], 3, "{number}");
        assert_eq!(by_number["result"], venue["result"]);
    }

    let limited = messages(&s.app, "?&to=diner&limit=1").await;
    assert_eq!(limited["total"], 2);
    assert_eq!(limited["result"].as_array().unwrap().len(), 1);
    assert!(
        limited["result"][0]["body"]
            .as_str()
            .unwrap()
            .starts_with("Tienes un cambio de estado")
    );

    assert_eq!(messages(&s.app, "").await["total"], 5);
    assert_eq!(messages(&s.app, "status=sent").await["total"], 5);
    assert_eq!(messages(&s.app, "status=failed").await["total"], 0);
    assert_eq!(messages(&s.app, "to=someone-else").await["total"], 0);
    let m = &venue["result"][0];
    assert!(m["created_at"].as_str().unwrap().ends_with('Z'), "{m}");
    assert!(m["finished_at"].as_str().unwrap().ends_with('Z'), "{m}");
    assert_eq!(m["error"], serde_json::Value::Null);
}

#[tokio::test]
async fn listing_limits_are_checked() {
    let s = service().await;
    assert_refused(
        &get(&s.app, "/messages?limit=0").await,
        400,
        "Invalid limit",
    );
    assert_refused(
        &get(&s.app, "/messages?limit=1001").await,
        400,
        "Invalid limit",
    );
    assert_eq!(get(&s.app, "/messages?limit=lots").await.status, 422);
    assert_eq!(get(&s.app, "/messages?status=lost").await.status, 422);
    assert_eq!(messages(&s.app, "limit=1000").await["total"], 0);
}

#[tokio::test]
async fn a_direct_message_goes_to_the_stored_number() {
    let s = service().await;
    set_phone(&s.app, "u1", "+54 9 11 5555-0000").await;
    let answer = post(
        &s.app,
        "/messages",
        json!({"user": "u1", "message": "Hola!\nChau"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["to"], "u1");
    assert_eq!(answer.body["phone"], "+5491155550000");
    assert_eq!(answer.body["trigger"], "direct");
    assert_eq!(answer.body["event"], serde_json::Value::Null);
    let page = settled(&s.app, "to=u1").await;
    assert_eq!(
        summary(&page),
        [("u1".into(), "sent".into(), "Hola!\nChau".into())]
    );
}

#[tokio::test]
async fn a_direct_message_to_a_user_without_a_number_is_skipped() {
    let s = service().await;
    let answer = post(
        &s.app,
        "/messages",
        json!({"user": "ghost", "message": "Hola"}),
    )
    .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.body["status"], "skipped");
    assert_eq!(answer.body["phone"], "");
}

#[tokio::test]
async fn direct_messages_are_validated() {
    let s = service().await;
    for text in ["", "   ", "a\tb", "a\u{1b}[31m"] {
        let answer = post(&s.app, "/messages", json!({"user": "u1", "message": text})).await;
        assert_refused(&answer, 400, "Invalid message");
    }
    let long = "x".repeat(1601);
    let answer = post(&s.app, "/messages", json!({"user": "u1", "message": long})).await;
    assert_refused(&answer, 400, "Invalid message");
    let answer = post(
        &s.app,
        "/messages",
        json!({"user": "a/b", "message": "Hola"}),
    )
    .await;
    assert_refused(&answer, 400, "Invalid user");
    let answer = post(&s.app, "/messages", json!({"user": "u1"})).await;
    assert_refused(&answer, 422, "missing field `message`");
    assert_eq!(s.rows("messages"), 0);
}
