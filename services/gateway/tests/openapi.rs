//! The OpenAPI document, the `/docs` page, and their agreement with `db_config.yaml` and
//! with what is actually served.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use chefcito::permissions::Permissions;
use common::*;
use gateway::openapi::{document, permission_entry, routes};
use reqwest::Method;

fn shipped_permissions() -> Permissions {
    Permissions::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../db_config.yaml"))
        .unwrap()
}

#[test]
fn db_config_has_an_entry_for_every_route_and_no_entry_for_nothing() {
    // The probes come from chefcito's `finish`, outside the guard: never in the table.
    let documented: BTreeSet<String> = routes(&document())
        .into_iter()
        .map(|(_, path)| permission_entry(&path))
        .filter(|path| path != "/health" && path != "/ready")
        .collect();
    let entries: BTreeSet<String> = shipped_permissions().endpoints.into_keys().collect();
    let missing: Vec<_> = documented.difference(&entries).collect();
    assert!(
        missing.is_empty(),
        "routes without a db_config.yaml entry: {missing:?}"
    );
    let stale: Vec<_> = entries.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "db_config.yaml entries naming no served path: {stale:?}"
    );
}

#[test]
fn the_document_lists_the_client_api() {
    let listed: BTreeSet<(&str, String)> = routes(&document()).into_iter().collect();
    for (method, path) in [
        ("POST", "/auth/signup"),
        ("POST", "/auth/signin"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/signout"),
        ("POST", "/users"),
        ("GET", "/users"),
        ("PUT", "/users"),
        ("GET", "/venue"),
        ("POST", "/venues"),
        ("GET", "/venues"),
        ("PUT", "/venues/{venue_id}"),
        ("DELETE", "/venues/{venue_id}"),
        ("GET", "/venues/near"),
        ("GET", "/venues/promotions"),
        ("POST", "/reservations"),
        ("GET", "/reservations"),
        ("GET", "/reservations/history"),
        ("GET", "/reservations/venue"),
        ("PUT", "/reservations/{reservation_id}"),
        ("DELETE", "/reservations/{reservation_id}"),
        ("POST", "/opinions"),
        ("GET", "/opinions"),
        ("GET", "/summaries/{venue_id}"),
        ("POST", "/summaries/{venue_id}"),
        ("GET", "/stats/venue/{venue_id}"),
        ("GET", "/stats/user/{user_id}"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
    ] {
        assert!(
            listed.contains(&(method, path.to_string())),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let env = Env::start().await;
    for (method, path) in routes(&document()) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, body) = env.call(method.clone(), &path, None, None).await;
        // A handler may answer 404 for an unknown id; the router's own 404 ("Not found")
        // or a 405 means the route is not served.
        let unrouted = status == 405 || (status == 404 && body["description"] == "Not found");
        assert!(
            !unrouted,
            "{method} {path} is documented but answers {status}: {body}"
        );
    }
}

#[tokio::test]
async fn openapi_json_is_the_document() {
    let env = Env::start().await;
    let (status, body) = env.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::to_value(document()).unwrap());
    assert!(body["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(
        body["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn docs_is_swagger_ui_served_offline_from_our_document() {
    let env = Env::start().await;
    let response = env.http.get(env.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(html.contains("<base href=\"/docs/\">"));
    // Every asset the page loads is ours: nothing from a CDN.
    for external in ["http://", "https://"] {
        assert!(!html.contains(external), "{external}");
    }
    let init = env
        .http
        .get(env.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
    let css = env
        .http
        .get(env.url("/docs/swagger-ui.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    let missing = env.http.get(env.url("/docs/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}
