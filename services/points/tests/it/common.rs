//! Helpers shared by the tests.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use axum::Router;
use axum::body::Body;
use axum::http::Method;
use clap::Parser;
use points::service::Clock;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use chefcito::testing::http::{Answer, TOKEN, assert_refused, call_raw};

/// `method path` with the internal token and `body` (`None`: empty).
pub async fn call(app: &Router, method: Method, path: &str, body: Option<Body>) -> Answer {
    call_raw(app, method, path, body.unwrap_or_else(Body::empty)).await
}

pub const DAY: i64 = 24 * 3600;

pub fn config(dir: &Path) -> points::Config {
    points::Config::parse_from([
        "points",
        "--data-dir",
        dir.to_str().unwrap(),
        "--internal-token",
        TOKEN,
    ])
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(AtomicI64);

impl ManualClock {
    pub fn advance(&self, secs: i64) {
        self.0.fetch_add(secs, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> i64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// A service on a fresh data directory (kept alive as long as the value).
pub struct Service {
    pub dir: TempDir,
    pub app: Router,
    pub clock: Arc<ManualClock>,
}

impl Service {
    /// The stored (undecayed) total of `uid`, read straight from the file.
    pub fn stored_total(&self, uid: &str) -> Option<i64> {
        self.query("SELECT total FROM points WHERE uid = ?1", uid)
    }

    /// The sum of `uid`'s ledger rows.
    pub fn ledger_sum(&self, uid: &str) -> i64 {
        self.query(
            "SELECT coalesce(sum(delta), 0) FROM ledger WHERE uid = ?1",
            uid,
        )
        .unwrap()
    }

    /// Rows of `table` (`inbox`, `ledger`, `points`).
    pub fn rows(&self, table: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join(points::DB_FILE)).unwrap();
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    fn query(&self, sql: &str, uid: &str) -> Option<i64> {
        let conn = rusqlite::Connection::open(self.dir.path().join(points::DB_FILE)).unwrap();
        rusqlite::OptionalExtension::optional(conn.query_row(sql, [uid], |r| r.get(0))).unwrap()
    }
}

pub async fn service() -> Service {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock(AtomicI64::new(1_750_000_000)));
    let state = points::State::open(&config(dir.path()), clock.clone())
        .await
        .unwrap();
    Service {
        dir,
        app: points::app(state),
        clock,
    }
}

pub async fn get(app: &Router, path: &str) -> Answer {
    call(app, Method::GET, path, None).await
}

pub async fn post(app: &Router, path: &str, body: Value) -> Answer {
    call(app, Method::POST, path, Some(Body::from(body.to_string()))).await
}

/// Sends raw body text (for malformed JSON).
pub async fn post_text(app: &Router, path: &str, body: &'static str) -> Answer {
    call(app, Method::POST, path, Some(Body::from(body))).await
}

/// `GET /points/{user}`, checked to be a 200 of the right user: `(total, level)`.
pub async fn points_of(app: &Router, user: &str) -> (i64, String) {
    let answer = get(app, &format!("/points/{user}")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["user"], user);
    (
        answer.body["total"].as_i64().unwrap(),
        answer.body["level"].as_str().unwrap().to_string(),
    )
}

pub async fn total_of(app: &Router, user: &str) -> i64 {
    points_of(app, user).await.0
}

/// `POST /points` with a delta, checked to answer 200 `null`.
pub async fn add(app: &Router, user: &str, delta: i64) {
    let answer = post(app, "/points", json!({"user": user, "total": delta})).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, Value::Null);
}

/// A `reservation.status` delivery as the reservations outbox writes it.
pub fn status_event(id: &str, reservation: &str, user: &str, to: &str, by: &str) -> Value {
    json!({"id": id, "topic": "reservation.status", "payload": {
        "reservation": reservation, "user": user, "venue": "venue_1", "from": "Accepted",
        "to": to, "by": by, "time": "2025-06-15T21:00:00.000Z", "people": 2,
        "at": "2025-06-15T21:05:00.000Z"}})
}

/// An `opinion.created` delivery as the opinions outbox writes it.
pub fn opinion_event(id: &str, reservation: &str, user: &str) -> Value {
    json!({"id": id, "topic": "opinion.created", "payload": {
        "opinion": format!("op-{id}"), "reservation": reservation, "user": user,
        "venue": "venue_1", "at": "2025-06-16T10:00:00.000Z"}})
}

/// Delivers an event and returns its `outcome` (panics unless 200).
pub async fn deliver(app: &Router, event: Value) -> String {
    let answer = post(app, "/events", event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["outcome"].as_str().unwrap().to_string()
}

/// Awaits spawned tasks (already running together) and collects their results in order.
pub async fn join_all<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}
