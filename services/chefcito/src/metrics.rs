//! Prometheus metrics of every service, served at [`PATH`] by the shared stack
//! ([`service::finish`](crate::service::finish)).
//!
//! | metric | type | labels | what |
//! |---|---|---|---|
//! | `http_requests_total` | counter | `route`, `method`, `status` | answered requests |
//! | `http_request_duration_seconds` | histogram | `route`, `method`, `status` | time to the answer's head |
//! | `sqlite_write_seconds` | histogram | `db` | a write from submission to its durable acknowledgement |
//! | `sqlite_commit_seconds` | histogram | `db` | one group commit (the fsync) |
//! | `sqlite_write_group_size` | histogram | `db` | writes committed together |
//! | `sqlite_commit_failures_total` | counter | `db` | group commits that failed (every write in them failed) |
//! | `sqlite_read_seconds` | histogram | `db` | a read, waiting for a reader connection included |
//! | `outbox_backlog` | gauge | `consumer` | deliveries pending (neither delivered nor parked) |
//! | `outbox_deliveries_total` | counter | `consumer`, `topic` | deliveries the consumer accepted |
//! | `outbox_delivery_failures_total` | counter | `consumer`, `topic`, `outcome` | failed attempts: `retry` (will be tried again) or `parked` (given up) |
//!
//! `route` is the router's template (`/venues/{id}`), never the raw path, and `unmatched` for
//! paths no route serves, so that a scanner cannot grow the number of series; `method` is one
//! of the standard methods or `other`; `db` is the database file's stem (`venues`).
//!
//! Recording is lock-free: the SQLite and outbox handles are registered once and then only
//! touch atomics; an HTTP request looks its two series up in the recorder's sharded registry
//! (a read lock on one shard, never a global lock). Histograms are fixed buckets, so memory
//! does not grow with traffic; samples waiting to be bucketed are drained every
//! [`UPKEEP`] by a background thread and at every scrape.

use std::path::Path;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use ::metrics::{Counter, Gauge, Histogram, Label, SharedString, Unit};
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

/// Where every service serves its metrics.
pub const PATH: &str = "/metrics";

/// The `route` label of a request no route matched.
pub const UNMATCHED: &str = "unmatched";

/// How often samples are drained into their buckets between scrapes.
pub const UPKEEP: Duration = Duration::from_secs(5);

pub const HTTP_REQUESTS: &str = "http_requests_total";
pub const HTTP_DURATION: &str = "http_request_duration_seconds";
pub const SQLITE_WRITE: &str = "sqlite_write_seconds";
pub const SQLITE_COMMIT: &str = "sqlite_commit_seconds";
pub const SQLITE_GROUP_SIZE: &str = "sqlite_write_group_size";
pub const SQLITE_COMMIT_FAILURES: &str = "sqlite_commit_failures_total";
pub const SQLITE_READ: &str = "sqlite_read_seconds";
pub const OUTBOX_BACKLOG: &str = "outbox_backlog";
pub const OUTBOX_DELIVERIES: &str = "outbox_deliveries_total";
pub const OUTBOX_FAILURES: &str = "outbox_delivery_failures_total";

/// Seconds, from half a millisecond (a cached read) to ten seconds (the internal client's
/// timeout; the server gives up at nine).
const SECONDS_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Writes per group commit, up to the writer's cap of 256.
const GROUP_BUCKETS: &[f64] = &[1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// The process's recorder, installed on first use. The `metrics` facade has one global
/// recorder per process, so every app, store and outbox of a process (tests build many)
/// shares it; installing is idempotent.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let recorder = PrometheusBuilder::new()
            .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(Matcher::Full(SQLITE_GROUP_SIZE.into()), GROUP_BUCKETS)
            })
            .expect("the bucket lists are constant and not empty")
            .build_recorder();
        let handle = recorder.handle();
        if ::metrics::set_global_recorder(recorder).is_err() {
            // Only another library in the same process could have done this; our series then
            // go to its recorder and `/metrics` shows none of them.
            tracing::warn!(
                "another metrics recorder is installed in this process: /metrics stays empty"
            );
        }
        describe();
        let upkeep = handle.clone();
        let spawned = std::thread::Builder::new()
            .name("metrics-upkeep".into())
            .spawn(move || {
                loop {
                    std::thread::sleep(UPKEEP);
                    upkeep.run_upkeep();
                }
            });
        if let Err(e) = spawned {
            // Scrapes drain the samples too; without scrapes they would pile up.
            tracing::warn!(error = %e, "cannot start the metrics upkeep thread");
        }
        handle
    })
}

