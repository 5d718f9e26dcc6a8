//! # reservations — bookings, their state machine, capacity, expiry and status events
//!
//! The reservations service of Chefcito. Diners book tables at venues; venues accept or reject
//! them; diners check in with the venue's QR code; no-shows expire. Every status transition is
//! written, in the same transaction, to a transactional outbox ([`chefcito::outbox`]) that
//! delivers it to the services that react to it (today: points).
//!
//! Its HTTP API is internal (only the gateway calls it; the gateway adds `user`/`caller` from
//! the verified token) and is specified in `docs/internal-api.md`. Every route but `/health` and
//! `/ready` requires the internal token.
//!
//! ## Configuration (environment variables; the same names as `--flags` in `--help`)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `0.0.0.0:8002` | address to listen on (moved to loopback when `INTERNAL_TOKEN` is not set) |
//! | `DATA_DIR` | `data` | holds `reservations.db` (reservations and the outbox) |
//! | `INTERNAL_TOKEN` | none | shared secret required in `x-chefcito-internal-token` and sent to the services called |
//! | `LOG`, `LOG_FORMAT` | `info`, `text` | log filter and format (`text` or `json`) |
//! | `VENUES_URL` | `http://127.0.0.1:8003` | venues service (existence, status, capacity) |
//! | `USERS_URL` | `http://127.0.0.1:8001` | users service (names and phones in listings) |
//! | `POINTS_URL` | `http://127.0.0.1:8007` | points service (consumer of status events) |
//! | `STATS_URL` | `http://127.0.0.1:8006` | stats service (consumer of status events) |
//! | `COMMUNICATIONS_URL` | `http://127.0.0.1:8008` | communications service (consumer of status events: notifications) |
//! | `OPINIONS_URL` | `http://127.0.0.1:8004` | opinions service (the `opinions` map of listings, one batch call per listing) |
//! | `SEATING_MINUTES` | `120` | two reservations share seats when their times are less than this apart |
//! | `EXPIRY_SWEEP_SECS` | `60` | period of the background expiry sweep |
//! | `DISPLAY_OFFSET_MINUTES` | `-180` | added to every `time` of a listing, printed naive (hazard H6) |
//!
//! ## Decisions
//!
//! * **Who may do what** is the table in [`transition`]. A caller who is neither the
//!   reservation's owner (`user/<uid>` = its `user`) nor its venue (`user/<venue id>`) gets 403
//!   whatever the status; a reservation that is `Canceled`, `Assisted` or `Expired` answers
//!   400 `Reservation is in a final state` to any change; a party asking for a move that is not
//!   theirs (the diner accepting or marking a no-show, the venue editing time or people) gets
//!   403. Those checks run in that order.
//! * **One update means one thing** (R5): `cancel: true` alone, `advance_forward` alone, or
//!   `time`/`people` (together or not). Mixing them is 400, and so is an update asking for
//!   nothing. `people: 0` is invalid, never "no change" (R6).
//! * **Edits** re-check what a booking checks: people 1 to 1000, a time (new or kept) in the
//!   future, a venue that exists and is not closed, and the seating rule, unless the edit needs
//!   no more room (same time, same or fewer people). An edited `Accepted` reservation returns to
//!   `Uncomfirmed`, which is a transition and gets its event; editing an `Uncomfirmed` one is
//!   not a transition and gets none.
//! * **Capacity.** Over the `Uncomfirmed` and `Accepted` reservations of a venue whose times
//!   are less than `SEATING_MINUTES` from the new one's, the people plus the new party must not
//!   exceed the venue's `capacity`. So at any instant the parties seated (each for
//!   `SEATING_MINUTES` from its time) never exceed the capacity. A capacity of 0, absent or
//!   negative is unlimited. Only `Closed` venues refuse bookings (`Occupied` is informational,
//!   as in the original). The venue is read from the venues service before the write; the sum
//!   and the insert (or the edit) happen in one `db.write` closure, which the single writer
//!   serialises, so concurrent bookings cannot overfill a window. A venue that lowers its
//!   capacity cancels nothing already booked. A full window is 400 (a broken rule, not a
//!   conflicting write). Lead-time, slot and vacation checks are not implemented (H11: their
//!   units and meaning are undefined); if added, they go behind flags that default to off.
//! * **Expiry.** An `Accepted` reservation expires 15 minutes after its time. Listings expire
//!   lazily what is due within their filters (every page, not only the one returned, so a
//!   `status=Accepted` listing never shows a reservation that has just expired), and a
//!   background sweep every `EXPIRY_SWEEP_SECS` catches the rest. Both use a compare-and-set
//!   on the status, so each reservation expires, and is announced, once. `Uncomfirmed`
//!   reservations never expire (as the original); the venue or the diner cancels them.
//! * **Listings**: every filter is ANDed, `id` included, and each bound of a time or people
//!   range works alone (the original needed both). `total` is the true count (R10), the order
//!   is `time DESC, id ASC` (R14), `limit` is 0 to 100000 (default 10) and `start` ≥ 0, both
//!   400 outside. Empty values (`?id=`) filter nothing. When `caller` is given (the gateway
//!   always gives it) only the caller's own reservations and those of the caller's venue are
//!   listed, `id` lookups included, so a foreign id answers an empty page with total 0; other
//!   internal callers may omit it. The time filters compare against stored UTC, unshifted.
//! * **Enrichment in batches** (R12): the diners of a page come from one users
//!   `POST /users/batch` call (one more per 1000 distinct diners), and `times_assisted` /
//!   `times_expired` (that diner's reservations at that venue) from one grouped query over
//!   this service's table. A diner the users service does not know, or every diner when it
//!   fails (R13: the listing still answers), shows the original's placeholder texts `"None"`
//!   for `name` and `phone`; **`id` stays the real uid and the counts stay real**, unlike the
//!   original's all-`"None"` placeholder: the portal uses `user.id` as the path of
//!   `GET /stats/user/{id}` (E22) and to group its top-10 charts, where `"None"` would mix
//!   every such diner into one.
//! * `opinions` is `{}` until the opinions service exists; [`opinions`] is the seam.
//! * **Status events**: topic `reservation.status`, payload
//!   `{"reservation","user":"<bare uid>","venue","from":null|status,"to","by","time","people","at"}`
//!   (times UTC with `Z`), written in the transaction of the change. `by` is `owner` or
//!   `venue` (the venue when the caller is the venue; a restaurant booking at its own venue
//!   counts as the venue) or `system` (expiry). A booking is `from: null` to `Uncomfirmed` by
//!   the owner. Consumers are listed in [`events::routes`], one line each.
//! * **Deletion** is a hard delete by the owner or the venue (403 otherwise, 404 unknown, 401
//!   without `user`) and emits nothing, as the original (§2.5): it erases a booking, it is not
//!   a transition. No client calls it; note that an owner deleting an `Accepted` reservation
//!   avoids the cancel penalty, so the gateway should keep it unexposed or restricted.
//! * **Import** (`POST /import/reservations`, internal only): reservations kept elsewhere (a
//!   migration from the original system, a restore) are history, written as they were in one
//!   transaction per batch of at most 1000: no status event (nobody is notified again, no
//!   points or statistics move twice; those services import their own history), no venue
//!   lookup (the venue may be gone), no capacity check, past times allowed. Ids already
//!   stored are skipped, so an import cut short can be sent again. `cargo xtask bench --scale`
//!   grows its million reservations this way: through `POST /reservations` each would leave
//!   three outbox deliveries, half an hour of draining on two cores before reads can be
//!   measured.
//! * **Times** are stored as UTC microseconds. Create and update answer `time` in UTC with `Z`
//!   (unshifted; no client reads it); listings print it shifted by `DISPLAY_OFFSET_MINUTES`,
//!   naive (H6).
//! * A venue lookup answered 404 is 400 `Venue does not exist`; an unreachable venues service is
//!   503, a failing one 502, and nothing is written. A missing `user` in an update body is 422
//!   (a malformed request); a missing `user` query on DELETE is 401.

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
pub mod opinions;
pub mod service;
pub mod store;
pub mod sweep;
pub mod transition;

