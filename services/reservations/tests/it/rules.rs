//! Who may do what (spec §4, H3): every actor rule, allowed and refused, the final states,
//! and the events each transition writes.

use serde_json::{Value, json};

use crate::common::*;

async fn setup() -> (Service, String) {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    let id = booked(&s, "diner", "resto", 60, 2).await;
    (s, id)
}

fn t(from: Option<&str>, to: &str, by: &str) -> (Value, String, String) {
    (json!(from), to.to_string(), by.to_string())
}

#[tokio::test]
async fn the_diner_checks_in_with_the_qr() {
    let (s, id) = setup().await;
    accept(&s, &id, "resto").await;
    let answer = update(&s, &id, "diner", json!({"advance_forward": true})).await;
    assert_eq!(moved(&answer), "Assisted");
    assert_eq!(
        transitions(&s, &id),
        [
            t(None, "Uncomfirmed", "owner"),
            t(Some("Uncomfirmed"), "Accepted", "venue"),
            t(Some("Accepted"), "Assisted", "owner")
        ]
    );
}

#[tokio::test]
async fn the_venue_can_mark_attendance_too() {
    let (s, id) = setup().await;
    accept(&s, &id, "resto").await;
    let answer = update(&s, &id, "resto", json!({"advance_forward": true})).await;
    assert_eq!(moved(&answer), "Assisted");
    assert_eq!(
        transitions(&s, &id)[2],
        t(Some("Accepted"), "Assisted", "venue")
    );
}

#[tokio::test]
async fn only_the_venue_marks_a_no_show() {
    let (s, id) = setup().await;
    accept(&s, &id, "resto").await;
    let answer = update(&s, &id, "diner", json!({"advance_forward": false})).await;
    assert_refused(&answer, 403, "Only the venue can mark a no-show");
    assert_eq!(stored_status(&s, &id).as_deref(), Some("Accepted"));
    let answer = update(&s, &id, "resto", json!({"advance_forward": false})).await;
    assert_eq!(moved(&answer), "Expired");
    assert_eq!(
        transitions(&s, &id)[2],
        t(Some("Accepted"), "Expired", "venue")
    );
}

#[tokio::test]
async fn the_venue_rejects_with_a_step_back() {
    let (s, id) = setup().await;
    let answer = update(&s, &id, "resto", json!({"advance_forward": false})).await;
    assert_eq!(moved(&answer), "Canceled");
    assert_eq!(
        transitions(&s, &id)[1],
        t(Some("Uncomfirmed"), "Canceled", "venue")
    );
}

#[tokio::test]
async fn owner_and_venue_both_cancel() {
    let (s, mine) = setup().await;
    let answer = update(&s, &mine, "diner", json!({"cancel": true})).await;
    assert_eq!(moved(&answer), "Canceled");
    assert_eq!(
        transitions(&s, &mine)[1],
        t(Some("Uncomfirmed"), "Canceled", "owner")
    );
    let theirs = booked(&s, "diner", "resto", 90, 2).await;
    accept(&s, &theirs, "resto").await;
    let answer = update(&s, &theirs, "resto", json!({"cancel": true})).await;
    assert_eq!(moved(&answer), "Canceled");
    assert_eq!(
        transitions(&s, &theirs)[2],
        t(Some("Accepted"), "Canceled", "venue")
    );
}

#[tokio::test]
async fn strangers_can_do_nothing() {
    let (s, id) = setup().await;
    s.fakes.venue("other", 0, "Available");
    for body in [
        json!({"cancel": true}),
        json!({"advance_forward": true}),
        json!({"advance_forward": false}),
        json!({"people": 3}),
    ] {
        for stranger in ["someone", "other"] {
            let answer = update(&s, &id, stranger, body.clone()).await;
            assert_refused(
                &answer,
                403,
                "Only the reservation's owner or its venue can change it",
            );
        }
    }
    assert_refused(&delete(&s, &id, "user=user/someone").await, 403, "Only the");
    assert_eq!(stored_status(&s, &id).as_deref(), Some("Uncomfirmed"));
    assert_eq!(events(&s).len(), 1, "only the creation");
}

#[tokio::test]
async fn only_the_owner_edits_time_and_people() {
    let (s, id) = setup().await;
    accept(&s, &id, "resto").await;
    let answer = update(&s, &id, "resto", json!({"people": 4})).await;
    assert_refused(
        &answer,
        403,
        "Only the reservation's owner can change its time or people",
    );
    let answer = update(&s, &id, "diner", json!({"time": at(120), "people": 4})).await;
    assert_eq!(moved(&answer), "Uncomfirmed");
    assert_eq!(answer.body["time"], "2030-01-01T14:00:00Z");
    assert_eq!(answer.body["people"], 4);
    assert_eq!(
        transitions(&s, &id)[2],
        t(Some("Accepted"), "Uncomfirmed", "owner")
    );
}

