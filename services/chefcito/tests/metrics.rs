//! `/metrics`: what every service gets from the shared stack, who may read it, and what the
//! store and the outbox record.
//!
//! The recorder is one per process and every test here shares it: each test uses its own
//! route templates, database names and consumer names, so that its series are its own.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::{get, post};
use chefcito::INTERNAL_TOKEN_HEADER;
use chefcito::client::{Client, Downstream};
use chefcito::config::Secret;
use chefcito::db::Db;
use chefcito::outbox::{MIGRATION, Outbox, Route};
use chefcito::service::{Exposure, INTERNAL_TOKEN_REFUSED_HEADER, Options, finish};
use http_body_util::BodyExt;
use tower::ServiceExt;

const TOKEN: &str = "metrics-test-token";

fn app(router: Router, exposure: Exposure, db: Option<Db>) -> Router {
    finish(
        router,
        Options {
            name: "metrics-test",
            db,
            exposure,
            ready: None,
        },
    )
}

fn internal() -> Exposure {
    Exposure::Internal(Secret::new(TOKEN))
}

/// `GET path` with the given headers: status, headers, body text.
async fn get_with(
    app: &Router,
    path: &str,
    headers: &[(&str, &str)],
) -> (StatusCode, axum::http::HeaderMap, String) {
    let mut request = Request::get(path);
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let (status, headers) = (response.status(), response.headers().clone());
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    (
        status,
        headers,
        String::from_utf8_lossy(&bytes).into_owned(),
    )
}

/// The scrape, as Prometheus makes it (bearer token from a credentials file).
async fn scrape(app: &Router) -> String {
    let bearer = format!("Bearer {TOKEN}");
    let (status, headers, body) = get_with(app, "/metrics", &[("authorization", &bearer)]).await;
    assert_eq!(status, 200, "{body}");
    assert!(
        headers[header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4"),
        "{headers:?}"
    );
    body
}

/// The value of the sample `series` (name and labels exactly as rendered), if present.
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let value = line.strip_prefix(series)?.strip_prefix(' ')?;
        value.trim().parse().ok()
    })
}