use downstream::{Users, Venues};
use service::{Clock, Reservations, Settings, SystemClock};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "reservations.db";

/// Configuration of the reservations service, read from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Base URL of the venues service.
    #[arg(long, env = "VENUES_URL", default_value = "http://127.0.0.1:8003")]
    pub venues_url: String,
    /// Base URL of the users service.
    #[arg(long, env = "USERS_URL", default_value = "http://127.0.0.1:8001")]
    pub users_url: String,
    /// Base URL of the points service (consumer of status events).
    #[arg(long, env = "POINTS_URL", default_value = "http://127.0.0.1:8007")]
    pub points_url: String,
    /// Base URL of the stats service (consumer of status events).
    #[arg(long, env = "STATS_URL", default_value = "http://127.0.0.1:8006")]
    pub stats_url: String,
    /// Base URL of the communications service (consumer of status events: notifications).
    #[arg(
        long,
        env = "COMMUNICATIONS_URL",
        default_value = "http://127.0.0.1:8008"
    )]
    pub communications_url: String,
    /// Base URL of the opinions service (the `opinions` map of listings).
    #[arg(long, env = "OPINIONS_URL", default_value = "http://127.0.0.1:8004")]
    pub opinions_url: String,
    /// Minutes a party holds its seats: reservations less than this apart share the capacity.
    #[arg(long, env = "SEATING_MINUTES", default_value = "120",
          value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub seating_minutes: u32,
    /// Seconds between two runs of the background expiry sweep.
    #[arg(long, env = "EXPIRY_SWEEP_SECS", default_value = "60",
          value_parser = clap::value_parser!(u32).range(1..=86_400))]
    pub expiry_sweep_secs: u32,
    /// Minutes added to every `time` of a listing before printing it naive (-180: Argentina).
    #[arg(long, env = "DISPLAY_OFFSET_MINUTES", default_value = "-180", allow_negative_numbers = true,
          value_parser = clap::value_parser!(i32).range(-1440..=1440))]
    pub display_offset_minutes: i32,
}

