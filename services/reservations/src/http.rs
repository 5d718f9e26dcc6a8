//! Routes and handlers: parse the request, call [`crate::service`], map its errors to status
//! codes. Nothing else happens here.

use axum::Router;
use axum::extract::State as Extract;
use axum::routing::{post, put};
use chefcito::ApiError;
use chefcito::extract::{Json, Path, Query};

use crate::State;
use crate::model::{
    DeleteQuery, Import, ListQuery, Listing, NewReservation, ReservationOut, ReservationUpdate,
};
use crate::service::{Error, Imported};

type Result<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::Rejected(_) | Error::VenueNotFound | Error::VenueClosed | Error::Full { .. } => {
                ApiError::bad_request(text)
            }
            Error::Refused(refusal) if refusal.is_forbidden() => ApiError::forbidden(text),
            Error::Refused(_) => ApiError::bad_request(text),
            Error::NotFound => ApiError::not_found(text),
            Error::MissingIdentity => ApiError::unauthorized(text),
            Error::Downstream(e) => e,
            Error::Store(e) => ApiError::internal(e),
        }
    }
}

/// Every route of the service (the standard ones are added by `chefcito::service::finish`).
pub fn routes() -> Router<State> {
    Router::new()
        .route("/reservations", post(create).get(list))
        .route("/import/reservations", post(import))
        .route("/reservations/{id}", put(update).delete(remove))
}

async fn create(
    Extract(s): Extract<State>,
    Json(body): Json<NewReservation>,
) -> Result<Json<ReservationOut>> {
    let created = s.reservations.create(body).await?;
    Ok(Json(ReservationOut::from(&created)))
}

async fn import(Extract(s): Extract<State>, Json(body): Json<Import>) -> Result<Json<Imported>> {
    Ok(Json(s.reservations.import(body).await?))
}

async fn update(
    Extract(s): Extract<State>,
    Path(id): Path<String>,
    Json(body): Json<ReservationUpdate>,
) -> Result<Json<ReservationOut>> {
    let updated = s.reservations.update(&id, body).await?;
    Ok(Json(ReservationOut::from(&updated)))
}

async fn remove(
    Extract(s): Extract<State>,
    Path(id): Path<String>,
    Query(query): Query<DeleteQuery>,
) -> Result<Json<()>> {
    s.reservations.delete(&id, query.user.as_deref()).await?;
    Ok(Json(()))
}

async fn list(Extract(s): Extract<State>, Query(query): Query<ListQuery>) -> Result<Json<Listing>> {
    Ok(Json(s.reservations.list(query).await?))
}
