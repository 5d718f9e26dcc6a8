//! `/opinions` (E18, E19), `/summaries/{venue}` (E20) and `/stats/*` (E21, E22) against fake
//! opinions, summaries and stats services: the author taken from the token, queries passed
//! through, ownership refused without a downstream call, the summary always 200 (H10),
//! restaurants reading diners' stats (H2), downstream answers passed through.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// A diner `ana`, another diner `luis`, restaurants `resto` and `otro`.
async fn env() -> Env {
    let env = Env::start().await;
    env.users.register("ana", "client");
    env.users.register("luis", "client");
    env.users.register("resto", "restaurant");
    env.users.register("otro", "restaurant");
    env
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut pairs: Vec<_> = list
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    pairs.sort();
    pairs
}

fn opinion() -> Value {
    json!({"venue": "resto", "opinion": "Muy rico", "reservation": "r1",
           "date": "2030-05-02T01:00:00.120000"})
}

fn page() -> Value {
    json!({"result": [opinion()], "total": 1})
}

fn summary() -> Value {
    json!({"text": "Resumen de 3 opiniones. Muy rico.", "date": "2030-05-02T01:00:00Z",
           "venue": "resto"})
}

fn venue_stats() -> Value {
    json!({"venue": "resto", "total": 3, "canceled": 0.33, "expired": 0.33, "people": 17.0,
           "days": {"means": {"0": 1}}, "turns": {"turns": {"23:00": 1}}})
}

fn user_stats(user: &str) -> Value {
    json!({"user": user, "total": 2, "canceled": 0.5, "expired": 0.0,
           "expired_alert": false, "canceled_alert": false})
}

#[tokio::test]
async fn a_review_is_sent_in_the_callers_name() {
    let env = env().await;
    env.fake("opinions")
        .answer("POST /opinions", 200, opinion());
    // E18 as the app sends it, plus an author the gateway must not trust.
    let review = json!({"reservation": "r1", "opinion": "Muy rico", "venue": "resto",
                        "date": "2030-05-02T01:00:00.120Z", "user": "luis"});
    let (status, body) = env.call_as(Method::POST, "/opinions", "ana", review).await;
    assert_eq!((status, body), (200, opinion()));
    let call = env.fake("opinions").only_call();
    assert_eq!(call.line, "POST /opinions");
    assert_eq!(
        call.body.unwrap(),
        json!({"user": "ana", "reservation": "r1", "opinion": "Muy rico", "venue": "resto",
               "date": "2030-05-02T01:00:00.120000Z"})
    );
    assert_eq!(call.token.as_deref(), Some(INTERNAL_TOKEN));
    // Without a date (the server dates opinions anyway), and with a null one.
    for review in [
        json!({"reservation": "r1", "opinion": "Rico", "venue": "resto"}),
        json!({"reservation": "r1", "opinion": "Rico", "venue": "resto", "date": null}),
    ] {
        let (status, _) = env.call_as(Method::POST, "/opinions", "ana", review).await;
        assert_eq!(status, 200);
        let calls = env.fake("opinions").calls();
        assert_eq!(
            calls.last().unwrap().body.as_ref().unwrap(),
            &json!({"user": "ana", "reservation": "r1", "opinion": "Rico", "venue": "resto"})
        );
    }
}

#[tokio::test]
async fn reading_reviews_needs_no_token_but_writing_does() {
    let env = env().await;
    env.fake("opinions").answer("GET /opinions", 200, page());
    let (status, body) = env.get("/opinions?venue=resto", None).await;
    assert_eq!((status, body), (200, page()));
    let review = json!({"reservation": "r1", "opinion": "Rico", "venue": "resto"});
    let (status, body) = env
        .call(Method::POST, "/opinions", None, Some(review.clone()))
        .await;
    assert_eq!(status, 401, "{body}");
    let (status, _) = env
        .call(
            Method::POST,
            "/opinions",
            Some("Bearer not-a-token"),
            Some(review),
        )
        .await;
    assert_eq!(status, 401);
    assert!(
        env.fake("opinions")
            .calls()
            .iter()
            .all(|c| c.line == "GET /opinions")
    );
}

