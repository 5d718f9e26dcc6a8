//! # users — identity, profiles and permissions
//!
//! The users service of Chefcito. It is
//!
//! * the **embedded identity provider**: accounts with e-mail and password (argon2id), short
//!   lived ID tokens (EdDSA/Ed25519 JWTs) published through a JWKS that the gateway verifies
//!   locally, and rotating refresh tokens with reuse detection;
//! * the keeper of **profiles** (the original's `users` and `users_data` tables): which uid
//!   registered as `client` or `restaurant`, with name and phone number;
//! * the keeper of the **permission table** that `db_config.yaml` describes and the gateway
//!   enforces.
//!
//! Its HTTP API is internal (only the gateway calls it) and is specified in
//! `docs/internal-api.md`. Every route but `/health` and `/ready` requires the internal token.
//!
//! ## Configuration (environment variables; the same names as `--flags` in `--help`)
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `BIND` | `0.0.0.0:8001` | address to listen on |
//! | `DATA_DIR` | `data` | holds `users.db` and, unless `SIGNING_KEY` is set, `signing-key.pem` |
//! | `INTERNAL_TOKEN` | none | shared secret required in `x-chefcito-internal-token` |
//! | `LOG`, `LOG_FORMAT` | `info`, `text` | log filter and format (`text` or `json`) |
//! | `TOKEN_ISSUER` | `chefcito-users` | `iss` of the ID tokens |
//! | `TOKEN_AUDIENCE` | `chefcito` | `aud` of the ID tokens |
//! | `TOKEN_TTL_SECS` | `3600` | lifetime of an ID token (`expiresIn`) |
//! | `REFRESH_TTL_DAYS` | `30` | lifetime of a refresh token; each use gives a new one with a new lifetime |
//! | `COMMUNICATIONS_URL` | `http://127.0.0.1:8008` | communications service: phone numbers are sent there through the outbox |
//! | `SIGNING_KEY` | none | PKCS#8 PEM of an Ed25519 private key; when absent a key is generated on the first start, kept in `<DATA_DIR>/signing-key.pem` (mode 0600) and reused afterwards |
//!
//! ## Decisions
//!
//! * **Permissions are seeded at start-up.** When the permission table has never been loaded
//!   (version 0), the service loads the `db_config.yaml` it was built with, so that a fresh
//!   cluster works without `cargo xtask load-db`. Once loaded, only `PUT /permissions` (which
//!   `load-db` uses) changes it; a restart never overwrites an operator's table. A table
//!   replaced by an identical one keeps its version, so the gateway's cached copy stays valid.
//! * **Repeated registration is idempotent**: `POST /users` for a registered uid answers the
//!   stored profile unchanged with 200, never 409, because the real apps re-register on every
//!   Google sign-in (client contract H1). Only `client` and `restaurant` can be chosen.
//! * **Refresh tokens** are 32 random bytes, stored only as SHA-256 hashes, grouped in a
//!   family per sign-in. Each use rotates the token; presenting a used one again means it was
//!   copied, so the whole family is revoked (and both holders must sign in again) — except
//!   within 10 s of the rotation, when it is a second tab refreshing at the same moment: that
//!   call gets a 401 and the session lives on. Expired
//!   tokens are pruned when sessions start; presenting a pruned one is a plain 401.
//! * **Phone numbers and communications.** The original pushed the phone number to the
//!   communications service on sign-up and update, after committing, so a failure of that call
//!   left users half-registered. Here a `user.phone` event (`{"user","phone","at"}`) is written
//!   to the transactional outbox in the same transaction as the profile (on registration, and
//!   when an update changes the number) and delivered by a background task with retries:
//!   registration never waits for, or fails with, the communications service.
//! * A wrong e-mail and a wrong password give the same 401 after the same work (a decoy hash
//!   is verified for unknown e-mails): the sign-in answer does not reveal who has an account.

use std::sync::Arc;

use anyhow::Context;
use axum::Router;
use chefcito::config::{Secret, ServeArgs};
use chefcito::permissions::Permissions;
use chefcito::service::{Exposure, Options, Role, finish};

pub mod http;
pub mod load_permissions;
pub mod model;
pub mod passwords;
pub mod service;
pub mod store;
pub mod throttle;
pub mod tokens;

use service::{Clock, SystemClock, TokenSettings, Users};
use tokens::Keys;

/// The permission table this binary was built with, loaded on the first start.
pub const DEFAULT_PERMISSIONS: &str = include_str!("../../../db_config.yaml");

/// File name of the database inside the data directory.
pub const DB_FILE: &str = "users.db";

