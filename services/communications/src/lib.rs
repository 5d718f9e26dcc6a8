//! # communications — phone numbers and text messages
//!
//! The communications service of Chefcito. It keeps each user's phone number and sends the
//! original's Spanish text messages when a reservation is created or changes status and
//! when a venue gets a review. The messages come from the events the reservations and
//! opinions services deliver from their transactional outboxes (`POST /events`), consumed
//! exactly once per event id; numbers come from the users service (`user.phone` events, or
//! `PUT /users/{uid}/phone`).
//!
//! Its HTTP API is internal and is specified in `docs/internal-api.md`. Every route but
//! `/health` and `/ready` requires the internal token.
//!
//! ## Configuration (environment variables; the same names as `--flags` in `--help`)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `0.0.0.0:8008` (`127.0.0.1:8008` without `INTERNAL_TOKEN`) | address to listen on |
//! | `DATA_DIR` | `data` | holds `communications.db` (numbers, messages, inbox) |
//! | `INTERNAL_TOKEN` | none | shared secret required in `x-chefcito-internal-token` and sent to the venues service; without it the service serves loopback callers only |
//! | `LOG`, `LOG_FORMAT` | `info`, `text` | log filter and format (`text` or `json`) |
//! | `VENUES_URL` | `http://127.0.0.1:8003` | venues service (the venue's name in the diner's status message) |
//! | `MESSENGER` | `outbox` | `outbox`: messages stay in the service's table, listed by `GET /messages`; `twilio`: sent as SMS through Twilio |
//! | `TWILIO_ACCOUNT_SID` | none | account SID (required with `twilio`) |
//! | `TWILIO_AUTH_TOKEN` | none | auth token (required with `twilio`; never logged) |
//! | `TWILIO_FROM` | none | sending number (E.164) or alphanumeric sender id |
//! | `TWILIO_MESSAGING_SERVICE_SID` | none | messaging service to send through instead of `TWILIO_FROM` (one of the two is required with `twilio`) |
//! | `TWILIO_BASE_URL` | `https://api.twilio.com` | Twilio's API root (tests point it at a local server) |
//! | `SEND_RETRY_BASE_MS` | `2000` | first retry delay of a message that failed transiently; doubles per attempt |
//! | `SEND_RETRY_MAX_SECS` | `600` | longest retry delay |
//! | `SEND_MAX_ATTEMPTS` | `12` | attempts before a message is marked `failed` (about 35 min with the defaults) |
//! | `MESSAGE_RETENTION_DAYS` | `30` | finished messages (sent, failed, skipped) older than this are deleted |
//! | `DATE_OFFSET_MINUTES` | `-180` | added to a reservation's UTC time before its date is printed in a message (Argentina; `0` prints the UTC date as the original did) |
//!
//! ## Messages (spec §5.4, texts byte for byte)
//!
//! | event | to | text |
//! |---|---|---|
//! | `reservation.status`, `from: null` (created) | diner, then venue | `Tu reserva para el dia {date} fue creada con exito!` / `Crearon una nueva reserva para el dia {date}, podes verla agregada en la web!` |
//! | `reservation.status`, any other transition | venue, then diner | `Tienes una modeficacion en la reserva ({id}): del dia {date}!\nPodes ver las modificaciones de la reserva en la web` / `Tienes un cambio de estado en tu reserva en {venue name}!\n{status text}` |
//! | `opinion.created` | venue | `Tenes una nueva opinion en tu local!\nPodes revisarla en nuestra web` |
//! | `user.phone` | — | stores the number |
//!
//! The venue's recipient id is the venue id, which is its owner's uid.
//!
//! ## Decisions
//!
//! * **Numbers are normalised at storage** (Q15) with libphonenumber's rules (the
//!   `phonenumber` crate), Argentina being the region of numbers written without a country
//!   code, and stored in E.164. Argentine numbers are stored in their mobile form
//!   (`+54 9 …`), the only one that receives SMS: `11 5555-0000`, `011 15 5555-0000`,
//!   `+54 11 5555-0000` and `+54 9 11 5555-0000` are all `+5491155550000` (the original's
//!   `"+549" + number` intent, without its breakage). Numbers of other countries are accepted
//!   in `+<code>` form. `""` stores "no number". Anything else is 400 on `PUT`. Storing is an
//!   upsert (the original's `POST` failed on an existing user and its `PUT` ignored a new one).
//! * **A user without a number gets nothing**: the message is still recorded, as `skipped`,
//!   so operators see what would have been sent. The number is read when the event is
//!   consumed; a message keeps the number it was created with.
//! * **Delivery is asynchronous** (Q16): consuming an event writes its messages (`pending`)
//!   in the same transaction as the event id in `inbox`, so an event delivered twice creates
//!   its messages once. A background sender delivers pending messages through the messenger,
//!   retrying transient failures with exponential back-off and jitter (honouring Twilio's
//!   `Retry-After`), marking permanent refusals (e.g. Twilio 21211, invalid number) and
//!   messages past `SEND_MAX_ATTEMPTS` as `failed`. At least once: a crash between Twilio's
//!   acceptance and the mark sends that message again.
//! * **The embedded outbox is the default messenger**: delivering means marking the stored
//!   message `sent`; `GET /messages` lists messages of either messenger with their status.
//!   Finished messages are pruned after `MESSAGE_RETENTION_DAYS`, so the table does not grow
//!   forever (the original's mock list did). The original's `DEV` switch is not read:
//!   `MESSENGER` chooses, and its default is the outbox.
//! * **Twilio** gets `To`, `From` (or `MessagingServiceSid`) and `Body`, form-encoded, with
//!   basic auth. Its 4xx are permanent except 401 (our credentials: retried, so that fixing
//!   the configuration in time loses nothing), 408 and 429; 5xx, timeouts and transport
//!   errors are retried. The original's hard-coded messaging service SID belongs to the
//!   original's account, so there is no default (Q17).
//! * **The venue's name** is read from the venues service only when the diner's status
//!   message will really be sent. If that service fails (5xx, unreachable) the event is
//!   answered 503 and the producer's outbox delivers it again later, so the message is
//!   delayed, never sent without its name. A venue the venues service no longer knows is
//!   named `el local`.
//! * **Dates in texts** are the reservation's local date (`DATE_OFFSET_MINUTES`, default
//!   −3 h, like the reservation listings' display shift): a 22:00 dinner in Buenos Aires is
//!   01:00 UTC the next day, and the diner expects the day they booked. The change message
//!   names the date of the reservation before the change when the event carries
//!   `previous_time`, else its `time` (today's producer sends only `time`).
//! * **Only transitions send**: the reservations service emits an event per status
//!   transition, so editing an `Uncomfirmed` reservation (no transition) sends nothing, where
//!   the original sent both change messages on every update (R16 allows it). Both parties are
//!   told of every transition, including the one who made it, as the original did.
//! * **Events** the service cannot read are 422 (the dispatcher parks them and nothing is
//!   recorded); events of a topic it does not know are 200 `ignored`. A `user.phone` event
//!   whose number is invalid clears the stored number (it is recorded, and logged): the user
//!   gave up the old number, so messages must not keep going there.
//! * `POST /messages` (`{"user","message"}`, the original's direct send) is kept for
//!   operators; it queues the message like an event would.
//! * Phone numbers are personal data: logs name users and message ids, never numbers.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::Router;
use chefcito::client::{Client, Downstream};
use chefcito::config::{Secret, ServeArgs};
use chefcito::service::{Exposure, Options, Role, finish};

