//! Routes and handlers: parse the request, call [`crate::service`], map its errors to
//! status codes. Nothing else happens here.

use axum::Router;
use axum::extract::State as Extract;
use axum::routing::{get, post};
use chefcito::ApiError;
use chefcito::extract::{Json, Path};
use serde::Serialize;

use crate::State;
use crate::model::{Delivery, Update, UserStatData, VenueStatData};
use crate::service::{Error, Outcome};

type Result<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::Rejected(_) => ApiError::bad_request(text),
            // 422 makes the outbox dispatcher park the event instead of retrying it forever.
            Error::Malformed(_) => ApiError::unprocessable(text),
            Error::Store(e) => ApiError::internal(e),
        }
    }
}

/// Every route of the service (the standard ones are added by `chefcito::service::finish`).
pub fn routes() -> Router<State> {
    Router::new()
        .route("/events", post(event))
        .route("/update-data", post(update))
        .route("/user/{user}", get(user))
        .route("/venue/{venue}", get(venue))
}

/// The answer to a delivery: what was done with it.
#[derive(Debug, Serialize)]
struct Consumed {
    outcome: Outcome,
}

async fn event(
    Extract(s): Extract<State>,
    Json(delivery): Json<Delivery>,
) -> Result<Json<Consumed>> {
    let outcome = s.stats.consume(delivery).await?;
    Ok(Json(Consumed { outcome }))
}

/// The original answered `null`; a repeat is still 200 `null`.
async fn update(Extract(s): Extract<State>, Json(body): Json<Update>) -> Result<Json<()>> {
    s.stats.update(body).await?;
    Ok(Json(()))
}

async fn user(Extract(s): Extract<State>, Path(user): Path<String>) -> Result<Json<UserStatData>> {
    Ok(Json(s.stats.user(&user).await?))
}

async fn venue(
    Extract(s): Extract<State>,
    Path(venue): Path<String>,
) -> Result<Json<VenueStatData>> {
    Ok(Json(s.stats.venue(&venue).await?))
}
