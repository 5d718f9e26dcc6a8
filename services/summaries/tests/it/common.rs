//! Helpers shared by the tests: the service on a temporary directory with a clock the test
//! moves, a fake opinions service and a fake chat API on 127.0.0.1:0, and test engines.

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::IntoResponse;
use axum::routing;
use chefcito::INTERNAL_TOKEN_HEADER;
use chrono::{DateTime, Utc};
use clap::Parser;
use serde_json::{Value, json};
use summaries::engine::{Engine, Input, Summarizing};
use summaries::service::{Clock, Summaries};
use tempfile::TempDir;
use tokio::sync::Semaphore;

pub use chefcito::testing::http::{Answer, TOKEN, call_raw};

/// `method path` with the internal token and `body` (`None`: empty).
pub async fn call(app: &Router, method: Method, path: &str, body: Option<Body>) -> Answer {
    call_raw(app, method, path, body.unwrap_or_else(Body::empty)).await
}

/// Where every test's clock starts.
pub fn start() -> DateTime<Utc> {
    chefcito::time::parse("2025-06-15T12:00:00Z").unwrap()
}

pub fn days(n: i64) -> chrono::Duration {
    chrono::Duration::days(n)
}

/// A clock the test moves by hand.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn advance(&self, by: chrono::Duration) {
        *self.0.lock().unwrap() += by;
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock().unwrap()
    }
}

// ---------------------------------------------------------------------------------------
// The fake opinions service.

/// A local stand-in for the opinions service: `GET /opinions?venue&limit&start`.
#[derive(Clone)]
pub struct FakeOpinions {
    pub url: String,
    inner: Arc<OpinionsInner>,
}

#[derive(Default)]
struct OpinionsInner {
    rows: Mutex<Vec<Value>>,
    failing: Mutex<bool>,
    queries: Mutex<Vec<(String, Option<String>)>>,
}

impl FakeOpinions {
    pub async fn start() -> FakeOpinions {
        let inner = Arc::new(OpinionsInner::default());
        let app = Router::new()
            .route("/opinions", routing::get(opinions))
            .with_state(inner.clone());
        FakeOpinions {
            url: serve(app).await,
            inner,
        }
    }

    /// Adds an opinion of `venue` dated `date`.
    pub fn add(&self, venue: &str, text: &str, date: DateTime<Utc>) {
        let mut rows = self.inner.rows.lock().unwrap();
        let reservation = format!("r{}", rows.len());
        rows.push(
            json!({"venue": venue, "opinion": text, "reservation": reservation,
                         "date": chefcito::time::naive(&date)}),
        );
    }

    /// From now on every call answers 500 (`true`) or works again (`false`).
    pub fn fail(&self, failing: bool) {
        *self.inner.failing.lock().unwrap() = failing;
    }

    /// The query strings received (and the internal token each carried).
    pub fn queries(&self) -> Vec<(String, Option<String>)> {
        self.inner.queries.lock().unwrap().clone()
    }

    pub fn calls(&self) -> usize {
        self.inner.queries.lock().unwrap().len()
    }
}

#[derive(serde::Deserialize)]
struct OpinionsQuery {
    venue: String,
    limit: usize,
    start: usize,
}

async fn opinions(
    State(inner): State<Arc<OpinionsInner>>,
    headers: HeaderMap,
    uri: axum::http::Uri,
    Query(q): Query<OpinionsQuery>,
) -> axum::response::Response {
    let token = headers
        .get(INTERNAL_TOKEN_HEADER)
        .map(|v| v.to_str().unwrap().to_string());
    inner
        .queries
        .lock()
        .unwrap()
        .push((uri.query().unwrap_or("").to_string(), token));
    if *inner.failing.lock().unwrap() {
        return (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(json!({"description": "Internal error", "endpoint": "/opinions"})),
        )
            .into_response();
    }
    let mut rows: Vec<Value> = inner
        .rows
        .lock()
        .unwrap()
        .iter()
        .filter(|r| r["venue"] == q.venue.as_str())
        .cloned()
        .collect();
    rows.sort_by(|a, b| b["date"].as_str().cmp(&a["date"].as_str()));
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(q.start).take(q.limit).collect();
    axum::Json(json!({"result": page, "total": total})).into_response()
}

/// Serves `app` on 127.0.0.1:0 and returns its base URL.
pub async fn serve(app: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{addr}")
}

