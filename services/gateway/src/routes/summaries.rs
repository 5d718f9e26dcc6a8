//! `/summaries/{venue_id}`: the summary of a venue's reviews (E20), and its owner's request
//! for a new one, proxied to the summaries service.
//!
//! * `GET` always answers 200 (H10): the mobile app re-requests every 500 ms, without limit,
//!   while the call fails. When the summaries service fails or cannot be reached, the answer
//!   is the original's placeholder, dated now, and a warning is logged. It needs no identity
//!   (the permission table opens `/summaries/param` to everyone, as the original's did).
//! * `POST` (the portal has a wrapper for it, never called) asks for a regeneration in the
//!   background; only the venue's owner may (caller uid = venue id, 403 otherwise, without
//!   calling the service). It answers the summary as it is now: 202 when a regeneration was
//!   started, 200 when the last one was too recent (the service's cooldown). Any body is
//!   ignored.

use axum::extract::State;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use chefcito::ApiError;
use chefcito::client::decode;
use chefcito::error::Envelope;
use chefcito::extract::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::routes::ServiceFailure;
use crate::routes::schema::Id;

/// This module's routes, each with its OpenAPI entry.
pub fn routes() -> OpenApiRouter<crate::State> {
    OpenApiRouter::new().routes(routes!(read, regenerate))
}

/// The original's text for a venue without a summary, byte for byte (the clients show it).
pub const UNAVAILABLE_TEXT: &str =
    "Este restaurant aun no tiene un resumen de opiniones disponible";

/// A venue's summary as the clients read it (they read `text` only).
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Summary {
    pub text: String,
    /// When it was generated (now, for a placeholder), UTC with `Z`.
    pub date: String,
    pub venue: String,
}

impl Summary {
    fn placeholder(venue: &str) -> Summary {
        Summary {
            text: UNAVAILABLE_TEXT.to_string(),
            date: chefcito::time::with_z(&chrono::Utc::now()),
            venue: venue.to_string(),
        }
    }
}

/// The summary of a venue's reviews; no identity needed.
#[utoipa::path(get, path = "/summaries/{venue_id}", tag = "summaries",
    params(("venue_id" = String, Path)),
    responses(
        (status = 200, description = "The summary, or a placeholder text when there is none or the summaries service fails: never an error (H10)", body = Summary),
    ))]
pub async fn read(
    State(state): State<crate::State>,
    venue: Result<axum::extract::Path<String>, PathRejection>,
) -> Json<Summary> {
    // Even a path that does not decode gets the placeholder: the app polls on any failure.
    let Ok(axum::extract::Path(venue)) = venue else {
        return Json(Summary::placeholder(""));
    };
    match state.summaries.get(&["summaries", &venue]).await {
        Ok(summary) => Json(summary),
        Err(e) => {
            tracing::warn!(status = %e.status, error = %e.description,
                "summary unavailable: answering the placeholder");
            Json(Summary::placeholder(&venue))
        }
    }
}

/// Ask for a new summary of the caller's venue.
#[utoipa::path(post, path = "/summaries/{venue_id}", tag = "summaries",
    security(("bearer" = [])),
    params(("venue_id" = inline(Id), Path, description = "The caller's uid")),
    responses(
        (status = 200, description = "Too soon after the last regeneration: the summary as it is (or the placeholder)", body = Summary),
        (status = 202, description = "A regeneration started (or was running): the summary as it is until it ends", body = Summary),
        (status = 400, description = "A venue id that breaks the rules", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not the venue's owner", body = Envelope),
        ServiceFailure,
    ))]
pub async fn regenerate(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Path(venue_id): Path<String>,
) -> Result<(StatusCode, Json<Summary>), ApiError> {
    if claims.sub != venue_id {
        return Err(ApiError::forbidden(
            "Forbidden: only the venue's owner can ask for a new summary",
        ));
    }
    let segments = ["summaries", venue_id.as_str()];
    let raw = state
        .summaries
        .raw(
            reqwest::Method::POST,
            &segments,
            Some(&serde_json::json!({})),
            &[],
        )
        .await?;
    let status = raw.status;
    let summary: Summary = decode(&state.summaries.url(&segments), raw)?;
    // The service's 202 says a regeneration started; any other success is "as it is".
    let status = if status == StatusCode::ACCEPTED {
        StatusCode::ACCEPTED
    } else {
        StatusCode::OK
    };
    Ok((status, Json(summary)))
}
