//! Helpers shared by the tests: the service under test, a hand-set clock, and one fake server
//! playing reservations (`GET /reservations?id&caller`) and the event consumers
//! (`POST /{points,communications,summaries}/events`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing;
use chefcito::INTERNAL_TOKEN_HEADER;
use chrono::{DateTime, TimeZone, Utc};
use clap::Parser;
use opinions::service::Clock;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use chefcito::testing::http::{Answer, TOKEN, assert_refused, call, call_raw as call_text};

/// What only opinions answer.
pub trait Reviewed {
    /// The `reservation` of each opinion of a listing, in order.
    fn reservations(&self) -> Vec<String>;
}

impl Reviewed for Answer {
    #[track_caller]
    fn reservations(&self) -> Vec<String> {
        assert_eq!(self.status, 200, "{self:?}");
        self.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .map(|o| o["reservation"].as_str().unwrap().to_string())
            .collect()
    }
}

/// The consumers of `opinion.created`, as the fake serves them (`/<name>/events`).
pub const CONSUMERS: [&str; 3] = ["points", "communications", "summaries"];

/// The moment every test starts at.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap()
}

/// A clock the test sets by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn set(&self, to: DateTime<Utc>) {
        *self.0.lock().unwrap() = to;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// How the fake reservations service answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Mode {
    #[default]
    Normal,
    Failing,
    Refusing,
    Garbage,
}

/// A reservation as the fake reservations service holds it.
#[derive(Debug, Clone)]
pub struct Booking {
    pub user: String,
    pub venue: String,
    pub status: String,
}

/// What the fake downstream services hold and saw.
#[derive(Debug, Default)]
pub struct Fakes {
    pub reservations: Mutex<HashMap<String, Booking>>,
    pub mode: Mutex<Mode>,
    /// The query of each reservations call, in order.
    pub lookups: Mutex<Vec<HashMap<String, String>>>,
    /// The next this-many deliveries to a consumer answer 500, by consumer.
    pub failures: Mutex<HashMap<String, usize>>,
    /// Deliveries each consumer accepted (answered 2xx), in arrival order.
    pub accepted: Mutex<HashMap<String, Vec<Value>>>,
    pub attempts: AtomicUsize,
    /// Calls that came without the internal token.
    pub missing_token: AtomicUsize,
}

impl Fakes {
    pub fn booking(&self, id: &str, user: &str, venue: &str, status: &str) {
        self.reservations.lock().unwrap().insert(
            id.to_string(),
            Booking {
                user: user.into(),
                venue: venue.into(),
                status: status.into(),
            },
        );
    }

    pub fn set_mode(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }

    pub fn lookups(&self) -> Vec<HashMap<String, String>> {
        self.lookups.lock().unwrap().clone()
    }

    pub fn accepted(&self, consumer: &str) -> Vec<Value> {
        self.accepted
            .lock()
            .unwrap()
            .get(consumer)
            .cloned()
            .unwrap_or_default()
    }

    fn saw(&self, headers: &HeaderMap) {
        if headers
            .get(INTERNAL_TOKEN_HEADER)
            .and_then(|v| v.to_str().ok())
            != Some(TOKEN)
        {
            self.missing_token.fetch_add(1, Ordering::SeqCst);
        }
    }
}

/// As the real listing: only the caller's own reservations and those of the caller's venue.
async fn reservations(
    State(f): State<Arc<Fakes>>,
    headers: HeaderMap,
    Query(query): Query<HashMap<String, String>>,
) -> axum::response::Response {
    f.saw(&headers);
    f.lookups.lock().unwrap().push(query.clone());
    match *f.mode.lock().unwrap() {
        Mode::Normal => {}
        Mode::Failing => return (StatusCode::INTERNAL_SERVER_ERROR, "boom").into_response(),
        Mode::Refusing => {
            return (
                StatusCode::BAD_REQUEST,
                axum::Json(json!({"description": "Invalid user", "endpoint": "/reservations"})),
            )
                .into_response();
        }
        Mode::Garbage => return (StatusCode::OK, "not json").into_response(),
    }
    let caller = query
        .get("caller")
        .and_then(|c| c.strip_prefix("user/"))
        .unwrap_or_default()
        .to_string();
    let id = query.get("id").cloned().unwrap_or_default();
    let result: Vec<Value> = f
        .reservations
        .lock()
        .unwrap()
        .get(&id)
        .filter(|b| b.user == caller || b.venue == caller)
        .map(|b| {
            json!({"id": id, "user": {"id": b.user, "name": "Ana", "phone": "11",
                    "times_assisted": 1, "times_expired": 0},
                   "venue": b.venue, "time": "2030-01-01T09:00:00", "people": 2,
                   "status": {"status": b.status}})
        })
        .into_iter()
        .collect();
    let total = result.len();
    axum::Json(json!({"result": result, "opinions": {}, "total": total})).into_response()
}

