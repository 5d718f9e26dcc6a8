//! What every service does the same way: `/health` and `/ready`, `/metrics`, request ids,
//! request logs, the error envelope, body limits, a server-side timeout, the internal token,
//! panics turned into 500s, graceful shutdown, and the `healthcheck` subcommand for container
//! health checks.
//!
//! A service builds its routes, then calls [`finish`] inside its `app(state)`, so that tests
//! driving `app()` in-process see exactly what production serves. Its `main` calls [`run`].
//!
//! What the server library answers by itself, before any of these layers run (so without the
//! envelope and without CORS headers, which hyper does not let us add): a malformed request
//! line or header (400), an over-long URI (414) and over-large headers (431) get a bare status
//! line and the connection is closed. Everything that reaches the router, 404 and 405 included,
//! answers the envelope.
//!
//! Exposure is explicit and has no default ([`Exposure`]): an internal service either checks
//! the internal token on every call, or — started without one — listens on loopback only and
//! refuses peers that are not on loopback. Nothing a configuration forgets can open it up.
//!
//! `/metrics` ([`crate::metrics`]) has its own check, the same on every service: the internal
//! token, sent as `Authorization: Bearer <token>` (a Prometheus scrape config) or in the
//! internal header. A public service without a token refuses every scrape; an internal one
//! without a token serves loopback callers, like all its routes.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};

use crate::config::{Secret, ServeArgs};
use crate::db::Db;
use crate::error::{Envelope, Enveloped};
use crate::{ApiError, INTERNAL_TOKEN_HEADER, REQUEST_ID_HEADER};

/// Header marking a 401 given because the internal token was missing or wrong, so that the
/// caller's client can tell it from a 401 about the end user (see `client::decode`).
pub const INTERNAL_TOKEN_REFUSED_HEADER: &str = "x-chefcito-internal-token-refused";

/// Largest request body any service accepts.
pub const BODY_LIMIT: usize = 256 * 1024;

/// Longest a request may take inside a service before it is answered 408 (the internal
/// client gives up after 10 s, so a service never works on for a caller that has left).
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(9);

/// How long `/health` waits for the store before calling the service unhealthy.
const HEALTH_DB_TIMEOUT: Duration = Duration::from_secs(2);

tokio::task_local! {
    static REQUEST: RequestContext;
}

#[derive(Clone)]
struct RequestContext {
    id: String,
    path: String,
}

/// The id of the request being handled on this task, for propagation to downstream calls.
pub fn current_request_id() -> Option<String> {
    REQUEST.try_with(|c| c.id.clone()).ok()
}

/// The path of the request being handled on this task (the envelope's `endpoint`).
pub(crate) fn current_path() -> Option<String> {
    REQUEST.try_with(|c| c.path.clone()).ok()
}

/// An extra readiness condition (beyond the database answering): `Err` says what is missing.
pub type ReadyCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// Whether a service faces the public or only other services.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The gateway: open to everyone.
    Public,
    /// Every other service: reachable only with the internal token.
    Internal,
}

/// Who may call a service. No `Default`: every service says it.
#[derive(Clone, PartialEq, Eq)]
pub enum Exposure {
    /// Open to everyone (the gateway only), except `/metrics`: only callers presenting
    /// `internal_token` read it, and nobody does when it is `None`.
    Public { internal_token: Option<Secret> },
    /// Every route but `/health` and `/ready` requires this token.
    Internal(Secret),
    /// An internal service started without a token: served on loopback only, and callers that
    /// are not on loopback are refused (development without a cluster).
    LoopbackOnly,
}

impl std::fmt::Debug for Exposure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Exposure::Public { .. } => "Public",
            Exposure::Internal(_) => "Internal(***)",
            Exposure::LoopbackOnly => "LoopbackOnly",
        })
    }
}

impl Exposure {
    /// The exposure of a service of `role` configured with `token`.
    pub fn of(role: Role, token: Option<Secret>) -> Exposure {
        match (role, token) {
            (Role::Public, token) => Exposure::Public {
                internal_token: token,
            },
            (Role::Internal, Some(token)) => Exposure::Internal(token),
            (Role::Internal, None) => Exposure::LoopbackOnly,
        }
    }
}

