//! The transactional outbox: side effects that happen exactly once, after the state change
//! committed, even when the service that performs them is down (spec §4).
//!
//! ## Why
//!
//! Calling another service from inside a request handler either fails the caller's request
//! when that service is down, or (if the failure is ignored) loses the effect. Calling it
//! before the commit may apply an effect for a change that then rolls back; calling it after
//! may lose it when we crash in between. So a producer writes its events **in the same SQLite
//! transaction as the state change** ([`Outbox::enqueue`] inside `db.write`): the event exists
//! if and only if the change does. A background [`Dispatcher`] then delivers the stored events
//! over HTTP, retrying until the consumer accepts them. Pending deliveries are rows, so they
//! survive a restart.
//!
//! ## Delivery semantics
//!
//! * Each event is POSTed as a [`Delivery`] (`{"id","topic","payload"}`) to the route's
//!   `target.url(path)`, with the internal token (from the route's [`Client`](crate::client::Client))
//!   and the header [`EVENT_ID_HEADER`].
//! * **At least once.** A crash between the consumer's 2xx and our mark, or a mark that fails,
//!   means the event is sent again. The outcomes of a round (up to [`BATCH`] deliveries, each
//!   still sent alone and in order) are marked in one write when it ends: one commit per round
//!   instead of one per delivery. Consumers make that harmless: inside the same write as the
//!   effect they call [`first_delivery`], and apply the effect only when it says `true`; either
//!   way they answer 2xx.
//! * 2xx → delivered. 408, 429, 5xx, a transport error or a timeout (the client's 10 s) →
//!   retried with exponential back-off and jitter (1 s, 2 s, 4 s … capped at 60 s by default;
//!   a longer `Retry-After` is honoured up to the cap). A 401 carrying
//!   [`INTERNAL_TOKEN_REFUSED_HEADER`](crate::service::INTERNAL_TOKEN_REFUSED_HEADER) is our
//!   own misconfigured token, so it is retried too rather than losing every event.
//! * Any other 4xx → **parked**: never retried, logged at error level with the consumer's
//!   description, counted by [`Outbox::parked`]. An operator can re-queue a parked delivery
//!   with `UPDATE outbox_deliveries SET parked_at = NULL, next_attempt_at = 0 WHERE …`.
//! * Per consumer, deliveries are attempted in event order (`seq`): a consumer that fails
//!   holds back its own later events (so it never sees them out of order) but every consumer
//!   has its own task, so it never delays another. A parked delivery does not hold back the
//!   ones after it. At most [`BATCH`] deliveries are read per round.
//! * The dispatcher wakes on [`Outbox::notify`], when the next back-off ends, and every second
//!   anyway (events committed before a restart, or by a caller that forgot to notify).
//! * Delivered rows older than 7 days are pruned hourly, then events left with no delivery.
//!   Parked and pending rows are kept.
//! * One dispatcher per database: two would both deliver (harmlessly, thanks to
//!   [`first_delivery`], but twice).
//! * Measured ([`crate::metrics`]): each consumer task refreshes `outbox_backlog{consumer}` at
//!   most once per second (a count on the pending index, so a long backlog being drained is
//!   not recounted after every batch), and counts its attempts in `outbox_deliveries_total`
//!   and `outbox_delivery_failures_total{outcome="retry"|"parked"}`.
//!
//! ## Tables
//!
//! Producer ([`MIGRATION`], appended to the service's migration list): `outbox_events(seq,
//! id, topic, payload, created_at)`, one row per event, `payload` its JSON text, and
//! `outbox_deliveries(event_seq, consumer, attempts, next_attempt_at, delivered_at,
//! parked_at, last_error)`, one row per (event, consumer). Consumer ([`INBOX_MIGRATION`]):
//! `inbox(event_id, received_at)`, the ids already applied. Every time is Unix milliseconds.
//! A shipped migration never changes; a new layout comes as a new constant.
//!
//! ## Adding a consumer
//!
//! One [`Route`] in the producer's list: which topic, a consumer name (stable: it is stored in
//! `outbox_deliveries`), the consumer service and the path it receives events on.
//!
//! ```no_run
//! # fn routes(stats: chefcito::client::Downstream, points: chefcito::client::Downstream) -> chefcito::outbox::Outbox {
//! use chefcito::outbox::{Outbox, Route};
//! let outbox = Outbox::new(vec![
//!     Route { topic: "reservation.finished", consumer: "stats", target: stats, path: "stats/events" },
//!     Route { topic: "reservation.finished", consumer: "points", target: points, path: "points/events" },
//! ]);
//! # outbox }
//! ```
//!
//! Producer: `let id = outbox.enqueue(tx, "reservation.finished", &event)?;` inside the
//! `db.write` that changes the state, then `outbox.notify()` once it returned `Ok`;
//! `let _dispatcher = outbox.spawn_dispatcher(db.clone());` at start-up, kept alive as long as
//! the service runs. Consumer: a `POST` handler extracting `Delivery<Event>` whose store
//! function runs `if first_delivery(tx, &delivery.id)? { apply the effect }` in one write.
//! It answers 2xx for a redelivery too, and a 4xx only for an event it can never apply (that
//! delivery is parked). The route is internal: build its `Downstream` on the service's
//! internal [`Client`](crate::client::Client), which carries the token. The inbox is never
//! pruned: rows are tiny, and a parked delivery re-queued months later must still be
//! recognised.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Method, StatusCode};
use rusqlite::{Transaction, params};
use serde::{Deserialize, Serialize};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::client::{Downstream, Raw};
use crate::db::{Db, DbError};
use crate::error::Envelope;