async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn requests_are_counted_by_route_template_method_and_status() {
    let app = app(
        Router::new()
            .route(
                "/counted/{id}",
                get(|| async { "fine" }).post(|| async { StatusCode::CONFLICT }),
            )
            .route("/counted-fails", get(|| async { StatusCode::BAD_REQUEST })),
        internal(),
        None,
    );
    let token = [(INTERNAL_TOKEN_HEADER, TOKEN)];
    for id in ["1", "2", "abc"] {
        assert_eq!(
            get_with(&app, &format!("/counted/{id}"), &token).await.0,
            200
        );
    }
    assert_eq!(get_with(&app, "/counted-fails", &token).await.0, 400);
    let post = Request::post("/counted/9")
        .header(INTERNAL_TOKEN_HEADER, TOKEN)
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.clone().oneshot(post).await.unwrap().status(), 409);
    // Refused by the internal token: still counted, under its route.
    assert_eq!(get_with(&app, "/counted/3", &[]).await.0, 401);
    assert_eq!(
        get_with(&app, "/no-route/for-this/ever", &token).await.0,
        404
    );

    let text = scrape(&app).await;
    let count = |labels: &str| sample(&text, &format!("http_requests_total{{{labels}}}"));
    assert_eq!(
        count(r#"route="/counted/{id}",method="GET",status="200""#),
        Some(3.0),
        "{text}"
    );
    assert_eq!(
        count(r#"route="/counted/{id}",method="POST",status="409""#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"route="/counted/{id}",method="GET",status="401""#),
        Some(1.0)
    );
    assert_eq!(
        count(r#"route="/counted-fails",method="GET",status="400""#),
        Some(1.0)
    );
    assert!(
        count(r#"route="unmatched",method="GET",status="404""#).is_some_and(|n| n >= 1.0),
        "an unknown path is counted as unmatched"
    );
    assert!(
        !text.contains("/counted/abc") && !text.contains("/no-route"),
        "raw paths never become labels"
    );
    // The latency histogram: fixed buckets from half a millisecond to ten seconds.
    let duration = r#"route="/counted/{id}",method="GET",status="200""#;
    assert_eq!(
        sample(
            &text,
            &format!("http_request_duration_seconds_count{{{duration}}}")
        ),
        Some(3.0)
    );
    for le in ["0.0005", "10", "+Inf"] {
        let bucket = format!("http_request_duration_seconds_bucket{{{duration},le=\"{le}\"}}");
        assert!(sample(&text, &bucket).is_some(), "{bucket} in {text}");
    }
    assert!(text.contains("# TYPE http_requests_total counter"));
    assert!(text.contains("# TYPE http_request_duration_seconds histogram"));
}

#[tokio::test]
async fn an_internal_service_serves_metrics_only_with_the_internal_token() {
    let app = app(Router::new(), internal(), None);
    for headers in [
        vec![],
        vec![("authorization", "Bearer wrong")],
        vec![(INTERNAL_TOKEN_HEADER, "wrong")],
        vec![("authorization", TOKEN)],
        vec![("authorization", "Basic bWV0cmljczp0ZXN0")],
    ] {
        let (status, headers_out, body) = get_with(&app, "/metrics", &headers).await;
        assert_eq!(status, 401, "{headers:?}");
        assert!(headers_out.contains_key(INTERNAL_TOKEN_REFUSED_HEADER));
        let envelope: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(envelope["endpoint"], "/metrics");
        assert!(!body.contains("http_requests_total"));
    }
    // Either way of sending the token works: Prometheus sends a bearer token, the internal
    // client the internal header.
    let bearer = format!("bearer {TOKEN}");
    for headers in [
        [("authorization", bearer.as_str())],
        [(INTERNAL_TOKEN_HEADER, TOKEN)],
    ] {
        assert_eq!(get_with(&app, "/metrics", &headers).await.0, 200);
    }
    // The probes stay open.
    assert_eq!(get_with(&app, "/health", &[]).await.0, 200);
}

#[tokio::test]
async fn a_public_service_serves_metrics_only_with_the_internal_token() {
    let open = Router::new().route("/open", get(|| async { "anyone" }));
    let app = app(
        open.clone(),
        Exposure::Public {
            internal_token: Some(Secret::new(TOKEN)),
        },
        None,
    );
    assert_eq!(get_with(&app, "/open", &[]).await.0, 200);
    for headers in [vec![], vec![("authorization", "Bearer eyJ.some.jwt")]] {
        let (status, _, body) = get_with(&app, "/metrics", &headers).await;
        assert_eq!(status, 401);
        assert!(body.starts_with('{') && !body.contains("http_requests_total"));
    }
    assert!(scrape(&app).await.contains("http_requests_total"));

    // Fail closed: a public service without a token never serves its metrics.
    let app = self::app(
        open,
        Exposure::Public {
            internal_token: None,
        },
        None,
    );
    for headers in [
        vec![],
        vec![("authorization", "Bearer ")],
        vec![("authorization", "Bearer")],
        vec![(INTERNAL_TOKEN_HEADER, "")],
    ] {
        let (status, _, body) = get_with(&app, "/metrics", &headers).await;
        assert_eq!(status, 401, "{headers:?}");
        assert!(!body.contains("http_requests_total"));
    }
}

#[tokio::test]
async fn without_a_token_an_internal_service_serves_metrics_to_loopback_only() {
    let app = app(Router::new(), Exposure::LoopbackOnly, None);
    let from = |peer: &str| {
        let peer: SocketAddr = peer.parse().unwrap();
        Request::get("/metrics")
            .extension(axum::extract::ConnectInfo(peer))
            .body(Body::empty())
            .unwrap()
    };
    let local = app.clone().oneshot(from("127.0.0.1:5000")).await.unwrap();
    assert_eq!(local.status(), 200);
    let remote = app.clone().oneshot(from("10.0.0.7:5000")).await.unwrap();
    assert_eq!(remote.status(), 401);
}

#[tokio::test]
async fn other_methods_on_metrics_are_refused_before_anything_is_said() {
    let app = app(Router::new(), internal(), None);
    let post = Request::post("/metrics").body(Body::empty()).unwrap();
    assert_eq!(app.clone().oneshot(post).await.unwrap().status(), 401);
    let post = Request::post("/metrics")
        .header(INTERNAL_TOKEN_HEADER, TOKEN)
        .body(Body::empty())
        .unwrap();
    assert_eq!(app.clone().oneshot(post).await.unwrap().status(), 405);
}

#[tokio::test]
async fn writes_and_reads_are_timed_per_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path().join("metrics-writes.db"),
        &["CREATE TABLE t (v INTEGER NOT NULL);"],
    )
    .unwrap();
    let app = app(Router::new(), internal(), Some(db.clone()));
    let before = scrape(&app).await;
    let write_count = r#"sqlite_write_seconds_count{db="metrics-writes"}"#;
    assert_eq!(sample(&before, write_count).unwrap_or(0.0), 0.0);

    for v in 0..5 {
        db.write(move |tx| tx.execute("INSERT INTO t (v) VALUES (?1)", [v]).map(|_| ()))
            .await
            .unwrap();
    }
    // A failed write is answered too, and timed.
    let failed: Result<(), rusqlite::Error> = db
        .write(|tx| {
            tx.execute("INSERT INTO t (v) VALUES (NULL)", [])
                .map(|_| ())
        })
        .await;
    assert!(failed.is_err());
    let n: i64 = db
        .read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
        .await
        .unwrap();
    assert_eq!(n, 5);

    let text = scrape(&app).await;
    assert_eq!(sample(&text, write_count), Some(6.0), "{text}");
    // One commit per group; sequential writes make groups of one.
    let commits = sample(&text, r#"sqlite_commit_seconds_count{db="metrics-writes"}"#);
    assert_eq!(commits, Some(6.0));
    assert_eq!(
        sample(&text, r#"sqlite_write_group_size_sum{db="metrics-writes"}"#),
        Some(6.0)
    );
    // The count above is a read.
    assert!(
        sample(&text, r#"sqlite_read_seconds_count{db="metrics-writes"}"#)
            .is_some_and(|n| n >= 1.0)
    );
    let le = r#"sqlite_write_seconds_bucket{db="metrics-writes",le="10"}"#;
    assert_eq!(sample(&text, le), Some(6.0));
}

#[tokio::test]
async fn the_outbox_backlog_and_its_deliveries_are_measured() {
    // A consumer that answers 503 until it is switched on.
    let accepting = Arc::new(AtomicBool::new(false));
    let switch = accepting.clone();
    let consumer = Router::new().route(
        "/inbox/events",
        post(move || {
            let accepting = switch.clone();
            async move {
                if accepting.load(Ordering::SeqCst) {
                    StatusCode::NO_CONTENT.into_response()
                } else {
                    StatusCode::SERVICE_UNAVAILABLE.into_response()
                }
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, consumer).await.unwrap() });

    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(
        dir.path().join("metrics-outbox.db"),
        &["CREATE TABLE things (n INTEGER NOT NULL);", MIGRATION],
    )
    .unwrap();
    let target = Downstream::new(
        Client::new(Some(Secret::new(TOKEN))),
        &format!("http://{addr}"),
    )
    .unwrap();
    let outbox = Outbox::new(vec![Route {
        topic: "metrics.thing",
        consumer: "metrics-consumer",
        target,
        path: "/inbox/events",
    }])
    .with_backoff(Duration::from_millis(50), Duration::from_millis(100));
    let _dispatcher = outbox.spawn_dispatcher(db.clone());
    let app = app(Router::new(), internal(), Some(db.clone()));

    let o = outbox.clone();
    db.write(move |tx| {
        tx.execute("INSERT INTO things (n) VALUES (1)", [])?;
        o.enqueue(tx, "metrics.thing", &serde_json::json!({"n": 1}))
    })
    .await
    .unwrap();
    outbox.notify();

    let backlog = r#"outbox_backlog{consumer="metrics-consumer"}"#;
    let retried = r#"outbox_delivery_failures_total{consumer="metrics-consumer",topic="metrics.thing",outcome="retry"}"#;
    let delivered = r#"outbox_deliveries_total{consumer="metrics-consumer",topic="metrics.thing"}"#;
    eventually(
        "the backlog gauge to show the pending delivery",
        async || {
            let text = scrape(&app).await;
            sample(&text, backlog) == Some(1.0) && sample(&text, retried).is_some_and(|n| n >= 1.0)
        },
    )
    .await;
    assert_eq!(sample(&scrape(&app).await, delivered), None);

    accepting.store(true, Ordering::SeqCst);
    eventually("the delivery and an empty backlog", async || {
        let text = scrape(&app).await;
        sample(&text, backlog) == Some(0.0) && sample(&text, delivered) == Some(1.0)
    })
    .await;
    assert!(outbox.backlog(&db).await.unwrap().is_empty());
}