impl ServeArgs {
    /// The exposure these options give a service of `role`.
    pub fn exposure(&self, role: Role) -> Exposure {
        Exposure::of(role, self.internal_token.clone())
    }
}

/// How a service is served (no `Default`: the exposure must be chosen).
#[derive(Clone)]
pub struct Options {
    pub name: &'static str,
    /// The database checked by readiness and health.
    pub db: Option<Db>,
    pub exposure: Exposure,
    /// What else must hold before the service takes traffic (e.g. the gateway's permission
    /// table has been loaded).
    pub ready: Option<ReadyCheck>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("name", &self.name)
            .field("db", &self.db)
            .field("exposure", &self.exposure)
            .finish_non_exhaustive()
    }
}

/// Marks the answers of the probes, so that the request log keeps them at debug level.
#[derive(Clone, Copy)]
struct Probe;

/// Adds the standard routes and layers to a service's router.
pub fn finish(router: Router, options: Options) -> Router {
    let Options {
        name,
        db,
        exposure,
        ready,
    } = options;
    // Installed now, not at the first scrape: what is recorded before would be lost.
    crate::metrics::handle();
    let mut router = router.fallback(|| async { ApiError::not_found("Not found") });
    let metrics = metrics_route(&exposure);
    router = match exposure {
        Exposure::Public { .. } => router,
        Exposure::Internal(token) => {
            router.layer(middleware::from_fn(move |req: Request, next: Next| {
                let token = token.clone();
                async move { require_internal_token(&token, req, next).await }
            }))
        }
        Exposure::LoopbackOnly => router.layer(middleware::from_fn(require_loopback_peer)),
    };
    let health_db = db.clone();
    router
        .merge(metrics)
        .route(
            "/health",
            get(move || {
                let db = health_db.clone();
                async move { health(name, db).await }
            }),
        )
        .route(
            "/ready",
            get(move || {
                let (db, check) = (db.clone(), ready.clone());
                async move { readiness(db, check).await }
            }),
        )
        // Innermost to outermost: limits and timeout next to the handlers, then panics, then
        // the envelope for errors made below the handlers, then the request context the
        // envelope and downstream calls read, the request log and the request id.
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(tower_http::limit::RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(tower_http::timeout::TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            REQUEST_TIMEOUT,
        ))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            |_: Box<dyn std::any::Any + Send>| {
                tracing::error!("handler panicked");
                ApiError::internal(anyhow::anyhow!("panic")).into_response()
            },
        ))
        .layer(middleware::from_fn(envelope))
        .layer(middleware::from_fn(request_context))
        .layer(
            tower_http::trace::TraceLayer::new_for_http()
                .make_span_with(request_span)
                .on_request(())
                .on_response(log_response)
                .on_failure(()),
        )
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(middleware::map_request(drop_unsafe_request_id))
        // Outermost: every answer is counted and timed, refusals, timeouts and panics included.
        .layer(middleware::from_fn(crate::metrics::track))
}

/// `GET /metrics` behind its own check (see the module docs), outside the exposure's layer so
/// that a bearer token works on internal services too.
fn metrics_route(exposure: &Exposure) -> Router {
    let render = get(|| async {
        let mut response = crate::metrics::render().await;
        // Scrapes come every few seconds: logged like the probes.
        response.extensions_mut().insert(Probe);
        response
    });
    let token = match exposure {
        Exposure::Internal(token) => Some(token.clone()),
        Exposure::Public { internal_token } => internal_token.clone(),
        Exposure::LoopbackOnly => {
            let guarded = render.layer(middleware::from_fn(require_loopback_peer));
            return Router::new().route(crate::metrics::PATH, guarded);
        }
    };
    // `layer`, not `route_layer`: another method is refused too before it learns anything.
    let guarded = render.layer(middleware::from_fn(move |req: Request, next: Next| {
        let token = token.clone();
        async move { require_metrics_token(token.as_ref(), req, next).await }
    }));
    Router::new().route(crate::metrics::PATH, guarded)
}

