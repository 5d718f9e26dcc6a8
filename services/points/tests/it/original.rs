//! The original project's points tests (`original-venues-reservations-points.md` §4,
//! `test/points/test_points.py` and `test/services/test_points.py`), ported, with the spec's
//! fixes (decay computed on read, never re-applied).

use crate::common::*;

#[tokio::test]
async fn a_canceled_reservation_gives_negative_points() {
    let s = service().await;
    add(&s.app, "u1", 100).await;
    let outcome = deliver(&s.app, status_event("e1", "r1", "u1", "Canceled", "owner")).await;
    assert_eq!(outcome, "applied");
    assert_eq!(total_of(&s.app, "u1").await, 50);
}

#[tokio::test]
async fn a_confirmed_reservation_gives_positive_points() {
    let s = service().await;
    deliver(&s.app, status_event("e1", "r1", "u1", "Assisted", "owner")).await;
    assert_eq!(total_of(&s.app, "u1").await, 50);
}

#[tokio::test]
async fn an_expired_reservation_gives_negative_points() {
    let s = service().await;
    add(&s.app, "u1", 100).await;
    deliver(&s.app, status_event("e1", "r1", "u1", "Expired", "system")).await;
    assert_eq!(total_of(&s.app, "u1").await, 50);
}

#[tokio::test]
async fn a_canceled_reservation_by_the_venue_does_not_generate_points() {
    let s = service().await;
    add(&s.app, "u1", 100).await;
    s.clock.advance(10 * DAY);
    let outcome = deliver(&s.app, status_event("e1", "r1", "u1", "Canceled", "venue")).await;
    assert_eq!(outcome, "ignored");
    assert_eq!(total_of(&s.app, "u1").await, 100);
    assert_eq!(s.rows("ledger"), 1, "only the first post is in the ledger");
    // Nothing was recorded, so the decay clock did not restart either: 14 days after the post
    // the balance decays.
    s.clock.advance(4 * DAY);
    assert_eq!(total_of(&s.app, "u1").await, 0);
}

#[tokio::test]
async fn creation_for_opinion() {
    let s = service().await;
    deliver(&s.app, status_event("e1", "r1", "u1", "Assisted", "owner")).await;
    let outcome = deliver(&s.app, opinion_event("e2", "r1", "u1")).await;
    assert_eq!(outcome, "applied");
    assert_eq!(total_of(&s.app, "u1").await, 100);
}

#[tokio::test]
async fn storing_and_recovering_points() {
    let s = service().await;
    add(&s.app, "u1", 100).await;
    assert_eq!(total_of(&s.app, "u1").await, 100);
}

#[tokio::test]
async fn storing_and_updating_points() {
    let s = service().await;
    add(&s.app, "u1", 100).await;
    add(&s.app, "u1", 300).await;
    assert_eq!(total_of(&s.app, "u1").await, 400);
}

#[tokio::test]
async fn a_user_with_no_points_is_novato() {
    let s = service().await;
    assert_eq!(points_of(&s.app, "u1").await, (0, "Novato".to_string()));
}

/// `test_a_user_with_x_points_is_level_n` and the level table, at both sides of each boundary.
#[tokio::test]
async fn levels_at_each_boundary() {
    let s = service().await;
    let cases = [
        (0, "Novato"),
        (99, "Novato"),
        (100, "Aficionado Gourmet"),
        (299, "Aficionado Gourmet"),
        (300, "Comensal Amateur"),
        (699, "Comensal Amateur"),
        (700, "Comensal Experto"),
        (1499, "Comensal Experto"),
        (1500, "Estrella Culinaria"),
        (51100, "Estrella Culinaria"),
    ];
    for (total, level) in cases {
        let user = format!("user_{total}");
        add(&s.app, &user, total).await;
        assert_eq!(
            points_of(&s.app, &user).await,
            (total, level.to_string()),
            "{total}"
        );
    }
}

/// `test_local_service_response`: exactly `{user, total, level}`.
#[tokio::test]
async fn the_answer_has_exactly_user_total_and_level() {
    let s = service().await;
    add(&s.app, "u1", 150).await;
    let answer = get(&s.app, "/points/u1").await;
    assert_eq!(
        answer.body,
        serde_json::json!({"user": "u1", "total": 150, "level": "Aficionado Gourmet"})
    );
    let unknown = get(&s.app, "/points/nobody").await;
    assert_eq!(unknown.status, 200, "an unknown user is never 404");
    assert_eq!(
        unknown.body,
        serde_json::json!({"user": "nobody", "total": 0, "level": "Novato"})
    );
}

