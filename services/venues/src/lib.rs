//! # venues — the restaurants' venues
//!
//! The venues service of Chefcito: each restaurant's venue (its id is the owner's uid), the
//! catalogue with its tag filters, the distance search behind "near me", and the promotions
//! pop-up. Its HTTP API is internal (the gateway and the reservations service call it; the
//! gateway checks ownership) and is specified in `docs/internal-api.md`. Every route but
//! `/health` and `/ready` requires the internal token.
//!
//! ## Configuration (environment variables; the same names as `--flags` in `--help`)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `0.0.0.0:8003` | address to listen on (loopback only when there is no `INTERNAL_TOKEN`) |
//! | `DATA_DIR` | `data` | holds `venues.db` |
//! | `INTERNAL_TOKEN` | none | shared secret required in `x-chefcito-internal-token` |
//! | `LOG`, `LOG_FORMAT` | `info`, `text` | log filter and format (`text` or `json`) |
//! | `PROMOTED_VENUES` | empty | comma-separated venue ids that `GET /venues/promotions` shows, in this order |
//!
//! ## Decisions
//!
//! * **Production semantics of the original** (its Postgres queries, not its in-memory test
//!   double): tag filters are contain-*all*, `total` is the true count of matches whatever the
//!   page, the order is `id` ascending. Both spellings of the tag lists are read
//!   (`characteristics`/`features` and the gateway's `characteristic`/`feature`), merged, and
//!   checked against the vocabularies (an unknown word is 422, as in bodies).
//! * **Status codes** instead of the original's errors inside a 200 or 400: unknown venue 404
//!   (`Venue does not exist`), duplicate id 409 (`Venue already exists`, never SQL text),
//!   malformed input 422, broken rules 400. `DELETE` stays 200 `null` for an unknown id
//!   (idempotent).
//! * **Bounds** on everything stored (400 beyond them): name ≤ 200 characters, location ≤ 256,
//!   logo, menu and each picture ≤ 2048; ≤ 30 pictures, ≤ 336 slots (a week of half hours),
//!   ≤ 366 vacations, each tag list ≤ its vocabulary's size; capacity 0–100000 (0 =
//!   unlimited), `reservationLeadTime` 0–365 (days). No control characters in any text. An
//!   id is 1–128 characters without spaces, slashes or control characters, and cannot be
//!   `near` or `promotions` (those paths are taken); `""` makes a UUID (v4).
//! * **Lenient create body** (client contract H13): only `id` and `name` are required; an
//!   absent or `null` field is empty (`""`, `[]`, `0`), so the portal's `capacity: null`
//!   works; extra keys such as `status` are ignored.
//! * **Update rules of the original** (§2.3): `close`, then `open`, then `occupy` — the first
//!   true flag sets the status and ignores every field; otherwise each *truthy* field (not
//!   `0`, `""`, `[]` or `null`) replaces the stored one and makes the venue `Unconfirmed`
//!   until an explicit `open`. The whole body is validated first, flags or not.
//! * **Paging**: `limit` 0–100000 (default 10), `start` ≥ 0 (default 0); anything else is
//!   422. With a non-empty `id`, the answer is that venue (total 1) or nothing (total 0) and
//!   the other filters and the paging are ignored — but still validated. The keys the
//!   original declared and never implemented (`location`, `capacity`, `logo`, `pictures`,
//!   `slots`, `vacations`, `reservationLeadTime`, `menu`) are 400 with its text.
//! * **Distances** are the original's haversine (R = 6371.0088 km) in whole metres, truncated.
//!   A venue whose `location` is not `"<lat>,<lon>"` within range sits at the default point
//!   (-34.594174, -58.4566507), which is also where the search starts without `location`.
//!   Order: exact distance, then id. Optional `max_distance` (metres, compared with the whole
//!   metres shown) and `limit`; without them every venue is returned, as the original did.
//!   `total` counts the venues that qualify **before** `limit` (all venues, or those within
//!   `max_distance`), as `total` does in `GET /venues`.
//! * **Geo index**: positions are parsed when a venue is written and kept in an R*Tree, so a
//!   `max_distance` search reads only the venues in a bounding box, and a `limit` search
//!   widens a box around the point until it holds enough venues. The answer is read in one
//!   transaction (the original re-read every venue and failed when one vanished meanwhile).
//! * **Listings kept between writes**: a search's matches (their row keys in id order, 8 bytes
//!   each) are kept until the next commit ([`chefcito::db::Derived`], keyed by the filter,
//!   checked against the committed version the read's snapshot holds, so a write shows in the
//!   very next read). A page at any `start` and its `total` are then a slice and a read of
//!   `limit` rows; SQL counted every match and stepped over `start` of them on every request
//!   (at 100,000 venues a page at a random start fell from 7,078 to 883 req/s, search by one
//!   characteristic from 3,460 to 68). The first read after a write lists again (100,000
//!   venues: a walk of the id index); venues change seldom and are read constantly (measured at
//!   100,000 venues: 12–23 ms for that first read, then 1 ms). Bounded: a listing of more
//!   than a million venues is not kept (its pages come from SQL, a count and an offset, as
//!   before), and past two million keys in all (16 MB) everything is dropped and listed again
//!   on demand.
//! * **Promotions**: the ids of `PROMOTED_VENUES` that exist, in that order (a repeated id
//!   is repeated, whatever its status); when none is configured or none exists, the three
//!   newest venues whose status is `Available`. `total` is the number returned.
//! * Statuses are informational, as in the original: nothing filters on them except the
//!   promotions fallback.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chefcito::config::ServeArgs;
use chefcito::service::{Exposure, Options, Role, finish};

pub mod http;
pub mod model;
pub mod service;
pub mod store;

use service::Venues;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "venues.db";

/// Configuration of the venues service, read from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Venue ids shown by `GET /venues/promotions`, comma-separated, in order. Unknown ids
    /// are skipped; when none is left, the three newest available venues are shown.
    #[arg(long, env = "PROMOTED_VENUES", default_value = "")]
    pub promoted_venues: String,
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub venues: Arc<Venues>,
    pub exposure: Exposure,
}

impl State {
    /// Opens (or creates) the store.
    pub async fn open(config: &Config) -> anyhow::Result<State> {
        let path = config.serve.data_dir.join(DB_FILE);
        let db = tokio::task::spawn_blocking({
            let path = path.clone();
            move || store::open(&path)
        })
        .await?
        .with_context(|| format!("cannot open the database {}", path.display()))?;
        let promoted = service::parse_promoted(&config.promoted_venues);
        Ok(State {
            venues: Arc::new(Venues::new(db, promoted)),
            exposure: config.serve.exposure(Role::Internal),
        })
    }
}

/// The complete router: the service's routes plus chefcito's standard routes and layers.
pub fn app(state: State) -> Router {
    let options = Options {
        name: "venues",
        db: Some(state.venues.db().clone()),
        exposure: state.exposure.clone(),
        ready: None,
    };
    finish(http::routes().with_state(state), options)
}

/// Everything `main` needs: opens the store, builds the router.
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
