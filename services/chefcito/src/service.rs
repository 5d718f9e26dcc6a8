//! What every service does the same way: `/health` and `/ready`, request ids, request logs,
//! the error envelope, the body limit, the internal token, panics turned into 500s, graceful
//! shutdown, and the `healthcheck` subcommand for container health checks.
//!
//! A service builds its routes, then calls [`finish`] inside its `app(state)`, so that tests
//! driving `app()` in-process see exactly what production serves. Its `main` calls [`run`].

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;

use crate::config::{Secret, ServeArgs};
use crate::db::Db;
use crate::error::{Envelope, PendingEnvelope, envelope_response};
use crate::{ApiError, INTERNAL_TOKEN_HEADER, REQUEST_ID_HEADER};

/// Header marking a 401 given because the internal token was missing or wrong, so that the
/// caller's client can tell it from a 401 about the end user (see `client::decode`).
pub const INTERNAL_TOKEN_REFUSED_HEADER: &str = "x-chefcito-internal-token-refused";

/// Largest request body any service accepts.
pub const BODY_LIMIT: usize = 256 * 1024;

tokio::task_local! {
    static REQUEST_ID: String;
}

/// The id of the request being handled on this task, for propagation to downstream calls.
pub fn current_request_id() -> Option<String> {
    REQUEST_ID.try_with(Clone::clone).ok()
}

/// An extra readiness condition (beyond the database answering): `Err` says what is missing.
pub type ReadyCheck =
    Arc<dyn Fn() -> Pin<Box<dyn Future<Output = Result<(), String>> + Send>> + Send + Sync>;

/// How a service is exposed.
#[derive(Clone, Default)]
pub struct Options {
    pub name: &'static str,
    /// The database checked by readiness.
    pub db: Option<Db>,
    /// When set, every route but `/health` and `/ready` requires this token (internal
    /// services); `None` for the public gateway.
    pub internal_token: Option<Secret>,
    /// What else must hold before the service takes traffic (e.g. the gateway's permission
    /// table has been loaded).
    pub ready: Option<ReadyCheck>,
}

impl std::fmt::Debug for Options {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Options")
            .field("name", &self.name)
            .field("db", &self.db)
            .finish_non_exhaustive()
    }
}

/// Adds the standard routes and layers to a service's router.
pub fn finish(router: Router, options: Options) -> Router {
    let db = options.db.clone();
    let check = options.ready.clone();
    let name = options.name;
    let mut router = router
        .fallback(|| async { ApiError::not_found("Not found") })
        .layer(DefaultBodyLimit::max(BODY_LIMIT));
    if let Some(token) = options.internal_token.clone() {
        router = router.layer(middleware::from_fn(move |req: Request, next: Next| {
            let token = token.clone();
            async move { require_internal_token(token, req, next).await }
        }));
    }
    router
        .route("/health", get(move || async move { axum::Json(serde_json::json!({"status": "ok", "service": name})) }))
        .route(
            "/ready",
            get(move || {
                let (db, check) = (db.clone(), check.clone());
                async move {
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
                    axum::Json(serde_json::json!({"status": "ready"})).into_response()
                }
            }),
        )
        .layer(middleware::from_fn(envelope))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(|_: Box<dyn std::any::Any + Send>| {
            tracing::error!("handler panicked");
            ApiError::internal(anyhow::anyhow!("panic")).into_response()
        }))
        .layer(middleware::from_fn(request_context))
}

async fn require_internal_token(token: Secret, req: Request, next: Next) -> Response {
    let given = req
        .headers()
        .get(INTERNAL_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok());
    if given.is_some_and(|g| constant_time_eq(g.as_bytes(), token.expose().as_bytes())) {
        next.run(req).await
    } else {
        let mut response = ApiError::unauthorized(
            "This service is internal: the internal token is missing or wrong",
        )
        .into_response();
        response
            .headers_mut()
            .insert(INTERNAL_TOKEN_REFUSED_HEADER, HeaderValue::from_static("1"));
        response
    }
}

