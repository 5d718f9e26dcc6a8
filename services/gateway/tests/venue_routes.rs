//! `/venue` and `/venues*` (E4–E10) against a fake venues service: ownership, the anonymous
//! catalogue (H5), query mapping, bodies as the portal sends them, bad input refused without
//! a downstream call, downstream failures.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// A venue as the venues service answers it.
fn venue(id: &str) -> Value {
    json!({"id": id, "name": "La Esquina", "location": "-34.6,-58.4", "capacity": 20,
           "logo": "https://x/logo.png", "pictures": ["https://x/1.png"],
           "slots": ["2024-05-01T23:00:00.123000"], "characteristics": ["Pizzas"],
           "features": ["Wifi"], "vacations": [], "reservationLeadTime": 1,
           "menu": "", "status": {"status": "Available"}})
}

fn page(venues: &[Value]) -> Value {
    json!({"result": venues, "total": venues.len()})
}

/// An environment with a restaurant `resto`, a second restaurant `other` and a diner `ana`.
async fn env() -> Env {
    let env = Env::start().await;
    env.users.register("resto", "restaurant");
    env.users.register("other", "restaurant");
    env.users.register("ana", "client");
    env
}

fn venues(env: &Env) -> &Fake {
    env.fake("venues")
}

#[tokio::test]
async fn the_own_venue_is_the_one_with_the_callers_uid() {
    let env = env().await;
    venues(&env).answer("GET /venues/resto", 200, venue("resto"));
    let (status, body) = env.get_as("/venue", "resto").await;
    assert_eq!((status, &body), (200, &venue("resto")));
    let call = venues(&env).only_call();
    assert_eq!(call.line, "GET /venues/resto");
    assert_eq!(call.token.as_deref(), Some(INTERNAL_TOKEN));
}

#[tokio::test]
async fn no_venue_yet_is_404() {
    // E4: the portal reads a rejection as "no venue yet" and offers to create one.
    let env = env().await;
    venues(&env).answer(
        "GET /venues/resto",
        404,
        json!({"description": "Venue does not exist", "endpoint": "/venues/resto"}),
    );
    let (status, body) = env.get_as("/venue", "resto").await;
    assert_eq!(
        (status, body),
        (
            404,
            json!({"description": "Venue does not exist", "endpoint": "/venue"})
        )
    );
}

#[tokio::test]
async fn the_own_venue_is_for_restaurants() {
    let env = env().await;
    assert_eq!(env.get_as("/venue", "ana").await.0, 403);
    assert_eq!(env.get("/venue", None).await.0, 401);
    assert!(venues(&env).calls().is_empty());
}

#[tokio::test]
async fn a_venue_is_created_with_the_callers_uid_whatever_the_body_says() {
    let env = env().await;
    venues(&env).answer("POST /venues", 200, venue("resto"));
    // E5 exactly as the portal sends it: its own `id` and `status`, `capacity: null`, slots
    // of today with the current seconds and milliseconds.
    let form = json!({
        "id": "someone-else", "status": {"status": "Unconfirmed"},
        "name": "La Esquina", "location": "-34.6037,-58.3816", "capacity": null,
        "reservationLeadTime": 2, "logo": "https://x/logo.png", "menu": "",
        "pictures": ["https://x/1.png"], "characteristics": ["Pizzas", "Sushi"],
        "features": ["Wifi"], "slots": ["2024-05-01T13:00:27.123Z", "2024-05-01T13:30:27.123Z"],
        "vacations": ["2024-12-25T03:00:00.000Z"]
    });
    let (status, body) = env.call_as(Method::POST, "/venues", "resto", form).await;
    assert_eq!((status, &body), (200, &venue("resto")));
    let call = venues(&env).only_call();
    assert_eq!(call.line, "POST /venues");
    assert_eq!(
        call.body.unwrap(),
        json!({
            "id": "resto", "name": "La Esquina", "location": "-34.6037,-58.3816",
            "reservationLeadTime": 2, "logo": "https://x/logo.png", "menu": "",
            "pictures": ["https://x/1.png"], "characteristics": ["Pizzas", "Sushi"],
            "features": ["Wifi"],
            "slots": ["2024-05-01T13:00:27.123000Z", "2024-05-01T13:30:27.123000Z"],
            "vacations": ["2024-12-25T03:00:00Z"]
        })
    );
}

