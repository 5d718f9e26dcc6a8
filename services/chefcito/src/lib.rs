//! # chefcito — the shared library of every Chefcito service
//!
//! One place for what every service needs, so that no service writes it again:
//!
//! * [`error`]: the error type every handler returns and its JSON envelope
//!   `{"description": "...", "endpoint": "<path>"}`;
//! * [`extract`]: JSON / query / path extractors whose rejections are clean 4xx envelopes;
//! * [`time`]: the datetime formats of the wire contract (parse every accepted form, print each
//!   output form);
//! * [`config`]: secrets and the common serving options every binary reads from the environment;
//! * [`db`]: the SQLite handle (WAL, migrations at start-up, group commit, reads in place);
//! * [`client`]: the one pooled internal HTTP client (timeouts, status mapping, internal token,
//!   request id propagation);
//! * [`jwks`]: bearer token verification against a JWKS with key caching;
//! * [`permissions`]: `db_config.yaml` parsing, validation and the permission table;
//! * [`service`]: the standard layers (health, readiness, metrics, request id, tracing, error
//!   envelope, internal token) and [`service::run`], the `main` of every service binary;
//! * [`metrics`]: the Prometheus metrics every service serves at `/metrics` (requests, SQLite
//!   writes and reads, the outbox);
//! * [`api`]: small wire types shared by a caller and a callee.
//!
//! Feature `openapi` (off by default): the client-facing wire types ([`api`], the error
//! [`error::Envelope`]) derive `utoipa::ToSchema`, so that a service publishing an OpenAPI
//! document describes these very types instead of copies.
//!
//! ## Decisions
//!
//! * **Metrics are internal, on every service, the public gateway included.** `GET /metrics`
//!   (Prometheus text format) is added by [`service::finish`], so no service writes code for
//!   it. It answers only a caller presenting the internal token, as `Authorization: Bearer
//!   <INTERNAL_TOKEN>` (what a Prometheus scrape config sends from a credentials file) or in
//!   `x-chefcito-internal-token`; anyone else gets the usual 401 envelope. It fails closed: a
//!   gateway started without `INTERNAL_TOKEN` refuses every scrape, and an internal service
//!   without one serves loopback callers only, like all its routes. The probes stay open,
//!   and `/metrics` is not in the gateway's OpenAPI document (it is not client API).
//! * **Bounded labels.** Requests are labelled with the route *template* (`/venues/{id}`),
//!   `unmatched` for unknown paths, and a fixed set of methods: a scanner cannot create
//!   series. See [`metrics`] for every name and label.
//! * **Access log: failures, not successes.** Every answer is counted and timed in
//!   `/metrics`; the log gets a line at `info` only for a refusal or failure (status ≥ 400) or
//!   an answer slower than 500 ms, and every other answer at `debug` (`LOG=debug` shows them).
//!   A line per success cost more than the request under load: in the cluster each line goes
//!   through the container engine's log driver.
//! * **`INTERNAL_TOKEN` may be unset, never empty**: an empty value is refused at start, since
//!   it would match a request carrying an empty header (fails closed).
//! * **mimalloc is every service's allocator** (set here, so no binary can forget it). Under
//!   load glibc's `malloc`/`free` were 15–18% of a service's CPU; with mimalloc the venues
//!   service answered 9,400 → 14,600 venue lookups per second (with reads in place, see
//!   [`db`]). Idle memory stays within the 20 MB budget.
//! * **One recorder per process**, installed on first use (an app, a store or an outbox):
//!   the `metrics` facade allows only one, and tests build many apps in one process.

pub mod api;
#[cfg(feature = "runtime")]
pub mod client;

/// Every service binary allocates with mimalloc (see the Decisions above).
#[cfg(feature = "runtime")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
pub mod config;
#[cfg(feature = "runtime")]
pub mod db;
#[cfg(feature = "runtime")]
pub mod error;
#[cfg(feature = "runtime")]
pub mod extract;
#[cfg(feature = "runtime")]
pub mod jwks;
#[cfg(feature = "runtime")]
pub mod metrics;
#[cfg(feature = "runtime")]
pub mod outbox;
pub mod permissions;
pub mod probe;
#[cfg(feature = "runtime")]
pub mod service;
#[cfg(feature = "testing")]
pub mod testing;
pub mod time;

#[cfg(feature = "runtime")]
pub use error::{ApiError, Result};

/// Header carrying the shared secret that internal services require (set by the cluster).
pub const INTERNAL_TOKEN_HEADER: &str = "x-chefcito-internal-token";
/// Header in which the gateway tells an internal service the client's address (sign-in
/// throttling); trusted only on calls that carry the internal token.
pub const CLIENT_IP_HEADER: &str = "x-chefcito-client-ip";
/// Header carrying the request id across services.
pub const REQUEST_ID_HEADER: &str = "x-request-id";