/// Compares secrets without leaking their common prefix length through timing.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Request id in (or made up), request id out, one log line per request.
async fn request_context(req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(REQUEST_ID_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128)
        .map(str::to_string)
        .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let started = Instant::now();
    let span = tracing::info_span!("request", id = %id, %method, %path);
    let mut response = REQUEST_ID
        .scope(
            id.clone(),
            tracing::Instrument::instrument(next.run(req), span.clone()),
        )
        .await;
    let _enter = span.enter();
    let (status, ms) = (
        response.status().as_u16(),
        started.elapsed().as_secs_f64() * 1e3,
    );
    // Probes arrive every few seconds from the container engine: keep them out of the way.
    if matches!(path.as_str(), "/health" | "/ready") && status < 400 {
        tracing::debug!(status, ms, "handled");
    } else {
        tracing::info!(status, ms, "handled");
    }
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// Fills `endpoint` in error envelopes, and wraps errors produced outside our handlers
/// (405 from the router, for instance) in the envelope too.
async fn envelope(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let response = next.run(req).await;
    let status = response.status();
    if !(status.is_client_error() || status.is_server_error()) {
        return response;
    }
    let pending = response.extensions().get::<PendingEnvelope>().cloned();
    let mut envelope_body = match pending {
        Some(PendingEnvelope(e)) => e,
        None => {
            let is_json = response
                .headers()
                .get(header::CONTENT_TYPE)
                .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
            if is_json {
                return response;
            }
            Envelope {
                description: default_description(status),
                endpoint: String::new(),
                detail: None,
            }
        }
    };
    envelope_body.endpoint = path;
    let headers = response.headers().clone();
    let mut new = envelope_response(status, envelope_body);
    for (name, value) in headers.iter() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            new.headers_mut().insert(name.clone(), value.clone());
        }
    }
    new.extensions_mut().remove::<PendingEnvelope>();
    new
}

fn default_description(status: StatusCode) -> String {
    match status {
        StatusCode::METHOD_NOT_ALLOWED => "Method not allowed on this path".into(),
        StatusCode::PAYLOAD_TOO_LARGE => "Request body is too large".into(),
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
pub fn run<F, Fut>(
    command: Option<Command>,
    args: &ServeArgs,
    default_port: u16,
    build: F,
) -> std::process::ExitCode
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<Router>>,
{
    let addr = args.addr(default_port);
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

/// Serves `router` on `addr` until SIGTERM or Ctrl-C, letting requests in flight finish.
pub async fn serve(addr: SocketAddr, router: Router) -> anyhow::Result<()> {
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(|e| {
        anyhow::anyhow!(
            "cannot listen on {addr}: {e} (is another process using the port? set BIND)"
        )
    })?;
    tracing::info!(%addr, "listening");
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown_signal())
        .await?;
    tracing::info!("stopped");
    Ok(())
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

/// A plain HTTP/1.0 probe of `/health` on the loopback, with short timeouts.
pub fn healthcheck(addr: SocketAddr) -> anyhow::Result<()> {
    use std::io::{Read, Write};
    let target = if addr.ip().is_unspecified() {
        SocketAddr::from(([127, 0, 0, 1], addr.port()))
    } else {
        addr
    };
    let mut stream = std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2))?;
    stream.set_read_timeout(Some(Duration::from_secs(3)))?;
    stream.write_all(b"GET /health HTTP/1.0\r\nHost: localhost\r\n\r\n")?;
    let mut answer = String::new();
    stream.take(4096).read_to_string(&mut answer)?;
    let status = answer.split_whitespace().nth(1).unwrap_or("");
    if status == "200" {
        Ok(())
    } else {
        anyhow::bail!("{target}/health answered {status:?}")
    }
}

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
                internal_token: token.map(Secret::new),
                ..Options::default()
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
                ready: Some(check),
                ..Options::default()
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