// ---------------------------------------------------------------------------------------
// The fake chat API.

/// How the fake chat API answers.
#[derive(Debug, Clone)]
pub enum ChatMode {
    /// 200 with this text as `choices[0].message.content`.
    Answer(String),
    /// 500 with an OpenAI error body.
    Fail,
    /// 200 with a body that is not a chat completion.
    Garbage,
    /// Answers only after this long.
    Slow(Duration),
}

/// A local server speaking the chat-completions protocol: `POST /v1/chat/completions`.
#[derive(Clone)]
pub struct FakeChat {
    /// The base URL to configure (`…/v1`).
    pub base_url: String,
    inner: Arc<ChatInner>,
}

struct ChatInner {
    mode: Mutex<ChatMode>,
    requests: Mutex<Vec<(HeaderMap, Value)>>,
}

impl FakeChat {
    pub async fn start(mode: ChatMode) -> FakeChat {
        let inner = Arc::new(ChatInner {
            mode: Mutex::new(mode),
            requests: Mutex::new(Vec::new()),
        });
        let app = Router::new()
            .route("/v1/chat/completions", routing::post(chat))
            .with_state(inner.clone());
        FakeChat {
            base_url: format!("{}/v1", serve(app).await),
            inner,
        }
    }

    pub fn set(&self, mode: ChatMode) {
        *self.inner.mode.lock().unwrap() = mode;
    }

    /// Headers and JSON body of every request received.
    pub fn requests(&self) -> Vec<(HeaderMap, Value)> {
        self.inner.requests.lock().unwrap().clone()
    }
}

async fn chat(
    State(inner): State<Arc<ChatInner>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> axum::response::Response {
    let json: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    inner.requests.lock().unwrap().push((headers, json));
    let mode = inner.mode.lock().unwrap().clone();
    match mode {
        ChatMode::Answer(text) => axum::Json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1_750_000_000,
            "model": "test-model",
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": text}}],
            "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
        }))
        .into_response(),
        ChatMode::Fail => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::Json(
                json!({"error": {"message": "The server had an error", "type": "server_error"}}),
            ),
        )
            .into_response(),
        ChatMode::Garbage => (StatusCode::OK, "<html>surprise</html>").into_response(),
        ChatMode::Slow(delay) => {
            tokio::time::sleep(delay).await;
            axum::Json(json!({"choices": [{"message": {"role": "assistant", "content": "tarde"}}]}))
                .into_response()
        }
    }
}

// ---------------------------------------------------------------------------------------
// Test engines.

/// The original's mock summarizer (spec §3.5): every opinion's text, in the order given
/// (newest first), concatenated without separator.
#[derive(Debug, Default)]
pub struct Concat {
    calls: AtomicUsize,
    /// When set, each call waits for a permit: the test decides when a generation ends.
    gate: Option<Arc<Semaphore>>,
}

impl Concat {
    pub fn new() -> Arc<Concat> {
        Arc::new(Concat::default())
    }

    /// An engine whose calls wait for `gate` permits.
    pub fn gated(gate: Arc<Semaphore>) -> Arc<Concat> {
        Arc::new(Concat {
            calls: AtomicUsize::new(0),
            gate: Some(gate),
        })
    }

    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
}

impl Engine for Concat {
    fn name(&self) -> &'static str {
        "concat"
    }

    fn summarize<'a>(&'a self, input: &'a Input) -> Summarizing<'a> {
        Box::pin(async move {
            self.calls.fetch_add(1, Ordering::SeqCst);
            if let Some(gate) = &self.gate {
                gate.acquire().await.unwrap().forget();
            }
            Ok(Some(
                input.opinions.iter().map(|o| o.text.as_str()).collect(),
            ))
        })
    }
}

// ---------------------------------------------------------------------------------------
// The service.

pub fn config(dir: &Path, opinions_url: &str, extra: &[&str]) -> summaries::Config {
    let mut args = vec![
        "summaries",
        "--data-dir",
        dir.to_str().unwrap(),
        "--internal-token",
        TOKEN,
        "--opinions-url",
        opinions_url,
    ];
    args.extend_from_slice(extra);
    summaries::Config::parse_from(args)
}

/// A service on a fresh data directory (kept alive as long as the value).
pub struct Service {
    pub dir: TempDir,
    pub app: Router,
    pub summaries: Arc<Summaries>,
    pub clock: Arc<ManualClock>,
    pub opinions: FakeOpinions,
}

