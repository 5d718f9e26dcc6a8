//! Routes and handlers: parse the request, call [`crate::service`], map its errors to
//! status codes. Nothing else happens here.

use axum::Router;
use axum::extract::State as Extract;
use axum::routing::get;
use chefcito::ApiError;
use chefcito::extract::{Json, Path, Query};

use crate::State;
use crate::model::{ListQuery, NearPage, NearQuery, Venue, VenueCreate, VenuePage, VenueUpdate};
use crate::service::Error;

type Result<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::Invalid(_) => ApiError::unprocessable(text),
            Error::Rejected(_) => ApiError::bad_request(text),
            Error::NotFound => ApiError::not_found(text),
            Error::Exists => ApiError::conflict(text),
            Error::Store(e) => ApiError::internal(e),
        }
    }
}

/// Every route of the service (the standard ones are added by `chefcito::service::finish`).
/// The fixed paths `/venues/near` and `/venues/promotions` win over `/venues/{id}`; no venue
/// can have those ids.
pub fn routes() -> Router<State> {
    Router::new()
        .route("/venues", get(list).post(create))
        .route("/venues/near", get(near))
        .route("/venues/promotions", get(promotions))
        .route("/venues/{id}", get(venue).put(update).delete(delete))
}

async fn create(Extract(s): Extract<State>, Json(body): Json<VenueCreate>) -> Result<Json<Venue>> {
    Ok(Json(s.venues.create(body).await?))
}

async fn venue(Extract(s): Extract<State>, Path(id): Path<String>) -> Result<Json<Venue>> {
    Ok(Json(s.venues.get(&id).await?))
}

async fn update(
    Extract(s): Extract<State>,
    Path(id): Path<String>,
    Json(body): Json<VenueUpdate>,
) -> Result<Json<Venue>> {
    Ok(Json(s.venues.update(&id, body).await?))
}

async fn delete(Extract(s): Extract<State>, Path(id): Path<String>) -> Result<Json<()>> {
    s.venues.delete(&id).await?;
    Ok(Json(()))
}

async fn list(
    Extract(s): Extract<State>,
    Query(query): Query<ListQuery>,
) -> Result<Json<VenuePage>> {
    Ok(Json(s.venues.list(query).await?))
}

async fn near(
    Extract(s): Extract<State>,
    Query(query): Query<NearQuery>,
) -> Result<Json<NearPage>> {
    Ok(Json(s.venues.near(query).await?))
}

async fn promotions(Extract(s): Extract<State>) -> Result<Json<VenuePage>> {
    Ok(Json(s.venues.promotions().await?))
}
