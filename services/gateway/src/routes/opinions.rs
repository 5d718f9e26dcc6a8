//! `/opinions`: a diner reviews a visit (E18), anyone reads a venue's reviews (E19), proxied
//! to the opinions service.
//!
//! * The author always comes from the verified token: the review is forwarded with
//!   `"user": "<uid>"` (the bare uid) whatever the body says. Whether the caller may review
//!   that reservation (theirs, `Assisted`, at that venue, not reviewed yet) is the opinions
//!   service's rule; its 400/403/404/409 come back with their status and description.
//! * Reading needs no identity: the permission table opens `/opinions` to everyone, as the
//!   original's did (reviews are as public as the catalogue they describe); writing needs a
//!   valid ID token (401 otherwise).
//! * The listing's filters (`venue`, `reservation`, `from_date`, `to_date`, `limit`, `start`)
//!   are typed here, so a malformed one is 422 before any downstream call, and passed on
//!   (datetimes in UTC with `Z`; the original failed on any date filter, Q4). Empty values
//!   filter nothing; a leading `?&` is fine (H8).

use axum::extract::State;
use chefcito::ApiError;
use chefcito::error::Envelope;
use chefcito::extract::{Json, Query};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::routes::ServiceFailure;
use crate::routes::query::{non_empty, optional_time};
use crate::routes::reservations::Opinion;
use crate::routes::schema::Id;

/// This module's routes, each with its OpenAPI entry.
pub fn routes() -> OpenApiRouter<crate::State> {
    OpenApiRouter::new().routes(routes!(create, list))
}

/// E18's body. Other keys (a `user` among them) are ignored.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Review {
    /// The reviewed reservation: the caller's, `Assisted`.
    #[schema(value_type = Id, inline)]
    pub reservation: String,
    /// The reservation's venue.
    #[schema(value_type = Id, inline)]
    pub venue: String,
    /// 1 to 2000 characters; line breaks allowed, other control characters not.
    #[schema(min_length = 1, max_length = 2000)]
    pub opinion: String,
    /// The client's clock (the app sends "now"): checked, but the stored date is the server's.
    #[serde(
        default,
        with = "chefcito::time::serde_z::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = crate::routes::schema::nullable_datetime)]
    pub date: Option<DateTime<Utc>>,
}

/// What the opinions service receives: the review and its author.
#[derive(Serialize)]
struct Authored<'a> {
    user: &'a str,
    #[serde(flatten)]
    review: &'a Review,
}

/// A page of opinions, newest first; `total` counts every match.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct OpinionPage {
    pub result: Vec<Opinion>,
    pub total: u64,
}

/// `GET /opinions` (E19). Unknown keys are ignored.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpinionSearch {
    /// Opinions about this venue.
    #[serde(default, deserialize_with = "non_empty")]
    pub venue: Option<String>,
    /// The opinion of this reservation.
    #[serde(default, deserialize_with = "non_empty")]
    pub reservation: Option<String>,
    /// Written at or after this time (e.g. `2024-05-01T03:00:00.000Z`).
    #[serde(default, deserialize_with = "optional_time")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub from_date: Option<DateTime<Utc>>,
    /// Written at or before this time.
    #[serde(default, deserialize_with = "optional_time")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub to_date: Option<DateTime<Utc>>,
    /// Page size, 0 to 100000 (default 10).
    #[param(maximum = 100_000)]
    pub limit: Option<u32>,
    /// Opinions skipped (default 0).
    pub start: Option<u64>,
}

impl OpinionSearch {
    fn forwarded(self) -> Vec<(&'static str, String)> {
        let time = |dt: DateTime<Utc>| chefcito::time::with_z(&dt);
        let mut query = Vec::new();
        query.extend(self.venue.map(|v| ("venue", v)));
        query.extend(self.reservation.map(|v| ("reservation", v)));
        query.extend(self.from_date.map(|t| ("from_date", time(t))));
        query.extend(self.to_date.map(|t| ("to_date", time(t))));
        query.extend(self.limit.map(|v| ("limit", v.to_string())));
        query.extend(self.start.map(|v| ("start", v.to_string())));
        query
    }
}

/// Review a visit: one opinion per `Assisted` reservation of the caller.
#[utoipa::path(post, path = "/opinions", tag = "opinions", request_body = Review,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stored opinion, dated by the server (naive UTC)", body = Opinion),
        (status = 400, description = "The reservation is not `Assisted` or is at another venue; an id or a text that breaks the rules (empty, over 2000 characters, control characters)", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "The caller is the reservation's venue, not its diner", body = Envelope),
        (status = 404, description = "No such reservation among the caller's", body = Envelope),
        (status = 409, description = "The reservation already has an opinion", body = Envelope),
        (status = 422, description = "Malformed body or datetime", body = Envelope),
        ServiceFailure,
    ))]
pub async fn create(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Json(review): Json<Review>,
) -> Result<Json<Opinion>, ApiError> {
    let authored = Authored {
        user: &claims.sub,
        review: &review,
    };
    Ok(Json(state.opinions.post(&["opinions"], &authored).await?))
}

/// Opinions, newest first; no identity needed. As the original, a query with neither `venue`
/// nor `reservation` nor both dates answers an empty page.
#[utoipa::path(get, path = "/opinions", tag = "opinions", params(OpinionSearch),
    responses(
        (status = 200, description = "Newest first", body = OpinionPage),
        (status = 400, description = "`limit` over 100000, an id that breaks the rules", body = Envelope),
        (status = 422, description = "Malformed query or datetime", body = Envelope),
        ServiceFailure,
    ))]
pub async fn list(
    State(state): State<crate::State>,
    Query(search): Query<OpinionSearch>,
) -> Result<Json<OpinionPage>, ApiError> {
    let query = search.forwarded();
    Ok(Json(state.opinions.get_query(&["opinions"], &query).await?))
}