/// The `# HELP` lines.
fn describe() {
    use ::metrics::{describe_counter, describe_gauge, describe_histogram};
    describe_counter!(
        HTTP_REQUESTS,
        "Requests answered, by route template, method and status"
    );
    describe_histogram!(
        HTTP_DURATION,
        Unit::Seconds,
        "Time from a request's arrival to its answer's head"
    );
    describe_histogram!(
        SQLITE_WRITE,
        Unit::Seconds,
        "Time from a write's submission to its durable acknowledgement (group commit included)"
    );
    describe_histogram!(SQLITE_COMMIT, Unit::Seconds, "Time of one group commit");
    describe_histogram!(SQLITE_GROUP_SIZE, "Writes committed together by one commit");
    describe_counter!(SQLITE_COMMIT_FAILURES, "Group commits that failed");
    describe_histogram!(
        SQLITE_READ,
        Unit::Seconds,
        "Time of a read, waiting for a reader connection included"
    );
    describe_gauge!(
        OUTBOX_BACKLOG,
        "Outbox deliveries pending (neither delivered nor parked)"
    );
    describe_counter!(OUTBOX_DELIVERIES, "Outbox deliveries the consumer accepted");
    describe_counter!(
        OUTBOX_FAILURES,
        "Failed outbox delivery attempts: retry (tried again later) or parked (given up)"
    );
}

/// `GET /metrics`: the text exposition format. The caller's right to read it is checked by
/// the layer [`service::finish`](crate::service::finish) puts in front.
pub(crate) async fn render() -> Response {
    let body = handle().render();
    let mut response = body.into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// Middleware: counts and times every request by route template, method and status. Runs
/// after routing (axum applies `Router::layer` to each route), so the template is known.
pub(crate) async fn track(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let route: SharedString = match req.extensions().get::<MatchedPath>() {
        Some(template) => Arc::<str>::from(template.as_str()).into(),
        None => UNMATCHED.into(),
    };
    let method = method_label(req.method());
    let response = next.run(req).await;
    let status: Arc<str> = response.status().as_str().into();
    // Shared strings: both series take the labels by reference count, not by copy.
    let labels = [
        Label::new("route", route),
        Label::new("method", method),
        Label::new("status", status),
    ];
    ::metrics::counter!(HTTP_REQUESTS, labels.iter()).increment(1);
    ::metrics::histogram!(HTTP_DURATION, labels.iter()).record(started.elapsed());
    response
}

/// A bounded label: a client can send any method token.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::HEAD => "HEAD",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// The series of one database, registered once when it opens.
#[derive(Clone)]
pub(crate) struct DbMetrics {
    pub write: Histogram,
    pub read: Histogram,
    pub commit: Histogram,
    pub group_size: Histogram,
    pub commit_failures: Counter,
}

impl DbMetrics {
    pub fn of(path: &Path) -> DbMetrics {
        handle();
        let db = path
            .file_stem()
            .map_or_else(|| "db".to_string(), |s| s.to_string_lossy().into_owned());
        DbMetrics {
            write: ::metrics::histogram!(SQLITE_WRITE, "db" => db.clone()),
            read: ::metrics::histogram!(SQLITE_READ, "db" => db.clone()),
            commit: ::metrics::histogram!(SQLITE_COMMIT, "db" => db.clone()),
            group_size: ::metrics::histogram!(SQLITE_GROUP_SIZE, "db" => db.clone()),
            commit_failures: ::metrics::counter!(SQLITE_COMMIT_FAILURES, "db" => db),
        }
    }
}

/// The backlog gauge of one outbox consumer.
pub(crate) fn outbox_backlog(consumer: &'static str) -> Gauge {
    handle();
    ::metrics::gauge!(OUTBOX_BACKLOG, "consumer" => consumer)
}

/// One delivery attempt's outcome, counted. A handful per event: looked up each time.
pub(crate) fn outbox_attempt(consumer: &'static str, topic: &str, failure: Option<&'static str>) {
    let topic = topic.to_string();
    match failure {
        None => ::metrics::counter!(OUTBOX_DELIVERIES, "consumer" => consumer, "topic" => topic)
            .increment(1),
        Some(outcome) => ::metrics::counter!(
            OUTBOX_FAILURES,
            "consumer" => consumer,
            "topic" => topic,
            "outcome" => outcome
        )
        .increment(1),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn methods_are_a_bounded_label() {
        assert_eq!(method_label(&Method::GET), "GET");
        assert_eq!(method_label(&Method::from_bytes(b"BREW").unwrap()), "other");
    }

    #[test]
    fn installing_twice_gives_the_same_recorder() {
        let first: *const PrometheusHandle = handle();
        let second: *const PrometheusHandle = handle();
        assert_eq!(first, second);
    }
}
