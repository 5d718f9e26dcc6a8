//! # gateway — the one public Chefcito service
//!
//! Every client app talks only to the gateway. It
//!
//! * verifies bearer ID tokens locally against a JWKS (signature, `iss`, `aud`, `exp`; no call
//!   per request to validate a token) — see [`auth`];
//! * enforces the permission table of `db_config.yaml`, which it reads from the users service
//!   and refreshes in the background, so a new table is enforced within seconds without a
//!   restart — see [`permissions`];
//! * answers CORS pre-flights on every path and puts CORS headers on every answer, errors
//!   included (hazard H4) — see [`cors`];
//! * serves the client-facing API (`/auth/*`, `/users`, `/venue`, `/venues*`,
//!   `/reservations*`, `/opinions`, `/summaries/*`, `/stats/*`) by calling internal services
//!   with the internal token, and documents it at `GET /openapi.json` and `GET /docs` — see
//!   [`routes`] and [`openapi`].
//!
//! ## Configuration
//!
//! | variable | default | meaning |
//! |---|---|---|
//! | `USERS_URL` | `http://127.0.0.1:8001` | base URL of the users service |
//! | `VENUES_URL` | `http://127.0.0.1:8003` | base URL of the venues service |
//! | `RESERVATIONS_URL` | `http://127.0.0.1:8002` | base URL of the reservations service |
//! | `POINTS_URL` | `http://127.0.0.1:8007` | base URL of the points service (balances in `GET /users`) |
//! | `OPINIONS_URL` | `http://127.0.0.1:8004` | base URL of the opinions service |
//! | `SUMMARIES_URL` | `http://127.0.0.1:8005` | base URL of the summaries service |
//! | `STATS_URL` | `http://127.0.0.1:8006` | base URL of the stats service |
//! | `AUTH_JWKS_URL` | `<USERS_URL>/.well-known/jwks.json` | where the token signing keys are published |
//! | `AUTH_ISSUER` | `chefcito-users` | the `iss` every accepted token carries |
//! | `AUTH_AUDIENCE` | `chefcito` | the `aud` every accepted token carries |
//! | `PERMISSIONS_REFRESH_SECS` | `2` | how often the permission table is re-read |
//!
//! plus the options every service has ([`chefcito::config::ServeArgs`]: `BIND` (default port
//! 8000), `INTERNAL_TOKEN`, `LOG`, `LOG_FORMAT`; `DATA_DIR` is unused: the gateway keeps no
//! data).
//!
//! The internal token is sent to the JWKS URL only when it lies under `USERS_URL`: an external
//! identity provider never sees it.
//!
//! ### Firebase mode
//!
//! To accept the Firebase ID tokens the existing apps already hold (project `<project>`):
//!
//! ```text
//! AUTH_JWKS_URL=https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com
//! AUTH_ISSUER=https://securetoken.google.com/<project>
//! AUTH_AUDIENCE=<project>
//! ```
//!
//! ## Decisions
//!
//! * No `Authorization` header, or `Bearer anonymous`, is the anonymous caller (H5). Any other
//!   header must be `Bearer <token>` with a valid token where an identity is needed, else 401.
//! * A token is verified where it matters: when the requested path is not open to every user
//!   type, or when the handler needs the caller (`/users`). So an expired ID token that a client
//!   sends along with `POST /auth/refresh` does not block the refresh that would replace it.
//! * A signed-in user who has not registered with `POST /users` counts as `anonymous` for the
//!   permission table; when refused, they get 403 telling them to register.
//! * Unknown paths are 404, never 403: the permission check runs only on matched routes.
//! * `GET /metrics` (added by `chefcito::service::finish`, like `/health`) is outside the
//!   permission table and the method check: only the internal token decides, sent as
//!   `Authorization: Bearer <INTERNAL_TOKEN>`; without it, or when the gateway has no token,
//!   401 with the envelope. It is not in the OpenAPI document.
//! * Until the permission table has been read once, guarded routes answer 503 rather than guess;
//!   `/health` and CORS pre-flights work all the same.
//! * `PUT /users` requires both `name` and `phone` keys (null allowed), as the original did;
//!   the real client always sends both (H13).
//! * `points` in `GET /users` and `PUT /users` come from the points service. When it fails or
//!   cannot be reached, the profile is answered anyway with the starting points (0, `Novato`)
//!   and a warning is logged: the apps sign in through `GET /users` (the portal stays logged
//!   out when it fails), and a balance shown late matters less than a sign-in refused.
//! * Read routes whose answer is the downstream service's own wire type (`GET /venue`,
//!   `/venues`, `/venues/near`, `/venues/promotions`, `/reservations`,
//!   `/reservations/venue`) relay the 2xx body byte for byte
//!   ([`chefcito::client::Relayed`]) instead of decoding and re-encoding it: a tenth of the
//!   gateway's work on a page of venues. The gateway's types still document those answers in
//!   the OpenAPI document, and the system tests decode every relayed answer with them.
//! * Ownership and request rules of each proxied service are in its module:
//!   [`routes::venues`], [`routes::reservations`], [`routes::opinions`],
//!   [`routes::summaries`] (`GET` always 200, H10) and [`routes::stats`] (H2).

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use chefcito::client::{Client, Downstream};
use chefcito::jwks::{Verifier, VerifierConfig};

