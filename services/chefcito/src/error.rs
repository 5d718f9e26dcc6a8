//! The error every handler returns, and the JSON envelope it becomes on the wire.
//!
//! The original system answered `{"description": "...", "endpoint": "<path>"}`; we keep that
//! envelope but with correct status codes (spec §2). The request path comes from the request
//! context that [`crate::service`] keeps for the task handling the request, so the envelope is
//! serialised once, where the error becomes a response. Server-side failures (5xx) are logged with their
//! cause and answered with a generic text: SQL or internal error text never leaves a service.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

/// `Result` with [`ApiError`] as the default error.
pub type Result<T, E = ApiError> = std::result::Result<T, E>;

/// The wire envelope of every error answer.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Error))]
pub struct Envelope {
    pub description: String,
    /// The request path.
    // Always sent; `default` only makes reading a foreign envelope lenient.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub endpoint: String,
    /// Validation details (422 only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<serde_json::Value>,
}

/// An HTTP error answer: a status, a description for the caller and, for 5xx, a cause for
/// the logs only.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub description: String,
    pub detail: Option<serde_json::Value>,
    /// Logged, never sent.
    pub cause: Option<anyhow::Error>,
}

impl ApiError {
    pub fn new(status: StatusCode, description: impl Into<String>) -> Self {
        ApiError {
            status,
            description: description.into(),
            detail: None,
            cause: None,
        }
    }
    /// 400: a broken business rule.
    pub fn bad_request(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, d)
    }
    /// 401: a missing or invalid identity where one is required.
    pub fn unauthorized(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, d)
    }
    /// 403: a caller without the right.
    pub fn forbidden(d: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, d)
    }
    /// 404: an unknown resource.
    pub fn not_found(d: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, d)
    }
    /// 409: a conflicting write.
    pub fn conflict(d: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, d)
    }
    /// 422: a malformed request.
    pub fn unprocessable(d: impl Into<String>) -> Self {
        Self::new(StatusCode::UNPROCESSABLE_ENTITY, d)
    }
    /// 502: a downstream service answered badly.
    pub fn bad_gateway(d: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_GATEWAY, d)
    }
    /// 503: a downstream service (or our own store) is unavailable.
    pub fn unavailable(d: impl Into<String>) -> Self {
        Self::new(StatusCode::SERVICE_UNAVAILABLE, d)
    }
    /// 500 with a cause that is logged and never sent.
    pub fn internal(cause: impl Into<anyhow::Error>) -> Self {
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            description: "Internal error".into(),
            detail: None,
            cause: Some(cause.into()),
        }
    }
    pub fn with_detail(mut self, detail: serde_json::Value) -> Self {
        self.detail = Some(detail);
        self
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status.as_u16(), self.description)
    }
}

impl std::error::Error for ApiError {}

impl From<rusqlite::Error> for ApiError {
    fn from(e: rusqlite::Error) -> Self {
        ApiError::internal(e)
    }
}

impl From<crate::db::DbError> for ApiError {
    fn from(e: crate::db::DbError) -> Self {
        ApiError::internal(e)
    }
}

/// Marker put in the extensions of a response whose body already is the envelope, so that the
/// service layer leaves it alone.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Enveloped;

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if self.status.is_server_error() {
            match &self.cause {
                Some(cause) => {
                    tracing::error!(status = %self.status, error = ?cause, "request failed")
                }
                None => {
                    tracing::warn!(status = %self.status, description = %self.description, "request failed")
                }
            }
        }
        let envelope = Envelope {
            description: self.description,
            endpoint: crate::service::current_path().unwrap_or_default(),
            detail: self.detail,
        };
        let mut response = (self.status, axum::Json(&envelope)).into_response();
        response.extensions_mut().insert(Enveloped);
        response
    }
}
