//! # summaries — one paragraph about each venue, from its opinions
//!
//! The summaries service of Chefcito. A restaurant's dashboard and a diner's venue screen show
//! a short Spanish summary of what diners said about the venue (client contract E20). This
//! service keeps one summary per venue, generates it in the background from the venue's
//! opinions (read from the opinions service), and serves it.
//!
//! Its HTTP API is internal (the gateway reads and forces summaries, the opinions service's
//! outbox delivers `opinion.created` events) and is specified in `docs/internal-api.md`.
//! Every route but `/health` and `/ready` requires the internal token.
//!
//! ## Configuration (environment variables; the same names as `--flags` in `--help`)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `0.0.0.0:8005` (`127.0.0.1:8005` without `INTERNAL_TOKEN`) | address to listen on |
//! | `DATA_DIR` | `data` | holds `summaries.db` |
//! | `INTERNAL_TOKEN` | none | shared secret required in `x-chefcito-internal-token` (and sent to the opinions service); without it the service serves loopback callers only |
//! | `LOG`, `LOG_FORMAT` | `info`, `text` | log filter and format (`text` or `json`) |
//! | `OPINIONS_URL` | `http://127.0.0.1:8004` | base URL of the opinions service |
//! | `SUMMARY_API_BASE_URL` | none | base URL of an OpenAI-compatible API, e.g. `https://api.openai.com/v1` or `http://ollama:11434/v1`; when set, summaries are written by that API (the extractive engine stays the fallback); when unset or empty, by the embedded extractive engine |
//! | `SUMMARY_MODEL` | none | the model to ask; required with `SUMMARY_API_BASE_URL` |
//! | `SUMMARY_API_KEY` | none | sent as `Authorization: Bearer …` (never logged); a local server may need none |
//! | `SUMMARY_TIMEOUT_SECS` | `30` | longest wait for the API's answer (1–600) before falling back |
//! | `SUMMARY_STALE_DAYS` | `7` | a summary older than this is regenerated on the next read |
//! | `SUMMARY_NEW_OPINIONS` | `5` | this many new opinions since the summary trigger a regeneration |
//! | `SUMMARY_MIN_OPINIONS` | `1` | fewer opinions than this make no summary (the original waited for 5) |
//! | `SUMMARY_MAX_OPINIONS` | `100` | the newest this many opinions are summarised (1–100, the opinions service's page limit) |
//! | `SUMMARY_COOLDOWN_SECS` | `300` | after an attempt that stored nothing, no automatic retry for this long (unless an opinion arrives); and no forced regeneration sooner than this after the last attempt |
//!
//! ## Engines
//!
//! Behind one narrow async trait ([`engine::Engine`]): summaries are written by the embedded
//! extractive engine, or by an OpenAI-compatible chat API when `SUMMARY_API_BASE_URL` is set.
//! When the API fails (no connection, timeout, non-2xx, an answer that is not a chat
//! completion, an empty text) the failure is logged and the extractive engine writes the
//! summary instead; the next regeneration tries the API again. A summary is never empty.
//!
//! **The extractive engine** ([`engine::extractive`], where each step is detailed) is offline
//! and deterministic — same opinions and same `now`, same text:
//!
//! 1. split every opinion into sentences (after `.`, `!`, `?`, `…` followed by a space, and at
//!    line breaks), tidied for display (capitalised, ended with a full stop, at most 280
//!    characters);
//! 2. normalise each sentence into terms: lower case, words, Spanish stop words removed (the
//!    NLTK list of `stop-words`, keeping negations such as "no", "nunca", "sin"), Snowball
//!    Spanish stems (`rust-stemmers`);
//! 3. score each sentence `0.75 · centrality + 0.25 · recency`: centrality is the cosine of its
//!    TF-IDF vector to the centroid of all sentence vectors weighted by recency; recency halves
//!    every 30 days of the opinion's age;
//! 4. take sentences by score (ties: newer opinion, earlier sentence), skipping near-duplicates
//!    of a kept one (Jaccard similarity of the stem sets above 0.5, unless exactly one of the
//!    two is negated) and anything over 600 characters in total, up to 3 sentences;
//! 5. print `Resumen de N opiniones.` followed by the kept sentences, in that order, as one
//!    paragraph.
//!
//! **The OpenAI-compatible adapter** ([`engine::openai`]) makes one call per summary:
//! `POST {SUMMARY_API_BASE_URL}/chat/completions`, `{"model", "messages": [system, user]}`,
//! the user message being the original summarizer's prompt (spec §8.1) with the opinions
//! stuffed in, newest first, within a 12,000-character budget; the summary is
//! `choices[0].message.content`.
//!
//! ## Decisions
//!
//! * **Plain reqwest, not `async-openai`.** `async-openai` 0.43's client is built on reqwest
//!   0.13, whose only TLS back-ends are rustls with aws-lc-rs (a C library to build) plus the
//!   platform verifier — which trusts the system's CA files, and our images are `FROM
//!   scratch` with none — or native-tls (OpenSSL, not static). Without TLS it could only reach
//!   `http://` servers. The workspace's reqwest 0.12 has rustls with bundled roots, like every
//!   other outbound call of ours, and the protocol subset we need (one request, one field of
//!   the answer) is a few lines of serde. Its answer is read leniently: servers that omit
//!   `id`, `usage` or `created` work too.
//! * **Generation is never on the request path.** `GET /summaries/{venue}` answers the stored
//!   summary at once; if a generation is due it is started in the background and the next
//!   read shows its result. A summary is *due* when the venue has none, when it is older
//!   than `SUMMARY_STALE_DAYS`, or when `SUMMARY_NEW_OPINIONS` opinions arrived since it was
//!   made (counted from `opinion.created` events, which trigger it themselves). After an
//!   attempt that stored nothing (too few opinions, or the opinions service failing),
//!   nothing is due for `SUMMARY_COOLDOWN_SECS` unless a new opinion arrives, so a failing
//!   dependency is not hammered by reads (the mobile app polls on failure).
//! * **One generation per venue at a time.** Triggers for a venue being generated join it;
//!   when it ends it checks once more whether something is still due (an opinion may have
//!   arrived meanwhile). Ten simultaneous triggers make one generation (the original ran one
//!   per request and stored duplicates, §10 Q10).
//! * **`GET /summaries/{venue}` always answers 200** (H10), even for a venue id that is not
//!   valid or when the store fails: `{"text","date","venue"}` with the stored summary (`date`
//!   = when it was generated, printed with `Z`), or a placeholder dated now (never stored):
//!   `No hay un resumen para este restaurant aun` once an attempt found too few opinions,
//!   `Este restaurant aun no tiene un resumen de opiniones disponible` before any attempt,
//!   while the first one runs, or after a failure — both byte for byte from the original.
//!   `limit` and `skip` in the query are ignored, as they were.
//! * **`POST /summaries/{venue}` forces a regeneration in the background** (the original's was
//!   dead, §10 Q9) and answers the summary as it is now (or the placeholder): **202** when a
//!   regeneration was started (or one was already running), **200** when the venue's last
//!   attempt started less than `SUMMARY_COOLDOWN_SECS` ago, so an owner cannot keep an LLM
//!   busy. The gateway checks that the caller owns the venue. Any body is ignored.
//! * **Stored data**: one current summary per venue with its generation time, engine, number
//!   of opinions and their date range (`window_from`/`window_to`, §10 Q10), instead of the
//!   original's future-dated windows. The summary text is at most 2,000 characters (an API's
//!   longer answer is cut at a word), with line breaks and control characters made spaces.
//! * **All of the newest `SUMMARY_MAX_OPINIONS` opinions are summarised**, older ones weighing
//!   less (the extractive engine's recency, the prompt's instruction), instead of the
//!   original's 10 per 14-day window.
//! * **Events** (`POST /events`, `{"id","topic","payload"}`): an `opinion.created` counts one
//!   new opinion for its payload's `venue`, once per event id (chefcito's `first_delivery` in
//!   the same write as the count); a redelivery answers 200 `duplicate`; another topic 200
//!   `ignored`; an event that cannot be read 422 (the producer's dispatcher parks it).

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chefcito::client::{Client, Downstream};
use chefcito::config::{Secret, ServeArgs};
use chefcito::service::{Exposure, Options, Role, finish};

