//! `POST /events`: each rule, exactly once per event id and once per reservation.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn each_transition_gets_its_points() {
    let s = service().await;
    add(&s.app, "u1", 1000).await;
    let cases = [
        ("Assisted", "owner", "applied", 50),
        ("Assisted", "venue", "applied", 50),
        ("Expired", "system", "applied", -50),
        ("Expired", "venue", "applied", -50),
        ("Canceled", "owner", "applied", -50),
        ("Canceled", "venue", "ignored", 0),
        ("Canceled", "system", "ignored", 0),
        ("Accepted", "venue", "ignored", 0),
        ("Uncomfirmed", "owner", "ignored", 0),
    ];
    let mut expected = 1000;
    for (i, (to, by, outcome, delta)) in cases.into_iter().enumerate() {
        let event = status_event(&format!("e{i}"), &format!("r{i}"), "u1", to, by);
        assert_eq!(deliver(&s.app, event).await, outcome, "{to} by {by}");
        expected += delta;
        assert_eq!(total_of(&s.app, "u1").await, expected, "{to} by {by}");
    }
    assert_eq!(
        s.rows("inbox"),
        9,
        "every understood event is marked as seen"
    );
    assert_eq!(s.rows("ledger"), 6, "the post and the five changes");
    assert_eq!(s.ledger_sum("u1"), s.stored_total("u1").unwrap());
}

#[tokio::test]
async fn a_redelivered_event_changes_nothing() {
    let s = service().await;
    let event = status_event("e1", "r1", "u1", "Assisted", "venue");
    assert_eq!(deliver(&s.app, event.clone()).await, "applied");
    for _ in 0..4 {
        assert_eq!(deliver(&s.app, event.clone()).await, "duplicate");
    }
    assert_eq!(total_of(&s.app, "u1").await, 50);
    assert_eq!((s.rows("inbox"), s.rows("ledger")), (1, 1));
}

#[tokio::test]
async fn an_event_id_counts_once_whatever_it_carries() {
    let s = service().await;
    deliver(&s.app, status_event("e1", "r1", "u1", "Assisted", "venue")).await;
    // A producer bug reusing an id: the first delivery won.
    let reused = opinion_event("e1", "r2", "u1");
    assert_eq!(deliver(&s.app, reused).await, "duplicate");
    assert_eq!(total_of(&s.app, "u1").await, 50);
}

#[tokio::test]
async fn only_the_first_opinion_of_a_visit_earns() {
    let s = service().await;
    deliver(&s.app, status_event("e1", "r1", "u1", "Assisted", "owner")).await;
    assert_eq!(
        deliver(&s.app, opinion_event("e2", "r1", "u1")).await,
        "applied"
    );
    assert_eq!(
        deliver(&s.app, opinion_event("e3", "r1", "u1")).await,
        "ignored"
    );
    assert_eq!(total_of(&s.app, "u1").await, 100);
    assert_eq!(
        deliver(&s.app, opinion_event("e4", "r2", "u1")).await,
        "applied"
    );
    assert_eq!(total_of(&s.app, "u1").await, 150);
}

#[tokio::test]
async fn a_reservation_ends_once() {
    let s = service().await;
    add(&s.app, "u1", 200).await;
    assert_eq!(
        deliver(&s.app, status_event("e1", "r1", "u1", "Assisted", "owner")).await,
        "applied"
    );
    // The same transition emitted twice under two ids, then an impossible second outcome.
    for (id, to, by) in [("e2", "Assisted", "venue"), ("e3", "Expired", "system")] {
        let outcome = deliver(&s.app, status_event(id, "r1", "u1", to, by)).await;
        assert_eq!(outcome, "ignored", "{to}");
    }
    assert_eq!(total_of(&s.app, "u1").await, 250);
    assert_eq!(s.rows("inbox"), 3);
}

#[tokio::test]
async fn unknown_topics_are_ignored_with_200() {
    let s = service().await;
    for event in [
        json!({"id": "e1", "topic": "venue.closed", "payload": {"venue": "v1"}}),
        json!({"id": "e2", "topic": "reservation.created", "payload": "not even an object"}),
        json!({"id": "e3", "topic": "stats.whatever", "payload": null}),
    ] {
        assert_eq!(deliver(&s.app, event).await, "ignored");
    }
    assert_eq!(
        (s.rows("inbox"), s.rows("ledger"), s.rows("points")),
        (0, 0, 0)
    );
}

#[tokio::test]
async fn numeric_reservation_ids_are_accepted() {
    let s = service().await;
    let event = json!({"id": "17", "topic": "reservation.status", "payload": {
        "reservation": 42, "user": "u1", "venue": "v1", "from": "Accepted", "to": "Assisted",
        "by": "owner", "time": "2025-06-15T21:00:00.000Z", "people": 2,
        "at": "2025-06-15T21:05:00.000Z"}});
    assert_eq!(deliver(&s.app, event).await, "applied");
    let opinion = json!({"id": "18", "topic": "opinion.created",
        "payload": {"opinion": 9, "reservation": 42, "user": "u1"}});
    assert_eq!(deliver(&s.app, opinion).await, "applied");
    assert_eq!(total_of(&s.app, "u1").await, 100);
}

#[tokio::test]
async fn a_malformed_event_is_422_and_recorded_nowhere() {
    let s = service().await;
    let cases = [
        (
            json!({"id": "e1", "topic": "reservation.status",
                   "payload": {"reservation": "r1", "user": "u1", "by": "owner"}}),
            "missing field `to`",
        ),
        (
            status_event("e1", "r1", "u1", "Attended", "owner"),
            "unknown variant `Attended`",
        ),
        (
            status_event("e1", "r1", "user/u1", "Assisted", "owner"),
            "`user`",
        ),
        (status_event("e1", "r1", "", "Assisted", "owner"), "`user`"),
        (
            status_event("e1", "r1", &"u".repeat(129), "Assisted", "owner"),
            "`user`",
        ),
        (
            status_event("e1", "", "u1", "Assisted", "owner"),
            "`reservation`",
        ),
        (
            json!({"id": "e1", "topic": "opinion.created", "payload": {"user": "u1"}}),
            "missing field `reservation`",
        ),
        (status_event("", "r1", "u1", "Assisted", "owner"), "`id`"),
        (
            json!({"topic": "opinion.created", "payload": {"reservation": "r1", "user": "u1"}}),
            "missing field `id`",
        ),
        (
            json!({"id": "e1", "payload": {"reservation": "r1", "user": "u1"}}),
            "missing field `topic`",
        ),
        (
            json!({"id": "e1", "topic": "opinion.created"}),
            "missing field `payload`",
        ),
        (
            json!({"id": 17, "topic": "opinion.created", "payload": {"reservation": "r1", "user": "u1"}}),
            "invalid type",
        ),
    ];
    for (event, reason) in cases {
        let answer = post(&s.app, "/events", event).await;
        assert_refused(&answer, 422, reason);
        assert_eq!(answer.body["endpoint"], "/events");
    }
    assert_eq!(
        (s.rows("inbox"), s.rows("ledger"), s.rows("points")),
        (0, 0, 0)
    );
    // Parked, fixed and delivered again under the same id, it applies.
    let fixed = status_event("e1", "r1", "u1", "Assisted", "owner");
    assert_eq!(deliver(&s.app, fixed).await, "applied");
}