impl Config {
    fn settings(&self) -> Settings {
        Settings {
            seating_window: chrono::Duration::minutes(self.seating_minutes.into()),
            display_offset: chrono::Duration::minutes(self.display_offset_minutes.into()),
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub reservations: Arc<Reservations>,
    pub exposure: Exposure,
    sweep_every: std::time::Duration,
    background: Option<Arc<Background>>,
}

/// The tasks that run beside the requests; they stop when the last clone of the state (the
/// router) is dropped.
struct Background {
    _dispatcher: chefcito::outbox::Dispatcher,
    _sweep: sweep::Sweep,
}

impl std::fmt::Debug for Background {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Background")
    }
}

impl State {
    /// Opens the store and sets up the clients of the venues, users and points services.
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
        let venues = Venues(downstream(&config.venues_url, "VENUES_URL")?);
        let users = Users(downstream(&config.users_url, "USERS_URL")?);
        let outbox = Outbox::new(events::routes(events::Consumers {
            points: downstream(&config.points_url, "POINTS_URL")?,
            stats: downstream(&config.stats_url, "STATS_URL")?,
            communications: downstream(&config.communications_url, "COMMUNICATIONS_URL")?,
        }));
        let opinions = opinions::Opinions::new(downstream(&config.opinions_url, "OPINIONS_URL")?);
        let reservations = Reservations::new(
            db,
            outbox,
            venues,
            users,
            opinions,
            clock,
            config.settings(),
        );
        Ok(State {
            reservations: Arc::new(reservations),
            exposure: config.serve.exposure(Role::Internal),
            sweep_every: std::time::Duration::from_secs(config.expiry_sweep_secs.into()),
            background: None,
        })
    }

    /// Starts delivering outbox events and sweeping due expiries.
    pub fn start_background(mut self) -> State {
        let db = self.reservations.db().clone();
        self.background = Some(Arc::new(Background {
            _dispatcher: self.reservations.outbox().spawn_dispatcher(db),
            _sweep: sweep::spawn(self.reservations.clone(), self.sweep_every),
        }));
        self
    }
}

/// The complete router: the service's routes plus chefcito's standard routes and layers.
pub fn app(state: State) -> Router {
    let options = Options {
        name: "reservations",
        db: Some(state.reservations.db().clone()),
        exposure: state.exposure.clone(),
        ready: None,
    };
    finish(http::routes().with_state(state), options)
}

/// Everything `main` needs: opens the store, starts the background tasks, builds the router.
pub async fn build(config: &Config) -> anyhow::Result<Router> {
    let state = State::open(config, Arc::new(SystemClock)).await?;
    Ok(app(state.start_background()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn flags_are_consistent() {
        Config::command().debug_assert();
    }

    #[test]
    fn defaults_match_the_docs() {
        let config = <Config as clap::Parser>::parse_from(["reservations"]);
        assert_eq!(config.seating_minutes, 120);
        assert_eq!(config.expiry_sweep_secs, 60);
        assert_eq!(config.display_offset_minutes, -180);
        let config = <Config as clap::Parser>::parse_from([
            "reservations",
            "--display-offset-minutes",
            "-60",
        ]);
        assert_eq!(
            config.settings().display_offset,
            chrono::Duration::hours(-1)
        );
    }
}