/// Serves the request when it carries `token` as a bearer token or in the internal header;
/// without a configured token, nothing does (fail closed).
async fn require_metrics_token(token: Option<&Secret>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, credentials)| credentials.trim());
    let internal = headers
        .get(INTERNAL_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    let presented = |given: Option<&str>, token: &Secret| {
        given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.expose().as_bytes()))
    };
    // An empty token (`INTERNAL_TOKEN=`) is no token.
    match token.filter(|t| !t.expose().is_empty()) {
        Some(token) if presented(bearer, token) || presented(internal, token) => {
            next.run(req).await
        }
        _ => refused_internal(
            "Metrics are internal: send the internal token as `Authorization: Bearer <INTERNAL_TOKEN>`",
        ),
    }
}

/// Liveness includes the store: a service whose store cannot serve reads is not alive, so the
/// container engine (and Kubernetes) restart it.
async fn health(name: &'static str, db: Option<Db>) -> Response {
    if let Some(db) = db {
        let answered = tokio::time::timeout(HEALTH_DB_TIMEOUT, db.ping()).await;
        if !matches!(answered, Ok(true)) {
            tracing::error!("health: the database does not answer reads");
            return ApiError::unavailable("The database does not answer").into_response();
        }
    }
    let mut response =
        axum::Json(serde_json::json!({"status": "ok", "service": name})).into_response();
    response.extensions_mut().insert(Probe);
    response
}

async fn readiness(db: Option<Db>, check: Option<ReadyCheck>) -> Response {
    if let Some(db) = db
        && !db.ping().await
    {
        return ApiError::unavailable("Database is not ready").into_response();
    }
    if let Some(check) = check
        && let Err(missing) = check().await
    {
        return ApiError::unavailable(format!("Not ready: {missing}")).into_response();
    }
    let mut response = axum::Json(serde_json::json!({"status": "ready"})).into_response();
    response.extensions_mut().insert(Probe);
    response
}

async fn require_internal_token(token: &Secret, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(INTERNAL_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    if given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.expose().as_bytes())) {
        next.run(req).await
    } else {
        refused_internal("This service is internal: the internal token is missing or wrong")
    }
}

/// Without a token, only loopback peers are served. In-process calls (tests driving `app()`)
/// carry no peer address and count as local.
async fn require_loopback_peer(req: Request, next: Next) -> Response {
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0.ip());
    if peer.is_none_or(|ip| ip.is_loopback()) {
        next.run(req).await
    } else {
        refused_internal(
            "This service is internal and has no INTERNAL_TOKEN: it serves loopback callers only",
        )
    }
}

fn refused_internal(description: &str) -> Response {
    let mut response = ApiError::unauthorized(description).into_response();
    response
        .headers_mut()
        .insert(INTERNAL_TOKEN_REFUSED_HEADER, HeaderValue::from_static("1"));
    response
}

/// Compares secrets without leaking their common prefix length through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether a client's request id may be kept: it ends up verbatim in log lines, so only a
/// short run of safe characters is (anything else could forge log lines).
pub fn is_safe_request_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// An unsafe `x-request-id` is dropped, so that a fresh one is made up for the request.
async fn drop_unsafe_request_id(mut req: Request) -> Request {
    let unsafe_id = req.headers().get_all(REQUEST_ID_HEADER).iter().count() > 1
        || req
            .headers()
            .get(REQUEST_ID_HEADER)
            .is_some_and(|v| !v.to_str().is_ok_and(is_safe_request_id));
    if unsafe_id {
        req.headers_mut().remove(REQUEST_ID_HEADER);
    }
    req
}