pub mod engine;
pub mod http;
pub mod model;
pub mod opinions;
pub mod service;
pub mod store;

use engine::{Engine, Extractive, OpenAi};
use opinions::Opinions;
use service::{Clock, Policy, Summaries, SystemClock};

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "summaries.db";

/// Configuration of the summaries service, read from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Base URL of the opinions service.
    #[arg(long, env = "OPINIONS_URL", default_value = "http://127.0.0.1:8004")]
    pub opinions_url: String,
    /// Base URL of an OpenAI-compatible chat API, up to and including `/v1`; unset or empty:
    /// the embedded extractive engine writes the summaries.
    #[arg(long, env = "SUMMARY_API_BASE_URL")]
    pub summary_api_base_url: Option<String>,
    /// Model asked for summaries (required with SUMMARY_API_BASE_URL).
    #[arg(long, env = "SUMMARY_MODEL")]
    pub summary_model: Option<String>,
    /// Bearer key for the chat API.
    #[arg(long, env = "SUMMARY_API_KEY", hide_env_values = true)]
    pub summary_api_key: Option<Secret>,
    /// Seconds to wait for the chat API before falling back to the extractive engine.
    #[arg(long, env = "SUMMARY_TIMEOUT_SECS", default_value = "30",
          value_parser = clap::value_parser!(u32).range(1..=600))]
    pub summary_timeout_secs: u32,
    /// A summary older than this many days is regenerated on the next read.
    #[arg(long, env = "SUMMARY_STALE_DAYS", default_value = "7",
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub summary_stale_days: u32,
    /// This many new opinions since the summary trigger a regeneration.
    #[arg(long, env = "SUMMARY_NEW_OPINIONS", default_value = "5",
          value_parser = clap::value_parser!(u32).range(1..=100_000))]
    pub summary_new_opinions: u32,
    /// Fewer opinions than this make no summary.
    #[arg(long, env = "SUMMARY_MIN_OPINIONS", default_value = "1",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub summary_min_opinions: u32,
    /// The newest this many opinions are summarised.
    #[arg(long, env = "SUMMARY_MAX_OPINIONS", default_value = "100",
          value_parser = clap::value_parser!(u32).range(1..=100))]
    pub summary_max_opinions: u32,
    /// Seconds after an attempt during which failures are not retried automatically and
    /// regenerations are not forced.
    #[arg(long, env = "SUMMARY_COOLDOWN_SECS", default_value = "300",
          value_parser = clap::value_parser!(u32).range(0..=86_400))]
    pub summary_cooldown_secs: u32,
}

