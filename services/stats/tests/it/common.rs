//! Helpers shared by the tests.

use std::path::Path;

use axum::Router;
use axum::body::Body;
use axum::http::Method;
use clap::Parser;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use chefcito::testing::http::{Answer, TOKEN, assert_refused, call_raw};

/// `method path` with the internal token and `body` (`None`: empty).
pub async fn call(app: &Router, method: Method, path: &str, body: Option<Body>) -> Answer {
    call_raw(app, method, path, body.unwrap_or_else(Body::empty)).await
}

pub fn config(dir: &Path) -> stats::Config {
    stats::Config::parse_from([
        "stats",
        "--data-dir",
        dir.to_str().unwrap(),
        "--internal-token",
        TOKEN,
    ])
}

/// A service on a fresh data directory (kept alive as long as the value).
pub struct Service {
    pub dir: TempDir,
    pub app: Router,
}

impl Service {
    /// Rows of `table` (`inbox`, `counted`, `user_stats`, …), read straight from the file.
    pub fn rows(&self, table: &str) -> i64 {
        self.scalar(&format!("SELECT count(*) FROM {table}"))
    }

    /// One integer read straight from the file.
    pub fn scalar(&self, sql: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join(stats::DB_FILE)).unwrap();
        conn.query_row(sql, [], |r| r.get(0)).unwrap()
    }

    /// Nothing was written by the calls of a test.
    #[track_caller]
    pub fn assert_untouched(&self) {
        for table in [
            "inbox",
            "counted",
            "user_stats",
            "venue_stats",
            "venue_days",
            "venue_turns",
        ] {
            assert_eq!(self.rows(table), 0, "{table} has rows");
        }
    }
}

pub async fn open(dir: TempDir) -> Service {
    let state = stats::State::open(&config(dir.path())).await.unwrap();
    Service {
        dir,
        app: stats::app(state),
    }
}

pub async fn service() -> Service {
    open(tempfile::tempdir().unwrap()).await
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

/// A reservation as the events of a test describe it.
#[derive(Debug, Clone)]
pub struct R {
    pub id: String,
    pub user: String,
    pub venue: String,
    pub time: String,
    pub people: i64,
}

/// Reservation `id` of user `u1` at venue `v1`, for 2, on Monday 2024-04-15 at 20:00 UTC.
pub fn r(id: &str) -> R {
    R {
        id: id.into(),
        user: "u1".into(),
        venue: "v1".into(),
        time: "2024-04-15T20:00:00.000Z".into(),
        people: 2,
    }
}

impl R {
    pub fn user(mut self, user: &str) -> R {
        self.user = user.into();
        self
    }
    pub fn venue(mut self, venue: &str) -> R {
        self.venue = venue.into();
        self
    }
    pub fn time(mut self, time: impl Into<String>) -> R {
        self.time = time.into();
        self
    }
    pub fn people(mut self, people: i64) -> R {
        self.people = people;
        self
    }

    /// Its `reservation.status` delivery, as the reservations outbox writes it.
    pub fn event(&self, event_id: &str, to: &str) -> Value {
        let from = match to {
            "Uncomfirmed" => Value::Null,
            "Accepted" => json!("Uncomfirmed"),
            _ => json!("Accepted"),
        };
        let by = match to {
            "Expired" | "Uncomfirmed" => "system",
            "Accepted" => "venue",
            _ => "owner",
        };
        json!({"id": event_id, "topic": "reservation.status", "payload": {
            "reservation": self.id, "user": self.user, "venue": self.venue, "from": from,
            "to": to, "by": by, "time": self.time, "people": self.people,
            "at": "2024-04-15T20:05:00.000Z"}})
    }

    /// Its `POST /update-data` body, as the original reservations service sent it.
    pub fn update(&self, status: &str) -> Value {
        json!({"id": self.id, "user": format!("user/{}", self.user), "venue": self.venue,
               "time": self.time, "people": self.people, "status": {"status": status}})
    }
}

/// Delivers an event and returns its `outcome` (panics unless 200).
pub async fn deliver(app: &Router, event: Value) -> String {
    let answer = post(app, "/events", event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["outcome"].as_str().unwrap().to_string()
}

/// Delivers `to` for `r` under a fresh event id derived from the reservation, and expects it
/// to be counted.
pub async fn finish(app: &Router, r: &R, to: &str) {
    let outcome = deliver(app, r.event(&format!("ev-{}-{to}", r.id), to)).await;
    assert_eq!(outcome, "applied", "{r:?} {to}");
}

/// `POST /update-data`, checked to answer 200 `null`.
pub async fn update(app: &Router, r: &R, status: &str) {
    let answer = post(app, "/update-data", r.update(status)).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.text(), "null");
}

/// `GET /user/{u}`, checked to be a 200 of that user.
pub async fn user_stats(app: &Router, user: &str) -> Value {
    let answer = get(app, &format!("/user/{user}")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["user"], user);
    answer.body
}

/// `GET /venue/{v}`, checked to be a 200 of that venue.
pub async fn venue_stats(app: &Router, venue: &str) -> Value {
    let answer = get(app, &format!("/venue/{venue}")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["venue"], venue);
    answer.body
}

/// `count / total` of a bucket, as the original's `get_day`/`get_turns` test helpers did.
pub fn share(stats: &Value, bucket: &str, key: &str) -> f64 {
    let inner = if bucket == "days" { "means" } else { "turns" };
    let count = stats[bucket][inner][key].as_i64().unwrap_or(0);
    count as f64 / stats["total"].as_i64().unwrap() as f64
}

/// Awaits spawned tasks (already running together) and collects their results in order.
pub async fn join_all<T: Send + 'static>(tasks: Vec<tokio::task::JoinHandle<T>>) -> Vec<T> {
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.unwrap());
    }
    results
}
