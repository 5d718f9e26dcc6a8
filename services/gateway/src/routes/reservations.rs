//! `/reservations*`: book (E11), list the diner's (E12) and the venue's (E13) bookings, and
//! move a booking along (E14–E17), proxied to the reservations service.
//!
//! * The caller always comes from the verified token, never from the request: bookings and
//!   changes are sent as `user = "user/<uid>"`, listings carry `caller = "user/<uid>"` so the
//!   service only ever lists the caller's own reservations and their venue's (an `id` lookup
//!   included), and `GET /reservations` is further restricted to the caller's own bookings
//!   unless it asks for one `id`.
//! * Who may accept, cancel, check in, mark a no-show or edit is the reservations service's
//!   rule (H3); its 400/403/404 come back with their status and description.
//! * `DELETE /reservations/{id}` erases a booking without a status change, so a diner who
//!   deleted an `Accepted` booking would escape the points a cancel costs: only the
//!   reservation's venue may delete (the gateway looks the reservation up first; 403 for the
//!   diner, who cancels instead with `PUT … {"cancel": true}`).
//! * Datetimes are read in every accepted form (clients send `…Z` with milliseconds) and
//!   passed on in UTC with `Z`; unknown body keys are ignored; an empty query value (`?id=`)
//!   filters nothing.

use std::collections::BTreeMap;

use axum::extract::State;
use chefcito::ApiError;
use chefcito::client::Relayed;
use chefcito::error::Envelope;
use chefcito::extract::{Json, Path, Query};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::routes::ServiceFailure;
use crate::routes::query::{non_empty, optional_time};
use crate::routes::schema::{Id, checked_id};

/// This module's routes, each with its OpenAPI entry.
pub fn routes() -> OpenApiRouter<crate::State> {
    OpenApiRouter::new()
        .routes(routes!(create, mine))
        .routes(routes!(history))
        .routes(routes!(of_venue))
        .routes(routes!(update, remove))
}

/// E11's body. Other keys are ignored.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct Booking {
    /// The venue's id.
    #[schema(value_type = Id, inline)]
    pub venue: String,
    /// When, in the future.
    #[serde(with = "chefcito::time::serde_z")]
    pub time: DateTime<Utc>,
    /// 1 to 1000.
    #[serde(deserialize_with = "chefcito::extract::lenient_i64::deserialize")]
    #[schema(minimum = 1, maximum = 1000)]
    pub people: i64,
}

/// E14–E17's body: one thing at a time — `cancel: true`, `advance_forward`, or
/// `time`/`people`. Absent and `null` ask for nothing; other keys are ignored.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct ReservationChange {
    /// `true`: accept (the venue) or check in (the diner or the venue); `false`: reject an
    /// `Uncomfirmed` booking, or mark an `Accepted` one a no-show (the venue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub advance_forward: Option<bool>,
    /// `true`: cancel (the diner or the venue).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel: Option<bool>,
    /// A new time (the diner); the booking returns to `Uncomfirmed`.
    #[serde(
        default,
        with = "chefcito::time::serde_z::option",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(schema_with = crate::routes::schema::nullable_datetime)]
    pub time: Option<DateTime<Utc>>,
    /// A new party size (the diner), 1 to 1000; the booking returns to `Uncomfirmed`.
    #[serde(
        default,
        deserialize_with = "chefcito::extract::lenient_i64::option::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 1, maximum = 1000)]
    pub people: Option<i64>,
}

/// What the reservations service receives: the request and who asks.
#[derive(Serialize)]
struct On<'a, T> {
    user: String,
    #[serde(flatten)]
    request: &'a T,
}

impl<'a, T> On<'a, T> {
    fn behalf(claims: &chefcito::jwks::Claims, request: &'a T) -> Self {
        On {
            user: user_ref(claims),
            request,
        }
    }
}

/// How the reservations service names a user (the venue acts as `user/<venue id>`).
fn user_ref(claims: &chefcito::jwks::Claims) -> String {
    format!("user/{}", claims.sub)
}

/// Where a reservation stands (`Uncomfirmed` is misspelt on purpose: the clients compare it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub enum ReservationStatus {
    Uncomfirmed,
    Accepted,
    Canceled,
    Assisted,
    Expired,
}

impl ReservationStatus {
    fn as_str(self) -> &'static str {
        match self {
            ReservationStatus::Uncomfirmed => "Uncomfirmed",
            ReservationStatus::Accepted => "Accepted",
            ReservationStatus::Canceled => "Canceled",
            ReservationStatus::Assisted => "Assisted",
            ReservationStatus::Expired => "Expired",
        }
    }
}

/// Statuses travel wrapped: `{"status": "Accepted"}`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct StatusObject {
    pub status: ReservationStatus,
}