/// Configuration of the users service, read from flags or the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: ServeArgs,
    /// Issuer (`iss`) written into ID tokens; the gateway checks it.
    #[arg(long, env = "TOKEN_ISSUER", default_value = "chefcito-users")]
    pub token_issuer: String,
    /// Audience (`aud`) written into ID tokens; the gateway checks it.
    #[arg(long, env = "TOKEN_AUDIENCE", default_value = "chefcito")]
    pub token_audience: String,
    /// Lifetime of an ID token, in seconds.
    #[arg(long, env = "TOKEN_TTL_SECS", default_value = "3600",
          value_parser = clap::value_parser!(u32).range(1..))]
    pub token_ttl_secs: u32,
    /// Lifetime of a refresh token, in days (each refresh issues a new one).
    #[arg(long, env = "REFRESH_TTL_DAYS", default_value = "30",
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub refresh_ttl_days: u32,
    /// PKCS#8 PEM text of the Ed25519 key that signs ID tokens. When absent, a key is generated
    /// on the first start and kept in `<DATA_DIR>/signing-key.pem` (mode 0600).
    #[arg(
        long,
        env = "SIGNING_KEY",
        hide_env_values = true,
        allow_hyphen_values = true
    )]
    pub signing_key: Option<Secret>,
    /// Base URL of the communications service (phone numbers, delivered through the outbox).
    #[arg(
        long,
        env = "COMMUNICATIONS_URL",
        default_value = "http://127.0.0.1:8008"
    )]
    pub communications_url: String,
}

impl Config {
    fn token_settings(&self) -> TokenSettings {
        TokenSettings {
            issuer: self.token_issuer.clone(),
            audience: self.token_audience.clone(),
            id_ttl_secs: i64::from(self.token_ttl_secs),
            refresh_ttl_secs: i64::from(self.refresh_ttl_days) * 24 * 3600,
        }
    }
}

/// What every handler shares.
#[derive(Debug, Clone)]
pub struct State {
    pub users: Arc<Users>,
    pub exposure: Exposure,
    /// Delivers the outbox while the router lives (started by [`build`]).
    dispatcher: Option<Arc<chefcito::outbox::Dispatcher>>,
}

impl State {
    /// Starts delivering outbox events (phone numbers to communications).
    pub fn start_background(mut self) -> State {
        let db = self.users.db().clone();
        self.dispatcher = Some(Arc::new(self.users.outbox().spawn_dispatcher(db)));
        self
    }
}

impl State {
    /// Opens the store, loads (or creates) the signing key and seeds the permission table on
    /// the first start.
    pub async fn open(config: &Config, clock: Arc<dyn Clock>) -> anyhow::Result<State> {
        let data_dir = config.serve.data_dir.clone();
        let signing_key = config.signing_key.clone();
        let (db, keys) = tokio::task::spawn_blocking(move || -> anyhow::Result<_> {
            let db_path = data_dir.join(DB_FILE);
            let db = store::open(&db_path)
                .with_context(|| format!("cannot open the database {}", db_path.display()))?;
            let keys = Keys::load_or_create(signing_key.as_ref(), &data_dir)?;
            Ok((db, keys))
        })
        .await??;
        let client = chefcito::client::Client::new(config.serve.internal_token.clone());
        let communications = chefcito::client::Downstream::new(client, &config.communications_url)
            .context("invalid COMMUNICATIONS_URL")?;
        let outbox = chefcito::outbox::Outbox::new(vec![chefcito::outbox::Route {
            topic: store::PHONE_TOPIC,
            consumer: "communications",
            target: communications,
            path: "/events",
        }]);
        let users = Users::new(db, keys, config.token_settings(), clock, outbox);
        let defaults = Permissions::from_yaml(DEFAULT_PERMISSIONS)
            .context("the db_config.yaml built into this binary is invalid")?;
        if let Some(applied) = users.seed_permissions(&defaults).await? {
            tracing::info!(
                version = applied.version,
                "permission table seeded from the built-in db_config.yaml"
            );
        }
        Ok(State {
            users: Arc::new(users),
            exposure: config.serve.exposure(Role::Internal),
            dispatcher: None,
        })
    }
}

/// The complete router: the service's routes plus chefcito's standard routes and layers.
pub fn app(state: State) -> Router {
    let options = Options {
        name: "users",
        db: Some(state.users.db().clone()),
        exposure: state.exposure.clone(),
        ready: None,
    };
    finish(http::routes().with_state(state), options)
}

/// Everything `main` needs: opens the store, loads the key, builds the router.
pub async fn build(config: &Config) -> anyhow::Result<Router> {
    Ok(app(State::open(config, Arc::new(SystemClock))
        .await?
        .start_background()))
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
    fn built_in_permissions_are_valid() {
        assert!(Permissions::from_yaml(DEFAULT_PERMISSIONS).is_ok());
    }
}