#[tokio::test]
async fn only_a_registered_restaurant_creates_a_venue() {
    let env = env().await;
    let form = json!({"name": "Casa"});
    let (status, body) = env
        .call_as(Method::POST, "/venues", "ana", form.clone())
        .await;
    assert_eq!(status, 403, "{body}");
    let (status, body) = env
        .call_as(Method::POST, "/venues", "ghost", form.clone())
        .await;
    assert_eq!(status, 403);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("POST /users"),
        "{body}"
    );
    let (status, _) = env.call(Method::POST, "/venues", None, Some(form)).await;
    assert_eq!(status, 401);
    assert!(venues(&env).calls().is_empty());
}

#[tokio::test]
async fn only_the_owner_changes_or_deletes_a_venue() {
    let env = env().await;
    let edit = json!({"name": "Nuevo", "open": false, "close": false, "occupy": false});
    let (status, body) = env
        .call_as(Method::PUT, "/venues/resto", "other", edit.clone())
        .await;
    assert_eq!(
        (status, body),
        (
            403,
            json!({"description": "Forbidden: only the venue's owner can change it", "endpoint": "/venues/resto"})
        )
    );
    let (status, _) = env
        .call(
            Method::DELETE,
            "/venues/resto",
            Some(&env.bearer_for("other")),
            None,
        )
        .await;
    assert_eq!(status, 403);
    // A diner is refused by the permission table, before any ownership question.
    let (status, _) = env
        .call_as(Method::PUT, "/venues/ana", "ana", edit.clone())
        .await;
    assert_eq!(status, 403);
    assert!(venues(&env).calls().is_empty());

    venues(&env).answer("PUT /venues/resto", 200, venue("resto"));
    venues(&env).answer("DELETE /venues/resto", 200, Value::Null);
    // E6 as the portal sends it: the whole venue, its id and status, the three flags.
    let mut full = venue("resto");
    full["open"] = json!(false);
    full["close"] = json!(false);
    full["occupy"] = json!(false);
    let (status, body) = env
        .call_as(Method::PUT, "/venues/resto", "resto", full)
        .await;
    assert_eq!((status, &body), (200, &venue("resto")));
    let sent = venues(&env).calls()[0].body.clone().unwrap();
    assert_eq!(sent["name"], "La Esquina");
    assert_eq!(sent["slots"], json!(["2024-05-01T23:00:00.123000Z"]));
    assert_eq!(
        (&sent["open"], &sent["close"], &sent["occupy"]),
        (&json!(false), &json!(false), &json!(false))
    );
    assert!(
        sent.get("id").is_none() && sent.get("status").is_none(),
        "{sent}"
    );
    let (status, body) = env
        .call(
            Method::DELETE,
            "/venues/resto",
            Some(&env.bearer_for("resto")),
            None,
        )
        .await;
    assert_eq!((status, body), (200, Value::Null));
    assert_eq!(venues(&env).calls()[1].line, "DELETE /venues/resto");
}