pub mod auth;
pub mod cors;
pub mod methods;
pub mod openapi;
pub mod permissions;
pub mod routes;

/// Everything the gateway reads from the environment.
#[derive(Debug, Clone, clap::Parser)]
pub struct Config {
    #[command(flatten)]
    pub serve: chefcito::config::ServeArgs,
    /// Base URL of the users service (identity provider, profiles, permission table).
    #[arg(long, env = "USERS_URL", default_value = "http://127.0.0.1:8001")]
    pub users_url: String,
    /// Base URL of the venues service.
    #[arg(long, env = "VENUES_URL", default_value = "http://127.0.0.1:8003")]
    pub venues_url: String,
    /// Base URL of the reservations service.
    #[arg(
        long,
        env = "RESERVATIONS_URL",
        default_value = "http://127.0.0.1:8002"
    )]
    pub reservations_url: String,
    /// Base URL of the points service.
    #[arg(long, env = "POINTS_URL", default_value = "http://127.0.0.1:8007")]
    pub points_url: String,
    /// Base URL of the opinions service.
    #[arg(long, env = "OPINIONS_URL", default_value = "http://127.0.0.1:8004")]
    pub opinions_url: String,
    /// Base URL of the summaries service.
    #[arg(long, env = "SUMMARIES_URL", default_value = "http://127.0.0.1:8005")]
    pub summaries_url: String,
    /// Base URL of the stats service.
    #[arg(long, env = "STATS_URL", default_value = "http://127.0.0.1:8006")]
    pub stats_url: String,
    /// JWKS URL of the identity provider [default: <USERS_URL>/.well-known/jwks.json]. For
    /// Firebase: https://www.googleapis.com/service_accounts/v1/jwk/securetoken@system.gserviceaccount.com
    #[arg(long, env = "AUTH_JWKS_URL")]
    pub auth_jwks_url: Option<String>,
    /// The `iss` claim accepted tokens carry (Firebase: https://securetoken.google.com/<project>).
    #[arg(long, env = "AUTH_ISSUER", default_value = "chefcito-users")]
    pub auth_issuer: String,
    /// The `aud` claim accepted tokens carry (Firebase: the project id).
    #[arg(long, env = "AUTH_AUDIENCE", default_value = "chefcito")]
    pub auth_audience: String,
    /// Who signs users in: `embedded` (the users service; `/auth/*` is served) or `external`
    /// (Firebase or another OIDC provider; `/auth/*` answers 404). Default: `embedded` unless
    /// `AUTH_JWKS_URL` points outside the users service.
    #[arg(long, env = "AUTH_SIGNIN", value_parser = ["embedded", "external"])]
    pub auth_signin: Option<String>,
    /// Origins allowed to call from a browser, comma-separated (e.g.
    /// `https://portal.example.com`); empty: any origin (`*`, without credentials).
    #[arg(long, env = "CORS_ORIGINS")]
    pub cors_origins: Option<String>,
    /// Seconds between two reads of the permission table from the users service.
    #[arg(long, env = "PERMISSIONS_REFRESH_SECS", default_value = "2")]
    pub permissions_refresh_secs: u64,
}

impl Config {
    fn users_base(&self) -> &str {
        self.users_url.trim_end_matches('/')
    }

    /// The JWKS URL in force (explicit, or the users service's own).
    pub fn jwks_url(&self) -> String {
        self.auth_jwks_url
            .clone()
            .unwrap_or_else(|| format!("{}/.well-known/jwks.json", self.users_base()))
    }

    /// Whether `/auth/*` is served (the users service signs users in).
    pub fn embedded_sign_in(&self) -> bool {
        match self.auth_signin.as_deref() {
            Some(mode) => mode == "embedded",
            None => self.jwks_is_internal(),
        }
    }

    /// Whether the JWKS is served by our own users service, which requires the internal token.
    fn jwks_is_internal(&self) -> bool {
        self.jwks_url()
            .starts_with(&format!("{}/", self.users_base()))
    }
}

/// Shared state of every handler: one reference count to clone (axum clones it into every
/// layer and handler of a request; field by field, those clones and drops were a visible
/// share of the gateway's profile). Fields are read through `Deref`.
#[derive(Clone, Debug)]
pub struct State(Arc<Shared>);

