//! Helpers shared by the tests: the service on a temporary directory, a stand-in venues
//! service, a stand-in Twilio, and calls through `app()`.

#![allow(dead_code)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Path as AxumPath, State as AxumState};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing;
use chefcito::INTERNAL_TOKEN_HEADER;
use clap::Parser;
use serde_json::{Value, json};
use tempfile::TempDir;

pub use chefcito::testing::http::{Answer, TOKEN, assert_refused, call_raw};

/// `method path` with the internal token and `body` (`None`: empty).
pub async fn call(app: &Router, method: Method, path: &str, body: Option<Body>) -> Answer {
    call_raw(app, method, path, body.unwrap_or_else(Body::empty)).await
}

/// Serves `router` on 127.0.0.1:0 for as long as the test runs; returns its base URL.
pub async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    format!("http://{addr}")
}

/// A stand-in venues service: `GET /venues/{id}` answers the venue's name, 404 for an
/// unknown venue, 503 while `down`.
#[derive(Debug, Default)]
pub struct FakeVenues {
    pub names: Mutex<HashMap<String, String>>,
    pub down: AtomicBool,
    pub calls: AtomicUsize,
    /// The internal token of the last call.
    pub token: Mutex<Option<String>>,
}

impl FakeVenues {
    pub fn name(&self, id: &str, name: &str) {
        self.names.lock().unwrap().insert(id.into(), name.into());
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

async fn venue(
    AxumState(venues): AxumState<Arc<FakeVenues>>,
    AxumPath(id): AxumPath<String>,
    headers: HeaderMap,
) -> Response {
    venues.calls.fetch_add(1, Ordering::SeqCst);
    *venues.token.lock().unwrap() = headers
        .get(INTERNAL_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if venues.down.load(Ordering::SeqCst) {
        return (StatusCode::SERVICE_UNAVAILABLE, "down").into_response();
    }
    match venues.names.lock().unwrap().get(&id) {
        Some(name) => axum::Json(json!({"id": id, "name": name, "capacity": 10,
            "status": {"status": "Open"}}))
        .into_response(),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"description": "Venue does not exist", "endpoint": "/venues"})),
        )
            .into_response(),
    }
}

pub async fn fake_venues() -> (Arc<FakeVenues>, String) {
    let venues = Arc::new(FakeVenues::default());
    let router = Router::new()
        .route("/venues/{id}", routing::get(venue))
        .with_state(venues.clone());
    (venues, serve(router).await)
}

/// One request Twilio received.
#[derive(Debug, Clone)]
pub struct TwilioRequest {
    pub path: String,
    pub authorization: Option<String>,
    pub content_type: Option<String>,
    pub form: HashMap<String, String>,
}

/// A stand-in Twilio: records each request and answers from a script (then 201).
#[derive(Debug, Default)]
pub struct FakeTwilio {
    pub requests: Mutex<Vec<TwilioRequest>>,
    /// Answers given in order before the default 201: (status, JSON body, Retry-After).
    pub script: Mutex<Vec<(u16, Value, Option<u64>)>>,
}

impl FakeTwilio {
    pub fn then(&self, status: u16, body: Value) {
        self.script.lock().unwrap().push((status, body, None));
    }

    pub fn requests(&self) -> Vec<TwilioRequest> {
        self.requests.lock().unwrap().clone()
    }
}

/// Twilio's error body for an invalid `To`.
pub fn invalid_number_error() -> Value {
    json!({"code": 21211, "message": "The 'To' number +5491100000000 is not a valid phone number.",
           "more_info": "https://www.twilio.com/docs/errors/21211", "status": 400})
}

async fn twilio_messages(
    AxumState(twilio): AxumState<Arc<FakeTwilio>>,
    AxumPath(sid): AxumPath<String>,
    headers: HeaderMap,
    body: String,
) -> Response {
    let form = body
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            (decode(k), decode(v))
        })
        .collect();
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let n = {
        let mut requests = twilio.requests.lock().unwrap();
        requests.push(TwilioRequest {
            path: format!("/2010-04-01/Accounts/{sid}/Messages.json"),
            authorization: header("authorization"),
            content_type: header("content-type"),
            form,
        });
        requests.len()
    };
    let scripted = {
        let mut script = twilio.script.lock().unwrap();
        (!script.is_empty()).then(|| script.remove(0))
    };
    match scripted {
        Some((status, body, retry_after)) => {
            let mut response =
                (StatusCode::from_u16(status).unwrap(), axum::Json(body)).into_response();
            if let Some(secs) = retry_after {
                response
                    .headers_mut()
                    .insert("retry-after", secs.to_string().parse().unwrap());
            }
            response
        }
        None => (
            StatusCode::CREATED,
            axum::Json(json!({"sid": format!("SM{n:032}"), "status": "queued"})),
        )
            .into_response(),
    }
}

/// Percent-decoding of a form value (`+` is a space).
fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).unwrap();
                out.push(u8::from_str_radix(hex, 16).unwrap());
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).unwrap()
}

pub async fn fake_twilio() -> (Arc<FakeTwilio>, String) {
    let twilio = Arc::new(FakeTwilio::default());
    let router = Router::new()
        .route(
            "/2010-04-01/Accounts/{sid}/Messages.json",
            routing::post(twilio_messages),
        )
        .with_state(twilio.clone());
    (twilio, serve(router).await)
}