/// How to build a test service.
#[derive(Default)]
pub struct Setup<'a> {
    /// `None`: the engine the configuration chooses.
    pub engine: Option<Arc<dyn Engine>>,
    pub args: &'a [&'a str],
}

impl Service {
    pub async fn start(setup: Setup<'_>) -> Service {
        let opinions = FakeOpinions::start().await;
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock(Mutex::new(start())));
        let app_state = open(dir.path(), &opinions.url, &setup, clock.clone()).await;
        Service {
            summaries: app_state.summaries.clone(),
            app: summaries::app(app_state),
            dir,
            clock,
            opinions,
        }
    }

    /// The same data directory, opinions and clock, opened again (a restart).
    pub async fn restart(&mut self, setup: Setup<'_>) {
        let state = open(
            self.dir.path(),
            &self.opinions.url,
            &setup,
            self.clock.clone(),
        )
        .await;
        self.summaries = state.summaries.clone();
        self.app = summaries::app(state);
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Waits until no generation runs (panics after 5 s).
    pub async fn settle(&self) {
        let deadline = Instant::now() + Duration::from_secs(5);
        while self.summaries.generating() > 0 {
            assert!(Instant::now() < deadline, "a generation did not end");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    /// `GET /summaries/{venue}` (checked to be a 200), once the generations it starts are over.
    pub async fn summary(&self, venue: &str) -> Value {
        let answer = get(&self.app, &format!("/summaries/{venue}")).await;
        assert_eq!(answer.status, 200, "{answer:?}");
        self.settle().await;
        answer.body
    }

    /// Reads once to start a generation, waits for it, and returns what a read then shows.
    pub async fn generated(&self, venue: &str) -> Value {
        self.summary(venue).await;
        self.summary(venue).await
    }

    /// Rows of `table`, read straight from the file.
    pub fn rows(&self, table: &str) -> i64 {
        let conn = rusqlite::Connection::open(self.dir.path().join(summaries::DB_FILE)).unwrap();
        conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0))
            .unwrap()
    }

    /// The engine that wrote a venue's stored summary.
    pub fn engine_of(&self, venue: &str) -> Option<String> {
        let conn = rusqlite::Connection::open(self.dir.path().join(summaries::DB_FILE)).unwrap();
        rusqlite::OptionalExtension::optional(conn.query_row(
            "SELECT engine FROM summaries WHERE venue = ?1",
            [venue],
            |r| r.get(0),
        ))
        .unwrap()
    }
}

async fn open(
    dir: &Path,
    opinions_url: &str,
    setup: &Setup<'_>,
    clock: Arc<ManualClock>,
) -> summaries::State {
    let config = config(dir, opinions_url, setup.args);
    match &setup.engine {
        Some(engine) => summaries::State::open_with(&config, clock, engine.clone()).await,
        None => summaries::State::open(&config, clock).await,
    }
    .unwrap()
}

/// A service whose summaries the given engine writes.
pub async fn with_engine(engine: Arc<dyn Engine>) -> Service {
    Service::start(Setup {
        engine: Some(engine),
        args: &[],
    })
    .await
}

/// Waits until `condition` holds (panics after 5 s).
pub async fn wait_until(what: &str, condition: impl Fn() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !condition() {
        assert!(Instant::now() < deadline, "timed out waiting until {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

// ---------------------------------------------------------------------------------------
// Calls.

pub async fn get(app: &Router, path: &str) -> Answer {
    call(app, Method::GET, path, None).await
}

pub async fn post(app: &Router, path: &str, body: Value) -> Answer {
    call(app, Method::POST, path, Some(Body::from(body.to_string()))).await
}

/// An `opinion.created` delivery as the opinions outbox writes it.
pub fn opinion_event(id: &str, venue: &str) -> Value {
    json!({"id": id, "topic": "opinion.created", "payload": {
        "opinion": format!("op-{id}"), "reservation": format!("r-{id}"), "user": "u1",
        "venue": venue, "opinion_text": "Muy rico", "at": "2025-06-15T12:00:00.000Z"}})
}

/// Delivers an event and returns its `outcome` (panics unless 200).
pub async fn deliver(app: &Router, event: Value) -> String {
    let answer = post(app, "/events", event).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["outcome"].as_str().unwrap().to_string()
}
