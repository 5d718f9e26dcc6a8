//! `/reservations*` (E11–E17) against a fake reservations service: the caller sent as
//! `user/<uid>` whatever the body says, listings scoped to the caller, the exact permission
//! rows, bad input refused without a downstream call, downstream answers passed through.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

fn reservation(status: &str) -> Value {
    json!({"id": "r1", "user": "user/ana", "venue": "resto", "time": "2030-05-01T23:00:00Z",
           "people": 2, "status": {"status": status}})
}

fn listing(venue: &str) -> Value {
    json!({"result": [{"id": "r1", "venue": venue, "time": "2030-05-01T20:00:00", "people": 2,
                       "user": {"id": "ana", "name": "Ana", "phone": "1155",
                                "times_assisted": 1, "times_expired": 0},
                       "status": {"status": "Accepted"}}],
           "opinions": {}, "total": 1})
}

/// A diner `ana`, a restaurant `resto`.
async fn env() -> Env {
    let env = Env::start().await;
    env.users.register("ana", "client");
    env.users.register("resto", "restaurant");
    env
}

fn reservations(env: &Env) -> &Fake {
    env.fake("reservations")
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

#[tokio::test]
async fn a_booking_is_made_in_the_callers_name() {
    let env = env().await;
    reservations(&env).answer("POST /reservations", 200, reservation("Uncomfirmed"));
    // E11 as the apps send it, plus keys the gateway must not trust or choke on.
    let booking = json!({"people": 2, "venue": "resto", "time": "2030-05-01T23:00:00.000Z",
                         "user": "user/someone-else", "note": "window seat"});
    let (status, body) = env
        .call_as(Method::POST, "/reservations", "ana", booking)
        .await;
    assert_eq!((status, body), (200, reservation("Uncomfirmed")));
    let call = reservations(&env).only_call();
    assert_eq!(call.line, "POST /reservations");
    assert_eq!(
        call.body.unwrap(),
        json!({"user": "user/ana", "venue": "resto", "time": "2030-05-01T23:00:00Z", "people": 2})
    );
    assert_eq!(call.token.as_deref(), Some(INTERNAL_TOKEN));
}

#[tokio::test]
async fn booking_needs_a_registered_user() {
    let env = env().await;
    let booking = json!({"people": 2, "venue": "resto", "time": "2030-05-01T23:00:00.000Z"});
    let (status, _) = env
        .call(Method::POST, "/reservations", None, Some(booking.clone()))
        .await;
    assert_eq!(status, 401);
    let (status, body) = env
        .call_as(Method::POST, "/reservations", "ghost", booking)
        .await;
    assert_eq!(status, 403);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("POST /users")
    );
    assert!(reservations(&env).calls().is_empty());
}

#[tokio::test]
async fn the_diners_listing_is_always_their_own() {
    let env = env().await;
    reservations(&env).answer("GET /reservations", 200, listing("resto"));
    // E12 (Home) as the app builds it, plus a `user` the gateway must override.
    let (status, body) = env
        .get_as(
            "/reservations?&status=Accepted&limit=20&user=user/resto",
            "ana",
        )
        .await;
    assert_eq!((status, body), (200, listing("resto")));
    assert_eq!(
        reservations(&env).only_call().query_pairs(),
        pairs(&[
            ("caller", "user/ana"),
            ("user", "user/ana"),
            ("status", "Accepted"),
            ("limit", "20")
        ])
    );
}

#[tokio::test]
async fn a_lookup_by_id_is_scoped_to_the_caller_not_to_their_bookings() {
    // The service returns the caller's own reservation or one at the caller's venue.
    let env = env().await;
    reservations(&env).answer("GET /reservations", 200, listing("resto"));
    let (status, _) = env.get_as("/reservations?id=r1", "resto").await;
    assert_eq!(status, 200);
    let (status, _) = env
        .get_as(
            "/reservations?id=&status=Accepted&status=Uncomfirmed&venue=resto&from_people=2&to_people=4&start=5",
            "ana",
        )
        .await;
    assert_eq!(status, 200);
    let calls = reservations(&env).calls();
    assert_eq!(
        calls[0].query_pairs(),
        pairs(&[("caller", "user/resto"), ("id", "r1")])
    );
    assert_eq!(
        calls[1].query_pairs(),
        pairs(&[
            ("caller", "user/ana"),
            ("user", "user/ana"),
            ("status", "Accepted"),
            ("status", "Uncomfirmed"),
            ("venue", "resto"),
            ("from_people", "2"),
            ("to_people", "4"),
            ("start", "5")
        ])
    );
}

