//! Event consumption: every kind of event, redeliveries, the same reservation reported again,
//! the original's direct call, and persistence across a restart.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn every_kind_of_event() {
    let s = service().await;
    let a = r("ra").people(3);
    // A whole life: created, accepted, attended.
    assert_eq!(
        deliver(&s.app, a.event("a1", "Uncomfirmed")).await,
        "ignored"
    );
    assert_eq!(deliver(&s.app, a.event("a2", "Accepted")).await, "ignored");
    assert_eq!(deliver(&s.app, a.event("a3", "Assisted")).await, "applied");
    // Cancelled by the diner, rejected by the venue, expired by the sweep, each counted.
    assert_eq!(
        deliver(&s.app, r("rb").event("b1", "Canceled")).await,
        "applied"
    );
    let mut by_venue = r("rc").event("c1", "Canceled");
    by_venue["payload"]["by"] = json!("venue");
    by_venue["payload"]["from"] = json!("Uncomfirmed");
    assert_eq!(deliver(&s.app, by_venue).await, "applied");
    assert_eq!(
        deliver(&s.app, r("rd").event("d1", "Expired")).await,
        "applied"
    );
    // Topics stats does not read.
    let opinion = json!({"id": "o1", "topic": "opinion.created", "payload": {
        "opinion": 1, "reservation": "ra", "user": "u1", "venue": "v1",
        "opinion_text": "Muy rico", "at": "2024-04-16T10:00:00Z"}});
    assert_eq!(deliver(&s.app, opinion).await, "ignored");
    let phone = json!({"id": "p1", "topic": "user.phone", "payload": {
        "user": "u1", "phone": "1122334455", "at": "2024-04-16T10:00:00Z"}});
    assert_eq!(deliver(&s.app, phone).await, "ignored");

    let u = user_stats(&s.app, "u1").await;
    assert_eq!(
        u,
        json!({"user": "u1", "total": 4, "canceled": 0.5, "expired": 0.25,
               "expired_alert": false, "canceled_alert": false})
    );
    let v = venue_stats(&s.app, "v1").await;
    assert_eq!(
        v,
        json!({"venue": "v1", "total": 4, "canceled": 0.5, "expired": 0.25, "people": 3.0,
               "days": {"means": {"0": 1}}, "turns": {"turns": {"20:00": 1}}})
    );
    // Status events are remembered (open ones too); other topics are not stored.
    assert_eq!(s.rows("inbox"), 6);
    assert_eq!(s.rows("counted"), 4);
}

#[tokio::test]
async fn a_redelivered_event_counts_once() {
    let s = service().await;
    let event = r("r1").event("e1", "Assisted");
    assert_eq!(deliver(&s.app, event.clone()).await, "applied");
    for _ in 0..3 {
        assert_eq!(deliver(&s.app, event.clone()).await, "duplicate");
    }
    // An open status delivered twice is a duplicate too.
    let open = r("r2").event("e2", "Accepted");
    assert_eq!(deliver(&s.app, open.clone()).await, "ignored");
    assert_eq!(deliver(&s.app, open).await, "duplicate");
    assert_eq!(user_stats(&s.app, "u1").await["total"], 1);
    assert_eq!(venue_stats(&s.app, "v1").await["people"], json!(2.0));
}

#[tokio::test]
async fn the_same_reservation_and_status_under_new_ids_counts_once() {
    let s = service().await;
    let r1 = r("r1");
    assert_eq!(deliver(&s.app, r1.event("e1", "Canceled")).await, "applied");
    assert_eq!(deliver(&s.app, r1.event("e2", "Canceled")).await, "ignored");
    assert_eq!(deliver(&s.app, r1.event("e3", "Canceled")).await, "ignored");
    // The original's direct call for the same reservation is recognised too.
    update(&s.app, &r1, "Canceled").await;
    let u = user_stats(&s.app, "u1").await;
    assert_eq!(
        (u["total"].clone(), u["canceled"].clone()),
        (json!(1), json!(1.0))
    );
    assert_eq!(venue_stats(&s.app, "v1").await["total"], 1);
    assert_eq!((s.rows("inbox"), s.rows("counted")), (3, 1));
}

/// Final statuses are final; if a producer ever reported a second one, the reservation would
/// still count once, in the bucket it counted in first.
#[tokio::test]
async fn a_reservation_counts_in_one_bucket_only() {
    let s = service().await;
    let r1 = r("r1").people(4);
    assert_eq!(deliver(&s.app, r1.event("e1", "Assisted")).await, "applied");
    assert_eq!(deliver(&s.app, r1.event("e2", "Expired")).await, "ignored");
    update(&s.app, &r1, "Canceled").await;
    let v = venue_stats(&s.app, "v1").await;
    assert_eq!(
        (
            v["total"].clone(),
            v["expired"].clone(),
            v["canceled"].clone(),
            v["people"].clone()
        ),
        (json!(1), json!(0.0), json!(0.0), json!(4.0))
    );
    assert_eq!(
        s.scalar("SELECT count(*) FROM counted WHERE reservation = 'r1' AND status = 'Assisted'"),
        1
    );
}

#[tokio::test]
async fn updates_count_like_events() {
    let s = service().await;
    update(&s.app, &r("r1").people(5), "Assisted").await;
    update(&s.app, &r("r2"), "Expired").await;
    // The original's `user/` prefix is stripped: these are `u1`'s.
    let u = user_stats(&s.app, "u1").await;
    assert_eq!(
        (u["total"].clone(), u["expired"].clone()),
        (json!(2), json!(0.5))
    );
    let v = venue_stats(&s.app, "v1").await;
    assert_eq!(v["people"], json!(5.0));
    assert_eq!(v["days"]["means"], json!({"0": 1}));
    // A repeat answers 200 `null` all the same, and changes nothing.
    update(&s.app, &r("r1").people(5), "Assisted").await;
    assert_eq!(user_stats(&s.app, "u1").await["total"], 2);
    // An event for a reservation counted by a direct call is not counted again.
    assert_eq!(
        deliver(&s.app, r("r2").event("e9", "Expired")).await,
        "ignored"
    );
    assert_eq!(s.rows("counted"), 2);
}

#[tokio::test]
async fn reservation_ids_may_be_numbers_and_users_may_carry_the_prefix() {
    let s = service().await;
    let mut event = r("x").user("user/u7").event("e1", "Assisted");
    event["payload"]["reservation"] = json!(42);
    assert_eq!(deliver(&s.app, event).await, "applied");
    let mut again = r("x").user("u7").event("e2", "Assisted");
    again["payload"]["reservation"] = json!("42");
    assert_eq!(
        deliver(&s.app, again).await,
        "ignored",
        "42 and \"42\" are one reservation"
    );
    assert_eq!(user_stats(&s.app, "u7").await["total"], 1);
}

#[tokio::test]
async fn counts_survive_a_restart() {
    let s = service().await;
    finish(&s.app, &r("r1").people(6), "Assisted").await;
    finish(&s.app, &r("r2"), "Canceled").await;
    let Service { dir, app } = s;
    drop(app);
    let s = open(dir).await;
    let v = venue_stats(&s.app, "v1").await;
    assert_eq!(
        (v["total"].clone(), v["people"].clone()),
        (json!(2), json!(6.0))
    );
    // The inbox survived too: the old event is still a duplicate.
    assert_eq!(
        deliver(&s.app, r("r1").event("ev-r1-Assisted", "Assisted")).await,
        "duplicate"
    );
}
