//! # opinions — what diners say about their visits
//!
//! The opinions service of Chefcito. A diner who showed up (`Assisted`) gives one opinion on
//! that reservation; restaurants and diners read a venue's opinions (client contract E18,
//! E19); reservation listings attach each reservation's opinion with one batch call. Every new
//! opinion is written, in the same transaction, to a transactional outbox
//! ([`chefcito::outbox`]) that delivers an `opinion.created` event to points, communications
//! and summaries.
//!
//! Its HTTP API is internal (the gateway adds `user` from the verified token; reservations
//! reads opinions in batches) and is specified in `docs/internal-api.md`. Every route but
//! `/health` and `/ready` requires the internal token.
//!
//! ## Configuration (environment variables; the same names as `--flags` in `--help`)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `0.0.0.0:8004` (`127.0.0.1:8004` without `INTERNAL_TOKEN`) | address to listen on |
//! | `DATA_DIR` | `data` | holds `opinions.db` (opinions and the outbox) |
//! | `INTERNAL_TOKEN` | none | shared secret required in `x-chefcito-internal-token` and sent to the services called; without it the service serves loopback callers only |
//! | `LOG`, `LOG_FORMAT` | `info`, `text` | log filter and format (`text` or `json`) |
//! | `RESERVATIONS_URL` | `http://127.0.0.1:8002` | reservations service (is the reservation the caller's, `Assisted`, at that venue) |
//! | `POINTS_URL` | `http://127.0.0.1:8007` | points service (consumer of `opinion.created`) |
//! | `COMMUNICATIONS_URL` | `http://127.0.0.1:8008` | communications service (consumer of `opinion.created`) |
//! | `SUMMARIES_URL` | `http://127.0.0.1:8005` | summaries service (consumer of `opinion.created`) |
//!
//! ## Decisions
//!
//! * **Who may give an opinion** (spec §4, §10 Q2). The reservation is read from the
//!   reservations service as the caller sees it (`GET /reservations?id=…&caller=user/<uid>`).
//!   Checks, in this order: ids and text well-formed (400, before any call); the reservation
//!   visible to the caller, else **404** `Reservation does not exist` (unknown and someone
//!   else's look the same, so existence does not leak); the caller is its diner, else
//!   **403** (the caller sees it as its venue: a restaurant cannot review its own tables);
//!   it is `Assisted`, else 400; its venue is the body's `venue`, else 400; it has no opinion
//!   yet, else **409**. A reservations service that is down is 503, failing 502, and nothing
//!   is written.
//! * **One opinion per reservation**, also under concurrent requests: the check and the insert
//!   run in one `db.write` closure, which the single writer serialises, backed by a unique
//!   index on `reservation`.
//! * **The date is the server's** (§10 Q2): the body's `date` must be a valid datetime if
//!   present (422 otherwise) but is not stored; the stored date is the time of writing,
//!   truncated to milliseconds as the original's store did. Output is naive UTC (H6), e.g.
//!   `2024-07-24T20:20:45` or `2024-07-24T20:20:45.120000`.
//! * **Text**: surrounding white space trimmed, `\r\n` read as `\n`, 1 to 2000 characters, no
//!   control characters but line breaks (400 otherwise).
//! * **Event**: topic `opinion.created`, payload `{"opinion","reservation","user","venue",
//!   "opinion_text","at"}` (`user` the bare uid, `at` the opinion's date, UTC with `Z`),
//!   written in the transaction of the insert. Consumers are listed in [`events::routes`], one
//!   line each. The opinion's `id` (a UUID) appears only there; the wire `Opinion` keeps the
//!   original's four keys.
//! * **Listing** (`GET /opinions`): `venue`, `reservation` (new, §10 Q5), `from_date`,
//!   `to_date` (inclusive, any accepted datetime form, naive = UTC) are ANDed; empty values
//!   filter nothing. As the original (§10 Q7), a query with neither `venue` nor
//!   `reservation` nor both dates answers an empty page without reading anything. Order
//!   newest first (`date DESC`, then the later written first, so paging is stable); `total`
//!   is the true count of matches. `limit` 0 to 100000 (default 10; the portal asks 100000,
//!   H8), `start` ≥ 0 (default 0); outside those 400, not integers 422.
//! * **Batch** (`POST /opinions/batch`): up to 1000 reservation ids in, `{id: Opinion}` out
//!   for those that have one, in one query; reservation listings build their `opinions` map
//!   with one call per page (§10 Q5). More than 1000 ids is 400.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chefcito::client::{Client, Downstream};
use chefcito::config::ServeArgs;
use chefcito::outbox::Outbox;
use chefcito::service::{Exposure, Options, Role, finish};