fn request_id_of<B>(req: &axum::http::Request<B>) -> String {
    req.headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

fn request_span<B>(req: &axum::http::Request<B>) -> tracing::Span {
    tracing::info_span!("request", id = %request_id_of(req), method = %req.method(), path = %req.uri().path())
}

/// Answers slower than this are logged at `info` whatever their status.
const SLOW_ANSWER: Duration = Duration::from_millis(500);

/// One line per answer at `debug`; at `info` only refusals, failures and slow answers. Every
/// answer is counted and timed in `/metrics`; a line per success at `info` would cost more
/// than the request (under load, the container engine's log driver used a core of its own).
fn log_response<B>(response: &axum::http::Response<B>, latency: Duration, _: &tracing::Span) {
    let (status, ms) = (response.status().as_u16(), latency.as_secs_f64() * 1e3);
    // Probes arrive every few seconds from the container engine: keep them out of the way.
    let probe = response.extensions().get::<Probe>().is_some();
    if !probe && (status >= 400 || latency >= SLOW_ANSWER) {
        tracing::info!(status, ms, "handled");
    } else {
        tracing::debug!(status, ms, "handled");
    }
}

/// Makes the request id and path available to downstream calls and error envelopes.
async fn request_context(req: Request, next: Next) -> Response {
    let context = RequestContext {
        id: request_id_of(&req),
        path: req.uri().path().to_string(),
    };
    REQUEST.scope(context, next.run(req)).await
}

/// Wraps errors produced outside our handlers (405 from the router, 408 from the timeout,
/// 413 from the body limit) in the envelope. Errors our handlers made are already enveloped
/// (serialised once, by [`ApiError`]); every header of the original answer is kept.
async fn envelope(req: Request, next: Next) -> Response {
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error())
        || response.extensions().get::<Enveloped>().is_some()
    {
        return response;
    }
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if is_json {
        return response;
    }
    let (mut parts, _) = response.into_parts();
    let body = Envelope {
        description: default_description(status),
        endpoint: current_path().unwrap_or_default(),
        detail: None,
    };
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    let bytes = serde_json::to_vec(&body).unwrap_or_default();
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

fn default_description(status: StatusCode) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed on this path".into(),
        StatusCode::PAYLOAD_TOO_LARGE => "Request body is too large".into(),
        StatusCode::REQUEST_TIMEOUT => "The request took too long and was abandoned".into(),
        s => s.canonical_reason().unwrap_or("Request failed").into(),
    }
}

/// Sets up logging from the common options.
pub fn init_tracing(args: &ServeArgs) {
    let filter =
        tracing_subscriber::EnvFilter::try_new(&args.log).unwrap_or_else(|_| "info".into());
    // Colours only on a terminal: container logs and files stay plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    let result = if args.log_format == "json" {
        builder.json().try_init()
    } else {
        builder.try_init()
    };
    let _ = result; // already initialised (tests): keep the first subscriber
}

/// The subcommands every service binary has besides serving.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum Command {
    /// Serve HTTP (the default).
    Serve,
    /// Probe this service's `/health` on the configured port and exit 0 when healthy, 1
    /// otherwise (used by the container health check; needs no shell or curl).
    Healthcheck,
}

/// `main` of a service: `healthcheck` probes and exits; otherwise logs are set up, `build`
/// makes the router (opening stores, loading keys) and it is served until SIGTERM or Ctrl-C.
/// An internal service without an internal token is bound to loopback whatever `BIND` says.
pub fn run<F, Fut>(
    command: Option<Command>,
    args: &ServeArgs,
    role: Role,
    default_port: u16,
    build: F,
) -> std::process::ExitCode
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<Router>>,
{
    let addr = listen_addr(args, role, default_port);
    if let Some(Command::Healthcheck) = command {
        return match healthcheck(addr) {
            Ok(()) => std::process::ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("unhealthy: {e}");
                std::process::ExitCode::FAILURE
            }
        };
    }
    init_tracing(args);
    if args.exposure(role) == Exposure::LoopbackOnly {
        tracing::warn!(
            %addr,
            "INTERNAL_TOKEN is not set: this internal service listens on loopback only and serves local callers only; set INTERNAL_TOKEN to serve other hosts"
        );
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let result = runtime.block_on(async {
        let router = build().await?;
        serve(addr, router).await
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = format!("{e:#}"), "service stopped");
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// Where a service listens: `BIND` or its default port, moved to loopback for an internal
/// service that has no internal token.
pub fn listen_addr(args: &ServeArgs, role: Role, default_port: u16) -> SocketAddr {
    let addr = args.addr(default_port);
    if args.exposure(role) == Exposure::LoopbackOnly && !addr.ip().is_loopback() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    }
}

/// What a server allows a connection, so that slow or idle clients cannot hold it for ever.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// A request's headers must arrive within this (it also closes a keep-alive connection
    /// that sits idle this long waiting for its next request).
    pub header_read: Duration,
    /// At most this long between two pieces of a request body.
    pub body_read: Duration,
    /// Connections served at once; more wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// How long shutdown waits for requests in flight.
    pub grace: Duration,
}

