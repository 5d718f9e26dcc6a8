//! Routes and handlers: parse the request, call [`crate::service`], map its errors to status
//! codes. Nothing else happens here.

use axum::Router;
use axum::extract::State as Extract;
use axum::extract::rejection::PathRejection;
use axum::http::StatusCode;
use axum::routing::{get, post};
use chefcito::ApiError;
use chefcito::extract::{Json, Path};
use serde::Serialize;

use crate::State;
use crate::model::{Delivery, SummaryView};
use crate::service::{Consumed, Error, Forced};

type Result<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::InvalidVenue(_) => ApiError::bad_request(text),
            // 422 makes the outbox dispatcher park the event instead of retrying it forever.
            Error::Malformed(_) => ApiError::unprocessable(text),
            Error::Store(e) => ApiError::internal(e),
        }
    }
}

/// Every route of the service (the standard ones are added by `chefcito::service::finish`).
pub fn routes() -> Router<State> {
    Router::new()
        .route("/summaries/{venue}", get(read).post(force))
        .route("/events", post(event))
}

/// Always 200 (H10): a path that does not even decode gets the placeholder too.
async fn read(
    Extract(s): Extract<State>,
    venue: std::result::Result<axum::extract::Path<String>, PathRejection>,
) -> Json<SummaryView> {
    let venue = venue.map(|p| p.0).unwrap_or_default();
    Json(s.summaries.read(&venue).await)
}

async fn force(
    Extract(s): Extract<State>,
    Path(venue): Path<String>,
) -> Result<(StatusCode, Json<SummaryView>)> {
    let (forced, view) = s.summaries.force(&venue).await?;
    let status = match forced {
        Forced::Scheduled => StatusCode::ACCEPTED,
        Forced::TooSoon => StatusCode::OK,
    };
    Ok((status, Json(view)))
}

/// The answer to a delivery: what was done with it.
#[derive(Debug, Serialize)]
struct EventAnswer {
    outcome: Consumed,
}

async fn event(
    Extract(s): Extract<State>,
    Json(delivery): Json<Delivery>,
) -> Result<Json<EventAnswer>> {
    let outcome = s.summaries.consume(delivery).await?;
    Ok(Json(EventAnswer { outcome }))
}