pub mod downstream;
pub mod events;
pub mod http;
pub mod model;
pub mod service;
pub mod store;

use downstream::Reservations;
use service::{Clock, Opinions, SystemClock};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "opinions.db";

/// Configuration of the opinions service, read from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Base URL of the reservations service.
    #[arg(
        long,
        env = "RESERVATIONS_URL",
        default_value = "http://127.0.0.1:8002"
    )]
    pub reservations_url: String,
    /// Base URL of the points service (consumer of opinion events).
    #[arg(long, env = "POINTS_URL", default_value = "http://127.0.0.1:8007")]
    pub points_url: String,
    /// Base URL of the communications service (consumer of opinion events).
    #[arg(
        long,
        env = "COMMUNICATIONS_URL",
        default_value = "http://127.0.0.1:8008"
    )]
    pub communications_url: String,
    /// Base URL of the summaries service (consumer of opinion events).
    #[arg(long, env = "SUMMARIES_URL", default_value = "http://127.0.0.1:8005")]
    pub summaries_url: String,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub opinions: Arc<Opinions>,
    pub exposure: Exposure,
    background: Option<Arc<Background>>,
}

/// The outbox dispatcher; it stops when the last clone of the state (the router) is dropped.
struct Background {
    _dispatcher: chefcito::outbox::Dispatcher,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Background")
    }
}

impl State {
    /// Opens the store and sets up the clients of the reservations service and the event
    /// consumers.
    pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<State> {
        let db_path = config.serve.data_dir.join(DB_FILE);
        let db = tokio::task::spawn_blocking(move || {
            store::open(&db_path)
                .with_context(|| format!("cannot open the database {}", db_path.display()))
        })
        .await??;
        let client = Client::new(config.serve.internal_token.clone());
        let downstream = |url: &str, variable: &str| {
            Downstream::new(client.clone(), url).with_context(|| format!("invalid {variable}"))
        };
        let reservations = Reservations(downstream(&config.reservations_url, "RESERVATIONS_URL")?);
        let outbox = Outbox::new(events::routes(
            downstream(&config.points_url, "POINTS_URL")?,
            downstream(&config.communications_url, "COMMUNICATIONS_URL")?,
            downstream(&config.summaries_url, "SUMMARIES_URL")?,
        ));
        Ok(State {
            opinions: Arc::new(Opinions::new(db, outbox, reservations, clock)),
            exposure: config.serve.exposure(Role::Internal),
            background: None,
        })
    }

    /// Starts delivering outbox events.
    pub fn start_background(mut self) -> State {
        let db = self.opinions.db().clone();
        self.background = Some(Arc::new(Background {
            _dispatcher: self.opinions.outbox().spawn_dispatcher(db),
        }));
        self
    }
}

/// The complete router: the service's routes plus chefcito's standard routes and layers.
pub fn app(state: State) -> Router {
    let options = Options {
        name: "opinions",
        db: Some(state.opinions.db().clone()),
        exposure: state.exposure.clone(),
        ready: None,
    };
    finish(http::routes().with_state(state), options)
}

/// Everything `main` needs: opens the store, starts the dispatcher, builds the router.
pub async fn build(config: &Config) -> anyhow::Result<Router> {
    let state = State::open(config, Arc::new(SystemClock)).await?;
    Ok(app(state.start_background()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::{CommandFactory, Parser};

    #[test]
    fn flags_are_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_docs() {
        let config = Config::parse_from(["opinions"]);
        assert_eq!(config.reservations_url, "http://127.0.0.1:8002");
        assert_eq!(config.points_url, "http://127.0.0.1:8007");
        assert_eq!(config.communications_url, "http://127.0.0.1:8008");
        assert_eq!(config.summaries_url, "http://127.0.0.1:8005");
        assert_eq!(
            config.serve.addr(chefcito::config::ports::OPINIONS).port(),
            8004
        );
    }
}
