//! `PUT`/`GET /users/{uid}/phone` and `user.phone` events: normalised upserts.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn argentine_numbers_are_stored_in_e164_mobile_form() {
    let s = service().await;
    let cases = [
        ("11 1555-5555", "+5491115555555"),
        ("11 5555-0000", "+5491155550000"),
        ("+54 9 11 5555-0000", "+5491155550000"),
        ("+54 11 5555-0000", "+5491155550000"),
        ("011 15 5555-0000", "+5491155550000"),
        ("011 15-5555-0000", "+5491155550000"),
        ("5491155550000", "+5491155550000"),
        ("0351 15 555-1234", "+5493515551234"),
        ("+1 650 253 0000", "+16502530000"),
    ];
    for (i, (typed, stored)) in cases.into_iter().enumerate() {
        let uid = format!("u{i}");
        assert_eq!(set_phone(&s.app, &uid, typed).await, stored, "{typed:?}");
        let read = get(&s.app, &format!("/users/{uid}/phone")).await;
        assert_eq!(read.status, 200);
        assert_eq!(read.body, json!({"user": uid, "phone": stored}));
    }
}

#[tokio::test]
async fn garbage_is_400_and_keeps_the_stored_number() {
    let s = service().await;
    set_phone(&s.app, "u1", "11 5555-0000").await;
    for garbage in [
        "garbage",
        "123",
        "+54",
        "11 5555-0000 int 4",
        "0800-PIZZA",
        "+999 1234 5678",
    ] {
        let answer = put(&s.app, "/users/u1/phone", json!({"phone": garbage})).await;
        assert_refused(&answer, 400, "Invalid phone number");
        assert_eq!(answer.body["endpoint"], "/users/u1/phone");
    }
    let answer = put(
        &s.app,
        "/users/u1/phone",
        json!({"phone": "11 5555\u{0}0000"}),
    )
    .await;
    assert_refused(&answer, 400, "Invalid phone number");
    let read = get(&s.app, "/users/u1/phone").await;
    assert_eq!(read.body["phone"], "+5491155550000");
    assert_eq!(s.rows("phones"), 1);
}

#[tokio::test]
async fn an_empty_number_is_allowed_and_means_none() {
    let s = service().await;
    assert_eq!(set_phone(&s.app, "u1", "").await, "");
    assert_eq!(get(&s.app, "/users/u1/phone").await.body["phone"], "");
    // Clearing a stored number works the same way.
    set_phone(&s.app, "u2", "11 5555-0000").await;
    assert_eq!(set_phone(&s.app, "u2", "  ").await, "");
    assert_eq!(get(&s.app, "/users/u2/phone").await.body["phone"], "");
}

#[tokio::test]
async fn storing_again_replaces_the_number() {
    let s = service().await;
    set_phone(&s.app, "u1", "11 5555-0000").await;
    set_phone(&s.app, "u1", "11 4444-1111").await;
    assert_eq!(
        get(&s.app, "/users/u1/phone").await.body["phone"],
        "+5491144441111"
    );
    assert_eq!(s.rows("phones"), 1);
}

#[tokio::test]
async fn unknown_users_are_404_and_bad_uids_400() {
    let s = service().await;
    assert_refused(
        &get(&s.app, "/users/nobody/phone").await,
        404,
        "Unknown user",
    );
    let long = "x".repeat(129);
    assert_refused(
        &get(&s.app, &format!("/users/{long}/phone")).await,
        400,
        "Invalid user",
    );
    let answer = put(
        &s.app,
        "/users/a%20b/phone",
        json!({"phone": "11 5555-0000"}),
    )
    .await;
    assert_refused(&answer, 400, "Invalid user");
    assert_eq!(s.rows("phones"), 0);
}

#[tokio::test]
async fn user_phone_events_upsert_once() {
    let s = service().await;
    assert_eq!(
        deliver(&s.app, phone_event("p1", "u1", "011 15 5555-0000")).await,
        "applied"
    );
    assert_eq!(
        get(&s.app, "/users/u1/phone").await.body["phone"],
        "+5491155550000"
    );
    assert_eq!(
        deliver(&s.app, phone_event("p2", "u1", "+54 9 11 4444-1111")).await,
        "applied"
    );
    // A redelivery of the first event changes nothing, even though it is older.
    assert_eq!(
        deliver(&s.app, phone_event("p1", "u1", "011 15 5555-0000")).await,
        "duplicate"
    );
    assert_eq!(
        get(&s.app, "/users/u1/phone").await.body["phone"],
        "+5491144441111"
    );
    assert_eq!(
        deliver(&s.app, phone_event("p3", "u1", "")).await,
        "applied"
    );
    assert_eq!(get(&s.app, "/users/u1/phone").await.body["phone"], "");
    assert_eq!((s.rows("phones"), s.rows("inbox")), (1, 3));
}

#[tokio::test]
async fn an_invalid_number_in_an_event_clears_the_old_one() {
    let s = service().await;
    set_phone(&s.app, "u1", "11 5555-0000").await;
    assert_eq!(
        deliver(&s.app, phone_event("p1", "u1", "not a phone")).await,
        "applied"
    );
    assert_eq!(get(&s.app, "/users/u1/phone").await.body["phone"], "");
}