impl Config {
    /// The regeneration rules' parameters.
    pub fn policy(&self) -> anyhow::Result<Policy> {
        if self.summary_min_opinions > self.summary_max_opinions {
            anyhow::bail!(
                "SUMMARY_MIN_OPINIONS ({}) is above SUMMARY_MAX_OPINIONS ({}): no summary could ever be made",
                self.summary_min_opinions,
                self.summary_max_opinions
            );
        }
        Ok(Policy {
            stale_after: chrono::Duration::days(self.summary_stale_days.into()),
            new_opinions: self.summary_new_opinions.into(),
            min_opinions: self.summary_min_opinions as usize,
            max_opinions: self.summary_max_opinions,
            cooldown: chrono::Duration::seconds(self.summary_cooldown_secs.into()),
        })
    }

    /// The engine the configuration chooses: the chat API when its base URL is set, else the
    /// extractive engine.
    pub fn engine(&self) -> anyhow::Result<Arc<dyn Engine>> {
        let base = self
            .summary_api_base_url
            .as_deref()
            .map(str::trim)
            .filter(|b| !b.is_empty());
        let Some(base) = base else {
            return Ok(Arc::new(Extractive::new()));
        };
        let settings = engine::openai::Settings {
            base_url: base.to_string(),
            model: self.summary_model.clone().unwrap_or_default(),
            key: self.summary_api_key.clone(),
            timeout: std::time::Duration::from_secs(self.summary_timeout_secs.into()),
        };
        Ok(Arc::new(OpenAi::new(settings)?))
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub summaries: Arc<Summaries>,
    pub exposure: Exposure,
}

impl State {
    /// Opens the store and sets up the engine the configuration chooses.
    pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<State> {
        State::open_with(config, clock, config.engine()?).await
    }

    /// Opens the store with a given engine (tests use their own).
    pub async fn open_with(
        config: &Config,
        clock: Arc<dyn Clock>,
        engine: Arc<dyn Engine>,
    ) -> anyhow::Result<State> {
        let policy = config.policy()?;
        let db_path = config.serve.data_dir.join(DB_FILE);
        let db = tokio::task::spawn_blocking(move || {
            store::open(&db_path)
                .with_context(|| format!("cannot open the database {}", db_path.display()))
        })
        .await??;
        let client = Client::new(config.serve.internal_token.clone());
        let opinions = Opinions(
            Downstream::new(client, &config.opinions_url).context("invalid OPINIONS_URL")?,
        );
        tracing::info!(engine = engine.name(), "summary engine");
        Ok(State {
            summaries: Arc::new(Summaries::new(db, opinions, engine, clock, policy)),
            exposure: config.serve.exposure(Role::Internal),
        })
    }
}

/// The complete router: the service's routes plus chefcito's standard routes and layers.
pub fn app(state: State) -> Router {
    let options = Options {
        name: "summaries",
        db: Some(state.summaries.db().clone()),
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
    fn defaults_choose_the_extractive_engine_and_the_brief_s_rules() {
        let config = Config::parse_from(["summaries"]);
        assert_eq!(config.engine().unwrap().name(), "extractive");
        let policy = config.policy().unwrap();
        assert_eq!(policy.stale_after, chrono::Duration::days(7));
        assert_eq!(policy.new_opinions, 5);
        assert_eq!(policy.min_opinions, 1);
        let empty = Config::parse_from(["summaries", "--summary-api-base-url", " "]);
        assert_eq!(empty.engine().unwrap().name(), "extractive");
    }

    #[test]
    fn the_chat_api_needs_a_model_and_sane_bounds() {
        let with = |args: &[&str]| {
            let mut all = vec!["summaries"];
            all.extend_from_slice(args);
            Config::parse_from(all)
        };
        let api = with(&[
            "--summary-api-base-url",
            "http://127.0.0.1:9/v1",
            "--summary-model",
            "m",
        ]);
        assert_eq!(api.engine().unwrap().name(), "openai");
        assert!(
            with(&["--summary-api-base-url", "http://127.0.0.1:9/v1"])
                .engine()
                .is_err()
        );
        assert!(
            with(&[
                "--summary-min-opinions",
                "50",
                "--summary-max-opinions",
                "10"
            ])
            .policy()
            .is_err()
        );
        assert!(Config::try_parse_from(["summaries", "--summary-timeout-secs", "0"]).is_err());
    }
}
