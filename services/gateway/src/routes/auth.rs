//! `/auth/*`: the embedded identity provider's public face (spec §3), proxied to the users
//! service. Bodies are checked here so that malformed input is refused without a downstream
//! call; the users service's answer (status and body) is passed through.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chefcito::ApiError;
use chefcito::api::{RefreshRequest, Session};
use chefcito::error::Envelope;
use chefcito::extract::Json;
use std::net::SocketAddr;

use axum::body::Bytes;
use axum::extract::ConnectInfo;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

/// E-mail and password, as sign-up and sign-in take them (Firebase's extra keys such as
/// `returnSecureToken` are ignored).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Credentials {
    /// One `@`, a dotted domain, no whitespace; at most 254 characters.
    #[schema(format = Email, min_length = 3, max_length = 254)]
    pub email: String,
    /// 8 to 128 characters.
    #[schema(min_length = 8, max_length = 128)]
    pub password: String,
}

/// Create an account (e-mail + password) and sign in.
///
/// Then register the profile with `POST /users`.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed up and signed in", body = Session),
        (status = 400, description = "Weak (under 8 characters), common, too long or e-mail-equal password, or invalid e-mail", body = Envelope),
        (status = 404, description = "Tokens come from an external provider (Firebase mode): sign up there", body = Envelope),
        (status = 409, description = "E-mail already taken", body = Envelope),
        (status = 415, description = "The body is not `application/json`", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
    ))]
pub async fn signup(
    State(state): State<crate::State>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Credentials = json_only(&headers, &body)?;
    forward(&state, "signup", &body, &[]).await
}

/// Sign in with e-mail and password.
#[utoipa::path(post, path = "/auth/signin", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 400, description = "Invalid e-mail or empty password", body = Envelope),
        (status = 401, description = "Wrong e-mail or password", body = Envelope),
        (status = 404, description = "Tokens come from an external provider (Firebase mode): sign in there", body = Envelope),
        (status = 415, description = "The body is not `application/json`", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
        (status = 429, description = "`TOO_MANY_ATTEMPTS_TRY_LATER`: too many failed sign-ins for this account or from this address; see `Retry-After`", body = Envelope),
    ))]
pub async fn signin(
    State(state): State<crate::State>,
    Peer(peer): Peer,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let body: Credentials = json_only(&headers, &body)?;
    // The caller's address, for the users service's sign-in throttling.
    let client = peer.map(|addr| addr.ip().to_string());
    let forwarded: Vec<(&str, &str)> = client
        .as_deref()
        .map(|ip| (chefcito::CLIENT_IP_HEADER, ip))
        .into_iter()
        .collect();
    forward(&state, "signin", &body, &forwarded).await
}

/// Trade a refresh token for a new ID token and a new refresh token.
///
/// Refresh tokens rotate: each works once, and reusing one revokes the whole family.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new session", body = Session),
        (status = 401, description = "Unknown, revoked, expired or reused refresh token", body = Envelope),
        (status = 404, description = "Tokens come from an external provider (Firebase mode)", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
    ))]
pub async fn refresh(
    State(state): State<crate::State>,
    Json(body): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    forward(&state, "refresh", &body, &[]).await
}

/// Sign out: revoke the session (the refresh token's family) on every device that shares it.
///
/// ID tokens already issued stay valid until they expire (`expiresIn`); they are short-lived.
#[utoipa::path(post, path = "/auth/signout", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "Signed out (an unknown token is signed out too)", body = ()),
        (status = 404, description = "Tokens come from an external provider (Firebase mode)", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
    ))]
pub async fn signout(
    State(state): State<crate::State>,
    Json(body): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    forward(&state, "signout", &body, &[]).await
}

/// Posts `body` to users `/auth/{action}`; a success is passed through as is, a 4xx keeps its
/// status and description, a 5xx becomes 502 and an unreachable service 503.
async fn forward<B: Serialize>(
    state: &crate::State,
    action: &str,
    body: &B,
    headers: &[(&str, &str)],
) -> Result<Response, ApiError> {
    if !state.embedded_identity {
        return Err(ApiError::not_found(
            "Sign-in happens at the external identity provider (e.g. Firebase): this gateway only verifies its tokens",
        ));
    }
    let url = state.users.url(&["auth", action]);
    let raw = state
        .users
        .raw(
            reqwest::Method::POST,
            &["auth", action],
            Some(body),
            headers,
        )
        .await?;
    let status = raw.status;
    let answer: serde_json::Value = chefcito::client::decode(&url, raw)?;
    Ok((status, axum::Json(answer)).into_response())
}

/// Sign-up and sign-in take JSON only (415 otherwise), so that a cross-site HTML form, which
/// can post `text/plain` or form bodies without a pre-flight, cannot reach them.
fn json_only<T: serde::de::DeserializeOwned>(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<T, ApiError> {
    let is_json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            let v = v.trim().to_ascii_lowercase();
            v == "application/json" || (v.starts_with("application/") && v.ends_with("+json"))
        });
    if !is_json {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "Send the body as JSON with `Content-Type: application/json`",
        ));
    }
    chefcito::extract::parse_json(body)
}

/// The caller's address when the server recorded it (`ConnectInfo`); `None` in-process.
#[derive(Debug, Clone, Copy)]
pub struct Peer(pub Option<SocketAddr>);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for Peer {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        _state: &S,
    ) -> Result<Self, Self::Rejection> {
        Ok(Peer(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0),
        ))
    }
}
