//! Test fixtures: signing keys and JWKS servers, a fake users service speaking the internal
//! API (docs/internal-api.md), one scripted fake for every other service the gateway
//! proxies ([`PROXIED`]), and a gateway on a real listener.
#![allow(dead_code)] // each test file uses its own part of the fixtures

pub mod live;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use chefcito::permissions::Permissions;
use clap::Parser;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use serde_json::{Value, json};

pub const ISSUER: &str = "https://securetoken.google.com/proj";
pub const AUDIENCE: &str = "proj";
pub const INTERNAL_TOKEN: &str = "internal-secret";

/// The shipped permission file with the `allowed` list of `endpoint` replaced.
pub fn shipped_with(endpoint: &str, allowed: &str) -> String {
    let text = shipped_config();
    let entry = format!("  - name: {endpoint}\n    allowed: [anonymous]\n");
    assert!(
        text.contains(&entry),
        "{endpoint} is not open to anonymous in db_config.yaml"
    );
    text.replace(
        &entry,
        &format!("  - name: {endpoint}\n    allowed: {allowed}\n"),
    )
}

/// The shipped permission file.
pub fn shipped_config() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../../db_config.yaml")).unwrap()
}

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An Ed25519 signing key with its key id.
pub struct TestKey {
    pub kid: String,
    signing: SigningKey,
}

