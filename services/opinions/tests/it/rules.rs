//! Who may give an opinion (spec §4, §10 Q2): one test per rule. A refused opinion stores
//! nothing and announces nothing.

use serde_json::json;

use crate::common::*;

/// Nothing was stored and nothing announced.
fn assert_nothing_written(s: &Service) {
    assert_eq!(stored(s), 0);
    assert!(events(s).is_empty());
}

#[tokio::test]
async fn an_assisted_reservation_of_the_caller_at_that_venue_gets_its_opinion() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    let answer = review(&s, "diner", "resto", "r1", "Muy rico").await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.body,
        json!({"venue": "resto", "opinion": "Muy rico", "reservation": "r1",
               "date": "2030-01-01T12:00:00"})
    );
    // The reservation was read as the caller sees it.
    let lookups = s.fakes.lookups();
    assert_eq!(lookups.len(), 1);
    assert_eq!(lookups[0]["id"], "r1");
    assert_eq!(lookups[0]["caller"], "user/diner");
    assert_eq!(
        s.fakes
            .missing_token
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
    assert_eq!(stored(&s), 1);
}

#[tokio::test]
async fn an_unknown_reservation_is_404() {
    let s = quiet_service().await;
    assert_refused(
        &review(&s, "diner", "resto", "nope", "Muy rico").await,
        404,
        "Reservation does not exist",
    );
    assert_nothing_written(&s);
}

#[tokio::test]
async fn another_diners_reservation_is_404_like_an_unknown_one() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "someone", "resto", "Assisted");
    assert_refused(
        &review(&s, "diner", "resto", "r1", "Muy rico").await,
        404,
        "Reservation does not exist",
    );
    assert_nothing_written(&s);
}

#[tokio::test]
async fn the_venue_cannot_review_its_own_reservations() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    assert_refused(
        &review(&s, "resto", "resto", "r1", "Excelente local").await,
        403,
        "Only the diner",
    );
    assert_nothing_written(&s);
}

#[tokio::test]
async fn only_assisted_reservations_get_an_opinion() {
    let s = quiet_service().await;
    for (i, status) in ["Uncomfirmed", "Accepted", "Canceled", "Expired"]
        .into_iter()
        .enumerate()
    {
        let id = format!("r{i}");
        s.fakes.booking(&id, "diner", "resto", status);
        assert_refused(
            &review(&s, "diner", "resto", &id, "Muy rico").await,
            400,
            &format!("The reservation is {status}: only Assisted"),
        );
    }
    // A status this service does not know is not echoed back.
    s.fakes
        .booking("odd", "diner", "resto", "Teleported<script>");
    assert_refused(
        &review(&s, "diner", "resto", "odd", "Muy rico").await,
        400,
        "The reservation is in an unknown state",
    );
    assert_nothing_written(&s);
}

#[tokio::test]
async fn the_venue_must_be_the_reservations() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    assert_refused(
        &review(&s, "diner", "other", "r1", "Muy rico").await,
        400,
        "The reservation is not at this venue",
    );
    assert_nothing_written(&s);
}

#[tokio::test]
async fn a_second_opinion_on_a_reservation_is_409() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    assert_eq!(
        review(&s, "diner", "resto", "r1", "Muy rico").await.status,
        200
    );
    assert_refused(
        &review(&s, "diner", "resto", "r1", "Cambié de idea").await,
        409,
        "This reservation already has an opinion",
    );
    assert_eq!(stored(&s), 1);
    assert_eq!(events(&s).len(), 1);
    let kept = list(&s, "reservation=r1").await;
    assert_eq!(kept.body["result"][0]["opinion"], "Muy rico");
}

#[tokio::test]
async fn an_empty_opinion_is_400() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    for text in ["", "   ", "\n \n"] {
        assert_refused(
            &review(&s, "diner", "resto", "r1", text).await,
            400,
            "The opinion is empty",
        );
    }
    assert_nothing_written(&s);
    assert!(s.fakes.lookups().is_empty(), "refused before any call");
}

#[tokio::test]
async fn an_opinion_over_2000_characters_is_400() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    assert_refused(
        &review(&s, "diner", "resto", "r1", &"a".repeat(2001)).await,
        400,
        "The opinion is too long: 2001 characters",
    );
    assert_nothing_written(&s);
    // 2000 characters, multi-byte ones included, fit.
    let answer = review(&s, "diner", "resto", "r1", &"ñ".repeat(2000)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

#[tokio::test]
async fn control_characters_are_400_but_line_breaks_are_kept() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    for text in ["Rico\u{0}", "Rico\tmuy", "\u{1b}[31mRico", "Rico\rmuy"] {
        assert_refused(
            &review(&s, "diner", "resto", "r1", text).await,
            400,
            "The opinion contains control characters",
        );
    }
    assert_nothing_written(&s);
    let answer = review(&s, "diner", "resto", "r1", "  Rico.\r\nVolveremos!  ").await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["opinion"], "Rico.\nVolveremos!");
}