#[tokio::test]
async fn the_venue_listing_is_the_callers_venue() {
    let env = env().await;
    reservations(&env).answer("GET /reservations", 200, listing("resto"));
    // E13 (Bookings page) exactly as the portal sends it.
    let path = "/reservations/venue?start=0&limit=100000&from_time=2024-05-01T03:00:00.000Z&to_time=2024-05-02T02:59:59.999Z";
    let (status, body) = env.get_as(path, "resto").await;
    assert_eq!((status, body), (200, listing("resto")));
    assert_eq!(
        reservations(&env).only_call().query_pairs(),
        pairs(&[
            ("caller", "user/resto"),
            ("venue", "resto"),
            ("start", "0"),
            ("limit", "100000"),
            ("from_time", "2024-05-01T03:00:00Z"),
            ("to_time", "2024-05-02T02:59:59.999000Z")
        ])
    );
}

#[tokio::test]
async fn the_history_is_the_callers_own() {
    let env = env().await;
    reservations(&env).answer("GET /reservations", 200, listing("resto"));
    let (status, _) = env.get_as("/reservations/history?&limit=20", "ana").await;
    assert_eq!(status, 200);
    assert_eq!(
        reservations(&env).only_call().query_pairs(),
        pairs(&[
            ("caller", "user/ana"),
            ("user", "user/ana"),
            ("limit", "20")
        ])
    );
}

#[tokio::test]
async fn the_exact_permission_rows_win_over_the_param_row() {
    // `/reservations/param` is open to both types; `/reservations/venue` and
    // `/reservations/history` are not, and are not widened by it.
    let env = env().await;
    assert_eq!(env.get_as("/reservations/venue", "ana").await.0, 403);
    assert_eq!(env.get_as("/reservations/history", "resto").await.0, 403);
    assert_eq!(env.get("/reservations/venue", None).await.0, 401);
    assert!(reservations(&env).calls().is_empty());
}

#[tokio::test]
async fn changes_are_asked_in_the_callers_name() {
    let env = env().await;
    reservations(&env).answer("PUT /reservations/r1", 200, reservation("Accepted"));
    for (uid, body, sent) in [
        // E14 / E16: accept or check in.
        (
            "resto",
            json!({"advance_forward": true, "user": "user/ana"}),
            json!({"user": "user/resto", "advance_forward": true}),
        ),
        // E15: cancel; nulls ask for nothing and are not passed on.
        (
            "ana",
            json!({"cancel": true, "time": null, "people": null}),
            json!({"user": "user/ana", "cancel": true}),
        ),
        // E17: edit, with the apps' milliseconds.
        (
            "ana",
            json!({"time": "2030-05-01T22:30:00.000Z", "people": 4}),
            json!({"user": "user/ana", "time": "2030-05-01T22:30:00Z", "people": 4}),
        ),
    ] {
        let (status, answer) = env
            .call_as(Method::PUT, "/reservations/r1", uid, body)
            .await;
        assert_eq!((status, answer), (200, reservation("Accepted")));
        let calls = reservations(&env).calls();
        assert_eq!(calls.last().unwrap().body.as_ref().unwrap(), &sent);
    }
}

#[tokio::test]
async fn the_services_refusals_come_back_with_their_status() {
    let env = env().await;
    for (status, description) in [
        (403, "Only the venue can accept a reservation"),
        (400, "Reservation is in a final state"),
        (404, "Reservation does not exist"),
    ] {
        reservations(&env).answer(
            "PUT /reservations/r1",
            status,
            json!({"description": description, "endpoint": "/reservations/r1"}),
        );
        let (got, body) = env
            .call_as(
                Method::PUT,
                "/reservations/r1",
                "ana",
                json!({"advance_forward": true}),
            )
            .await;
        assert_eq!(
            (got, body),
            (
                status,
                json!({"description": description, "endpoint": "/reservations/r1"})
            )
        );
    }
}

#[tokio::test]
async fn only_the_venue_deletes_a_reservation() {
    let env = env().await;
    reservations(&env).answer("GET /reservations", 200, listing("resto"));
    reservations(&env).answer("DELETE /reservations/r1", 200, Value::Null);
    let delete = |uid: &str| {
        let bearer = env.bearer_for(uid);
        let env = &env;
        async move {
            env.call(Method::DELETE, "/reservations/r1", Some(&bearer), None)
                .await
        }
    };
    let (status, body) = delete("ana").await;
    assert_eq!(status, 403, "{body}");
    assert!(
        reservations(&env)
            .calls()
            .iter()
            .all(|c| c.line.starts_with("GET"))
    );
    let (status, body) = delete("resto").await;
    assert_eq!((status, body), (200, Value::Null));
    let calls = reservations(&env).calls();
    let last = calls.last().unwrap();
    assert_eq!(last.line, "DELETE /reservations/r1");
    assert_eq!(last.query_values("user"), ["user/resto"]);
    assert_eq!(
        calls[1].query_pairs(),
        pairs(&[("caller", "user/resto"), ("id", "r1")])
    );
    // Unknown among the caller's: 404, nothing deleted.
    reservations(&env).answer(
        "GET /reservations",
        200,
        json!({"result": [], "opinions": {}, "total": 0}),
    );
    assert_eq!(delete("resto").await.0, 404);
    assert_eq!(
        reservations(&env)
            .calls()
            .iter()
            .filter(|c| c.line.starts_with("DELETE"))
            .count(),
        1
    );
}

