//! Bad input: each case gets a clear 4xx, never a 5xx, and changes nothing.

use axum::http::Method;
use serde_json::json;

use crate::common::*;

async fn setup() -> (Service, String) {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    let id = booked(&s, "diner", "resto", 60, 2).await;
    (s, id)
}

/// Only the one reservation of [`setup`] exists, unchanged.
async fn assert_untouched(s: &Service, id: &str) {
    let all = list(s, "").await;
    assert_eq!(all.ids(), [id.to_string()]);
    assert_eq!(all.body["result"][0]["status"]["status"], "Uncomfirmed");
    assert_eq!(all.body["result"][0]["people"], 2);
    assert_eq!(events(s).len(), 1);
}

async fn post(s: &Service, body: serde_json::Value) -> Answer {
    call(&s.app, Method::POST, "/reservations", Some(body)).await
}

#[tokio::test]
async fn an_unknown_venue_is_400() {
    let (s, id) = setup().await;
    assert_refused(
        &book(&s, "diner", "nowhere", 60, 2).await,
        400,
        "Venue does not exist",
    );
    assert_untouched(&s, &id).await;
}

#[tokio::test]
async fn empty_ids_are_400() {
    let (s, id) = setup().await;
    for (user, venue, text) in [
        ("user/diner", "", "Invalid venue"),
        ("", "resto", "Invalid user"),
        ("user/", "resto", "Invalid user"),
        ("diner", "resto", "Invalid user"),
    ] {
        let answer = post(
            &s,
            json!({"user": user, "venue": venue, "time": at(60), "people": 2}),
        )
        .await;
        assert_refused(&answer, 400, text);
    }
    assert_refused(
        &update(&s, &id, "", json!({"cancel": true})).await,
        400,
        "Invalid user",
    );
    assert_refused(&delete(&s, &id, "user=diner").await, 400, "Invalid user");
    assert_untouched(&s, &id).await;
}

#[tokio::test]
async fn people_zero_negative_or_absurd_are_400() {
    let (s, id) = setup().await;
    for people in [0, -1, 1001, i64::MAX] {
        assert_refused(
            &book(&s, "diner", "resto", 60, people).await,
            400,
            "Invalid people",
        );
        assert_refused(
            &update(&s, &id, "diner", json!({"people": people})).await,
            400,
            "Invalid people",
        );
    }
    for people in [json!(2.5), json!("3"), json!(1e30)] {
        let answer = post(
            &s,
            json!({"user": "user/diner", "venue": "resto", "time": at(60), "people": people}),
        )
        .await;
        assert_eq!(answer.status, 422, "{answer:?}");
    }
    assert_untouched(&s, &id).await;
}

#[tokio::test]
async fn past_and_malformed_times_are_refused() {
    let (s, id) = setup().await;
    for minutes in [0, -1, -60 * 24] {
        assert_refused(
            &book(&s, "diner", "resto", minutes, 2).await,
            400,
            "The reservation time must be in the future",
        );
        assert_refused(
            &update(&s, &id, "diner", json!({"time": at(minutes)})).await,
            400,
            "The reservation time must be in the future",
        );
    }
    for time in [
        "tomorrow",
        "",
        "2030-13-01T10:00:00Z",
        "2030-01-01T25:00:00",
    ] {
        let answer = post(
            &s,
            json!({"user": "user/diner", "venue": "resto", "time": time, "people": 2}),
        )
        .await;
        assert_eq!(answer.status, 422, "{time}: {answer:?}");
        assert_eq!(
            update(&s, &id, "diner", json!({"time": time})).await.status,
            422
        );
    }
    assert_eq!(list(&s, "from_time=yesterday").await.status, 422);
    assert_untouched(&s, &id).await;
}

#[tokio::test]
async fn other_time_spellings_are_accepted() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    for (time, stored) in [
        ("2030-01-01 13:00:00", "2030-01-01T13:00:00Z"),
        ("2030-01-01T10:00:00-03:00", "2030-01-01T13:00:00Z"),
        ("2030-01-01T13:00:00.250", "2030-01-01T13:00:00.250000Z"),
    ] {
        let answer = post(
            &s,
            json!({"user": "user/diner", "venue": "resto", "time": time, "people": 2}),
        )
        .await;
        assert_eq!(answer.status, 200, "{time}: {answer:?}");
        assert_eq!(answer.body["time"], stored);
    }
}