impl TestKey {
    pub fn new(kid: &str) -> TestKey {
        TestKey {
            kid: kid.to_string(),
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    pub fn jwk(&self) -> Value {
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.signing.verifying_key().as_bytes());
        json!({"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid, "x": x})
    }

    /// Signs `claims` with this key, announcing `kid` in the header.
    pub fn sign_as(&self, kid: &str, claims: &Value) -> String {
        let pem = self.signing.to_pkcs8_pem(Default::default()).unwrap();
        let key = jsonwebtoken::EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::EdDSA);
        header.kid = Some(kid.to_string());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }

    pub fn sign(&self, claims: &Value) -> String {
        self.sign_as(&self.kid, claims)
    }

    /// A valid Firebase-style token for `uid`.
    pub fn token(&self, uid: &str) -> String {
        self.sign(&claims(uid))
    }
}

/// Firebase-style claims valid for an hour.
pub fn claims(uid: &str) -> Value {
    json!({"sub": uid, "email": format!("{uid}@example.com"), "iss": ISSUER, "aud": AUDIENCE,
           "iat": now(), "auth_time": now(), "exp": now() + 3600})
}

/// Serves `router` on a fresh loopback port until `stop` is sent (dropping it keeps the
/// server running); returns the base URL.
pub async fn serve(router: Router) -> (String, tokio::sync::oneshot::Sender<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    serve_on(listener, router)
}

/// [`serve`] on a given listener.
pub fn serve_on(
    listener: tokio::net::TcpListener,
    router: Router,
) -> (String, tokio::sync::oneshot::Sender<()>) {
    let url = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    tokio::spawn(async move {
        axum::serve(listener, router)
            .with_graceful_shutdown(async {
                if stopped.await.is_err() {
                    std::future::pending::<()>().await;
                }
            })
            .await
            .unwrap()
    });
    (url, stop)
}

/// A JWKS server publishing `keys`; remembers the internal-token header of each fetch.
pub struct JwksServer {
    pub url: String,
    pub tokens_seen: Arc<Mutex<Vec<Option<String>>>>,
    _stop: tokio::sync::oneshot::Sender<()>,
}

pub async fn jwks_server(keys: &[&TestKey]) -> JwksServer {
    let set = json!({"keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>()});
    let seen = Arc::new(Mutex::new(Vec::new()));
    let s = seen.clone();
    let router = Router::new().route(
        "/jwks.json",
        get(move |headers: HeaderMap| {
            s.lock().unwrap().push(internal_token(&headers));
            let set = set.clone();
            async move { ([("cache-control", "public, max-age=300")], Json(set)) }
        }),
    );
    let (base, stop) = serve(router).await;
    JwksServer {
        url: format!("{base}/jwks.json"),
        tokens_seen: seen,
        _stop: stop,
    }
}

fn internal_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get(chefcito::INTERNAL_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}

/// What the fake users service knows.
#[derive(Default)]
pub struct UsersData {
    pub version: i64,
    pub permissions: Permissions,
    /// uid → (user type, profile)
    pub users: HashMap<String, (String, Value)>,
    /// `"METHOD /path"` of every call, in order.
    pub calls: Vec<String>,
    /// Bodies of every call with one.
    pub bodies: Vec<Value>,
    /// When set, every profile call answers this status.
    pub fail_with: Option<u16>,
    /// Keys served at `/.well-known/jwks.json`.
    pub jwks: Vec<Value>,
    /// The internal token each call carried.
    pub tokens: Vec<Option<String>>,
}

/// The fake users service: the internal API, in memory.
pub struct FakeUsers {
    pub url: String,
    pub data: Arc<Mutex<UsersData>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

type Shared = Arc<Mutex<UsersData>>;

fn envelope(status: u16, description: &str, endpoint: &str) -> Response {
    (
        StatusCode::from_u16(status).unwrap(),
        Json(json!({"description": description, "endpoint": endpoint})),
    )
        .into_response()
}

/// The answer forced by `fail_with`. The real users service gives 401 on these routes only
/// for a wrong internal token, and marks it so (chefcito's internal-token gate).
fn failure(status: u16, endpoint: &str) -> Response {
    let mut response = envelope(status, "fake failure", endpoint);
    if status == 401 {
        response.headers_mut().insert(
            chefcito::service::INTERNAL_TOKEN_REFUSED_HEADER,
            axum::http::HeaderValue::from_static("1"),
        );
    }
    response
}

fn record(data: &Shared, headers: &HeaderMap, call: String, body: Option<&Value>) -> Option<u16> {
    let mut d = data.lock().unwrap();
    d.calls.push(call);
    d.tokens.push(internal_token(headers));
    if let Some(body) = body {
        d.bodies.push(body.clone());
    }
    d.fail_with
}

async fn permissions(State(data): State<Shared>, headers: HeaderMap) -> Response {
    let etag = format!("\"{}\"", data.lock().unwrap().version);
    if headers
        .get("if-none-match")
        .is_some_and(|v| v.as_bytes() == etag.as_bytes())
    {
        record(&data, &headers, "GET /permissions 304".into(), None);
        return (StatusCode::NOT_MODIFIED, [("etag", etag)]).into_response();
    }
    record(&data, &headers, "GET /permissions".into(), None);
    let d = data.lock().unwrap();
    (
        [("etag", etag)],
        Json(json!({"version": d.version, "permissions": d.permissions})),
    )
        .into_response()
}

async fn user_type(
    State(data): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    if let Some(status) = record(&data, &headers, format!("GET /user/{uid}/type"), None) {
        return failure(status, "/user");
    }
    let d = data.lock().unwrap();
    let t = d
        .users
        .get(&uid)
        .map(|(t, _)| t.clone())
        .unwrap_or_else(|| "anonymous".into());
    Json(json!({"localid": uid, "user_type": t})).into_response()
}

async fn get_user(
    State(data): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
) -> Response {
    if let Some(status) = record(&data, &headers, format!("GET /user/{uid}"), None) {
        return failure(status, "/user");
    }
    match data.lock().unwrap().users.get(&uid) {
        Some((_, profile)) => Json(profile.clone()).into_response(),
        None => envelope(404, "User not found", &format!("/user/{uid}")),
    }
}

async fn put_user(
    State(data): State<Shared>,
    headers: HeaderMap,
    Path(uid): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(status) = record(&data, &headers, format!("PUT /user/{uid}"), Some(&body)) {
        return failure(status, "/user");
    }
    let mut d = data.lock().unwrap();
    let Some((_, profile)) = d.users.get_mut(&uid) else {
        return envelope(404, "User not found", &format!("/user/{uid}"));
    };
    for (key, field) in [("name", "name"), ("phone", "phone_number")] {
        if let Some(v) = body[key].as_str().filter(|v| !v.is_empty()) {
            profile[field] = json!(v);
        }
    }
    Json(profile.clone()).into_response()
}

async fn post_users(
    State(data): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Response {
    if let Some(status) = record(&data, &headers, "POST /users".into(), Some(&body)) {
        return failure(status, "/users");
    }
    let t = body["user_type"].as_str().unwrap_or("").to_string();
    if t != "client" && t != "restaurant" {
        return envelope(400, "user_type must be client or restaurant", "/users");
    }
    let uid = body["localid"].as_str().unwrap().to_string();
    let mut d = data.lock().unwrap();
    let (_, profile) = d.users.entry(uid.clone()).or_insert_with(|| {
        (
            t,
            json!({"localid": uid, "email": body["email"], "name": body["name"], "phone_number": body["phone_number"]}),
        )
    });
    Json(profile.clone()).into_response()
}

async fn auth_action(
    State(data): State<Shared>,
    headers: HeaderMap,
    Path(action): Path<String>,
    Json(body): Json<Value>,
) -> Response {
    if let Some(status) = record(&data, &headers, format!("POST /auth/{action}"), Some(&body)) {
        return failure(status, "/auth");
    }
    if body["password"] == "wrong" {
        return envelope(401, "Wrong e-mail or password", &format!("/auth/{action}"));
    }
    Json(json!({"idToken": "id", "refreshToken": "r", "expiresIn": "3600", "localId": "u", "email": body["email"], "action": action})).into_response()
}

async fn jwks(State(data): State<Shared>, headers: HeaderMap) -> Response {
    record(&data, &headers, "GET /.well-known/jwks.json".into(), None);
    Json(json!({"keys": data.lock().unwrap().jwks})).into_response()
}

impl FakeUsers {
    /// A fake users service holding the shipped permission table.
    pub async fn start() -> FakeUsers {
        Self::with_table(&shipped_config()).await
    }

    pub async fn with_table(yaml: &str) -> FakeUsers {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        Self::on(listener, yaml)
    }

    /// A fake users service on `listener`.
    pub fn on(listener: tokio::net::TcpListener, yaml: &str) -> FakeUsers {
        let data = Arc::new(Mutex::new(UsersData {
            version: 1,
            permissions: Permissions::from_yaml(yaml).unwrap(),
            ..Default::default()
        }));
        let router = Router::new()
            .route("/permissions", get(permissions))
            .route("/user/{uid}/type", get(user_type))
            .route("/user/{uid}", get(get_user).put(put_user))
            .route("/users", post(post_users))
            .route("/auth/{action}", post(auth_action))
            .route("/.well-known/jwks.json", get(jwks))
            .with_state(data.clone());
        let (url, stop) = serve_on(listener, router);
        FakeUsers {
            url,
            data,
            stop: Some(stop),
        }
    }

    /// Replaces the permission table (a new version).
    pub fn set_table(&self, yaml: &str) {
        let mut d = self.data.lock().unwrap();
        d.permissions = Permissions::from_yaml(yaml).unwrap();
        d.version += 1;
    }

    /// Registers `uid` as `user_type`.
    pub fn register(&self, uid: &str, user_type: &str) {
        self.data.lock().unwrap().users.insert(
            uid.to_string(),
            (
                user_type.to_string(),
                json!({"localid": uid, "email": format!("{uid}@example.com"), "name": "Ana", "phone_number": "1155"}),
            ),
        );
    }

    pub fn calls(&self) -> Vec<String> {
        self.data.lock().unwrap().calls.clone()
    }

    pub fn count(&self, call: &str) -> usize {
        self.calls().iter().filter(|c| *c == call).count()
    }

    /// Stops listening (later calls find the port closed).
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// The services the gateway proxies besides users, each replaced by a [`Fake`] in [`Env`]:
/// `(name, the gateway's option for its URL)`. A new proxied service is one more row.
pub const PROXIED: &[(&str, &str)] = &[
    ("venues", "--venues-url"),
    ("reservations", "--reservations-url"),
    ("points", "--points-url"),
    ("opinions", "--opinions-url"),
    ("summaries", "--summaries-url"),
    ("stats", "--stats-url"),
];

/// One call a [`Fake`] received.
#[derive(Debug, Clone)]
pub struct Call {
    /// `"METHOD /path"` (path as received, percent-encoding kept).
    pub line: String,
    /// The raw query string, if any.
    pub query: Option<String>,
    pub body: Option<Value>,
    /// The internal token it carried.
    pub token: Option<String>,
}

impl Call {
    /// The values of query key `key`, decoded, in order.
    pub fn query_values(&self, key: &str) -> Vec<String> {
        let pairs: Vec<(String, String)> =
            serde_html_form::from_str(self.query.as_deref().unwrap_or("")).unwrap();
        pairs
            .into_iter()
            .filter(|(k, _)| k == key)
            .map(|(_, v)| v)
            .collect()
    }

    /// Every decoded query pair, sorted (order-insensitive comparisons).
    pub fn query_pairs(&self) -> Vec<(String, String)> {
        let mut pairs: Vec<(String, String)> =
            serde_html_form::from_str(self.query.as_deref().unwrap_or("")).unwrap();
        pairs.sort();
        pairs
    }
}

#[derive(Default)]
struct FakeData {
    /// `"METHOD /path"` → status and JSON body.
    answers: HashMap<String, (u16, Value)>,
    calls: Vec<Call>,
}

/// A stand-in for an internal service: answers what the test scripted for `METHOD /path`
/// (404 with a "nothing scripted" envelope otherwise) and records every call.
pub struct Fake {
    pub url: String,
    data: Arc<Mutex<FakeData>>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

async fn fake_call(
    State(data): State<Arc<Mutex<FakeData>>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let line = format!("{method} {}", uri.path());
    let mut d = data.lock().unwrap();
    d.calls.push(Call {
        line: line.clone(),
        query: uri.query().map(str::to_string),
        body: serde_json::from_slice(&body).ok(),
        token: internal_token(&headers),
    });
    match d.answers.get(&line) {
        Some((status, body)) => {
            let mut response =
                (StatusCode::from_u16(*status).unwrap(), Json(body.clone())).into_response();
            if *status == 401 {
                response.headers_mut().insert(
                    chefcito::service::INTERNAL_TOKEN_REFUSED_HEADER,
                    axum::http::HeaderValue::from_static("1"),
                );
            }
            response
        }
        None => envelope(
            404,
            &format!("fake: nothing scripted for {line}"),
            uri.path(),
        ),
    }
}

impl Fake {
    pub async fn start() -> Fake {
        let data = Arc::new(Mutex::new(FakeData::default()));
        let router = Router::new().fallback(fake_call).with_state(data.clone());
        let (url, stop) = serve(router).await;
        Fake {
            url,
            data,
            stop: Some(stop),
        }
    }

    /// From now on `call` (`"GET /venues/ana"`) answers `status` with `body`.
    pub fn answer(&self, call: &str, status: u16, body: Value) -> &Fake {
        self.data
            .lock()
            .unwrap()
            .answers
            .insert(call.to_string(), (status, body));
        self
    }

    pub fn calls(&self) -> Vec<Call> {
        self.data.lock().unwrap().calls.clone()
    }

    /// The only call received (fails when there were none or several).
    pub fn only_call(&self) -> Call {
        let calls = self.calls();
        assert_eq!(calls.len(), 1, "{calls:?}");
        calls[0].clone()
    }

    /// Stops listening (later calls find the port closed).
    pub fn stop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A gateway on a real listener; `extra` are more command-line options.
pub async fn gateway(users: &str, jwks: &str, extra: &[&str]) -> String {
    let mut args = vec![
        "gateway",
        "--users-url",
        users,
        "--auth-jwks-url",
        jwks,
        "--auth-issuer",
        ISSUER,
        "--auth-audience",
        AUDIENCE,
        "--internal-token",
        INTERNAL_TOKEN,
        "--permissions-refresh-secs",
        "1",
    ];
    // The fake users service plays the embedded provider, with its keys on a separate JWKS
    // server: say so, unless a test picks the mode itself (Firebase mode).
    if !extra.contains(&"--auth-signin") {
        args.extend_from_slice(&["--auth-signin", "embedded"]);
    }
    args.extend_from_slice(extra);
    let router = gateway::build(&gateway::Config::parse_from(args))
        .await
        .unwrap();
    serve(router).await.0
}

/// The usual set-up: a JWKS server with one key, a fake users service with the shipped
/// table, a [`Fake`] for every other service in [`PROXIED`], a gateway in front of them.
pub struct Env {
    pub key: TestKey,
    pub jwks: JwksServer,
    pub users: FakeUsers,
    fakes: HashMap<&'static str, Fake>,
    pub gateway: String,
    pub http: reqwest::Client,
}

impl Env {
    pub async fn start() -> Env {
        Self::with_table(&shipped_config()).await
    }

    pub async fn with_table(yaml: &str) -> Env {
        let key = TestKey::new("k1");
        let jwks = jwks_server(&[&key]).await;
        let users = FakeUsers::with_table(yaml).await;
        let mut fakes = HashMap::new();
        let mut options = Vec::new();
        for (name, option) in PROXIED {
            let fake = Fake::start().await;
            options.extend([option.to_string(), fake.url.clone()]);
            fakes.insert(*name, fake);
        }
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let gateway = gateway(&users.url, &jwks.url, &options).await;
        Env {
            key,
            jwks,
            users,
            fakes,
            gateway,
            http: reqwest::Client::new(),
        }
    }

    /// The fake standing for service `name` (a row of [`PROXIED`]).
    pub fn fake(&self, name: &str) -> &Fake {
        &self.fakes[name]
    }

    pub fn fake_mut(&mut self, name: &str) -> &mut Fake {
        self.fakes.get_mut(name).unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.gateway)
    }

    /// `method path` with an optional `Authorization` value and JSON body.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        authorization: Option<&str>,
        body: Option<Value>,
    ) -> (u16, Value) {
        let mut request = self.http.request(method, self.url(path));
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        if let Some(b) = body {
            request = request.json(&b);
        }
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        (
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        )
    }

    pub async fn get(&self, path: &str, authorization: Option<&str>) -> (u16, Value) {
        self.call(reqwest::Method::GET, path, authorization, None)
            .await
    }

    /// The `Authorization` value of a valid ID token for `uid`.
    pub fn bearer_for(&self, uid: &str) -> String {
        bearer(&self.key.token(uid))
    }

    /// `GET path` signed in as `uid`.
    pub async fn get_as(&self, path: &str, uid: &str) -> (u16, Value) {
        self.get(path, Some(&self.bearer_for(uid))).await
    }

    /// `method path` with a JSON body, signed in as `uid`.
    pub async fn call_as(
        &self,
        method: reqwest::Method,
        path: &str,
        uid: &str,
        body: Value,
    ) -> (u16, Value) {
        self.call(method, path, Some(&self.bearer_for(uid)), Some(body))
            .await
    }
}

/// Polls `probe` until it returns true, for at most `limit`; returns whether it did.
pub async fn eventually<F, Fut>(limit: Duration, mut probe: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let start = Instant::now();
    while start.elapsed() < limit {
        if probe().await {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    false
}

pub fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}