#[tokio::test]
async fn listing_queries_are_passed_through() {
    let env = env().await;
    env.fake("opinions").answer("GET /opinions", 200, page());
    for (path, expected) in [
        // E19, the portal: a leading `?&`, limit 100000.
        (
            "/opinions?&start=0&limit=100000&venue=resto",
            pairs(&[("start", "0"), ("limit", "100000"), ("venue", "resto")]),
        ),
        // E19, the mobile app's "Ver todas".
        (
            "/opinions?venue=resto&limit=10&start=0",
            pairs(&[("venue", "resto"), ("limit", "10"), ("start", "0")]),
        ),
        // The date filters (unencoded `:`) and the reservation filter; empty values filter
        // nothing.
        (
            "/opinions?venue=&reservation=r1&from_date=2024-05-01T03:00:00.000Z&to_date=2024-05-02 02:59:59&limit=",
            pairs(&[
                ("reservation", "r1"),
                ("from_date", "2024-05-01T03:00:00Z"),
                ("to_date", "2024-05-02T02:59:59Z"),
            ]),
        ),
        ("/opinions", vec![]),
    ] {
        let (status, body) = env.get_as(path, "resto").await;
        assert_eq!((status, body), (200, page()), "{path}");
        let calls = env.fake("opinions").calls();
        assert_eq!(calls.last().unwrap().query_pairs(), expected, "{path}");
    }
}

#[tokio::test]
async fn malformed_review_requests_are_422_without_a_downstream_call() {
    let env = env().await;
    for body in [
        json!({"opinion": "Rico", "venue": "resto"}),
        json!({"reservation": "r1", "opinion": 5, "venue": "resto"}),
        json!({"reservation": "r1", "opinion": "Rico", "venue": "resto", "date": "ayer"}),
        json!(["r1"]),
    ] {
        let (status, answer) = env
            .call_as(Method::POST, "/opinions", "ana", body.clone())
            .await;
        assert_eq!(status, 422, "{body}: {answer}");
        assert_eq!(answer["endpoint"], "/opinions");
    }
    for path in [
        "/opinions?venue=resto&limit=-1",
        "/opinions?venue=resto&start=first",
        "/opinions?venue=resto&from_date=yesterday",
        "/opinions?venue=resto&to_date=2024-02-30T00:00:00Z",
        // Empty is not a `date-time` (the original refused it too).
        "/opinions?venue=resto&to_date=",
        "/opinions?from_date=&venue=resto",
    ] {
        let (status, answer) = env.get(path, None).await;
        assert_eq!(status, 422, "{path}: {answer}");
    }
    assert!(env.fake("opinions").calls().is_empty());
}

#[tokio::test]
async fn the_opinion_services_refusals_come_back_with_their_status() {
    let env = env().await;
    let review = json!({"reservation": "r1", "opinion": "Rico", "venue": "resto"});
    for (status, description) in [
        (400, "The reservation is not Assisted"),
        (
            403,
            "Only the diner of a reservation can give an opinion on it",
        ),
        (404, "Reservation does not exist"),
        (409, "This reservation already has an opinion"),
    ] {
        env.fake("opinions").answer(
            "POST /opinions",
            status,
            json!({"description": description, "endpoint": "/opinions"}),
        );
        let (got, body) = env
            .call_as(Method::POST, "/opinions", "ana", review.clone())
            .await;
        assert_eq!(
            (got, body),
            (
                status,
                json!({"description": description, "endpoint": "/opinions"})
            )
        );
    }
    env.fake("opinions").answer(
        "GET /opinions",
        400,
        json!({"description": "Invalid limit: 200000", "endpoint": "/opinions"}),
    );
    let (status, body) = env.get("/opinions?venue=resto&limit=100001", None).await;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Invalid limit: 200000"))
    );
}

#[tokio::test]
async fn a_summary_is_read_without_identity() {
    let env = env().await;
    env.fake("summaries")
        .answer("GET /summaries/resto", 200, summary());
    assert_eq!(env.get("/summaries/resto", None).await, (200, summary()));
    assert_eq!(
        env.get_as("/summaries/resto", "ana").await,
        (200, summary())
    );
    let call = &env.fake("summaries").calls()[0];
    assert_eq!(call.line, "GET /summaries/resto");
    assert_eq!(call.token.as_deref(), Some(INTERNAL_TOKEN));
}