#[tokio::test]
async fn the_catalogue_works_without_any_authorization_header() {
    // H5: the booking page (E8) sends no Authorization header at all.
    let env = env().await;
    venues(&env).answer("GET /venues", 200, page(&[venue("resto")]));
    let (status, body) = env.get("/venues?limit=10&start=0&id=resto", None).await;
    assert_eq!((status, &body), (200, &page(&[venue("resto")])));
    // Whatever the header holds: the catalogue is open, so no token is even read.
    let (status, _) = env
        .get(
            "/venues?limit=10&start=0&id=resto",
            Some("Bearer expired.or.forged"),
        )
        .await;
    assert_eq!(status, 200);
    let call = &venues(&env).calls()[0];
    assert_eq!(
        call.query_pairs(),
        [("id", "resto"), ("limit", "10"), ("start", "0")]
            .map(|(k, v)| (k.to_string(), v.to_string()))
    );
    assert!(
        env.users
            .calls()
            .iter()
            .all(|c| c.starts_with("GET /permissions"))
    );
}

#[tokio::test]
async fn catalogue_tags_are_forwarded_with_the_services_spelling() {
    let env = env().await;
    venues(&env).answer("GET /venues", 200, page(&[]));
    let query = "/venues?&characteristic=Pizzas&characteristic=Comida%20Saludable&feature=Wifi&limit=100000&start=0";
    let (status, _) = env.get_as(query, "ana").await;
    assert_eq!(status, 200);
    let call = venues(&env).only_call();
    assert_eq!(
        call.query_values("characteristics"),
        ["Pizzas", "Comida Saludable"]
    );
    assert_eq!(call.query_values("features"), ["Wifi"]);
    assert_eq!(call.query_values("limit"), ["100000"]);
    assert!(call.query_values("characteristic").is_empty());
    assert!(call.query_values("feature").is_empty());
}

#[tokio::test]
async fn near_sends_the_location_twice_latitude_first() {
    let env = env().await;
    let near = json!({"result": [{"venue": venue("resto"), "distance": 1234}], "total": 1});
    venues(&env).answer("GET /venues/near", 200, near.clone());
    let (status, body) = env
        .get_as(
            "/venues/near?location=-34.603722123456789&location=-58.381592",
            "ana",
        )
        .await;
    assert_eq!((status, body), (200, near));
    let (status, _) = env
        .get(
            "/venues/near?location=1&location=2&limit=5&max_distance=1500.5",
            None,
        )
        .await;
    assert_eq!(status, 200);
    let calls = venues(&env).calls();
    assert_eq!(
        calls[0].query_values("location"),
        ["-34.60372212345679", "-58.381592"]
    );
    assert_eq!(calls[1].query_values("location"), ["1", "2"]);
    assert_eq!(calls[1].query_values("limit"), ["5"]);
    assert_eq!(calls[1].query_values("max_distance"), ["1500.5"]);
}

#[tokio::test]
async fn promotions_are_complete_venues() {
    let env = env().await;
    venues(&env).answer("GET /venues/promotions", 200, page(&[venue("resto")]));
    let (status, body) = env.get("/venues/promotions", None).await;
    assert_eq!((status, body), (200, page(&[venue("resto")])));
    assert_eq!(venues(&env).only_call().line, "GET /venues/promotions");
}

/// `path` answers 422 as `uid` (or anonymously) and reaches no service.
async fn refused_query(env: &Env, path: &str, uid: Option<&str>) {
    let auth = uid.map(|u| env.bearer_for(u));
    let (status, body) = env.get(path, auth.as_deref()).await;
    assert_eq!(status, 422, "{path}: {body}");
    assert!(body["description"].is_string(), "{body}");
    assert!(venues(env).calls().is_empty(), "{path}");
}

#[tokio::test]
async fn malformed_queries_are_422_without_a_downstream_call() {
    let env = env().await;
    for path in [
        "/venues?limit=ten",
        "/venues?limit=-1",
        "/venues?start=-3",
        "/venues?id=a&id=b",
        "/venues/near?location=-34.6",
        "/venues/near?location=1&location=2&location=3",
        "/venues/near?location=north&location=2",
        "/venues/near?limit=-1",
        "/venues/near?max_distance=far",
    ] {
        refused_query(&env, path, None).await;
    }
}

