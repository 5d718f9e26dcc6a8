//! Routes and handlers: parse the request, call [`crate::service`], map its errors to
//! status codes. Nothing else happens here.

use axum::Router;
use axum::extract::State as Extract;
use axum::routing::{post, put};
use chefcito::ApiError;
use chefcito::extract::{Json, Path, Query};
use serde::Serialize;

use crate::State;
use crate::model::{Delivery, ListQuery, MessagePage, MessageView, PhoneBody, PhoneView, SendBody};
use crate::service::{Error, Outcome};

type Result<T> = std::result::Result<T, ApiError>;

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        let text = e.to_string();
        match e {
            Error::Rejected(_) => ApiError::bad_request(text),
            // 422 makes the outbox dispatcher park the event instead of retrying it forever.
            Error::Malformed(_) => ApiError::unprocessable(text),
            Error::UnknownUser => ApiError::not_found(text),
            // 502/503: the dispatcher retries the event later.
            Error::Downstream(e) => e,
            Error::Store(e) => ApiError::internal(e),
        }
    }
}

/// Every route of the service (the standard ones are added by `chefcito::service::finish`).
pub fn routes() -> Router<State> {
    Router::new()
        .route("/users/{uid}/phone", put(set_phone).get(phone))
        .route("/messages", post(send).get(list))
        .route("/events", post(event))
}

async fn set_phone(
    Extract(s): Extract<State>,
    Path(uid): Path<String>,
    Json(body): Json<PhoneBody>,
) -> Result<Json<PhoneView>> {
    Ok(Json(s.communications.set_phone(&uid, &body.phone).await?))
}

async fn phone(Extract(s): Extract<State>, Path(uid): Path<String>) -> Result<Json<PhoneView>> {
    Ok(Json(s.communications.phone(&uid).await?))
}

async fn send(Extract(s): Extract<State>, Json(body): Json<SendBody>) -> Result<Json<MessageView>> {
    Ok(Json(
        s.communications.send(&body.user, &body.message).await?,
    ))
}

async fn list(
    Extract(s): Extract<State>,
    Query(query): Query<ListQuery>,
) -> Result<Json<MessagePage>> {
    Ok(Json(s.communications.list(query).await?))
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
    let outcome = s.communications.consume(delivery).await?;
    Ok(Json(Consumed { outcome }))
}
