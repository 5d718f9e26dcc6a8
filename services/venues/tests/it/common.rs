//! Helpers shared by the tests.

use axum::Router;
use axum::http::Method;
use clap::Parser;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use chefcito::testing::http::{Answer, TOKEN, assert_refused, call, call_raw as call_text};

/// A configuration on `dir` with the internal token and `extra` flags.
pub fn config(dir: &std::path::Path, extra: &[&str]) -> venues::Config {
    let mut args = vec![
        "venues",
        "--data-dir",
        dir.to_str().unwrap(),
        "--internal-token",
        TOKEN,
    ];
    args.extend_from_slice(extra);
    venues::Config::parse_from(args)
}

/// A service on a fresh data directory (kept alive as long as the value).
pub struct Service {
    _dir: TempDir,
    pub app: Router,
}

pub async fn service() -> Service {
    service_with(&[]).await
}

pub async fn service_with(extra: &[&str]) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let app = venues::build(&config(dir.path(), extra)).await.unwrap();
    Service { _dir: dir, app }
}

pub async fn get(app: &Router, path: &str) -> Answer {
    call(app, Method::GET, path, None).await
}

pub async fn post(app: &Router, path: &str, body: Value) -> Answer {
    call(app, Method::POST, path, Some(body)).await
}

pub async fn put(app: &Router, path: &str, body: Value) -> Answer {
    call(app, Method::PUT, path, Some(body)).await
}

pub async fn delete(app: &Router, path: &str) -> Answer {
    call(app, Method::DELETE, path, None).await
}

/// A complete create body, as the portal sends it (E5).
pub fn venue_body(id: &str, name: &str) -> Value {
    json!({
        "id": id,
        "name": name,
        "location": "-34.6037,-58.3816",
        "capacity": 40,
        "logo": "https://storage.example.com/logo.png",
        "pictures": ["https://storage.example.com/1.jpg"],
        "slots": ["2024-12-11T13:00:12.345Z", "2024-12-11T13:30:12.345Z"],
        "characteristics": ["Pizzas", "Pasta"],
        "features": ["Wifi"],
        "vacations": ["2024-12-25T03:00:00.000Z"],
        "reservationLeadTime": 1,
        "menu": "https://storage.example.com/menu.pdf"
    })
}

/// Creates a venue from `body` (merged over [`venue_body`]) and returns it.
pub async fn create(app: &Router, id: &str, name: &str, extra: Value) -> Value {
    let mut body = venue_body(id, name);
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let answer = post(app, "/venues", body).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body
}

/// Creates a venue at `location` with nothing else of note.
pub async fn create_at(app: &Router, id: &str, location: &str) -> Value {
    create(app, id, id, json!({"location": location})).await
}

/// The status of a venue as read back.
pub async fn status_of(app: &Router, id: &str) -> String {
    let answer = get(app, &format!("/venues/{id}")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["status"]["status"]
        .as_str()
        .unwrap()
        .to_string()
}