#[tokio::test]
async fn an_edit_keeps_what_it_does_not_name_and_an_unconfirmed_edit_is_no_transition() {
    let (s, id) = setup().await;
    let answer = update(&s, &id, "diner", json!({"time": at(90)})).await;
    assert_eq!(moved(&answer), "Uncomfirmed");
    assert_eq!(answer.body["people"], 2);
    let answer = update(&s, &id, "diner", json!({"people": 3})).await;
    assert_eq!(answer.body["time"], "2030-01-01T13:30:00Z");
    assert_eq!(
        transitions(&s, &id).len(),
        1,
        "Uncomfirmed → Uncomfirmed emits nothing"
    );
}

#[tokio::test]
async fn final_states_are_immutable() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    let canceled = booked(&s, "diner", "resto", 60, 2).await;
    moved(&update(&s, &canceled, "diner", json!({"cancel": true})).await);
    let assisted = booked(&s, "diner", "resto", 60, 2).await;
    accept(&s, &assisted, "resto").await;
    moved(&update(&s, &assisted, "diner", json!({"advance_forward": true})).await);
    let expired = booked(&s, "diner", "resto", 60, 2).await;
    accept(&s, &expired, "resto").await;
    moved(&update(&s, &expired, "resto", json!({"advance_forward": false})).await);
    let before = events(&s).len();
    for (id, status) in [
        (&canceled, "Canceled"),
        (&assisted, "Assisted"),
        (&expired, "Expired"),
    ] {
        for body in [
            json!({"cancel": true}),
            json!({"advance_forward": true}),
            json!({"advance_forward": false}),
            json!({"time": at(300)}),
            json!({"people": 4}),
        ] {
            for who in ["diner", "resto"] {
                let answer = update(&s, id, who, body.clone()).await;
                assert_refused(&answer, 400, "Reservation is in a final state");
            }
        }
        assert_eq!(stored_status(&s, id).as_deref(), Some(status));
    }
    // R1: repeating a PUT on a final reservation farms nothing.
    assert_eq!(events(&s).len(), before);
}

#[tokio::test]
async fn one_update_means_one_thing() {
    let (s, id) = setup().await;
    for (body, text) in [
        (
            json!({"cancel": true, "time": at(90)}),
            "cancel cannot be combined",
        ),
        (
            json!({"cancel": true, "advance_forward": false}),
            "cancel cannot be combined",
        ),
        (
            json!({"advance_forward": true, "people": 3}),
            "advance_forward cannot be combined",
        ),
        (json!({}), "Nothing to change"),
        (
            json!({"cancel": false, "advance_forward": null}),
            "Nothing to change",
        ),
    ] {
        assert_refused(&update(&s, &id, "diner", body).await, 400, text);
    }
    assert_eq!(stored_status(&s, &id).as_deref(), Some("Uncomfirmed"));
}

#[tokio::test]
async fn deletion_by_owner_or_venue_without_events() {
    let (s, mine) = setup().await;
    let theirs = booked(&s, "diner", "resto", 90, 2).await;
    assert_eq!(delete(&s, &mine, "user=user/diner").await.status, 200);
    assert_eq!(delete(&s, &theirs, "user=user/resto").await.status, 200);
    assert_eq!(stored_status(&s, &mine), None);
    assert_eq!(stored_status(&s, &theirs), None);
    assert_refused(
        &delete(&s, &mine, "user=user/diner").await,
        404,
        "Reservation does not exist",
    );
    assert_refused(
        &delete(&s, "nope", "").await,
        401,
        "The caller's identity is required",
    );
    assert_eq!(events(&s).len(), 2, "two creations, no deletion events");
}

#[tokio::test]
async fn a_restaurant_booking_at_its_own_venue_acts_as_the_venue() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    let id = booked(&s, "resto", "resto", 60, 2).await;
    accept(&s, &id, "resto").await;
    let answer = update(&s, &id, "resto", json!({"time": at(90)})).await;
    assert_eq!(moved(&answer), "Uncomfirmed");
    let answer = update(&s, &id, "resto", json!({"cancel": true})).await;
    assert_eq!(moved(&answer), "Canceled");
    assert_eq!(
        transitions(&s, &id)[3],
        t(Some("Uncomfirmed"), "Canceled", "venue")
    );
}