/// The configuration of a test service on `dir`, plus `extra` flags.
pub fn config(dir: &std::path::Path, venues_url: &str, extra: &[&str]) -> communications::Config {
    let mut args = vec![
        "communications",
        "--data-dir",
        dir.to_str().unwrap(),
        "--internal-token",
        TOKEN,
        "--venues-url",
        venues_url,
    ];
    // Quick retries unless the test chooses its own.
    for (flag, value) in [
        ("--send-retry-base-ms", "20"),
        ("--send-retry-max-secs", "1"),
    ] {
        if !extra.contains(&flag) {
            args.extend([flag, value]);
        }
    }
    args.extend_from_slice(extra);
    communications::Config::parse_from(args)
}

/// A service on a fresh data directory (kept alive as long as the value).
pub struct Service {
    pub dir: TempDir,
    pub app: Router,
    pub venues: Arc<FakeVenues>,
}

impl Service {
    /// Rows of `table` (`inbox`, `messages`, `phones`), read straight from the file.
    pub fn rows(&self, table: &str) -> i64 {
        let conn =
            rusqlite::Connection::open(self.dir.path().join(communications::DB_FILE)).unwrap();
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }
}

/// A service with the embedded outbox messenger and a stand-in venues service that knows
/// `resto` as "La Cantina".
pub async fn service() -> Service {
    service_with(&[]).await
}

pub async fn service_with(extra: &[&str]) -> Service {
    let dir = tempfile::tempdir().unwrap();
    let (venues, venues_url) = fake_venues().await;
    venues.name("resto", "La Cantina");
    let state = communications::State::open(&config(dir.path(), &venues_url, extra))
        .await
        .unwrap();
    Service {
        dir,
        app: communications::app(state),
        venues,
    }
}

pub async fn get(app: &Router, path: &str) -> Answer {
    call(app, Method::GET, path, None).await
}

pub async fn post(app: &Router, path: &str, body: Value) -> Answer {
    call(app, Method::POST, path, Some(Body::from(body.to_string()))).await
}

pub async fn put(app: &Router, path: &str, body: Value) -> Answer {
    call(app, Method::PUT, path, Some(Body::from(body.to_string()))).await
}

/// Sends raw body text (for malformed JSON).
pub async fn post_text(app: &Router, path: &str, body: &'static str) -> Answer {
    call(app, Method::POST, path, Some(Body::from(body))).await
}

/// `PUT /users/{uid}/phone`, checked to be a 200; returns the stored number.
pub async fn set_phone(app: &Router, uid: &str, phone: &str) -> String {
    let answer = put(app, &format!("/users/{uid}/phone"), json!({"phone": phone})).await;
    assert_eq!(answer.status, 200, "{phone:?}: {answer:?}");
    assert_eq!(answer.body["user"], uid);
    answer.body["phone"].as_str().unwrap().to_string()
}

/// A `reservation.status` delivery as the reservations outbox writes it.
pub fn status_event(id: &str, from: Option<&str>, to: &str) -> Value {
    json!({"id": id, "topic": "reservation.status", "payload": {
        "reservation": "r-42", "user": "diner", "venue": "resto", "from": from,
        "to": to, "by": "venue", "time": "2025-06-16T00:30:00.000Z", "people": 2,
        "at": "2025-06-10T12:00:00.000Z"}})
}

/// An `opinion.created` delivery as the opinions outbox writes it.
pub fn opinion_event(id: &str) -> Value {
    json!({"id": id, "topic": "opinion.created", "payload": {
        "opinion": 7, "reservation": "r-42", "user": "diner", "venue": "resto",
        "opinion_text": "Muy rico", "at": "2025-06-16T10:00:00.000Z"}})
}

/// A `user.phone` delivery as the users outbox writes it.
pub fn phone_event(id: &str, user: &str, phone: &str) -> Value {
    json!({"id": id, "topic": "user.phone", "payload": {
        "user": user, "phone": phone, "at": "2025-06-16T10:00:00.000Z"}})
}

/// Delivers an event and returns its `outcome` (panics unless 200).
pub async fn deliver(app: &Router, event: Value) -> String {
    let answer = post(app, "/events", event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["outcome"].as_str().unwrap().to_string()
}

/// `GET /messages?{query}`, checked to be a 200.
pub async fn messages(app: &Router, query: &str) -> Value {
    let answer = get(app, &format!("/messages?{query}")).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body
}

/// Polls `GET /messages?{query}` until no message of the page is pending (5 s at most);
/// returns the page.
pub async fn settled(app: &Router, query: &str) -> Value {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let page = messages(app, query).await;
        let pending = page["result"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["status"] == "pending");
        if !pending {
            return page;
        }
        assert!(
            Instant::now() < deadline,
            "messages still pending: {page:#}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// `(to, status, body)` of each message of a page, oldest first.
pub fn summary(page: &Value) -> Vec<(String, String, String)> {
    let mut rows: Vec<_> = page["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["to"].as_str().unwrap().to_string(),
                m["status"].as_str().unwrap().to_string(),
                m["body"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    rows.reverse();
    rows
}