/// Header carrying the event id on every delivery (the body has it too).
pub const EVENT_ID_HEADER: &str = "x-chefcito-event-id";

/// Producer tables; append to the service's migrations.
pub const MIGRATION: &str = r#"
CREATE TABLE outbox_events (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    id         TEXT NOT NULL UNIQUE,
    topic      TEXT NOT NULL,
    payload    TEXT NOT NULL,
    created_at INTEGER NOT NULL
);
CREATE TABLE outbox_deliveries (
    event_seq       INTEGER NOT NULL REFERENCES outbox_events (seq),
    consumer        TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    parked_at       INTEGER,
    last_error      TEXT,
    PRIMARY KEY (event_seq, consumer)
);
-- What the dispatcher reads each round: one consumer's pending deliveries in event order.
CREATE INDEX outbox_deliveries_pending ON outbox_deliveries (consumer, event_seq)
    WHERE delivered_at IS NULL AND parked_at IS NULL;
CREATE INDEX outbox_deliveries_delivered ON outbox_deliveries (delivered_at)
    WHERE delivered_at IS NOT NULL;
"#;

/// Consumer table; append to the consumer service's migrations.
pub const INBOX_MIGRATION: &str = r#"
CREATE TABLE inbox (
    event_id    TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Deliveries read per consumer and round.
pub const BATCH: usize = 100;
/// Events are small notices, not documents; a bigger payload is a bug of the producer, refused
/// at enqueue rather than parked later by the consumer's body limit.
pub const MAX_PAYLOAD_BYTES: usize = 64 * 1024;

const POLL: Duration = Duration::from_secs(1);
const RETENTION: Duration = Duration::from_secs(7 * 24 * 3600);
const PRUNE_EVERY: Duration = Duration::from_secs(3600);
const PRUNE_CHUNK: i64 = 1000;
const MAX_ERROR_CHARS: usize = 500;

/// Where the events of one topic go for one consumer.
pub struct Route {
    pub topic: &'static str,
    /// Stored with each pending delivery: keep it stable across releases.
    pub consumer: &'static str,
    pub target: Downstream,
    /// Under the target's base URL, e.g. `"stats/events"`.
    pub path: &'static str,
}

/// The producer's side: enqueues events and runs the dispatcher. Cheap to clone.
#[derive(Clone)]
pub struct Outbox {
    inner: Arc<Inner>,
    backoff: Backoff,
}

struct Inner {
    routes: Vec<RouteEntry>,
    consumers: Vec<ConsumerSlot>,
}

struct RouteEntry {
    route: Route,
    segments: Vec<&'static str>,
}

struct ConsumerSlot {
    name: &'static str,
    // One per consumer task: `notify_one` keeps a permit when the task is busy, so a wake-up
    // that arrives mid-round is not lost.
    wake: Notify,
}

#[derive(Clone, Copy, Debug)]
struct Backoff {
    base: Duration,
    cap: Duration,
}

impl std::fmt::Debug for Outbox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let routes: Vec<_> = self
            .inner
            .routes
            .iter()
            .map(|r| (r.route.topic, r.route.consumer))
            .collect();
        f.debug_struct("Outbox")
            .field("routes", &routes)
            .field("backoff", &self.backoff)
            .finish()
    }
}