/// The placeholder the gateway answers for `venue`, dated within the last minute.
fn assert_placeholder(body: &Value, venue: &str) {
    assert_eq!(
        body["text"],
        "Este restaurant aun no tiene un resumen de opiniones disponible"
    );
    assert_eq!(body["venue"], venue);
    let date = body["date"].as_str().unwrap();
    assert!(date.ends_with('Z'), "{date}");
    let age = chrono::Utc::now() - chefcito::time::parse(date).unwrap();
    assert!(age < chrono::Duration::minutes(1), "{date}");
}

#[tokio::test]
async fn a_summary_is_always_200_even_when_the_service_fails() {
    // H10: the mobile app polls twice a second while the call fails.
    let mut env = env().await;
    // Nothing scripted: the fake answers 404.
    let (status, body) = env.get_as("/summaries/resto", "ana").await;
    assert_eq!(status, 200, "{body}");
    assert_placeholder(&body, "resto");
    for (status, answer) in [
        (500, json!({"description": "boom"})),
        (200, json!({"unexpected": true})),
    ] {
        env.fake("summaries")
            .answer("GET /summaries/resto", status, answer);
        let (status, body) = env.get("/summaries/resto", None).await;
        assert_eq!(status, 200);
        assert_placeholder(&body, "resto");
    }
    // An id with characters a path must encode reaches the service as one segment.
    let (status, body) = env.get("/summaries/a%2Fb%20c", None).await;
    assert_eq!(status, 200);
    assert_placeholder(&body, "a/b c");
    assert_eq!(
        env.fake("summaries").calls().last().unwrap().line,
        "GET /summaries/a%2Fb%20c"
    );
    env.fake_mut("summaries").stop();
    assert!(
        eventually(Duration::from_secs(5), || async {
            let (status, body) = env.get("/summaries/resto", None).await;
            status == 200
                && body["text"] == "Este restaurant aun no tiene un resumen de opiniones disponible"
        })
        .await
    );
}

#[tokio::test]
async fn only_the_owner_asks_for_a_new_summary() {
    let env = env().await;
    let post = |uid: Option<&str>, path: &'static str| {
        let authorization = uid.map(|u| env.bearer_for(u));
        let env = &env;
        async move {
            env.call(
                Method::POST,
                path,
                authorization.as_deref(),
                Some(json!({})),
            )
            .await
        }
    };
    assert_eq!(post(None, "/summaries/resto").await.0, 401);
    let (status, body) = post(Some("ana"), "/summaries/resto").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(post(Some("otro"), "/summaries/resto").await.0, 403);
    assert!(env.fake("summaries").calls().is_empty());

    // The service's 202 (started) and 200 (too soon) come back as they are.
    for status in [202, 200] {
        env.fake("summaries")
            .answer("POST /summaries/resto", status, summary());
        assert_eq!(
            post(Some("resto"), "/summaries/resto").await,
            (status, summary())
        );
    }
    let calls = env.fake("summaries").calls();
    assert_eq!(calls.len(), 2);
    assert!(calls.iter().all(|c| c.line == "POST /summaries/resto"));
    // No body is needed.
    let bearer = env.bearer_for("resto");
    let (status, _) = env
        .call(Method::POST, "/summaries/resto", Some(&bearer), None)
        .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn venue_stats_are_read_by_the_owner_only() {
    let env = env().await;
    env.fake("stats")
        .answer("GET /venue/resto", 200, venue_stats());
    let (status, body) = env.get_as("/stats/venue/resto", "resto").await;
    assert_eq!((status, body), (200, venue_stats()));
    let call = env.fake("stats").only_call();
    assert_eq!(call.line, "GET /venue/resto");
    assert_eq!(call.token.as_deref(), Some(INTERNAL_TOKEN));
    // Another restaurant, a diner (the permission table), nobody, an unregistered user.
    assert_eq!(env.get_as("/stats/venue/resto", "otro").await.0, 403);
    assert_eq!(env.get_as("/stats/venue/resto", "ana").await.0, 403);
    assert_eq!(env.get_as("/stats/venue/ana", "ana").await.0, 403);
    assert_eq!(env.get("/stats/venue/resto", None).await.0, 401);
    assert_eq!(env.get_as("/stats/venue/ghost", "ghost").await.0, 403);
    assert_eq!(env.fake("stats").calls().len(), 1);
}