/// A reservation as booking and changes answer it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Reservation {
    pub id: String,
    /// `user/<uid>` of the diner who booked.
    pub user: String,
    pub venue: String,
    /// UTC with `Z`, unshifted.
    pub time: String,
    pub people: i64,
    pub status: StatusObject,
}

/// The diner of a listed reservation.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Diner {
    /// The bare uid (the portal's `GET /stats/user/{id}`).
    pub id: String,
    /// `"None"` when the profile could not be read.
    pub name: String,
    pub phone: String,
    /// The diner's attended reservations at this venue.
    pub times_assisted: i64,
    /// The diner's expired reservations at this venue.
    pub times_expired: i64,
}

/// A listed reservation.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct ReservationView {
    pub id: String,
    pub user: Diner,
    pub venue: String,
    /// Naive local time: UTC shifted by the display offset (default −3 h), no offset (H6).
    pub time: String,
    pub people: i64,
    pub status: StatusObject,
}

/// A diner's review of a visit.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Opinion {
    pub venue: String,
    pub opinion: String,
    pub reservation: String,
    pub date: String,
}

/// A page of reservations, latest first; `total` counts every match.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Listing {
    pub result: Vec<ReservationView>,
    /// The opinions of the listed reservations, by reservation id.
    pub opinions: BTreeMap<String, Opinion>,
    pub total: u64,
}

/// Time range and paging of every listing.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct Window {
    /// Reservations at or after this time (e.g. `2024-05-01T03:00:00.000Z`).
    #[serde(default, deserialize_with = "optional_time")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub from_time: Option<DateTime<Utc>>,
    /// Reservations at or before this time.
    #[serde(default, deserialize_with = "optional_time")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub to_time: Option<DateTime<Utc>>,
    /// Page size, 0 to 100000 (default 10).
    #[param(maximum = 100_000)]
    pub limit: Option<u32>,
    /// Reservations skipped (default 0).
    pub start: Option<u64>,
}

impl Window {
    fn forward(self, query: &mut Vec<(&'static str, String)>) {
        let time = |dt: DateTime<Utc>| chefcito::time::with_z(&dt);
        query.extend(self.from_time.map(|t| ("from_time", time(t))));
        query.extend(self.to_time.map(|t| ("to_time", time(t))));
        query.extend(self.limit.map(|v| ("limit", v.to_string())));
        query.extend(self.start.map(|v| ("start", v.to_string())));
    }
}

/// `GET /reservations` (E12).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MineQuery {
    /// One reservation of the caller's, or of the caller's venue.
    #[serde(default, deserialize_with = "non_empty")]
    pub id: Option<String>,
    /// Only these statuses; repeat the key for more.
    #[serde(default)]
    pub status: Vec<ReservationStatus>,
    /// Only at this venue.
    #[serde(default, deserialize_with = "non_empty")]
    pub venue: Option<String>,
    /// Parties of at least this many people.
    pub from_people: Option<i64>,
    /// Parties of at most this many people.
    pub to_people: Option<i64>,
    // The fields of `Window`, spelt out: `serde(flatten)` would read the numbers as text.
    /// Reservations at or after this time (e.g. `2024-05-01T03:00:00.000Z`).
    #[serde(default, deserialize_with = "optional_time")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub from_time: Option<DateTime<Utc>>,
    /// Reservations at or before this time.
    #[serde(default, deserialize_with = "optional_time")]
    #[param(value_type = Option<String>, format = DateTime)]
    pub to_time: Option<DateTime<Utc>>,
    /// Page size, 0 to 100000 (default 10).
    #[param(maximum = 100_000)]
    pub limit: Option<u32>,
    /// Reservations skipped (default 0).
    pub start: Option<u64>,
}

/// Book a table.
#[utoipa::path(post, path = "/reservations", tag = "reservations", request_body = Booking,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The booking, `Uncomfirmed`", body = Reservation),
        (status = 400, description = "Unknown or closed venue, no room left in that seating window, a past time, people outside 1–1000", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not registered", body = Envelope),
        (status = 422, description = "Malformed body or datetime", body = Envelope),
        ServiceFailure,
    ))]
pub async fn create(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Json(body): Json<Booking>,
) -> Result<Json<Reservation>, ApiError> {
    let booking = On::behalf(&claims, &body);
    Ok(Json(
        state.reservations.post(&["reservations"], &booking).await?,
    ))
}

/// The caller's own reservations (or one reservation by `id`: the caller's or their venue's).
#[utoipa::path(get, path = "/reservations", tag = "reservations", params(MineQuery),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Latest first", body = Listing),
        (status = 400, description = "`limit` over 100000", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not registered", body = Envelope),
        (status = 422, description = "Malformed query, status or datetime", body = Envelope),
        ServiceFailure,
    ))]