impl std::ops::Deref for State {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`State`] holds.
#[derive(Debug)]
pub struct Shared {
    /// The internal services the gateway calls (one field per service).
    pub users: Downstream,
    pub venues: Downstream,
    pub reservations: Downstream,
    pub points: Downstream,
    pub opinions: Downstream,
    pub summaries: Downstream,
    pub stats: Downstream,
    pub identity: Arc<auth::Identity>,
    pub permissions: Arc<permissions::PermissionStore>,
    /// Whether the users service is the identity provider (`/auth/*` is served); false when
    /// tokens come from an external provider such as Firebase.
    pub embedded_identity: bool,
    pub cors: Arc<cors::Origins>,
    /// Public, with the internal token guarding `/metrics` (refused to all without one).
    pub exposure: Arc<chefcito::service::Exposure>,
}

impl State {
    /// State from the configuration; nothing is fetched yet.
    pub fn new(config: &Config) -> anyhow::Result<State> {
        let client = Client::new(config.serve.internal_token.clone());
        let headers = match (&config.serve.internal_token, config.jwks_is_internal()) {
            (Some(token), true) => vec![(
                chefcito::INTERNAL_TOKEN_HEADER.to_string(),
                token.expose().to_string(),
            )],
            _ => Vec::new(),
        };
        let verifier = Verifier::new(
            VerifierConfig {
                jwks_url: config.jwks_url(),
                issuer: config.auth_issuer.clone(),
                audience: config.auth_audience.clone(),
                headers,
            },
            client.http().clone(),
        );
        let downstream = |url: &str, variable: &str| {
            Downstream::new(client.clone(), url).map_err(|e| anyhow::anyhow!("{variable}: {e}"))
        };
        let users = downstream(&config.users_url, "USERS_URL")?;
        Ok(State(Arc::new(Shared {
            identity: Arc::new(auth::Identity::new(verifier, users.clone())),
            permissions: Arc::new(permissions::PermissionStore::new(users.clone())),
            users,
            venues: downstream(&config.venues_url, "VENUES_URL")?,
            reservations: downstream(&config.reservations_url, "RESERVATIONS_URL")?,
            points: downstream(&config.points_url, "POINTS_URL")?,
            opinions: downstream(&config.opinions_url, "OPINIONS_URL")?,
            summaries: downstream(&config.summaries_url, "SUMMARIES_URL")?,
            stats: downstream(&config.stats_url, "STATS_URL")?,
            embedded_identity: config.embedded_sign_in(),
            cors: Arc::new(cors::Origins::parse(config.cors_origins.as_deref())?),
            exposure: Arc::new(config.serve.exposure(chefcito::service::Role::Public)),
        })))
    }
}

/// The complete router for `state`: API routes guarded by identity and permissions, the
/// standard service routes and layers, CORS outermost.
pub fn app(state: State) -> Router {
    let (router, document) = routes::router().split_for_parts();
    let cors = state.cors.clone();
    let table = state.permissions.clone();
    let ready: chefcito::service::ReadyCheck = Arc::new(move || {
        let loaded = table.table().is_some();
        Box::pin(async move {
            if loaded {
                Ok(())
            } else {
                Err("the permission table is not loaded yet".into())
            }
        })
    });
    let methods = Arc::new(methods::Methods::of(&document));
    let exposure = (*state.exposure).clone();
    let router = router
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            permissions::guard,
        ))
        .route_layer(axum::middleware::from_fn_with_state(
            methods,
            methods::allowed,
        ))
        .layer(axum::Extension(Arc::new(document)))
        .with_state(state);
    let router = chefcito::service::finish(
        router,
        chefcito::service::Options {
            name: "gateway",
            db: None,
            exposure,
            ready: Some(ready),
        },
    );
    // Outermost, so that pre-flights never meet the guard and every answer (the envelope's
    // 401/403/404 included) carries the CORS headers.
    router.layer(cors::layer(&cors))
}

/// Builds the gateway: state, a first read of the permission table (not fatal: the users
/// service may start after us), the background refresher, and the router.
pub async fn build(config: &Config) -> anyhow::Result<Router> {
    let state = State::new(config)?;
    let period = Duration::from_secs(config.permissions_refresh_secs.max(1));
    if let Err(e) = state.permissions.refresh().await {
        tracing::warn!(
            users = %config.users_url,
            error = %e.description,
            "permission table not loaded yet (is the users service up?); guarded routes answer 503 until it is; retrying every {}s",
            period.as_secs()
        );
    }
    permissions::spawn_refresher(&state.permissions, period);
    Ok(app(state))
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
    fn jwks_defaults_to_the_users_service_and_gets_the_internal_token_only_there() {
        let c = Config::parse_from(["gateway", "--users-url", "http://users:8001/"]);
        assert_eq!(c.jwks_url(), "http://users:8001/.well-known/jwks.json");
        assert!(c.jwks_is_internal());
        let c = Config::parse_from([
            "gateway",
            "--users-url",
            "http://users:8001",
            "--auth-jwks-url",
            "http://users:8001.evil.example/jwks.json",
        ]);
        assert!(!c.jwks_is_internal());
    }
}
