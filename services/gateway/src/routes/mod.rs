//! The client-facing routes. Handlers are thin: read the request, call the internal service,
//! shape the answer. Each is declared with its OpenAPI entry through `utoipa_axum::routes!`,
//! so a route cannot be served without being documented.

use chefcito::error::Envelope;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::State;

pub mod auth;
pub mod docs;
pub mod opinions;
pub mod reservations;
pub mod schema;
pub mod stats;
pub mod summaries;
pub mod users;
pub mod venues;

/// Query values of the listings (reservations, opinions): an empty value (`?id=`) filters
/// nothing, a datetime is read in every accepted form. An empty datetime (`?to_time=`) is
/// refused (422), as the original's did: the document says `date-time`, and `""` is not one.
pub(crate) mod query {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer};

    pub fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
        Ok(Option::<String>::deserialize(d)?.filter(|s| !s.is_empty()))
    }

    pub fn optional_time<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<DateTime<Utc>>, D::Error> {
        // Read as text, not as an `Option`: the query reader turns `key=` into `None` for an
        // `Option`, which would make an empty value mean "no filter".
        let text = String::deserialize(d)?;
        chefcito::time::parse(&text)
            .map(Some)
            .map_err(serde::de::Error::custom)
    }
}

/// What a proxied route answers when its service fails (documentation only: the answers
/// come from `chefcito::client`).
#[derive(utoipa::IntoResponses)]
#[allow(dead_code)]
pub enum ServiceFailure {
    /// The service failed or gave an answer that makes no sense.
    #[response(status = 502)]
    Failed(Envelope),
    /// The service cannot be reached; try again later.
    #[response(status = 503)]
    Unavailable(Envelope),
}

/// Every gateway route with its documentation (the standard `/health` and `/ready` come
/// from `chefcito::service::finish`).
pub fn router() -> OpenApiRouter<State> {
    OpenApiRouter::with_openapi(crate::openapi::ApiDoc::openapi())
        .routes(routes!(auth::signup))
        .routes(routes!(auth::signin))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::signout))
        .routes(routes!(users::register, users::profile, users::update))
        .merge(venues::routes())
        .merge(reservations::routes())
        .merge(opinions::routes())
        .merge(summaries::routes())
        .merge(stats::routes())
        .routes(routes!(docs::openapi_json))
        .routes(routes!(docs::page))
        .routes(routes!(docs::asset))
}