pub mod http;
pub mod messenger;
pub mod model;
pub mod sender;
pub mod service;
pub mod store;
pub mod venues;

use messenger::Messenger;
use messenger::twilio::{Sender, Twilio, TwilioConfig};
use service::Communications;

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "communications.db";

/// Which messenger delivers messages.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessengerKind {
    /// Messages stay in the service's table (`GET /messages`).
    Outbox,
    /// Messages are sent as SMS through Twilio's REST API.
    Twilio,
}

/// Configuration of the communications service, read from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Base URL of the venues service (venue names).
    #[arg(long, env = "VENUES_URL", default_value = "http://127.0.0.1:8003")]
    pub venues_url: String,
    /// Which messenger delivers messages.
    #[arg(long, env = "MESSENGER", value_enum, default_value = "outbox")]
    pub messenger: MessengerKind,
    /// Twilio account SID (required with `--messenger twilio`).
    #[arg(long, env = "TWILIO_ACCOUNT_SID")]
    pub twilio_account_sid: Option<String>,
    /// Twilio auth token (required with `--messenger twilio`).
    #[arg(long, env = "TWILIO_AUTH_TOKEN", hide_env_values = true)]
    pub twilio_auth_token: Option<Secret>,
    /// Twilio sending number (E.164) or alphanumeric sender id.
    #[arg(long, env = "TWILIO_FROM")]
    pub twilio_from: Option<String>,
    /// Twilio messaging service SID, used instead of `TWILIO_FROM`.
    #[arg(long, env = "TWILIO_MESSAGING_SERVICE_SID")]
    pub twilio_messaging_service_sid: Option<String>,
    /// Twilio's API root.
    #[arg(
        long,
        env = "TWILIO_BASE_URL",
        default_value = "https://api.twilio.com"
    )]
    pub twilio_base_url: String,
    /// First retry delay of a message that failed transiently, in milliseconds; doubles per attempt.
    #[arg(long, env = "SEND_RETRY_BASE_MS", default_value = "2000",
          value_parser = clap::value_parser!(u64).range(1..=3_600_000))]
    pub send_retry_base_ms: u64,
    /// Longest retry delay, in seconds.
    #[arg(long, env = "SEND_RETRY_MAX_SECS", default_value = "600",
          value_parser = clap::value_parser!(u64).range(1..=86_400))]
    pub send_retry_max_secs: u64,
    /// Attempts before a message is marked failed.
    #[arg(long, env = "SEND_MAX_ATTEMPTS", default_value = "12",
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub send_max_attempts: u32,
    /// Finished messages older than this many days are deleted.
    #[arg(long, env = "MESSAGE_RETENTION_DAYS", default_value = "30",
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub message_retention_days: u32,
    /// Minutes added to a reservation's UTC time before its date is printed (-180: Argentina).
    #[arg(long, env = "DATE_OFFSET_MINUTES", default_value = "-180", allow_hyphen_values = true,
          value_parser = clap::value_parser!(i64).range(-1440..=1440))]
    pub date_offset_minutes: i64,
}