#[tokio::test]
async fn user_stats_are_read_by_that_user_or_any_restaurant() {
    let env = env().await;
    env.fake("stats")
        .answer("GET /user/ana", 200, user_stats("ana"));
    // H2: the portal reads the flags of every diner on its Bookings page.
    for reader in ["ana", "resto", "otro"] {
        let (status, body) = env.get_as("/stats/user/ana", reader).await;
        assert_eq!((status, body), (200, user_stats("ana")), "{reader}");
    }
    let calls = env.fake("stats").calls();
    assert_eq!(calls.len(), 3);
    assert!(calls.iter().all(|c| c.line == "GET /user/ana"));
    // Another diner, nobody, an unregistered user.
    let (status, body) = env.get_as("/stats/user/ana", "luis").await;
    assert_eq!(status, 403, "{body}");
    assert_eq!(env.get("/stats/user/ana", None).await.0, 401);
    assert_eq!(env.get_as("/stats/user/ghost", "ghost").await.0, 403);
    assert_eq!(env.fake("stats").calls().len(), 3);
}

#[tokio::test]
async fn stats_refusals_come_back_and_failures_are_502_or_503() {
    let mut env = env().await;
    env.fake("stats").answer(
        "GET /user/ana",
        400,
        json!({"description": "Invalid user", "endpoint": "/user/ana"}),
    );
    let (status, body) = env.get_as("/stats/user/ana", "resto").await;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Invalid user"))
    );
    assert_eq!(body["endpoint"], "/stats/user/ana");
    env.fake("stats")
        .answer("GET /venue/resto", 500, json!({"description": "boom"}));
    let (status, body) = env.get_as("/stats/venue/resto", "resto").await;
    assert_eq!(status, 502, "{body}");
    assert!(!body.to_string().contains("boom"));
    // A shape that is not the stats' is the service's fault too.
    env.fake("stats")
        .answer("GET /user/ana", 200, json!({"user": "ana"}));
    assert_eq!(env.get_as("/stats/user/ana", "ana").await.0, 502);
    env.fake_mut("stats").stop();
    assert!(
        eventually(Duration::from_secs(5), || async {
            env.get_as("/stats/venue/resto", "resto").await.0 == 503
        })
        .await
    );
}

#[tokio::test]
async fn opinion_and_summary_failures_are_502_or_503() {
    let mut env = env().await;
    env.fake("opinions")
        .answer("GET /opinions", 500, json!({"description": "boom"}));
    env.fake("opinions")
        .answer("POST /opinions", 200, json!({"not": "an opinion"}));
    env.fake("summaries")
        .answer("POST /summaries/resto", 503, json!({"description": "boom"}));
    assert_eq!(env.get("/opinions?venue=resto", None).await.0, 502);
    let review = json!({"reservation": "r1", "opinion": "Rico", "venue": "resto"});
    assert_eq!(
        env.call_as(Method::POST, "/opinions", "ana", review.clone())
            .await
            .0,
        502
    );
    let (status, body) = env
        .call_as(Method::POST, "/summaries/resto", "resto", json!({}))
        .await;
    assert_eq!(
        (status, &body["endpoint"]),
        (502, &json!("/summaries/resto"))
    );
    env.fake_mut("opinions").stop();
    env.fake_mut("summaries").stop();
    assert!(
        eventually(Duration::from_secs(5), || async {
            env.call_as(Method::POST, "/opinions", "ana", review.clone())
                .await
                .0
                == 503
        })
        .await
    );
    assert_eq!(env.get("/opinions?venue=resto", None).await.0, 503);
    assert_eq!(
        env.call_as(Method::POST, "/summaries/resto", "resto", json!({}))
            .await
            .0,
        503
    );
}
