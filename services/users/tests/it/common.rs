//! Helpers shared by the tests.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::http::{Method, Request};
use chefcito::INTERNAL_TOKEN_HEADER;
use clap::Parser;
use serde_json::{Value, json};
use tempfile::TempDir;
use users::service::Clock;

pub use chefcito::testing::http::{
    Answer, TOKEN, assert_refused, call, call_raw as call_text, send,
};

pub fn config(dir: &Path) -> users::Config {
    users::Config::parse_from([
        "users",
        "--data-dir",
        dir.to_str().unwrap(),
        "--internal-token",
        TOKEN,
        // Nothing listens on port 9: phone events stay in the outbox instead of reaching a
        // communications service another test may run on the default port.
        "--communications-url",
        "http://127.0.0.1:9",
    ])
}

/// A service on a fresh data directory (kept alive as long as the value).
pub struct Service {
    pub dir: TempDir,
    pub app: Router,
}

pub async fn service() -> Service {
    let dir = tempfile::tempdir().unwrap();
    let app = users::build(&config(dir.path())).await.unwrap();
    Service { dir, app }
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn new() -> Arc<ManualClock> {
        Arc::new(ManualClock(AtomicI64::new(1_750_000_000)))
    }
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A request carrying the internal token.
pub fn request(method: Method, path: &str) -> axum::http::request::Builder {
    Request::builder()
        .method(method)
        .uri(path)
        .header(INTERNAL_TOKEN_HEADER, TOKEN)
        .header("content-type", "application/json")
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

fn credentials(email: &str, password: &str) -> Value {
    json!({"email": email, "password": password})
}

pub async fn sign_up(app: &Router, email: &str, password: &str) -> Answer {
    post(app, "/auth/signup", credentials(email, password)).await
}

pub async fn sign_in(app: &Router, email: &str, password: &str) -> Answer {
    post(app, "/auth/signin", credentials(email, password)).await
}

pub async fn refresh(app: &Router, token: &str) -> Answer {
    post(app, "/auth/refresh", json!({"refreshToken": token})).await
}

pub async fn register(app: &Router, uid: &str, user_type: &str, name: &str, phone: &str) -> Answer {
    post(
        app,
        "/users",
        json!({"localid": uid, "email": format!("{uid}@example.com"), "user_type": user_type,
               "name": name, "phone_number": phone}),
    )
    .await
}

pub async fn user_type(app: &Router, uid: &str) -> String {
    let answer = get(app, &format!("/user/{uid}/type")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["localid"], uid);
    answer.body["user_type"].as_str().unwrap().to_string()
}

/// Serves `app` on a free loopback port.
pub async fn listen(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Rows of a table in the service's database, read straight from the file.
pub fn count(dir: &Path, sql: &str, uid: &str) -> i64 {
    let conn = rusqlite::Connection::open(dir.join(users::DB_FILE)).unwrap();
    conn.query_row(sql, [uid], |r| r.get(0)).unwrap()
}

/// The shipped permissions file at the workspace root.
pub fn shipped_config() -> chefcito::permissions::Permissions {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../db_config.yaml");
    chefcito::permissions::Permissions::from_file(&path).unwrap()
}