impl Outbox {
    /// Panics when two routes share a topic and a consumer: the route list is code, and such a
    /// list would store one delivery for two targets.
    pub fn new(routes: Vec<Route>) -> Outbox {
        let mut seen = HashSet::new();
        let mut consumers: Vec<ConsumerSlot> = Vec::new();
        for r in &routes {
            assert!(
                seen.insert((r.topic, r.consumer)),
                "outbox: two routes for topic {:?} and consumer {:?}",
                r.topic,
                r.consumer
            );
            if !consumers.iter().any(|c| c.name == r.consumer) {
                consumers.push(ConsumerSlot {
                    name: r.consumer,
                    wake: Notify::new(),
                });
            }
        }
        let routes = routes
            .into_iter()
            .map(|route| RouteEntry {
                segments: route.path.split('/').filter(|s| !s.is_empty()).collect(),
                route,
            })
            .collect();
        Outbox {
            inner: Arc::new(Inner { routes, consumers }),
            backoff: Backoff {
                base: Duration::from_secs(1),
                cap: Duration::from_secs(60),
            },
        }
    }

    /// Changes the back-off (default 1 s doubling up to 60 s); tests shorten it.
    pub fn with_backoff(mut self, base: Duration, cap: Duration) -> Outbox {
        self.backoff = Backoff {
            base: base.max(Duration::from_millis(1)),
            cap: cap.max(base),
        };
        self
    }

    /// Inside a `db.write` closure: stores the event and one pending delivery per consumer
    /// routed for `topic`, and returns the event id (a UUID v4). A topic nobody is routed for
    /// stores nothing. A payload that does not serialize, or over [`MAX_PAYLOAD_BYTES`], is
    /// an error, so the whole write fails.
    pub fn enqueue(
        &self,
        tx: &Transaction,
        topic: &str,
        payload: &impl Serialize,
    ) -> rusqlite::Result<String> {
        let id = uuid::Uuid::new_v4().to_string();
        let payload = serde_json::to_string(payload)
            .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
        if payload.len() > MAX_PAYLOAD_BYTES {
            return Err(rusqlite::Error::ToSqlConversionFailure(
                format!(
                    "outbox payload of topic {topic:?} is {} bytes, over {MAX_PAYLOAD_BYTES}",
                    payload.len()
                )
                .into(),
            ));
        }
        let consumers: Vec<&str> = self
            .inner
            .routes
            .iter()
            .filter(|r| r.route.topic == topic)
            .map(|r| r.route.consumer)
            .collect();
        if consumers.is_empty() {
            tracing::debug!(
                topic,
                "no consumer is routed for this topic; event not stored"
            );
            return Ok(id);
        }
        let now = now_ms();
        tx.execute(
            "INSERT INTO outbox_events (id, topic, payload, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![id, topic, payload, now],
        )?;
        let seq = tx.last_insert_rowid();
        let mut insert = tx.prepare_cached(
            "INSERT INTO outbox_deliveries (event_seq, consumer, next_attempt_at) VALUES (?1, ?2, ?3)",
        )?;
        for consumer in consumers {
            insert.execute(params![seq, consumer, now])?;
        }
        Ok(id)
    }

    /// Wakes the dispatcher; call once the write that enqueued has committed.
    pub fn notify(&self) {
        for consumer in &self.inner.consumers {
            consumer.wake.notify_one();
        }
    }