#[tokio::test]
async fn malformed_bodies_are_422_without_a_downstream_call() {
    let env = env().await;
    for (method, path, body) in [
        (Method::POST, "/venues", json!({"location": "1,2"})),
        (
            Method::POST,
            "/venues",
            json!({"name": "x", "slots": ["tomorrow at eight"]}),
        ),
        (
            Method::POST,
            "/venues",
            json!({"name": "x", "capacity": "many"}),
        ),
        (
            Method::POST,
            "/venues",
            json!({"name": "x", "pictures": "one"}),
        ),
        (
            Method::PUT,
            "/venues/resto",
            json!({"vacations": ["2024-13-01T00:00:00Z"]}),
        ),
        (Method::PUT, "/venues/resto", json!({"open": "yes"})),
        (Method::PUT, "/venues/resto", json!(["not", "an", "object"])),
    ] {
        let (status, answer) = env.call_as(method.clone(), path, "resto", body).await;
        assert_eq!(status, 422, "{method} {path}: {answer}");
        assert_eq!(answer["endpoint"], path);
    }
    assert!(venues(&env).calls().is_empty());
}

#[tokio::test]
async fn the_services_refusals_come_back_with_their_status() {
    let env = env().await;
    venues(&env).answer(
        "POST /venues",
        409,
        json!({"description": "Venue already exists", "endpoint": "/venues"}),
    );
    venues(&env).answer(
        "GET /venues",
        422,
        json!({"description": "Invalid characteristic: Sushis", "endpoint": "/venues"}),
    );
    let (status, body) = env
        .call_as(Method::POST, "/venues", "resto", json!({"name": "Casa"}))
        .await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"description": "Venue already exists", "endpoint": "/venues"})
        )
    );
    let (status, body) = env.get("/venues?characteristic=Sushis", None).await;
    assert_eq!(
        (status, &body["description"]),
        (422, &json!("Invalid characteristic: Sushis"))
    );
}

#[tokio::test]
async fn failures_are_502_and_an_unreachable_service_503() {
    let mut env = env().await;
    venues(&env).answer(
        "GET /venues/promotions",
        500,
        json!({"description": "db is gone"}),
    );
    // An answer that breaks the contract is the service's failure too, where the gateway
    // decodes it (reads are relayed as they come: the system tests hold the services to
    // the documented types).
    venues(&env).answer("PUT /venues/resto", 200, json!({"id": "resto"}));
    let (status, body) = env.get("/venues/promotions", None).await;
    assert_eq!(status, 502);
    assert!(!body["description"].as_str().unwrap().contains("db is gone"));
    let change = json!({"name": "La Esquina"});
    let (status, body) = env
        .call_as(reqwest::Method::PUT, "/venues/resto", "resto", change)
        .await;
    assert_eq!(status, 502, "{body}");
    env.fake_mut("venues").stop();
    assert!(
        eventually(Duration::from_secs(5), || async {
            env.get("/venues", None).await.0 == 503
        })
        .await
    );
}

#[tokio::test]
async fn whole_numbers_written_as_floats_are_integers() {
    // JSON Schema counts `20.0` as the integer 20; a fraction is still malformed.
    let env = Env::start().await;
    env.users.register("resto", "restaurant");
    venues(&env).answer("PUT /venues/resto", 200, venue("resto"));
    let edit = json!({"capacity": 20.0, "reservationLeadTime": 2e0});
    let (status, body) = env
        .call_as(Method::PUT, "/venues/resto", "resto", edit)
        .await;
    assert_eq!(status, 200, "{body}");
    let sent = venues(&env).only_call().body.unwrap();
    assert_eq!(
        (&sent["capacity"], &sent["reservationLeadTime"]),
        (&json!(20), &json!(2))
    );
    let (status, _) = env
        .call_as(
            Method::PUT,
            "/venues/resto",
            "resto",
            json!({"capacity": 20.5}),
        )
        .await;
    assert_eq!(status, 422);
    assert_eq!(venues(&env).calls().len(), 1);
}
