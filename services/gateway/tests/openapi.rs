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
    let documented: BTreeSet<String> = routes(&document())
        .into_iter()
        .map(|(_, path)| permission_entry(&path))
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
        ("POST", "/users"),
        ("GET", "/users"),
        ("PUT", "/users"),
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
        assert!(
            status != 404 && status != 405,
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
async fn docs_is_a_self_contained_html_page() {
    let env = Env::with_table(&shipped_with("/users", "[client, restaurant]")).await;
    let response = env.http.get(env.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"));
    for (method, path) in routes(&document()) {
        assert!(
            html.contains(&format!(
                "<td class=\"m\">{method}</td><td><code>{path}</code>"
            )),
            "{method} {path}"
        );
    }
    // Who may call it comes from the live table.
    assert!(html.contains("client, restaurant; with a valid ID token"));
    assert!(html.contains("everyone"));
    // Offline: nothing loaded from elsewhere.
    for external in ["<script", "<link", "http://", "https://"] {
        assert!(!html.contains(external), "{external}");
    }
}