    /// Starts the dispatcher on `db`: one task per consumer plus an hourly pruning task. They
    /// stop when the returned [`Dispatcher`] is dropped or aborted. Needs a tokio runtime.
    pub fn spawn_dispatcher(&self, db: Db) -> Dispatcher {
        let mut tasks = JoinSet::new();
        for index in 0..self.inner.consumers.len() {
            tasks.spawn(run_consumer(self.clone(), db.clone(), index));
        }
        tasks.spawn(housekeeping(self.clone(), db));
        Dispatcher { tasks }
    }

    /// Pending deliveries (neither delivered nor parked) per consumer, by consumer name;
    /// consumers with nothing pending are absent.
    pub async fn backlog(&self, db: &Db) -> Result<Vec<(String, i64)>, DbError> {
        count_per_consumer(db, "delivered_at IS NULL AND parked_at IS NULL").await
    }

    /// Parked deliveries (refused for good by the consumer) per consumer, by consumer name.
    pub async fn parked(&self, db: &Db) -> Result<Vec<(String, i64)>, DbError> {
        count_per_consumer(db, "parked_at IS NOT NULL").await
    }

    fn route(&self, topic: &str, consumer: &str) -> Option<&RouteEntry> {
        self.inner
            .routes
            .iter()
            .find(|r| r.route.topic == topic && r.route.consumer == consumer)
    }
}

async fn count_per_consumer(
    db: &Db,
    condition: &'static str,
) -> Result<Vec<(String, i64)>, DbError> {
    db.read(move |c| {
        let mut stmt = c.prepare_cached(&format!(
            "SELECT consumer, count(*) FROM outbox_deliveries WHERE {condition} \
             GROUP BY consumer ORDER BY consumer"
        ))?;
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
    })
    .await
    .map_err(DbError::from)
}

/// The running dispatcher; dropping it stops the delivery tasks. Whatever they were doing is
/// safe to interrupt: an unmarked attempt is simply made again.
pub struct Dispatcher {
    tasks: JoinSet<()>,
}

impl std::fmt::Debug for Dispatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dispatcher")
            .field("consumers", &self.tasks.len())
            .finish()
    }
}

impl Dispatcher {
    /// Stops the dispatcher now (dropping it does the same).
    pub fn abort(&mut self) {
        self.tasks.abort_all();
    }
}

impl Drop for Dispatcher {
    fn drop(&mut self) {
        self.tasks.abort_all();
    }
}

/// The body POSTed to a consumer, and what its handler extracts (`Delivery<MyEvent>`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Delivery<T = serde_json::Value> {
    /// The event id: the consumer's idempotency key.
    pub id: String,
    pub topic: String,
    pub payload: T,
}