impl Limits {
    /// What every service runs with.
    pub const DEFAULT: Limits = Limits {
        header_read: Duration::from_secs(10),
        body_read: Duration::from_secs(10),
        max_connections: 2048,
        grace: Duration::from_secs(10),
    };
}

/// Serves `router` on `addr` until SIGTERM or Ctrl-C, letting requests in flight finish.
pub async fn serve(addr: SocketAddr, router: Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e} (is another process using the port? set BIND)"
        )
    })?;
    tracing::info!(%addr, "listening");
    serve_with(listener, router, Limits::DEFAULT, shutdown_signal()).await;
    tracing::info!("stopped");
    Ok(())
}

/// Serves `router` on `listener` with `limits` until `shutdown` completes. Each connection
/// gets the peer address as `ConnectInfo` (the loopback-only exposure reads it).
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) {
    use hyper_util::rt::{TokioIo, TokioTimer};
    let slots = Arc::new(tokio::sync::Semaphore::new(limits.max_connections));
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    // HTTP/1.1 only: its header-read timeout runs from the connection's first byte (hyper's
    // version auto-detection would wait for that byte without any timeout), and every client
    // of ours (the apps, the internal client) speaks it.
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .keep_alive(true);
    let router = router.layer(tower_http::timeout::RequestBodyTimeoutLayer::new(
        limits.body_read,
    ));
    tokio::pin!(shutdown);
    loop {
        // Wait for a free slot before accepting: past the cap, clients wait in the backlog.
        let slot = tokio::select! {
            slot = slots.clone().acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of descriptors and the like: back off instead of spinning.
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let service = hyper::service::service_fn(
            move |mut req: axum::http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ConnectInfo(peer));
                let router = router.clone();
                async move {
                    use tower::ServiceExt;
                    router.oneshot(req.map(axum::body::Body::new)).await
                }
            },
        );
        let connection = builder.serve_connection(TokioIo::new(stream), service);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _slot = slot;
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "connection ended with an error");
            }
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("requests still in flight after the grace period: closing anyway");
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    tracing::info!("shutting down");
}

pub use crate::probe::healthcheck;

#[cfg(test)]
mod tests {
    use super::*;
    use axum::body::Body;
    use http_body_util::BodyExt;
    use tower::ServiceExt;

    fn app(token: Option<&str>) -> Router {
        let router = Router::new()
            .route("/ok", get(|| async { "fine" }))
            .route(
                "/fail",
                get(|| async { ApiError::bad_request("Rule broken") }),
            )
            .route(
                "/cookies",
                get(|| async {
                    let mut response = ApiError::conflict("Taken").into_response();
                    for cookie in ["a=1", "b=2"] {
                        response
                            .headers_mut()
                            .append(header::SET_COOKIE, HeaderValue::from_static(cookie));
                    }
                    response
                }),
            )
            .route(
                "/raw-error",
                get(|| async {
                    let mut response = (StatusCode::IM_A_TEAPOT, "plain text").into_response();
                    for v in ["x", "y"] {
                        response
                            .headers_mut()
                            .append("x-multi", HeaderValue::from_static(v));
                    }
                    response
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    tokio::time::sleep(REQUEST_TIMEOUT + Duration::from_secs(5)).await;
                    "late"
                }),
            )
            .route(
                "/boom",
                get(|| async { ApiError::internal(anyhow::anyhow!("SELECT secret FROM t")) }),
            )
            .route(
                "/panic",
                get(|| async {
                    if true {
                        panic!("oops");
                    }
                    "never"
                }),
            )
            .route(
                "/echo",
                axum::routing::post(
                    |crate::extract::Json(v): crate::extract::Json<serde_json::Value>| async move {
                        axum::Json(v)
                    },
                ),
            );
        finish(
            router,
            Options {
                name: "test",
                db: None,
                exposure: match token {
                    Some(t) => Exposure::Internal(Secret::new(t)),
                    None => Exposure::Public {
                        internal_token: None,
                    },
                },
                ready: None,
            },
        )
    }

