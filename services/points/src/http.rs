//! Routes and handlers: parse the request, call [`crate::service`], map its errors to
//! status codes. Nothing else happens here.

use axum::Router;
use axum::extract::State as Extract;
use axum::routing::{get, post};
use chefcito::ApiError;
use chefcito::api::PointsView;
use chefcito::extract::{Json, Path};
use serde::Serialize;

use crate::State;
use crate::model::{Batch, Change, Delivery};
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
        .route("/points", post(add))
        .route("/points/batch", post(batch))
        .route("/points/{user}", get(user))
        .route("/events", post(event))
}

async fn user(Extract(s): Extract<State>, Path(user): Path<String>) -> Result<Json<PointsView>> {
    Ok(Json(s.points.get(&user).await?))
}

async fn batch(
    Extract(s): Extract<State>,
    Json(body): Json<Batch>,
) -> Result<Json<Vec<PointsView>>> {
    Ok(Json(s.points.get_many(&body.users).await?))
}

async fn add(Extract(s): Extract<State>, Json(body): Json<Change>) -> Result<Json<()>> {
    s.points.add(&body.user, body.total).await?;
    Ok(Json(()))
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
    let outcome = s.points.consume(delivery).await?;
    Ok(Json(Consumed { outcome }))
}