pub async fn mine(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Query(q): Query<MineQuery>,
) -> Result<Json<Listing>, ApiError> {
    let mut query = vec![("caller", user_ref(&claims))];
    match q.id {
        // The service scopes an id to the caller's own and their venue's reservations.
        Some(id) => query.push(("id", id)),
        None => query.push(("user", user_ref(&claims))),
    }
    query.extend(q.status.iter().map(|s| ("status", s.as_str().to_string())));
    query.extend(q.venue.map(|v| ("venue", v)));
    query.extend(q.from_people.map(|v| ("from_people", v.to_string())));
    query.extend(q.to_people.map(|v| ("to_people", v.to_string())));
    let window = Window {
        from_time: q.from_time,
        to_time: q.to_time,
        limit: q.limit,
        start: q.start,
    };
    window.forward(&mut query);
    list(&state, query).await
}

/// The caller's own reservations in a time range.
#[utoipa::path(get, path = "/reservations/history", tag = "reservations", params(Window),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Latest first", body = Listing),
        (status = 400, description = "`limit` over 100000", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not a registered client", body = Envelope),
        (status = 422, description = "Malformed query or datetime", body = Envelope),
        ServiceFailure,
    ))]
pub async fn history(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Query(window): Query<Window>,
) -> Result<Relayed<Listing>, ApiError> {
    let mut query = vec![("caller", user_ref(&claims)), ("user", user_ref(&claims))];
    window.forward(&mut query);
    state
        .reservations
        .relay_query(&["reservations"], &query)
        .await
}

/// The reservations at the caller's venue.
#[utoipa::path(get, path = "/reservations/venue", tag = "reservations", params(Window),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Latest first", body = Listing),
        (status = 400, description = "`limit` over 100000", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not a registered restaurant", body = Envelope),
        (status = 422, description = "Malformed query or datetime", body = Envelope),
        ServiceFailure,
    ))]
pub async fn of_venue(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Query(window): Query<Window>,
) -> Result<Relayed<Listing>, ApiError> {
    let mut query = vec![("caller", user_ref(&claims)), ("venue", claims.sub.clone())];
    window.forward(&mut query);
    state
        .reservations
        .relay_query(&["reservations"], &query)
        .await
}

async fn list(
    state: &crate::State,
    query: Vec<(&'static str, String)>,
) -> Result<Json<Listing>, ApiError> {
    Ok(Json(
        state
            .reservations
            .get_query(&["reservations"], &query)
            .await?,
    ))
}

/// Accept, reject, cancel, check in, mark a no-show, or change the time or the party.
#[utoipa::path(put, path = "/reservations/{reservation_id}", tag = "reservations",
    request_body = ReservationChange,
    security(("bearer" = [])),
    params(("reservation_id" = inline(Id), Path)),
    responses(
        (status = 200, description = "The reservation after the change", body = Reservation),
        (status = 400, description = "A final reservation (`Canceled`, `Assisted`, `Expired`), a request asking for nothing or for two things, a past time, people outside 1–1000, no room left", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Neither the diner nor the venue, or a move that is the other party's", body = Envelope),
        (status = 404, description = "No such reservation", body = Envelope),
        (status = 422, description = "Malformed body or datetime", body = Envelope),
        ServiceFailure,
    ))]
pub async fn update(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Path(id): Path<String>,
    Json(body): Json<ReservationChange>,
) -> Result<Json<Reservation>, ApiError> {
    checked_id("reservation", &id)?;
    let change = On::behalf(&claims, &body);
    Ok(Json(
        state
            .reservations
            .put(&["reservations", &id], &change)
            .await?,
    ))
}

/// Erase a reservation at the caller's venue (no client does; diners cancel instead).
#[utoipa::path(delete, path = "/reservations/{reservation_id}", tag = "reservations",
    security(("bearer" = [])),
    params(("reservation_id" = inline(Id), Path)),
    responses(
        (status = 200, description = "Deleted: `null`", body = ()),
        (status = 400, description = "A reservation id that breaks the rules", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not the reservation's venue", body = Envelope),
        (status = 404, description = "No such reservation among the caller's and their venue's", body = Envelope),
        ServiceFailure,
    ))]
pub async fn remove(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Path(id): Path<String>,
) -> Result<Json<()>, ApiError> {
    checked_id("reservation", &id)?;
    let caller = user_ref(&claims);
    let lookup = vec![("caller", caller.clone()), ("id", id.clone())];
    let Json(found) = list(&state, lookup).await?;
    let Some(reservation) = found.result.first() else {
        return Err(ApiError::not_found("Reservation does not exist"));
    };
    if reservation.venue != claims.sub {
        return Err(ApiError::forbidden(
            "Forbidden: only the reservation's venue can delete it; cancel it instead",
        ));
    }
    let url = state
        .reservations
        .url_with_query(&["reservations", &id], &[("user", caller)])?;
    let client = state.reservations.client();
    Ok(Json(
        client
            .call::<(), ()>(reqwest::Method::DELETE, &url, None)
            .await?,
    ))
}