    async fn call(
        app: Router,
        req: axum::http::Request<Body>,
    ) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
        let response = app.oneshot(req).await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        (
            status,
            headers,
            serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
        )
    }

    fn get_req(path: &str) -> axum::http::Request<Body> {
        axum::http::Request::get(path).body(Body::empty()).unwrap()
    }

    #[tokio::test]
    async fn errors_carry_the_envelope_with_the_path() {
        let (status, _, body) = call(app(None), get_req("/fail")).await;
        assert_eq!(status, 400);
        assert_eq!(
            body,
            serde_json::json!({"description": "Rule broken", "endpoint": "/fail"})
        );
    }

    #[tokio::test]
    async fn unknown_paths_and_methods_are_enveloped() {
        let (status, _, body) = call(app(None), get_req("/nope")).await;
        assert_eq!(
            (status.as_u16(), body["endpoint"].as_str()),
            (404, Some("/nope"))
        );
        let (status, _, body) = call(
            app(None),
            axum::http::Request::delete("/ok")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
        assert_eq!(status, 405);
        assert_eq!(body["description"], "Method not allowed on this path");
    }

    #[tokio::test]
    async fn internal_errors_and_panics_never_leak() {
        let (status, _, body) = call(app(None), get_req("/boom")).await;
        assert_eq!(status, 500);
        assert_eq!(body["description"], "Internal error");
        let (status, _, body) = call(app(None), get_req("/panic")).await;
        assert_eq!(status, 500);
        assert_eq!(body["description"], "Internal error");
    }

    #[tokio::test]
    async fn oversized_body_is_413() {
        let big = format!("\"{}\"", "x".repeat(BODY_LIMIT + 10));
        let req = axum::http::Request::post("/echo")
            .body(Body::from(big))
            .unwrap();
        let (status, _, body) = call(app(None), req).await;
        assert_eq!(status, 413);
        assert_eq!(body["endpoint"], "/echo");
    }

    #[tokio::test]
    async fn internal_token_is_required_except_for_health() {
        let (status, headers, _) = call(app(Some("s3cret")), get_req("/ok")).await;
        assert_eq!(status, 401);
        assert!(headers.contains_key(INTERNAL_TOKEN_REFUSED_HEADER));
        let req = axum::http::Request::get("/ok")
            .header(INTERNAL_TOKEN_HEADER, "wrong")
            .body(Body::empty())
            .unwrap();
        assert_eq!(call(app(Some("s3cret")), req).await.0, 401);
        let req = axum::http::Request::get("/ok")
            .header(INTERNAL_TOKEN_HEADER, "s3cret")
            .body(Body::empty())
            .unwrap();
        assert_eq!(
            app(Some("s3cret")).oneshot(req).await.unwrap().status(),
            200
        );
        assert_eq!(call(app(Some("s3cret")), get_req("/health")).await.0, 200);
        assert_eq!(call(app(Some("s3cret")), get_req("/ready")).await.0, 200);
    }

    #[tokio::test]
    async fn readiness_reports_what_is_missing() {
        let flag = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let seen = flag.clone();
        let check: ReadyCheck = Arc::new(move || {
            let ready = seen.load(std::sync::atomic::Ordering::SeqCst);
            Box::pin(async move {
                if ready {
                    Ok(())
                } else {
                    Err("table not loaded".to_string())
                }
            })
        });
        let app = finish(
            Router::new(),
            Options {
                name: "t",
                db: None,
                exposure: Exposure::Public {
                    internal_token: None,
                },
                ready: Some(check),
            },
        );
        let (status, _, body) = call(app.clone(), get_req("/ready")).await;
        assert_eq!(
            (status.as_u16(), body["description"].as_str()),
            (503, Some("Not ready: table not loaded"))
        );
        flag.store(true, std::sync::atomic::Ordering::SeqCst);
        assert_eq!(call(app, get_req("/ready")).await.0, 200);
    }

    #[tokio::test]
    async fn the_envelope_keeps_every_header_and_is_written_once() {
        let response = app(None).oneshot(get_req("/cookies")).await.unwrap();
        let cookies: Vec<_> = response
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .collect();
        assert_eq!(cookies, ["a=1", "b=2"]);
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(&bytes).unwrap(),
            serde_json::json!({"description": "Taken", "endpoint": "/cookies"})
        );
        // An error made below our handlers is wrapped, its headers kept.
        let response = app(None).oneshot(get_req("/raw-error")).await.unwrap();
        let multi: Vec<_> = response.headers().get_all("x-multi").iter().collect();
        assert_eq!(multi, ["x", "y"]);
        assert_eq!(response.headers()[header::CONTENT_TYPE], "application/json");
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let body: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(body["endpoint"], "/raw-error");
    }

    #[tokio::test(start_paused = true)]
    async fn a_request_that_takes_too_long_is_408_with_the_envelope() {
        let (status, _, body) = call(app(None), get_req("/slow")).await;
        assert_eq!(status, 408);
        assert_eq!(body["endpoint"], "/slow");
        assert!(body["description"].as_str().unwrap().contains("too long"));
    }

    #[tokio::test]
    async fn a_declared_body_over_the_limit_is_413_before_it_is_read() {
        // A Content-Length over the limit with (almost) no body: refused without waiting.
        let req = axum::http::Request::post("/echo")
            .header(header::CONTENT_LENGTH, (BODY_LIMIT + 1).to_string())
            .body(Body::from("{}"))
            .unwrap();
        let (status, _, body) = call(app(None), req).await;
        assert_eq!(status, 413);
        assert_eq!(body["endpoint"], "/echo");
    }

    #[tokio::test]
    async fn unsafe_request_ids_are_replaced() {
        for bad in ["has space", "brace}{", &"x".repeat(65), "new\u{0}line"] {
            let Ok(value) = HeaderValue::from_str(bad) else {
                continue;
            };
            let req = axum::http::Request::get("/ok")
                .header(REQUEST_ID_HEADER, value)
                .body(Body::empty())
                .unwrap();
            let (_, headers, _) = call(app(None), req).await;
            let id = headers[REQUEST_ID_HEADER].to_str().unwrap();
            assert_ne!(id, bad);
            assert!(is_safe_request_id(id), "{id}");
        }
        assert!(is_safe_request_id("Trace-42_a.b"));
    }

    #[tokio::test]
    async fn request_id_is_kept_or_made_up() {
        let req = axum::http::Request::get("/ok")
            .header(REQUEST_ID_HEADER, "abc-1")
            .body(Body::empty())
            .unwrap();
        let (_, headers, _) = call(app(None), req).await;
        assert_eq!(headers[REQUEST_ID_HEADER], "abc-1");
        let (_, headers, _) = call(app(None), get_req("/ok")).await;
        assert_eq!(headers[REQUEST_ID_HEADER].len(), 36);
    }

    #[tokio::test]
    async fn healthcheck_probes_a_real_listener() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app(Some("t"))).await.unwrap() });
        let ok = tokio::task::spawn_blocking(move || healthcheck(addr))
            .await
            .unwrap();
        assert!(ok.is_ok(), "{ok:?}");
        let free = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap();
        assert!(healthcheck(free).is_err());
    }
}