#[tokio::test]
async fn malformed_ids_are_400_before_any_call() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    let long = "x".repeat(129);
    for (uid, venue, reservation, text) in [
        ("", "resto", "r1", "Invalid user"),
        ("user/diner", "resto", "r1", "Invalid user"),
        ("a b", "resto", "r1", "Invalid user"),
        ("diner", "", "r1", "Invalid venue"),
        ("diner", "a/b", "r1", "Invalid venue"),
        ("diner", long.as_str(), "r1", "Invalid venue"),
        // Empty would list every reservation of the caller downstream.
        ("diner", "resto", "", "Invalid reservation"),
        ("diner", "resto", "r1&caller=user/x", "Invalid reservation"),
        ("diner", "resto", long.as_str(), "Invalid reservation"),
    ] {
        assert_refused(
            &review(&s, uid, venue, reservation, "Muy rico").await,
            400,
            text,
        );
    }
    assert!(s.fakes.lookups().is_empty(), "{:?}", s.fakes.lookups());
    assert_nothing_written(&s);
}

#[tokio::test]
async fn missing_or_mistyped_fields_are_422() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    let full = body("diner", "resto", "r1", "Muy rico");
    for key in ["user", "venue", "opinion", "reservation"] {
        let mut partial = full.clone();
        partial.as_object_mut().unwrap().remove(key);
        let answer = post(&s, partial).await;
        assert_eq!(answer.status, 422, "{key}: {answer:?}");
        assert!(answer.description().contains(key), "{answer:?}");
    }
    for (key, value) in [
        ("date", json!("yesterday")),
        ("date", json!(12)),
        ("reservation", json!(12)),
        ("opinion", json!(null)),
    ] {
        let mut wrong = full.clone();
        wrong[key] = value;
        assert_eq!(post(&s, wrong).await.status, 422, "{key}");
    }
    assert_nothing_written(&s);
}

#[tokio::test]
async fn the_date_is_the_servers_and_extra_keys_are_ignored() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    s.fakes.booking("r2", "diner", "resto", "Assisted");
    s.clock
        .set(chefcito::time::parse("2030-01-01T12:00:00.123456Z").unwrap());
    let mut future = body("diner", "resto", "r1", "Muy rico");
    future["date"] = json!("2031-06-01T00:00:00.000Z");
    future["score"] = json!(5);
    let answer = post(&s, future).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["date"], "2030-01-01T12:00:00.123000");
    assert!(answer.body.get("score").is_none());
    let mut past = body("diner", "resto", "r2", "Muy rico");
    past["date"] = json!("2001-01-01 00:00:00");
    assert_eq!(
        post(&s, past).await.body["date"],
        "2030-01-01T12:00:00.123000"
    );
    let mut absent = body("diner", "resto", "r3", "Muy rico");
    absent.as_object_mut().unwrap().remove("date");
    s.fakes.booking("r3", "diner", "resto", "Assisted");
    assert_eq!(post(&s, absent).await.status, 200);
}

#[tokio::test]
async fn an_unreachable_reservations_service_is_503_and_writes_nothing() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let s = service_with(Setup {
        reservations_url: Some(format!("http://127.0.0.1:{closed}")),
        ..Setup::default()
    })
    .await;
    let answer = review(&s, "diner", "resto", "r1", "Muy rico").await;
    assert_eq!(answer.status, 503, "{answer:?}");
    assert_nothing_written(&s);
}

#[tokio::test]
async fn a_failing_or_refusing_reservations_service_is_502_and_writes_nothing() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    for mode in [Mode::Failing, Mode::Refusing, Mode::Garbage] {
        s.fakes.set_mode(mode);
        let answer = review(&s, "diner", "resto", "r1", "Muy rico").await;
        assert_eq!(answer.status, 502, "{mode:?}: {answer:?}");
        assert!(
            !answer.description().contains("boom"),
            "no downstream text leaks"
        );
    }
    assert_nothing_written(&s);
    s.fakes.set_mode(Mode::Normal);
    assert_eq!(
        review(&s, "diner", "resto", "r1", "Muy rico").await.status,
        200
    );
}
