//! # stats — reservation statistics
//!
//! The stats service of Chefcito. It counts finished reservations per diner and per venue,
//! and answers the two dashboards that read them: a restaurant's stats page (client contract
//! E21: totals, cancel and no-show shares, people, weekdays, turns) and the diner reliability
//! flags of the portal's Bookings page (E22: `canceled_alert`, `expired_alert`). Counts change
//! through the `reservation.status` events the reservations service delivers from its
//! transactional outbox (`POST /events`), consumed exactly once.
//!
//! Its HTTP API is internal (the gateway reads stats as `/stats/user/{u}` and
//! `/stats/venue/{v}`, the outbox dispatcher delivers events) and is specified in
//! `docs/internal-api.md`. Every route but `/health` and `/ready` requires the internal token.
//!
//! ## Configuration (environment variables; the same names as `--flags` in `--help`)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `0.0.0.0:8006` (`127.0.0.1:8006` without `INTERNAL_TOKEN`) | address to listen on |
//! | `DATA_DIR` | `data` | holds `stats.db` |
//! | `INTERNAL_TOKEN` | none | shared secret required in `x-chefcito-internal-token`; without it the service serves loopback callers only |
//! | `LOG`, `LOG_FORMAT` | `info`, `text` | log filter and format (`text` or `json`) |
//!
//! ## Rules (original §4.2, spec §4)
//!
//! A reservation counts when it reaches a final status (`to` of the event):
//!
//! | status | user | venue |
//! |---|---|---|
//! | `Canceled` | total +1, canceled +1 | total +1, canceled +1 |
//! | `Expired` | total +1, expired +1 | total +1, expired +1 |
//! | `Assisted` | total +1 | total +1, people += party, weekday bucket +1, turn bucket +1 |
//! | `Uncomfirmed`, `Accepted` (creation, acceptance) | nothing | nothing |
//!
//! Reads: `canceled` and `expired` are `round(count / total, 2)` (Python's rounding), 0.0
//! when `total` is 0; `expired_alert = expired > 0.5` and `canceled_alert = canceled > 0.5`
//! on the rounded ratios; `people` is the sum over attended reservations, printed as a float;
//! `days.means` (weekday → count) and `turns.turns` (`"HH:MM"` → count) are raw counts of
//! attended reservations. A user or venue never counted reads as zeros (200), never 404.
//!
//! ## Decisions
//!
//! * **Exact counts, atomic increments.** Counters are integers changed only by SQLite
//!   upserts (`INSERT … ON CONFLICT DO UPDATE SET n = n + 1`) inside the write that consumes
//!   the event; ratios are computed on read. The original read, rounded to a 2-decimal ratio,
//!   and wrote back counts derived from it, so its counts drifted past ~50 reservations and
//!   concurrent updates overwrote each other (Q11). Where the original did not drift, the
//!   answers are identical.
//! * **Once per event, once per reservation.** The event id goes into `inbox` (chefcito's
//!   `outbox::first_delivery`) in the same transaction as the counts, so a redelivery answers
//!   200 `duplicate`. On top of that, `counted` is keyed by the reservation alone: the same
//!   reservation and status reported under another event id (or through `POST /update-data`)
//!   is counted once, and a reservation is counted in one bucket only (Q12). A second,
//!   *different* final status for a counted reservation cannot come from the reservations
//!   service (final statuses are final); if it ever does, the first count is kept and a
//!   warning is logged.
//! * **Buckets in UTC, weekday 0 = Monday** (H6, H7). `turns` keys are the reservation time's
//!   `"HH:MM"` in UTC, as the clients expect (they subtract 3 h themselves), and the weekday
//!   is taken from the same UTC time so that both charts agree; the original bucketed the
//!   naive UTC wall clock it received, i.e. the same thing. Q14's "bucket in Argentina's
//!   zone" is therefore *not* applied: it would break the portal's turn labels. The portal
//!   labels index 0 as Sunday; that is a client bug, kept on the wire (H7).
//! * **`total` counts finished reservations of all three kinds**; `days`, `turns` and
//!   `people` count attended ones only (the original's rules). `days.means` lists only the
//!   weekdays with a count, `turns.turns` only the turns with one.
//! * **Events the service cannot read are 422** (the dispatcher parks them and nothing is
//!   recorded, so the same id can be delivered again once fixed); events of a topic it does
//!   not read (`opinion.created`, `user.phone`, future ones) are 200 `ignored` and not
//!   recorded. A known topic is checked whole, open statuses included. `user` may be a bare
//!   uid or `user/<uid>` (one prefix stripped, the original's `user_key`); ids are 1 to 128
//!   characters without spaces or control characters (user and venue ids also without `/`);
//!   `people` is 1 to 100,000; `time` is any datetime form of the contract.
//! * **`POST /update-data` stays** for parity and for operators back-filling counts: the
//!   original's body (a whole reservation with `status: {"status"}`), 200 `null`, now
//!   idempotent per reservation. A status that is not final is 400 with the original's text
//!   `Tried to do an invalid update` (the original answered 500).
//! * **Internal paths are the original's**, `/user/{u}` and `/venue/{v}`; the gateway maps
//!   `/stats/user/{u}` and `/stats/venue/{v}` onto them and applies ownership (H2: a
//!   restaurant may read any user's stats). Ids that could not be a uid or a venue id are 400.
//! * Alert thresholds are the original's 0.5 and not configurable (no caller ever changed
//!   them over HTTP).

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chefcito::config::ServeArgs;
use chefcito::service::{Exposure, Options, Role, finish};

pub mod http;
pub mod model;
pub mod service;
pub mod store;

use service::Stats;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "stats.db";

/// Configuration of the stats service, read from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub stats: Arc<Stats>,
    pub exposure: Exposure,
}

impl State {
    /// Opens the store (applying migrations).
    pub async fn open(config: &Config) -> anyhow::Result<State> {
        let db_path = config.serve.data_dir.join(DB_FILE);
        let db = tokio::task::spawn_blocking(move || {
            store::open(&db_path)
                .with_context(|| format!("cannot open the database {}", db_path.display()))
        })
        .await??;
        Ok(State {
            stats: Arc::new(Stats::new(db)),
            exposure: config.serve.exposure(Role::Internal),
        })
    }
}

/// The complete router: the service's routes plus chefcito's standard routes and layers.
pub fn app(state: State) -> Router {
    let options = Options {
        name: "stats",
        db: Some(state.stats.db().clone()),
        exposure: state.exposure.clone(),
        ready: None,
    };
    finish(http::routes().with_state(state), options)
}

/// Everything `main` needs: opens the store and builds the router.
pub async fn build(config: &Config) -> anyhow::Result<Router> {
    Ok(app(State::open(config).await?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Config::command().debug_assert();
    }
}