/// Consumer side, inside the same write as the effect: `true` the first time this event id
/// is seen, `false` for a redelivery (apply nothing, answer 2xx all the same).
pub fn first_delivery(tx: &Transaction, event_id: &str) -> rusqlite::Result<bool> {
    let inserted = tx.execute(
        "INSERT INTO inbox (event_id, received_at) VALUES (?1, ?2) ON CONFLICT (event_id) DO NOTHING",
        params![event_id, now_ms()],
    )?;
    Ok(inserted == 1)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// One pending delivery with its event.
struct Pending {
    seq: i64,
    attempts: i64,
    next_attempt_at: i64,
    id: String,
    topic: String,
    payload: String,
}

enum Outcome {
    Delivered,
    Retry {
        error: String,
        retry_after: Option<Duration>,
    },
    Park(String),
}

/// When a consumer task should look again.
enum Next {
    Now,
    At(i64),
    Poll,
}

async fn run_consumer(outbox: Outbox, db: Db, index: usize) {
    let slot = &outbox.inner.consumers[index];
    let backlog = crate::metrics::outbox_backlog(slot.name);
    let mut counted: Option<std::time::Instant> = None;
    loop {
        let next = match deliver_due(&outbox, &db, slot.name).await {
            Ok(next) => next,
            Err(e) => {
                tracing::error!(consumer = slot.name, error = %e, "outbox: cannot read or mark deliveries");
                Next::Poll
            }
        };
        if counted.is_none_or(|at| at.elapsed() >= POLL) {
            match pending(&db, slot.name).await {
                Ok(n) => backlog.set(n as f64),
                Err(e) => {
                    tracing::debug!(consumer = slot.name, error = %e, "outbox: cannot count the backlog")
                }
            }
            counted = Some(std::time::Instant::now());
        }
        let pause = match next {
            Next::Now => {
                tokio::task::yield_now().await;
                continue;
            }
            Next::At(at) => Duration::from_millis((at - now_ms()).max(0) as u64).min(POLL),
            Next::Poll => POLL,
        };
        tokio::select! {
            () = slot.wake.notified() => {}
            () = tokio::time::sleep(pause) => {}
        }
    }
}

/// The pending deliveries of one consumer (read from the partial index of pending rows).
async fn pending(db: &Db, consumer: &'static str) -> Result<i64, DbError> {
    db.read(move |c| {
        c.prepare_cached(
            "SELECT count(*) FROM outbox_deliveries
             WHERE consumer = ?1 AND delivered_at IS NULL AND parked_at IS NULL",
        )?
        .query_row([consumer], |r| r.get(0))
    })
    .await
    .map_err(DbError::from)
}

/// Attempts the due deliveries of `consumer` in event order, stopping at the first one that
/// must wait (its back-off has not ended, or it just failed).
async fn deliver_due(outbox: &Outbox, db: &Db, consumer: &'static str) -> Result<Next, DbError> {
    let pending = db
        .read(move |c| {
            let mut stmt = c.prepare_cached(
                "SELECT d.event_seq, d.attempts, d.next_attempt_at, e.id, e.topic, e.payload
                 FROM outbox_deliveries d JOIN outbox_events e ON e.seq = d.event_seq
                 WHERE d.consumer = ?1 AND d.delivered_at IS NULL AND d.parked_at IS NULL
                 ORDER BY d.event_seq LIMIT ?2",
            )?;
            let rows = stmt.query_map(params![consumer, BATCH as i64], |r| {
                Ok(Pending {
                    seq: r.get(0)?,
                    attempts: r.get(1)?,
                    next_attempt_at: r.get(2)?,
                    id: r.get(3)?,
                    topic: r.get(4)?,
                    payload: r.get(5)?,
                })
            })?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .map_err(DbError::from)?;
    let mut next = if pending.len() == BATCH {
        Next::Now
    } else {
        Next::Poll
    };
    // Marked together once the round ends: one commit for up to BATCH deliveries rather than
    // one each (three consumers of a booking meant three fsyncs more per booking). A crash
    // before it only sends them again, which consumers deduplicate (`first_delivery`).
    let mut marks = Vec::new();
    for delivery in pending {
        if delivery.next_attempt_at > now_ms() {
            next = Next::At(delivery.next_attempt_at);
            break;
        }
        let attempts = delivery.attempts + 1;
        match attempt(outbox, consumer, &delivery).await {
            Outcome::Delivered => {
                crate::metrics::outbox_attempt(consumer, &delivery.topic, None);
                marks.push((delivery.seq, Mark::Delivered { attempts }));
            }
            Outcome::Park(error) => {
                crate::metrics::outbox_attempt(consumer, &delivery.topic, Some("parked"));
                tracing::error!(
                    consumer,
                    topic = %delivery.topic,
                    event_id = %delivery.id,
                    attempts,
                    error = %error,
                    "outbox: the consumer refused the event for good; delivery parked"
                );
                marks.push((delivery.seq, Mark::Parked { attempts, error }));
            }
            Outcome::Retry { error, retry_after } => {
                crate::metrics::outbox_attempt(consumer, &delivery.topic, Some("retry"));
                let delay = outbox
                    .backoff
                    .delay(attempts, jitter())
                    .max(retry_after.unwrap_or_default().min(outbox.backoff.cap));
                tracing::warn!(
                    consumer,
                    topic = %delivery.topic,
                    event_id = %delivery.id,
                    attempts,
                    retry_in_ms = delay.as_millis() as u64,
                    error = %error,
                    "outbox: delivery failed, will retry"
                );
                let at = now_ms() + delay.as_millis() as i64;
                marks.push((
                    delivery.seq,
                    Mark::Retry {
                        attempts,
                        at,
                        error,
                    },
                ));
                next = Next::At(at);
                break;
            }
        }
    }
    mark(db, consumer, marks).await?;
    Ok(next)
}

async fn attempt(outbox: &Outbox, consumer: &str, delivery: &Pending) -> Outcome {
    let Some(entry) = outbox.route(&delivery.topic, consumer) else {
        // The route was removed in a later release: it can never be delivered, and waiting
        // would hold back every later event of this consumer.
        return Outcome::Park(format!(
            "no route for topic {:?} to consumer {consumer:?}",
            delivery.topic
        ));
    };
    let payload = match serde_json::from_str::<serde_json::Value>(&delivery.payload) {
        Ok(payload) => payload,
        Err(e) => return Outcome::Park(format!("stored payload is not JSON: {e}")),
    };
    let body = Delivery {
        id: delivery.id.clone(),
        topic: delivery.topic.clone(),
        payload,
    };
    let target = &entry.route.target;
    let url = target.url(&entry.segments);
    match target
        .client()
        .raw(
            Method::POST,
            &url,
            Some(&body),
            &[(EVENT_ID_HEADER, &delivery.id)],
        )
        .await
    {
        Ok(raw) => classify(&raw),
        Err(e) => Outcome::Retry {
            error: e.description,
            retry_after: None,
        },
    }
}

fn classify(raw: &Raw) -> Outcome {
    let status = raw.status;
    if status.is_success() {
        return Outcome::Delivered;
    }
    let description = serde_json::from_slice::<Envelope>(&raw.body)
        .map(|e| e.description)
        .unwrap_or_else(|_| status.canonical_reason().unwrap_or("").to_string());
    let error = format!("HTTP {}: {description}", status.as_u16());
    let refused_token = raw
        .headers
        .contains_key(crate::service::INTERNAL_TOKEN_REFUSED_HEADER);
    let transient = status == StatusCode::REQUEST_TIMEOUT
        || status == StatusCode::TOO_MANY_REQUESTS
        || !status.is_client_error()
        || refused_token;
    if transient {
        let retry_after = raw
            .headers
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        Outcome::Retry { error, retry_after }
    } else {
        Outcome::Park(error)
    }
}

impl Backoff {
    /// Exponential with "equal jitter": half the step is fixed, so the delay still grows with
    /// each attempt, and half is random, so consumers that failed together do not all retry
    /// together. `unit` is a random number in [0, 1].
    fn delay(&self, attempts: i64, unit: f64) -> Duration {
        let doublings = attempts.saturating_sub(1).clamp(0, 30) as u32;
        let step = self.base.saturating_mul(1 << doublings).min(self.cap);
        step / 2 + step.mul_f64(unit.clamp(0.0, 1.0) / 2.0)
    }
}

fn jitter() -> f64 {
    // A v4 UUID is 122 random bits from the OS: enough randomness without another dependency.
    let (high, _) = uuid::Uuid::new_v4().as_u64_pair();
    (high >> 11) as f64 / (1u64 << 53) as f64
}

enum Mark {
    Delivered {
        attempts: i64,
    },
    Parked {
        attempts: i64,
        error: String,
    },
    Retry {
        attempts: i64,
        at: i64,
        error: String,
    },
}

/// Records the outcomes of a round's deliveries, in one write.
async fn mark(db: &Db, consumer: &'static str, marks: Vec<(i64, Mark)>) -> Result<(), DbError> {
    if marks.is_empty() {
        return Ok(());
    }
    db.write(move |tx| {
        let now = now_ms();
        for (seq, mark) in marks {
            mark_one(tx, consumer, seq, mark, now)?;
        }
        Ok(())
    })
    .await
}

fn mark_one(
    tx: &rusqlite::Transaction<'_>,
    consumer: &str,
    seq: i64,
    mark: Mark,
    now: i64,
) -> rusqlite::Result<()> {
    // The pending condition keeps a mark from overwriting a final state (another
    // dispatcher on the same file, against the advice above).
    const PENDING: &str =
        "event_seq = ?1 AND consumer = ?2 AND delivered_at IS NULL AND parked_at IS NULL";
    match mark {
        Mark::Delivered { attempts } => tx
            .prepare_cached(&format!(
                "UPDATE outbox_deliveries SET attempts = ?3, delivered_at = ?4 WHERE {PENDING}"
            ))?
            .execute(params![seq, consumer, attempts, now]),
        Mark::Parked { attempts, error } => tx
            .prepare_cached(&format!(
                "UPDATE outbox_deliveries SET attempts = ?3, parked_at = ?4, last_error = ?5 \
                 WHERE {PENDING}"
            ))?
            .execute(params![seq, consumer, attempts, now, stored_error(&error)]),
        Mark::Retry {
            attempts,
            at,
            error,
        } => tx
            .prepare_cached(&format!(
                "UPDATE outbox_deliveries SET attempts = ?3, next_attempt_at = ?4, \
                 last_error = ?5 WHERE {PENDING}"
            ))?
            .execute(params![seq, consumer, attempts, at, stored_error(&error)]),
    }
    .map(drop)
}

/// Bounded and printable: the text comes from another service.
fn stored_error(error: &str) -> String {
    error
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect()
}

async fn housekeeping(outbox: Outbox, db: Db) {
    match outbox.backlog(&db).await {
        Ok(backlog) => {
            for (consumer, count) in backlog {
                if !outbox.inner.consumers.iter().any(|c| c.name == consumer) {
                    tracing::error!(
                        consumer,
                        count,
                        "outbox: deliveries are pending for a consumer that has no route; \
                         they wait until one exists again"
                    );
                }
            }
        }
        Err(e) => tracing::error!(error = %e, "outbox: cannot read the backlog"),
    }
    loop {
        match prune(&db, now_ms() - RETENTION.as_millis() as i64).await {
            Ok(0) => {}
            Ok(removed) => tracing::info!(removed, "outbox: pruned delivered events"),
            Err(e) => tracing::error!(error = %e, "outbox: pruning failed"),
        }
        tokio::time::sleep(PRUNE_EVERY).await;
    }
}

/// Deletes deliveries delivered before `cutoff`, then the events left without any delivery,
/// in chunks so that the writer is never held for long. Returns the number of rows removed.
async fn prune(db: &Db, cutoff: i64) -> Result<usize, DbError> {
    let mut removed = 0;
    loop {
        let (deliveries, events) = db
            .write(move |tx| {
                let deliveries = tx.execute(
                    "DELETE FROM outbox_deliveries WHERE rowid IN (
                         SELECT rowid FROM outbox_deliveries
                         WHERE delivered_at IS NOT NULL AND delivered_at < ?1 LIMIT ?2)",
                    params![cutoff, PRUNE_CHUNK],
                )?;
                let events = tx.execute(
                    "DELETE FROM outbox_events WHERE seq IN (
                         SELECT seq FROM outbox_events e
                         WHERE created_at < ?1
                           AND NOT EXISTS (SELECT 1 FROM outbox_deliveries d WHERE d.event_seq = e.seq)
                         LIMIT ?2)",
                    params![cutoff, PRUNE_CHUNK],
                )?;
                Ok::<_, DbError>((deliveries, events))
            })
            .await?;
        removed += deliveries + events;
        if (deliveries as i64) < PRUNE_CHUNK && (events as i64) < PRUNE_CHUNK {
            return Ok(removed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_stops_at_the_cap() {
        let b = Backoff {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(60),
        };
        assert_eq!(b.delay(1, 0.0), Duration::from_millis(500));
        assert_eq!(b.delay(1, 1.0), Duration::from_secs(1));
        assert_eq!(b.delay(3, 1.0), Duration::from_secs(4));
        assert_eq!(b.delay(3, 0.0), Duration::from_secs(2));
        // Whatever the jitter, a later attempt never waits less than an earlier one.
        assert!(b.delay(4, 0.0) >= b.delay(3, 1.0));
        assert_eq!(b.delay(7, 1.0), Duration::from_secs(60));
        assert_eq!(b.delay(10_000, 1.0), Duration::from_secs(60));
        assert_eq!(b.delay(0, 1.0), Duration::from_secs(1));
        for _ in 0..100 {
            let unit = jitter();
            assert!((0.0..1.0).contains(&unit), "{unit}");
        }
    }

    fn raw(status: u16, headers: &[(&'static str, &str)]) -> Raw {
        let mut map = reqwest::header::HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, v.parse().unwrap());
        }
        Raw {
            status: StatusCode::from_u16(status).unwrap(),
            headers: map,
            body: r#"{"description":"Reservation unknown","endpoint":"/x"}"#.into(),
        }
    }

    #[test]
    fn classifies_answers() {
        assert!(matches!(classify(&raw(204, &[])), Outcome::Delivered));
        for status in [408, 429, 500, 502, 503] {
            assert!(
                matches!(classify(&raw(status, &[])), Outcome::Retry { .. }),
                "{status}"
            );
        }
        for status in [400, 404, 409, 422] {
            match classify(&raw(status, &[])) {
                Outcome::Park(error) => assert!(error.contains("Reservation unknown"), "{error}"),
                _ => panic!("{status} must park"),
            }
        }
        let refused = raw(401, &[(crate::service::INTERNAL_TOKEN_REFUSED_HEADER, "1")]);
        assert!(matches!(classify(&refused), Outcome::Retry { .. }));
        assert!(matches!(classify(&raw(401, &[])), Outcome::Park(_)));
        match classify(&raw(429, &[("retry-after", "7")])) {
            Outcome::Retry { retry_after, .. } => {
                assert_eq!(retry_after, Some(Duration::from_secs(7)))
            }
            _ => panic!("429 must retry"),
        }
    }

    #[test]
    fn stored_errors_are_bounded_and_printable() {
        let long = format!("a\nb{}", "x".repeat(2000));
        let stored = stored_error(&long);
        assert_eq!(stored.chars().count(), MAX_ERROR_CHARS);
        assert!(stored.starts_with("a b"));
    }

    /// A delivery: consumer, delivered_at, parked_at.
    type Row = (&'static str, Option<i64>, Option<i64>);

    #[tokio::test]
    async fn prunes_old_delivered_rows_and_keeps_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("p.db"), &[MIGRATION]).unwrap();
        let day = 24 * 3600 * 1000;
        let now = now_ms();
        db.write(move |tx| {
            // (event, created, [(consumer, delivered_at, parked_at)])
            let rows: &[(&str, i64, &[Row])] = &[
                ("old-done", now - 9 * day, &[("a", Some(now - 8 * day), None)]),
                (
                    "old-half",
                    now - 9 * day,
                    &[("a", Some(now - 8 * day), None), ("b", None, None)],
                ),
                ("old-parked", now - 9 * day, &[("a", None, Some(now - 8 * day))]),
                ("recent", now - day, &[("a", Some(now - day), None)]),
            ];
            for (id, created, deliveries) in rows {
                tx.execute(
                    "INSERT INTO outbox_events (id, topic, payload, created_at) VALUES (?1, 't', '{}', ?2)",
                    params![id, created],
                )?;
                let seq = tx.last_insert_rowid();
                for (consumer, delivered, parked) in deliveries.iter() {
                    tx.execute(
                        "INSERT INTO outbox_deliveries (event_seq, consumer, next_attempt_at, delivered_at, parked_at)
                         VALUES (?1, ?2, 0, ?3, ?4)",
                        params![seq, consumer, delivered, parked],
                    )?;
                }
            }
            Ok::<_, rusqlite::Error>(())
        })
        .await
        .unwrap();
        let removed = prune(&db, now - RETENTION.as_millis() as i64)
            .await
            .unwrap();
        assert_eq!(removed, 3, "two old deliveries and one event");
        let left: Vec<String> = db
            .read(|c| {
                let mut s = c.prepare_cached("SELECT id FROM outbox_events ORDER BY seq")?;
                let ids = s.query_map([], |r| r.get(0))?;
                ids.collect::<rusqlite::Result<Vec<_>>>()
            })
            .await
            .unwrap();
        assert_eq!(left, ["old-half", "old-parked", "recent"]);
        let deliveries: i64 = db
            .read(|c| c.query_row("SELECT count(*) FROM outbox_deliveries", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(deliveries, 3);
    }
}