async fn consumer_events(
    State(f): State<Arc<Fakes>>,
    headers: HeaderMap,
    Path(consumer): Path<String>,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    f.saw(&headers);
    f.attempts.fetch_add(1, Ordering::SeqCst);
    {
        let mut failures = f.failures.lock().unwrap();
        if let Some(n) = failures.get_mut(&consumer).filter(|n| **n > 0) {
            *n -= 1;
            return (StatusCode::INTERNAL_SERVER_ERROR, "not now").into_response();
        }
    }
    f.accepted
        .lock()
        .unwrap()
        .entry(consumer)
        .or_default()
        .push(body);
    axum::Json(json!({"outcome": "applied"})).into_response()
}

/// Starts the fake downstream server.
pub async fn fakes() -> (Arc<Fakes>, SocketAddr) {
    let f = Arc::new(Fakes::default());
    let router = Router::new()
        .route("/reservations", routing::get(reservations))
        .route("/{consumer}/events", routing::post(consumer_events))
        .with_state(f.clone());
    (f, listen(router).await)
}

/// Serves `app` on a free loopback port.
pub async fn listen(app: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// How to start the service under test.
#[derive(Debug, Clone, Default)]
pub struct Setup {
    /// Run the outbox dispatcher.
    pub background: bool,
    /// Point the reservations URL somewhere else (e.g. a closed port).
    pub reservations_url: Option<String>,
}

/// A service on a fresh data directory (kept alive as long as the value).
pub struct Service {
    pub dir: TempDir,
    pub app: Router,
    pub clock: Arc<ManualClock>,
    pub fakes: Arc<Fakes>,
}

/// A service whose events stay in the outbox.
pub async fn quiet_service() -> Service {
    service_with(Setup::default()).await
}

/// A service that delivers its events.
pub async fn service() -> Service {
    service_with(Setup {
        background: true,
        ..Setup::default()
    })
    .await
}

pub async fn service_with(setup: Setup) -> Service {
    let (fakes, addr) = fakes().await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://{addr}");
    let consumer = |name: &str| format!("{base}/{name}");
    let args: Vec<String> = vec![
        "opinions".into(),
        "--data-dir".into(),
        dir.path().to_str().unwrap().into(),
        "--internal-token".into(),
        TOKEN.into(),
        "--reservations-url".into(),
        setup.reservations_url.clone().unwrap_or(base.clone()),
        "--points-url".into(),
        consumer("points"),
        "--communications-url".into(),
        consumer("communications"),
        "--summaries-url".into(),
        consumer("summaries"),
    ];
    let config = opinions::Config::parse_from(args);
    let clock = Arc::new(ManualClock(Mutex::new(start())));
    let mut state = opinions::State::open(&config, clock.clone()).await.unwrap();
    if setup.background {
        state = state.start_background();
    }
    Service {
        dir,
        app: opinions::app(state),
        clock,
        fakes,
    }
}

/// The body the gateway sends for E18: the mobile app's keys plus `user`.
pub fn body(uid: &str, venue: &str, reservation: &str, text: &str) -> Value {
    json!({"user": uid, "venue": venue, "reservation": reservation, "opinion": text,
           "date": "2030-01-01T12:00:00.000Z"})
}

pub async fn post(s: &Service, body: Value) -> Answer {
    call(&s.app, Method::POST, "/opinions", Some(body)).await
}

/// `uid` reviews `reservation` at `venue`.
pub async fn review(s: &Service, uid: &str, venue: &str, reservation: &str, text: &str) -> Answer {
    post(s, body(uid, venue, reservation, text)).await
}

/// An `Assisted` reservation of `uid` at `venue`, reviewed with `text` at `when`.
pub async fn reviewed(
    s: &Service,
    uid: &str,
    venue: &str,
    reservation: &str,
    text: &str,
    when: DateTime<Utc>,
) {
    s.fakes.booking(reservation, uid, venue, "Assisted");
    s.clock.set(when);
    let answer = review(s, uid, venue, reservation, text).await;
    assert_eq!(answer.status, 200, "{answer:?}");
}

pub async fn list(s: &Service, query: &str) -> Answer {
    call(&s.app, Method::GET, &format!("/opinions?{query}"), None).await
}

pub async fn batch(s: &Service, ids: Value) -> Answer {
    call(
        &s.app,
        Method::POST,
        "/opinions/batch",
        Some(json!({ "reservations": ids })),
    )
    .await
}

fn db(s: &Service) -> rusqlite::Connection {
    rusqlite::Connection::open(s.dir.path().join(opinions::DB_FILE)).unwrap()
}

/// Opinions stored, read straight from the file.
pub fn stored(s: &Service) -> i64 {
    db(s)
        .query_row("SELECT count(*) FROM opinions", [], |r| r.get(0))
        .unwrap()
}

/// Every `opinion.created` payload in the outbox, oldest first.
pub fn events(s: &Service) -> Vec<Value> {
    let conn = db(s);
    let mut stmt = conn
        .prepare("SELECT payload FROM outbox_events WHERE topic = 'opinion.created' ORDER BY seq")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|p| serde_json::from_str(&p.unwrap()).unwrap())
        .collect()
}

/// Waits (polling) until `done` holds, failing after `secs` seconds.
pub async fn eventually(secs: u64, what: &str, mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + StdDuration::from_secs(secs);
    while !done() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(StdDuration::from_millis(50)).await;
    }
}