#[tokio::test]
async fn malformed_requests_are_422_without_a_downstream_call() {
    let env = env().await;
    for (method, path, body) in [
        (
            Method::POST,
            "/reservations",
            json!({"people": "two", "venue": "resto", "time": "2030-05-01T23:00:00.000Z"}),
        ),
        (
            Method::POST,
            "/reservations",
            json!({"people": 2, "venue": "resto", "time": "tomorrow"}),
        ),
        (
            Method::POST,
            "/reservations",
            json!({"people": 2, "time": "2030-05-01T23:00:00.000Z"}),
        ),
        (Method::PUT, "/reservations/r1", json!({"people": 2.5})),
        (Method::PUT, "/reservations/r1", json!({"time": "soon"})),
        (Method::PUT, "/reservations/r1", json!({"cancel": "yes"})),
    ] {
        let (status, answer) = env.call_as(method.clone(), path, "ana", body).await;
        assert_eq!(status, 422, "{method} {path}: {answer}");
        assert_eq!(answer["endpoint"], path);
    }
    for path in [
        "/reservations?status=Pending",
        "/reservations?status=Unconfirmed",
        "/reservations?limit=-1",
        "/reservations?from_time=yesterday",
        "/reservations?from_people=many",
        "/reservations/history?to_time=2024-02-30T00:00:00Z",
        "/reservations/history?start=-1",
        // An empty datetime is not "no filter": the document says `date-time`.
        "/reservations?to_time=",
        "/reservations/history?from_time=",
    ] {
        let (status, answer) = env.get_as(path, "ana").await;
        assert_eq!(status, 422, "{path}: {answer}");
    }
    for path in [
        "/reservations/venue?limit=lots",
        "/reservations/venue?to_time=",
    ] {
        let (status, answer) = env.get_as(path, "resto").await;
        assert_eq!(status, 422, "{path}: {answer}");
    }
    assert!(reservations(&env).calls().is_empty());
}

#[tokio::test]
async fn failures_are_502_and_an_unreachable_service_503() {
    let mut env = env().await;
    reservations(&env).answer("GET /reservations", 500, json!({"description": "boom"}));
    reservations(&env).answer("POST /reservations", 200, json!(null));
    let (status, body) = env.get_as("/reservations", "ana").await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["endpoint"], "/reservations");
    // E11's answer must be a reservation (the app shows success only for a truthy body).
    let booking = json!({"people": 2, "venue": "resto", "time": "2030-05-01T23:00:00.000Z"});
    let (status, _) = env
        .call_as(Method::POST, "/reservations", "ana", booking)
        .await;
    assert_eq!(status, 502);
    env.fake_mut("reservations").stop();
    assert!(
        eventually(Duration::from_secs(5), || async {
            env.get_as("/reservations", "ana").await.0 == 503
        })
        .await
    );
}

#[tokio::test]
async fn whole_numbers_written_as_floats_are_integers() {
    // JSON Schema counts `2.0` as the integer 2, so a client following the document may send it.
    let env = env().await;
    reservations(&env).answer("POST /reservations", 200, reservation("Uncomfirmed"));
    let booking = json!({"people": 2.0, "venue": "resto", "time": "2030-05-01T23:00:00Z"});
    let (status, _) = env
        .call_as(Method::POST, "/reservations", "ana", booking)
        .await;
    assert_eq!(status, 200);
    assert_eq!(
        reservations(&env).only_call().body.unwrap()["people"],
        json!(2)
    );
    reservations(&env).answer("PUT /reservations/r1", 200, reservation("Uncomfirmed"));
    let (status, _) = env
        .call_as(
            Method::PUT,
            "/reservations/r1",
            "ana",
            json!({"people": 3e0}),
        )
        .await;
    assert_eq!(status, 200);
    let calls = reservations(&env).calls();
    assert_eq!(
        calls.last().unwrap().body.as_ref().unwrap()["people"],
        json!(3)
    );
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_422() {
    // serde would read `["resto", "2030-…", 2]` as the struct's fields in order.
    let env = env().await;
    for body in [
        json!(["resto", "2030-05-01T23:00:00Z", 2]),
        json!([null, null]),
        json!(null),
        json!("resto"),
    ] {
        let (status, answer) = env
            .call_as(Method::POST, "/reservations", "ana", body.clone())
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert!(
            answer["description"]
                .as_str()
                .unwrap()
                .contains("must be a JSON object"),
            "{answer}"
        );
    }
    assert!(reservations(&env).calls().is_empty());
}