/// `test_points_updating_on_recovering_points`, plus P2: the decay is not written back and a
/// second read does not subtract again.
#[tokio::test]
async fn decay_on_read_after_fourteen_days_is_not_reapplied() {
    let s = service().await;
    add(&s.app, "u1", 200).await;
    s.clock.advance(14 * DAY + 60);
    assert_eq!(total_of(&s.app, "u1").await, 0);
    assert_eq!(total_of(&s.app, "u1").await, 0);
    assert_eq!(s.stored_total("u1"), Some(200), "reads never write");
}

#[tokio::test]
async fn decay_takes_one_amount_per_full_period() {
    let s = service().await;
    add(&s.app, "u1", 500).await;
    s.clock.advance(14 * DAY - 1);
    assert_eq!(total_of(&s.app, "u1").await, 500, "not a full period yet");
    s.clock.advance(1);
    assert_eq!(total_of(&s.app, "u1").await, 300);
    assert_eq!(
        total_of(&s.app, "u1").await,
        300,
        "a second read changes nothing"
    );
    s.clock.advance(14 * DAY);
    assert_eq!(
        points_of(&s.app, "u1").await,
        (100, "Aficionado Gourmet".into())
    );
    assert_eq!(total_of(&s.app, "u1").await, 100);
    s.clock.advance(14 * DAY);
    assert_eq!(points_of(&s.app, "u1").await, (0, "Novato".into()));
    assert_eq!(s.stored_total("u1"), Some(500));
}

/// `test_points_on_updating`: 200 stored 14 days and a minute ago, then +200 → 200; the
/// decay clock restarts at the change, and the ledger records what decay took.
#[tokio::test]
async fn a_change_applies_to_the_decayed_balance() {
    let s = service().await;
    add(&s.app, "u1", 200).await;
    s.clock.advance(14 * DAY + 60);
    add(&s.app, "u1", 200).await;
    assert_eq!(total_of(&s.app, "u1").await, 200);
    assert_eq!(s.stored_total("u1"), Some(200));
    assert_eq!(s.ledger_sum("u1"), 200, "ledger: +200, -200 (decay), +200");
    assert_eq!(s.rows("ledger"), 3);
    s.clock.advance(14 * DAY - 60);
    assert_eq!(
        total_of(&s.app, "u1").await,
        200,
        "the clock restarted at the change"
    );
}

#[tokio::test]
async fn a_negative_balance_reads_as_zero_and_is_carried() {
    let s = service().await;
    add(&s.app, "u1", -50).await;
    assert_eq!(points_of(&s.app, "u1").await, (0, "Novato".into()));
    assert_eq!(s.stored_total("u1"), Some(-50));
    add(&s.app, "u1", 100).await;
    assert_eq!(
        total_of(&s.app, "u1").await,
        50,
        "the debt was paid back first"
    );
}

#[tokio::test]
async fn a_debt_is_forgiven_after_a_full_idle_period() {
    let s = service().await;
    deliver(&s.app, status_event("e1", "r1", "u1", "Canceled", "owner")).await;
    assert_eq!(s.stored_total("u1"), Some(-50));
    s.clock.advance(14 * DAY);
    add(&s.app, "u1", 100).await;
    assert_eq!(total_of(&s.app, "u1").await, 100);
    assert_eq!(
        s.ledger_sum("u1"),
        100,
        "ledger: -50, +50 (debt forgiven), +100"
    );
}

/// `test_points_loop` (services/test_points.py): balances are per user.
#[tokio::test]
async fn balances_of_different_users_are_independent() {
    let s = service().await;
    add(&s.app, "User_1", 100).await;
    assert_eq!(total_of(&s.app, "User_1").await, 100);
    add(&s.app, "User_1", 100).await;
    assert_eq!(total_of(&s.app, "User_1").await, 200);
    add(&s.app, "User_2", 100).await;
    assert_eq!(total_of(&s.app, "User_1").await, 200);
    assert_eq!(total_of(&s.app, "User_2").await, 100);
    add(&s.app, "User_2", 100).await;
    assert_eq!(total_of(&s.app, "User_2").await, 200);
}

#[tokio::test]
async fn a_zero_change_records_nothing() {
    let s = service().await;
    add(&s.app, "u1", 100).await;
    s.clock.advance(10 * DAY);
    add(&s.app, "u1", 0).await;
    assert_eq!(s.rows("ledger"), 1);
    s.clock.advance(4 * DAY);
    assert_eq!(
        total_of(&s.app, "u1").await,
        0,
        "the decay clock did not restart"
    );
    add(&s.app, "fresh", 0).await;
    assert_eq!(s.stored_total("fresh"), None);
}

#[tokio::test]
async fn balances_survive_a_restart() {
    let s = service().await;
    add(&s.app, "u1", 250).await;
    let state = points::State::open(&config(s.dir.path()), s.clock.clone())
        .await
        .unwrap();
    assert_eq!(total_of(&points::app(state), "u1").await, 250);
}
