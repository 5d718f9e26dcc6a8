//! The two views: their exact shapes, zeros for the unknown, rounding and buckets.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn unknown_users_and_venues_read_as_zeros() {
    let s = service().await;
    let u = get(&s.app, "/user/nobody").await;
    assert_eq!(u.status, 200);
    assert_eq!(
        u.text(),
        r#"{"user":"nobody","total":0,"canceled":0.0,"expired":0.0,"expired_alert":false,"canceled_alert":false}"#
    );
    let v = get(&s.app, "/venue/nowhere").await;
    assert_eq!(v.status, 200);
    assert_eq!(
        v.text(),
        r#"{"venue":"nowhere","total":0,"canceled":0.0,"expired":0.0,"people":0.0,"days":{"means":{}},"turns":{"turns":{}}}"#
    );
    // Reading writes nothing.
    s.assert_untouched();
}

#[tokio::test]
async fn shapes_keep_the_original_keys_and_order() {
    let s = service().await;
    finish(
        &s.app,
        &r("r1").people(4).time("2024-04-14 21:15:00"),
        "Assisted",
    )
    .await;
    finish(
        &s.app,
        &r("r2").people(4).time("2024-04-15T21:15:00Z"),
        "Assisted",
    )
    .await;
    finish(&s.app, &r("r3"), "Expired").await;
    let u = get(&s.app, "/user/u1").await;
    assert_eq!(
        u.text(),
        r#"{"user":"u1","total":3,"canceled":0.0,"expired":0.33,"expired_alert":false,"canceled_alert":false}"#
    );
    let v = get(&s.app, "/venue/v1").await;
    assert_eq!(
        v.text(),
        r#"{"venue":"v1","total":3,"canceled":0.0,"expired":0.33,"people":8.0,"days":{"means":{"0":1,"6":1}},"turns":{"turns":{"21:15":2}}}"#
    );
}

/// Python's `round(x, 2)` on exact counts: 1/8 → 0.12 and 3/8 → 0.38 (half to even on the
/// binary value), 2/3 → 0.67.
#[tokio::test]
async fn ratios_are_rounded_as_the_original_rounds() {
    let s = service().await;
    for (i, to) in ["Canceled", "Expired", "Expired", "Expired"]
        .iter()
        .enumerate()
    {
        finish(&s.app, &r(&format!("x{i}")), to).await;
    }
    for i in 0..4 {
        finish(&s.app, &r(&format!("a{i}")), "Assisted").await;
    }
    let u = user_stats(&s.app, "u1").await;
    assert_eq!(
        (u["canceled"].clone(), u["expired"].clone()),
        (json!(0.12), json!(0.38))
    );
    let v = venue_stats(&s.app, "v1").await;
    assert_eq!(
        (v["canceled"].clone(), v["expired"].clone()),
        (json!(0.12), json!(0.38))
    );
    // 2 of 3 cancelled: 0.67, over the threshold.
    finish(&s.app, &r("y1").user("u2"), "Canceled").await;
    finish(&s.app, &r("y2").user("u2"), "Canceled").await;
    finish(&s.app, &r("y3").user("u2"), "Assisted").await;
    let u2 = user_stats(&s.app, "u2").await;
    assert_eq!(
        (u2["canceled"].clone(), u2["canceled_alert"].clone()),
        (json!(0.67), json!(true))
    );
}

/// Buckets take the reservation's time in UTC, whatever offset it was written with; weekday 0
/// is Monday (H7).
#[tokio::test]
async fn weekdays_and_turns_are_utc() {
    let s = service().await;
    let cases = [
        // 23:30 in Argentina on Sunday 14 April is 02:30 UTC on Monday.
        ("r1", "2024-04-14T23:30:00-03:00"),
        ("r2", "2024-04-15T02:30:59.999Z"),
        ("r3", "2024-04-20T12:00:00+00:00"),
        ("r4", "2024-04-21 00:00"),
    ];
    for (id, time) in cases {
        finish(&s.app, &r(id).time(time), "Assisted").await;
    }
    // Cancelled and expired reservations add to no bucket.
    finish(&s.app, &r("r5").time("2024-04-17T10:00:00Z"), "Canceled").await;
    finish(&s.app, &r("r6").time("2024-04-18T11:00:00Z"), "Expired").await;
    let v = venue_stats(&s.app, "v1").await;
    assert_eq!(v["total"], 6);
    assert_eq!(v["days"]["means"], json!({"0": 2, "5": 1, "6": 1}));
    assert_eq!(
        v["turns"]["turns"],
        json!({"00:00": 1, "02:30": 2, "12:00": 1})
    );
    assert_eq!(v["people"], json!(8.0));
}

#[tokio::test]
async fn a_venue_with_cancellations_only_has_empty_buckets() {
    let s = service().await;
    finish(&s.app, &r("r1"), "Canceled").await;
    let v = get(&s.app, "/venue/v1").await;
    assert_eq!(
        v.text(),
        r#"{"venue":"v1","total":1,"canceled":1.0,"expired":0.0,"people":0.0,"days":{"means":{}},"turns":{"turns":{}}}"#
    );
}

#[tokio::test]
async fn users_and_venues_are_kept_apart() {
    let s = service().await;
    finish(&s.app, &r("r1").user("u1").venue("v1"), "Canceled").await;
    finish(&s.app, &r("r2").user("u2").venue("v1"), "Assisted").await;
    finish(&s.app, &r("r3").user("u1").venue("v2"), "Assisted").await;
    assert_eq!(user_stats(&s.app, "u1").await["canceled"], json!(0.5));
    assert_eq!(user_stats(&s.app, "u2").await["canceled"], json!(0.0));
    assert_eq!(venue_stats(&s.app, "v1").await["total"], 2);
    assert_eq!(venue_stats(&s.app, "v2").await["canceled"], json!(0.0));
    // A venue id is not a user id: `v1` has no user stats.
    assert_eq!(user_stats(&s.app, "v1").await["total"], 0);
}
