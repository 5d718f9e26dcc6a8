//! Routes and handlers: parse the request, call [`crate::service`], map its errors to status
//! codes. Nothing else happens here.

use std::collections::BTreeMap;

use axum::Router;
use axum::extract::State as Extract;
use axum::routing::post;
use chefcito::ApiError;
use chefcito::extract::{Json, Query};

use crate::State;
use crate::model::{Batch, ListQuery, NewOpinion, OpinionView, Page};
use crate::service::Error;

type Result<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::Rejected(_) | Error::NotAssisted(_) | Error::VenueMismatch => {
                ApiError::bad_request(text)
            }
            Error::UnknownReservation => ApiError::not_found(text),
            Error::NotTheDiner => ApiError::forbidden(text),
            Error::AlreadyReviewed => ApiError::conflict(text),
            Error::Downstream(e) => e,
            Error::Store(e) => ApiError::internal(e),
        }
    }
}

/// Every route of the service (the standard ones are added by `chefcito::service::finish`).
pub fn routes() -> Router<State> {
    Router::new()
        .route("/opinions", post(create).get(list))
        .route("/opinions/batch", post(batch))
}

async fn create(
    Extract(s): Extract<State>,
    Json(body): Json<NewOpinion>,
) -> Result<Json<OpinionView>> {
    let created = s.opinions.create(body).await?;
    Ok(Json(OpinionView::from(&created)))
}

async fn list(Extract(s): Extract<State>, Query(query): Query<ListQuery>) -> Result<Json<Page>> {
    Ok(Json(s.opinions.list(query).await?))
}

async fn batch(
    Extract(s): Extract<State>,
    Json(body): Json<Batch>,
) -> Result<Json<BTreeMap<String, OpinionView>>> {
    Ok(Json(s.opinions.batch(body).await?))
}
