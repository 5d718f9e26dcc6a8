//! Routes and handlers: parse the request, call [`crate::service`], map its errors to
//! status codes. Nothing else happens here.

use axum::Router;
use axum::extract::State as Extract;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chefcito::ApiError;
use chefcito::api::{Session, UserData, UserKind, UsersBatch};
use chefcito::extract::{Json, Path};
use chefcito::permissions::Permissions;

use crate::State;
use crate::model::{Credentials, ProfileUpdate, RefreshRequest, Registration};
use crate::service::Error;
use crate::store::Applied;

type Result<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::Rejected(_) => ApiError::bad_request(text),
            Error::EmailExists => ApiError::conflict(text),
            Error::InvalidCredentials | Error::InvalidRefreshToken | Error::RefreshTokenReused => {
                ApiError::unauthorized(text)
            }
            Error::UserNotFound => ApiError::not_found(text),
            Error::TooManyAttempts(_) => {
                ApiError::new(axum::http::StatusCode::TOO_MANY_REQUESTS, text)
            }
            Error::Store(e) => ApiError::internal(e),
            Error::Internal(e) => ApiError::internal(e),
        }
    }
}

/// Every route of the service (the standard ones are added by `chefcito::service::finish`).
pub fn routes() -> Router<State> {
    Router::new()
        .route("/auth/signup", post(sign_up))
        .route("/auth/signin", post(sign_in))
        .route("/auth/refresh", post(refresh))
        .route("/auth/signout", post(sign_out))
        .route("/.well-known/jwks.json", get(jwks))
        .route("/users", post(register))
        .route("/users/batch", post(users_batch))
        .route("/user/{uid}", get(user).put(update_user))
        .route("/user/{uid}/type", get(user_type))
        .route("/permissions", get(permissions).put(replace_permissions))
}

async fn sign_up(
    Extract(s): Extract<State>,
    Json(body): Json<Credentials>,
) -> Result<Json<Session>> {
    Ok(Json(s.users.sign_up(&body).await?))
}

async fn sign_in(
    Extract(s): Extract<State>,
    headers: HeaderMap,
    Json(body): Json<Credentials>,
) -> Result<Response> {
    let client = headers
        .get(chefcito::CLIENT_IP_HEADER)
        .and_then(|v| v.to_str().ok());
    match s.users.sign_in(&body, client).await {
        Ok(session) => Ok(Json(session).into_response()),
        Err(Error::TooManyAttempts(wait)) => {
            let mut response = ApiError::from(Error::TooManyAttempts(wait)).into_response();
            if let Ok(value) = HeaderValue::from_str(&wait.to_string()) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
            Ok(response)
        }
        Err(e) => Err(e.into()),
    }
}

async fn refresh(
    Extract(s): Extract<State>,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<Session>> {
    Ok(Json(s.users.refresh(&body.refresh_token).await?))
}

async fn sign_out(
    Extract(s): Extract<State>,
    Json(body): Json<RefreshRequest>,
) -> Result<Json<()>> {
    s.users.sign_out(&body.refresh_token).await?;
    Ok(Json(()))
}

async fn jwks(Extract(s): Extract<State>) -> impl IntoResponse {
    (
        [(header::CACHE_CONTROL, "public, max-age=300")],
        Json(s.users.keys().jwks().clone()),
    )
}

async fn register(
    Extract(s): Extract<State>,
    Json(body): Json<Registration>,
) -> Result<Json<UserData>> {
    Ok(Json(s.users.register(body).await?))
}

async fn user(Extract(s): Extract<State>, Path(uid): Path<String>) -> Result<Json<UserData>> {
    Ok(Json(s.users.user(&uid).await?))
}

async fn users_batch(
    Extract(s): Extract<State>,
    Json(body): Json<UsersBatch>,
) -> Result<Json<Vec<UserData>>> {
    Ok(Json(s.users.users(body.localids).await?))
}

async fn update_user(
    Extract(s): Extract<State>,
    Path(uid): Path<String>,
    Json(body): Json<ProfileUpdate>,
) -> Result<Json<UserData>> {
    Ok(Json(s.users.update(&uid, body).await?))
}

async fn user_type(Extract(s): Extract<State>, Path(uid): Path<String>) -> Result<Json<UserKind>> {
    Ok(Json(s.users.kind(&uid).await?))
}

async fn permissions(Extract(s): Extract<State>, headers: HeaderMap) -> Result<Response> {
    let current = s.users.permissions().await?;
    let etag = format!("\"{}\"", current.version);
    let etag_header = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    let headers_out = [
        (header::ETAG, etag_header),
        (header::CACHE_CONTROL, HeaderValue::from_static("no-cache")),
    ];
    if if_none_match(&headers, &etag) {
        return Ok((StatusCode::NOT_MODIFIED, headers_out).into_response());
    }
    Ok((headers_out, Json(current)).into_response())
}

/// Whether `If-None-Match` names `etag` (weak comparison, as RFC 9110 asks for this header).
fn if_none_match(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|tag| tag.trim())
        .any(|tag| tag == "*" || tag.trim_start_matches("W/") == etag)
}

async fn replace_permissions(
    Extract(s): Extract<State>,
    Json(body): Json<Permissions>,
) -> Result<Json<Applied>> {
    Ok(Json(s.users.replace_permissions(&body).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let with = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(header::IF_NONE_MATCH, HeaderValue::from_str(v).unwrap());
            h
        };
        assert!(if_none_match(&with("\"3\""), "\"3\""));
        assert!(if_none_match(&with("\"1\", W/\"3\""), "\"3\""));
        assert!(if_none_match(&with("*"), "\"3\""));
        assert!(!if_none_match(&with("\"2\""), "\"3\""));
        assert!(!if_none_match(&with("3"), "\"3\""));
        assert!(!if_none_match(&HeaderMap::new(), "\"3\""));
    }
}