#[tokio::test]
async fn bad_paging_is_refused() {
    let (s, id) = setup().await;
    assert_refused(&list(&s, "limit=-1").await, 400, "Invalid limit");
    assert_refused(&list(&s, "limit=100001").await, 400, "Invalid limit");
    assert_refused(&list(&s, "start=-5").await, 400, "Invalid start");
    assert_eq!(list(&s, "limit=ten").await.status, 422);
    assert_eq!(list(&s, "status=Pending").await.status, 422);
    assert_refused(&list(&s, "caller=ana").await, 400, "Invalid user");
    assert_untouched(&s, &id).await;
}

#[tokio::test]
async fn foreign_and_unknown_reservation_ids() {
    let (s, id) = setup().await;
    assert_refused(
        &update(&s, &id, "intruder", json!({"cancel": true})).await,
        403,
        "Only the reservation's owner",
    );
    assert_refused(
        &delete(&s, &id, "user=user/intruder").await,
        403,
        "Only the reservation's owner",
    );
    assert_eq!(
        list(&s, &format!("id={id}&caller=user/intruder"))
            .await
            .total(),
        0
    );
    let long = "x".repeat(500);
    for unknown in ["nope", long.as_str(), "..%2Fpermissions"] {
        assert_refused(
            &update(&s, unknown, "diner", json!({"cancel": true})).await,
            404,
            "Reservation does not exist",
        );
        assert_refused(
            &delete(&s, unknown, "user=user/diner").await,
            404,
            "Reservation does not exist",
        );
    }
    assert_untouched(&s, &id).await;
}

#[tokio::test]
async fn edits_of_final_reservations_are_400() {
    let (s, id) = setup().await;
    moved(&update(&s, &id, "diner", json!({"cancel": true})).await);
    let answer = update(&s, &id, "diner", json!({"time": at(120), "people": 3})).await;
    assert_refused(&answer, 400, "Reservation is in a final state");
    assert_eq!(stored_status(&s, &id).as_deref(), Some("Canceled"));
}

#[tokio::test]
async fn over_long_fields_and_control_characters_are_400() {
    let (s, id) = setup().await;
    let long_uid = format!("user/{}", "u".repeat(129));
    let long_venue = "v".repeat(129);
    for (user, venue, text) in [
        (long_uid.as_str(), "resto", "Invalid user"),
        ("user/diner", long_venue.as_str(), "Invalid venue"),
        ("user/di\nner", "resto", "Invalid user"),
        ("user/diner", "res\u{7}to", "Invalid venue"),
        ("user/a b", "resto", "Invalid user"),
        ("user/diner", "a/b", "Invalid venue"),
    ] {
        let answer = post(
            &s,
            json!({"user": user, "venue": venue, "time": at(60), "people": 2}),
        )
        .await;
        assert_refused(&answer, 400, text);
    }
    assert_untouched(&s, &id).await;
}

#[tokio::test]
async fn malformed_bodies_are_422() {
    let (s, id) = setup().await;
    let answer = call_text(
        &s.app,
        Method::POST,
        "/reservations",
        r#"{"user": "user/diner","#,
    )
    .await;
    assert_refused(&answer, 422, "Malformed JSON");
    assert_eq!(answer.body["endpoint"], "/reservations");
    let missing = post(
        &s,
        json!({"user": "user/diner", "venue": "resto", "people": 2}),
    )
    .await;
    assert_refused(&missing, 422, "Invalid request body");
    let no_updater = call(
        &s.app,
        Method::PUT,
        &format!("/reservations/{id}"),
        Some(json!({"cancel": true})),
    )
    .await;
    assert_eq!(no_updater.status, 422);
    let wrong_type = update(&s, &id, "diner", json!({"advance_forward": "yes"})).await;
    assert_eq!(wrong_type.status, 422);
    assert_eq!(
        call_text(&s.app, Method::POST, "/reservations", "")
            .await
            .status,
        422
    );
    assert_untouched(&s, &id).await;
}

#[tokio::test]
async fn an_unreachable_venues_service_is_503_and_writes_nothing() {
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = closed.local_addr().unwrap().port();
    drop(closed);
    let s = service_with(Setup {
        background: false,
        venues_url: Some(format!("http://127.0.0.1:{port}")),
        ..Setup::default()
    })
    .await;
    let answer = book(&s, "diner", "resto", 60, 2).await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert!(events(&s).is_empty());
    assert_eq!(list(&s, "").await.total(), 0);
}

#[tokio::test]
async fn refuses_calls_without_the_internal_token() {
    let s = quiet_service().await;
    chefcito::testing::assert_internal(
        s.app.clone(),
        &[
            (Method::POST, "/reservations"),
            (Method::GET, "/reservations"),
            (Method::GET, "/reservations?id=x&caller=user/a"),
            (Method::PUT, "/reservations/x"),
            (Method::DELETE, "/reservations/x?user=user/a"),
        ],
    )
    .await;
}
