//! `/auth/*`: the embedded identity provider's public face (spec §3), proxied to the users
//! service. Bodies are checked here so that malformed input is refused without a downstream
//! call; the users service's answer (status and body) is passed through.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use chefcito::ApiError;
use chefcito::api::{Credentials, RefreshRequest, Session};
use chefcito::error::Envelope;
use chefcito::extract::Json;
use serde::Serialize;

/// Create an account (e-mail + password) and sign in.
///
/// Then register the profile with `POST /users`.
#[utoipa::path(post, path = "/auth/signup", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed up and signed in", body = Session),
        (status = 400, description = "Weak password (under 8 characters) or invalid e-mail", body = Envelope),
        (status = 409, description = "E-mail already taken", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
    ))]
pub async fn signup(
    State(state): State<crate::State>,
    Json(body): Json<Credentials>,
) -> Result<Response, ApiError> {
    forward(&state, "signup", &body).await
}

/// Sign in with e-mail and password.
#[utoipa::path(post, path = "/auth/signin", tag = "auth", request_body = Credentials,
    responses(
        (status = 200, description = "Signed in", body = Session),
        (status = 401, description = "Wrong e-mail or password", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
    ))]
pub async fn signin(
    State(state): State<crate::State>,
    Json(body): Json<Credentials>,
) -> Result<Response, ApiError> {
    forward(&state, "signin", &body).await
}

/// Trade a refresh token for a new ID token and a new refresh token.
///
/// Refresh tokens rotate: each works once, and reusing one revokes the whole family.
#[utoipa::path(post, path = "/auth/refresh", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "A new session", body = Session),
        (status = 401, description = "Unknown, revoked, expired or reused refresh token", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
    ))]
pub async fn refresh(
    State(state): State<crate::State>,
    Json(body): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    forward(&state, "refresh", &body).await
}

/// Sign out: revoke the session (the refresh token's family) on every device that shares it.
///
/// ID tokens already issued stay valid until they expire (`expiresIn`); they are short-lived.
#[utoipa::path(post, path = "/auth/signout", tag = "auth", request_body = RefreshRequest,
    responses(
        (status = 200, description = "Signed out (an unknown token is signed out too)", body = ()),
        (status = 422, description = "Malformed body", body = Envelope),
    ))]
pub async fn signout(
    State(state): State<crate::State>,
    Json(body): Json<RefreshRequest>,
) -> Result<Response, ApiError> {
    forward(&state, "signout", &body).await
}

/// Posts `body` to users `/auth/{action}`; a success is passed through as is, a 4xx keeps its
/// status and description, a 5xx becomes 502 and an unreachable service 503.
async fn forward<B: Serialize>(
    state: &crate::State,
    action: &str,
    body: &B,
) -> Result<Response, ApiError> {
    let url = state.users.url(&["auth", action]);
    let raw = state
        .users
        .raw(reqwest::Method::POST, &["auth", action], Some(body), &[])
        .await?;
    let status = raw.status;
    let answer: serde_json::Value = chefcito::client::decode(&url, raw)?;
    Ok((status, axum::Json(answer)).into_response())
}
