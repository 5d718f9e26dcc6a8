//! Helpers shared by the tests: the service under test, a hand-moved clock, and one fake
//! server playing venues (`GET /venues/{id}`), users (`POST /users/batch`) and points
//! (`POST /events`).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration as StdDuration, Instant};

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chefcito::INTERNAL_TOKEN_HEADER;
use chrono::{DateTime, Duration, TimeZone, Utc};
use clap::Parser;
use reservations::service::Clock;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use chefcito::testing::http::{
    Answer, TOKEN, assert_refused, call, call_raw as call_text, send,
};

/// What only reservations answer.
pub trait StatusText {
    fn status_text(&self) -> &str;
}

impl StatusText for Answer {
    #[track_caller]
    fn status_text(&self) -> &str {
        self.body["status"]["status"]
            .as_str()
            .unwrap_or_else(|| panic!("no status in {self:?}"))
    }
}

/// The moment every test starts at.
pub fn start() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 1, 1, 12, 0, 0).unwrap()
}

/// `minutes` after [`start`], as the clients write datetimes (`…T…:…:….000Z`).
pub fn at(minutes: i64) -> String {
    (start() + Duration::minutes(minutes))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string()
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn advance(&self, by: Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

/// What the fake downstream services hold and saw.
#[derive(Debug, Default)]
pub struct Fakes {
    pub venues: Mutex<HashMap<String, Value>>,
    pub users: Mutex<HashMap<String, Value>>,
    /// The uids of each `POST /users/batch` call, in order.
    pub users_calls: Mutex<Vec<Vec<String>>>,
    /// Users answers 500 while set.
    pub users_down: AtomicBool,
    /// The next this-many deliveries to points answer 500.
    pub points_failures: AtomicUsize,
    pub points_attempts: AtomicUsize,
    /// Deliveries points accepted (answered 2xx), in arrival order.
    pub points_accepted: Mutex<Vec<Value>>,
    /// Calls that came without the internal token.
    pub missing_token: AtomicUsize,
}

impl Fakes {
    pub fn venue(&self, id: &str, capacity: i64, status: &str) {
        self.venues.lock().unwrap().insert(
            id.to_string(),
            json!({"id": id, "name": format!("Resto {id}"), "location": "-34.6,-58.4",
                   "capacity": capacity, "logo": "", "pictures": [], "slots": [],
                   "characteristics": [], "features": [], "vacations": [],
                   "reservationLeadTime": 0, "menu": "", "status": {"status": status}}),
        );
    }

    pub fn user(&self, uid: &str, name: &str, phone: &str) {
        self.users.lock().unwrap().insert(
            uid.to_string(),
            json!({"localid": uid, "email": format!("{uid}@example.com"), "name": name,
                   "phone_number": phone}),
        );
    }

    pub fn users_calls(&self) -> Vec<Vec<String>> {
        self.users_calls.lock().unwrap().clone()
    }

    pub fn accepted_events(&self) -> Vec<Value> {
        self.points_accepted.lock().unwrap().clone()
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

async fn venue(
    State(f): State<Arc<Fakes>>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> axum::response::Response {
    f.saw(&headers);
    match f.venues.lock().unwrap().get(&id) {
        Some(v) => axum::Json(v.clone()).into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"description": "Venue does not exist", "endpoint": "/venues/x"})),
        )
            .into_response(),
    }
}

async fn users_batch(
    State(f): State<Arc<Fakes>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    f.saw(&headers);
    let ids: Vec<String> = body["localids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect();
    f.users_calls.lock().unwrap().push(ids.clone());
    if f.users_down.load(Ordering::SeqCst) {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down").into_response();
    }
    let users = f.users.lock().unwrap();
    let found: Vec<Value> = ids.iter().filter_map(|id| users.get(id).cloned()).collect();
    axum::Json(found).into_response()
}

async fn points_events(
    State(f): State<Arc<Fakes>>,
    headers: HeaderMap,
    axum::Json(body): axum::Json<Value>,
) -> axum::response::Response {
    f.saw(&headers);
    f.points_attempts.fetch_add(1, Ordering::SeqCst);
    let failing = f
        .points_failures
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
        .is_ok();
    if failing {
        return (StatusCode::INTERNAL_SERVER_ERROR, "not now").into_response();
    }
    f.points_accepted.lock().unwrap().push(body);
    axum::Json(Value::Null).into_response()
}

/// Starts the fake downstream server.
pub async fn fakes() -> (Arc<Fakes>, SocketAddr) {
    let f = Arc::new(Fakes::default());
    let router = Router::new()
        .route("/venues/{id}", get(venue))
        .route("/users/batch", post(users_batch))
        .route("/events", post(points_events))
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
#[derive(Debug, Clone)]
pub struct Setup {
    /// Run the outbox dispatcher and the expiry sweep.
    pub background: bool,
    pub sweep_secs: u32,
    /// More flags, e.g. `["--display-offset-minutes", "0"]`.
    pub flags: Vec<String>,
    /// Point the venues URL somewhere else (e.g. a closed port).
    pub venues_url: Option<String>,
    /// Where listings get their opinions (default: nowhere, a closed port).
    pub opinions_url: Option<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Setup {
            background: true,
            // Once at start-up, then not again during a test.
            sweep_secs: 3600,
            flags: Vec::new(),
            venues_url: None,
            opinions_url: None,
        }
    }
}

/// A service on a fresh data directory (kept alive as long as the value).
pub struct Service {
    pub dir: TempDir,
    pub app: Router,
    pub clock: Arc<ManualClock>,
    pub fakes: Arc<Fakes>,
    /// The command line it was started with, for [`Service::restart`].
    pub args: Vec<String>,
}

impl Service {
    /// Stops the service (its router and background tasks, as a killed process would) and
    /// starts it again on the same data directory, with the same fakes.
    pub async fn restart(self) -> Service {
        let Service {
            dir,
            app,
            clock,
            fakes,
            args,
        } = self;
        drop(app);
        let config = reservations::Config::parse_from(args.clone());
        let state = reservations::State::open(&config, clock.clone())
            .await
            .unwrap()
            .start_background();
        Service {
            dir,
            app: reservations::app(state),
            clock,
            fakes,
            args,
        }
    }
}

pub async fn service() -> Service {
    service_with(Setup::default()).await
}

/// A service whose lazy expiry is the only expiry and whose events stay in the outbox.
pub async fn quiet_service() -> Service {
    service_with(Setup {
        background: false,
        ..Setup::default()
    })
    .await
}

pub async fn service_with(setup: Setup) -> Service {
    let (fakes, addr) = fakes().await;
    let dir = tempfile::tempdir().unwrap();
    let base = format!("http://{addr}");
    let mut args: Vec<String> = [
        "reservations",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--internal-token",
        TOKEN,
        "--users-url",
        &base,
        "--points-url",
        &base,
        // Nothing listens on port 9: these consumers and the opinions lookup fail fast and
        // never reach a service another test runs on the default ports.
        "--stats-url",
        "http://127.0.0.1:9",
        "--communications-url",
        "http://127.0.0.1:9",
        "--opinions-url",
        setup
            .opinions_url
            .as_deref()
            .unwrap_or("http://127.0.0.1:9"),
        "--venues-url",
        setup.venues_url.as_deref().unwrap_or(&base),
        "--expiry-sweep-secs",
        &setup.sweep_secs.to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    args.extend(setup.flags);
    let config = reservations::Config::parse_from(args.clone());
    let clock = Arc::new(ManualClock(Mutex::new(start())));
    let mut state = reservations::State::open(&config, clock.clone())
        .await
        .unwrap();
    if setup.background {
        state = state.start_background();
    }
    Service {
        dir,
        app: reservations::app(state),
        clock,
        fakes,
        args,
    }
}

/// Books for `user/<uid>` at `venue`, `minutes` after the start.
pub async fn book(s: &Service, uid: &str, venue: &str, minutes: i64, people: i64) -> Answer {
    call(
        &s.app,
        Method::POST,
        "/reservations",
        Some(
            json!({"user": format!("user/{uid}"), "venue": venue, "time": at(minutes),
                    "people": people}),
        ),
    )
    .await
}

/// Books and returns the id, failing the test when the booking is refused.
pub async fn booked(s: &Service, uid: &str, venue: &str, minutes: i64, people: i64) -> String {
    book(s, uid, venue, minutes, people).await.id()
}

/// `PUT /reservations/{id}` as `user/<uid>` with the other fields of `body`.
pub async fn update(s: &Service, id: &str, uid: &str, mut body: Value) -> Answer {
    body["user"] = json!(format!("user/{uid}"));
    call(
        &s.app,
        Method::PUT,
        &format!("/reservations/{id}"),
        Some(body),
    )
    .await
}

/// An update that must succeed, returning the new status.
#[track_caller]
pub fn moved(answer: &Answer) -> String {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.status_text().to_string()
}

pub async fn accept(s: &Service, id: &str, venue: &str) {
    let answer = update(s, id, venue, json!({"advance_forward": true})).await;
    assert_eq!(moved(&answer), "Accepted");
}

pub async fn list(s: &Service, query: &str) -> Answer {
    call(&s.app, Method::GET, &format!("/reservations?{query}"), None).await
}

pub async fn delete(s: &Service, id: &str, query: &str) -> Answer {
    call(
        &s.app,
        Method::DELETE,
        &format!("/reservations/{id}?{query}"),
        None,
    )
    .await
}

fn db(s: &Service) -> rusqlite::Connection {
    rusqlite::Connection::open(s.dir.path().join(reservations::DB_FILE)).unwrap()
}

/// The stored status of a reservation, read straight from the file.
pub fn stored_status(s: &Service, id: &str) -> Option<String> {
    use rusqlite::OptionalExtension;
    db(s)
        .query_row("SELECT status FROM reservations WHERE id = ?1", [id], |r| {
            r.get(0)
        })
        .optional()
        .unwrap()
}

/// Every `reservation.status` event in the outbox, oldest first.
pub fn events(s: &Service) -> Vec<Value> {
    let conn = db(s);
    let mut stmt = conn
        .prepare(
            "SELECT payload FROM outbox_events WHERE topic = 'reservation.status' ORDER BY seq",
        )
        .unwrap();
    stmt.query_map([], |r| r.get::<_, String>(0))
        .unwrap()
        .map(|p| serde_json::from_str(&p.unwrap()).unwrap())
        .collect()
}

/// The `(from, to, by)` of the events of one reservation.
pub fn transitions(s: &Service, id: &str) -> Vec<(Value, String, String)> {
    events(s)
        .into_iter()
        .filter(|e| e["reservation"] == id)
        .map(|e| {
            (
                e["from"].clone(),
                e["to"].as_str().unwrap().to_string(),
                e["by"].as_str().unwrap().to_string(),
            )
        })
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
