//! # points — loyalty points
//!
//! The points service of Chefcito. Diners earn points for showing up and reviewing their
//! visit, lose them for cancelling or not showing up, and see them (with a level) in their
//! profile (client contract E2, `points`). Balances change through the events the
//! reservations and opinions services deliver from their transactional outboxes
//! (`POST /events`), consumed exactly once per event id.
//!
//! Its HTTP API is internal (the gateway reads balances, the outbox dispatchers deliver
//! events) and is specified in `docs/internal-api.md`. Every route but `/health` and `/ready`
//! requires the internal token.
//!
//! ## Configuration (environment variables; the same names as `--flags` in `--help`)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `0.0.0.0:8007` (`127.0.0.1:8007` without `INTERNAL_TOKEN`) | address to listen on |
//! | `DATA_DIR` | `data` | holds `points.db` |
//! | `INTERNAL_TOKEN` | none | shared secret required in `x-chefcito-internal-token`; without it the service serves loopback callers only |
//! | `LOG`, `LOG_FORMAT` | `info`, `text` | log filter and format (`text` or `json`) |
//! | `DECAY_DAYS` | `14` | an idle balance decays once per this many full days since its last change |
//! | `DECAY_POINTS` | `200` | points each full idle period takes (`0`: balances only lose debts) |
//!
//! ## Rules (spec §4)
//!
//! | event | change |
//! |---|---|
//! | `reservation.status` to `Assisted` (check-in) | +50 |
//! | `opinion.created` (the first opinion of the visit) | +50 |
//! | `reservation.status` to `Canceled` by `owner` | −50 |
//! | `reservation.status` to `Expired` (no-show or expiry) | −50 |
//! | `reservation.status` to `Canceled` by `venue` (or `system`), any other transition, an unknown topic | nothing |
//!
//! Levels: Novato 0–99, Aficionado Gourmet 100–299, Comensal Amateur 300–699, Comensal
//! Experto 700–1499, Estrella Culinaria 1500 and more.
//!
//! ## Decisions
//!
//! * **Decay is computed, never stored.** A balance is worth
//!   `stored − 200·⌊idle / 14 days⌋`, not below 0, where `idle` is the time since its last
//!   change. Reads only compute it, so reading twice never subtracts twice (the original wrote
//!   the decayed total back on every read without moving its clock, P2, and its clock was the
//!   process start time, P1).
//! * **A change applies to the decayed balance**: `new total = decayed + delta`, and the
//!   decay clock restarts (`last_updated = now`). The decay taken is written to the ledger as
//!   a `decay` row, so a user's ledger always sums to the stored total.
//! * **Debts are kept, but shown as 0.** As in the original (P4), the stored total may go
//!   below 0 (a new diner who cancels owes 50, and the next check-in pays it back); callers
//!   always see `max(total, 0)` and `Novato`. A debt is forgiven once a full decay period
//!   passes without changes.
//! * **A zero change is no change**: a venue's cancel records nothing, and `POST /points` with
//!   `total: 0` neither writes a ledger row nor restarts the decay clock (the original's
//!   zero post did, P4; nothing relies on it now that venue cancels are not posted).
//! * **Exactly once.** Each delivery's event id goes into `inbox` (chefcito's
//!   `outbox::first_delivery`) in the same transaction as the balance change, so a
//!   redelivered event answers 200 (`duplicate`) and changes nothing. On top of that a
//!   reservation counts once for its outcome (check-in, owner cancel or expiry) and once for
//!   its first opinion, whatever event ids arrive (unique indexes on the ledger): this is what
//!   makes "+50 for the *first* opinion" hold even if the opinions service ever let a second
//!   one through.
//! * **No lost updates.** The read of the current balance and the upsert of the new one run
//!   in one IMMEDIATE SQLite transaction (`INSERT … ON CONFLICT (uid) DO UPDATE`), so
//!   concurrent changes queue behind each other instead of overwriting each other (P3). The
//!   decay rule lives in Rust only ([`model::Decay::effective`]), used by reads and writes.
//! * **Events the service cannot read are 422** (the dispatcher parks them, and nothing is
//!   recorded, so the same id can be delivered again once fixed); events of a topic it does
//!   not know are 200 and ignored, so producers can add topics freely. Only the payload fields
//!   the rules need are read (`reservation`, `user`, and `to`/`by` of a status change);
//!   reservation ids may be strings or integers; a `user` with the `user/` prefix is
//!   malformed, not silently credited to another account.
//! * **`POST /points` stays** for parity and operators: a signed delta between −1 000 000 and
//!   1 000 000, not idempotent. Reads of a user never 404: an unknown user has 0 (`Novato`).
//! * Because `/points/batch` is a route, a user whose id is literally `batch` cannot be read
//!   with `GET /points/batch`; it can through `POST /points/batch`. No identity provider we
//!   accept mints such an id.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chefcito::config::ServeArgs;
use chefcito::service::{Exposure, Options, Role, finish};

pub mod http;
pub mod model;
pub mod service;
pub mod store;

use model::Decay;
use service::{Clock, Points, SystemClock};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "points.db";

/// Configuration of the points service, read from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// An idle balance decays once per this many full days since its last change.
    #[arg(long, env = "DECAY_DAYS", default_value = "14",
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub decay_days: u32,
    /// Points each full idle period takes from a balance (0: only debts are forgiven).
    #[arg(long, env = "DECAY_POINTS", default_value = "200",
          value_parser = clap::value_parser!(u32).range(0..=1_000_000))]
    pub decay_points: u32,
}

impl Config {
    pub fn decay(&self) -> Decay {
        Decay {
            period_secs: i64::from(self.decay_days) * 24 * 3600,
            amount: i64::from(self.decay_points),
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub points: Arc<Points>,
    pub exposure: Exposure,
}

impl State {
    /// Opens the store (applying migrations) with the given clock.
    pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<State> {
        let db_path = config.serve.data_dir.join(DB_FILE);
        let db = tokio::task::spawn_blocking(move || {
            store::open(&db_path)
                .with_context(|| format!("cannot open the database {}", db_path.display()))
        })
        .await??;
        Ok(State {
            points: Arc::new(Points::new(db, clock, config.decay())),
            exposure: config.serve.exposure(Role::Internal),
        })
    }
}

/// The complete router: the service's routes plus chefcito's standard routes and layers.
pub fn app(state: State) -> Router {
    let options = Options {
        name: "points",
        db: Some(state.points.db().clone()),
        exposure: state.exposure.clone(),
        ready: None,
    };
    finish(http::routes().with_state(state), options)
}

/// Everything `main` needs: opens the store and builds the router.
pub async fn build(config: &Config) -> anyhow::Result<Router> {
    Ok(app(State::open(config, Arc::new(SystemClock)).await?))
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
    fn decay_defaults_to_the_original_constants() {
        let config = Config::parse_from(["points"]);
        assert_eq!(config.decay(), Decay::DEFAULT);
        assert!(Config::try_parse_from(["points", "--decay-days", "0"]).is_err());
    }
}