impl Config {
    /// The sender's retry and retention policy.
    pub fn policy(&self) -> sender::Policy {
        sender::Policy {
            base: Duration::from_millis(self.send_retry_base_ms),
            cap: Duration::from_secs(self.send_retry_max_secs)
                .max(Duration::from_millis(self.send_retry_base_ms)),
            max_attempts: self.send_max_attempts,
            retention: Duration::from_secs(u64::from(self.message_retention_days) * 24 * 3600),
        }
    }

    /// The configured messenger; a Twilio messenger without its settings is an error.
    pub fn messenger(&self) -> anyhow::Result<Arc<dyn Messenger>> {
        match self.messenger {
            MessengerKind::Outbox => Ok(Arc::new(messenger::Outbox)),
            MessengerKind::Twilio => {
                let non_empty = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
                let sender = match (
                    non_empty(&self.twilio_from),
                    non_empty(&self.twilio_messaging_service_sid),
                ) {
                    (_, Some(service)) => Sender::MessagingService(service),
                    (Some(from), None) => Sender::From(from),
                    (None, None) => anyhow::bail!(
                        "MESSENGER=twilio needs TWILIO_FROM or TWILIO_MESSAGING_SERVICE_SID"
                    ),
                };
                let config = TwilioConfig {
                    base_url: self.twilio_base_url.clone(),
                    account_sid: self.twilio_account_sid.clone().unwrap_or_default(),
                    auth_token: self
                        .twilio_auth_token
                        .clone()
                        .unwrap_or_else(|| Secret::new("")),
                    sender,
                };
                // The pooled client without the internal token: Twilio must never see it.
                let http = Client::new(None).http().clone();
                Ok(Arc::new(Twilio::new(config, http)?))
            }
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub communications: Arc<Communications>,
    pub exposure: Exposure,
    /// The background sender; it stops when the last clone of the state is dropped.
    pub sender: Arc<sender::Running>,
}

impl State {
    /// Opens the store (applying migrations) and starts the sender with the configured
    /// messenger. Needs a tokio runtime.
    pub async fn open(config: &Config) -> anyhow::Result<State> {
        let messenger = config.messenger()?;
        State::open_with(config, messenger).await
    }

    /// [`State::open`] with a given messenger (tests).
    pub async fn open_with(
        config: &Config,
        messenger: Arc<dyn Messenger>,
    ) -> anyhow::Result<State> {
        let exposure = config.serve.exposure(Role::Internal);
        let token = match &exposure {
            Exposure::Internal(token) => Some(token.clone()),
            _ => None,
        };
        let venues = venues::Venues(
            Downstream::new(Client::new(token), &config.venues_url).context("VENUES_URL")?,
        );
        let db_path = config.serve.data_dir.join(DB_FILE);
        let db = tokio::task::spawn_blocking(move || {
            store::open(&db_path)
                .with_context(|| format!("cannot open the database {}", db_path.display()))
        })
        .await??;
        let wake = Arc::new(sender::Wake::default());
        tracing::info!(
            messenger = messenger.name(),
            "messages are delivered by this messenger"
        );
        let running = sender::spawn(db.clone(), messenger, wake.clone(), config.policy());
        let date_offset = chrono::Duration::minutes(config.date_offset_minutes);
        Ok(State {
            communications: Arc::new(Communications::new(db, venues, wake, date_offset)),
            exposure,
            sender: Arc::new(running),
        })
    }
}

/// The complete router: the service's routes plus chefcito's standard routes and layers.
pub fn app(state: State) -> Router {
    let options = Options {
        name: "communications",
        db: Some(state.communications.db().clone()),
        exposure: state.exposure.clone(),
        ready: None,
    };
    finish(http::routes().with_state(state), options)
}

/// Everything `main` needs: opens the store, starts the sender and builds the router.
pub async fn build(config: &Config) -> anyhow::Result<Router> {
    Ok(app(State::open(config).await?))
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
    fn defaults() {
        let config = Config::parse_from(["communications"]);
        assert_eq!(config.messenger, MessengerKind::Outbox);
        assert_eq!(config.date_offset_minutes, -180);
        assert_eq!(config.policy().max_attempts, 12);
        assert_eq!(config.messenger().unwrap().name(), "outbox");
        assert!(Config::try_parse_from(["communications", "--send-max-attempts", "0"]).is_err());
        assert_eq!(
            Config::parse_from(["communications", "--date-offset-minutes", "-60"])
                .date_offset_minutes,
            -60
        );
    }

    #[test]
    fn twilio_needs_its_settings() {
        let twilio = |extra: &[&str]| {
            let mut args = vec!["communications", "--messenger", "twilio"];
            args.extend_from_slice(extra);
            Config::parse_from(args).messenger()
        };
        let err = twilio(&["--twilio-account-sid", "AC1", "--twilio-auth-token", "t"]).unwrap_err();
        assert!(err.to_string().contains("TWILIO_FROM"), "{err}");
        let err = twilio(&["--twilio-from", "+15005550006"]).unwrap_err();
        assert!(err.to_string().contains("TWILIO_ACCOUNT_SID"), "{err}");
        let ok = twilio(&[
            "--twilio-account-sid",
            "AC1",
            "--twilio-auth-token",
            "t",
            "--twilio-from",
            "+15005550006",
        ])
        .unwrap();
        assert_eq!(ok.name(), "twilio");
        // The token never shows in the configuration's debug output.
        let config = Config::parse_from(["communications", "--twilio-auth-token", "s3cr3t"]);
        assert!(!format!("{config:?}").contains("s3cr3t"));
    }
}
