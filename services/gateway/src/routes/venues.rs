//! `/venue` and `/venues*`: a restaurant's own venue (E4–E6), the catalogue (E7, E8), "near
//! me" (E9) and the promotions pop-up (E10), proxied to the venues service.
//!
//! * A venue's id is its owner's uid: `POST /venues` creates the caller's venue (a body `id`
//!   is ignored), and only a registered restaurant may create one (403 otherwise); `PUT` and
//!   `DELETE /venues/{venue_id}` answer 403, without calling the venues service, unless
//!   `venue_id` is the caller's uid.
//! * `GET /venues`, `/venues/near` and `/venues/promotions` need no identity (H5: the booking
//!   page sends no `Authorization` at all); the permission table opens them to everyone.
//! * `GET /venues` reads the gateway's singular `characteristic`/`feature` (and the plural
//!   spellings) and forwards them as the service's `characteristics`/`features`.
//! * Bodies and queries are typed here, so a malformed one is 422 before any downstream call;
//!   the vocabularies, bounds and paging limits are the venues service's and its 4xx answer
//!   comes back with its status and description.

use axum::extract::State;
use chefcito::ApiError;
use chefcito::api::UserType;
use chefcito::client::Relayed;
use chefcito::error::Envelope;
use chefcito::extract::{Json, Path, Query};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::routes::ServiceFailure;
use crate::routes::schema::{Characteristic, Feature, Id};

/// This module's routes, each with its OpenAPI entry.
pub fn routes() -> OpenApiRouter<crate::State> {
    OpenApiRouter::new()
        .routes(routes!(own))
        .routes(routes!(list, create))
        .routes(routes!(update, remove))
        .routes(routes!(near))
        .routes(routes!(promotions))
}

/// The data fields of a venue as the portal sends them (E5, E6): every one may be absent or
/// `null`. Extra keys (the portal's `id` and `status`) are ignored.
#[derive(Debug, Default, Deserialize, Serialize, ToSchema)]
pub struct VenueFields {
    /// `"<lat>,<lng>"` in decimal degrees.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 256)]
    pub location: Option<String>,
    /// Seats, 0 to 100000; 0 (or `null`) is unlimited.
    #[serde(
        default,
        deserialize_with = "chefcito::extract::lenient_i64::option::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 0, maximum = 100_000)]
    pub capacity: Option<i64>,
    /// The logo's URL, or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub logo: Option<String>,
    /// Pictures' URLs, at most 30, each at most 2048 characters.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_items = 30)]
    pub pictures: Option<Vec<String>>,
    /// Bookable times (at most 336); only the UTC time of day matters (H11).
    #[schema(max_items = 336)]
    #[serde(
        default,
        deserialize_with = "datetimes::read",
        serialize_with = "datetimes::write",
        skip_serializing_if = "Option::is_none"
    )]
    pub slots: Option<Vec<DateTime<Utc>>>,
    /// Words of the 31 fixed characteristics.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Characteristic>>, inline, max_items = 31)]
    pub characteristics: Option<Vec<String>>,
    /// Words of the 8 fixed features.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(value_type = Option<Vec<Feature>>, inline, max_items = 8)]
    pub features: Option<Vec<String>>,
    /// Days off (at most 366).
    #[schema(max_items = 366)]
    #[serde(
        default,
        deserialize_with = "datetimes::read",
        serialize_with = "datetimes::write",
        skip_serializing_if = "Option::is_none"
    )]
    pub vacations: Option<Vec<DateTime<Utc>>>,
    /// Days of notice a booking needs, 0 to 365.
    #[serde(
        default,
        rename = "reservationLeadTime",
        deserialize_with = "chefcito::extract::lenient_i64::option::deserialize",
        skip_serializing_if = "Option::is_none"
    )]
    #[schema(minimum = 0, maximum = 365)]
    pub reservation_lead_time: Option<i64>,
    /// The menu's URL (a PDF), or `""`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 2048)]
    pub menu: Option<String>,
}

/// E5's body: the venue of the caller (its id is the caller's uid).
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct NewVenue {
    #[schema(max_length = 200)]
    pub name: String,
    #[serde(flatten)]
    pub fields: VenueFields,
}

/// E6's body: the fields to change (absent, `null`, `""`, `0` and `[]` change nothing) or a
/// status flag (`close`, then `open`, then `occupy`: the first true one wins and the fields
/// are ignored). Any changed field makes the venue `Unconfirmed` until it is opened again.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct VenueChanges {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(max_length = 200)]
    pub name: Option<String>,
    #[serde(flatten)]
    pub fields: VenueFields,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub open: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub close: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occupy: Option<bool>,
}

/// What the venues service is asked to create.
#[derive(Serialize)]
struct Creation<'a> {
    id: &'a str,
    #[serde(flatten)]
    venue: &'a NewVenue,
}

/// A venue's status (`Unconfirmed` spelt correctly, unlike a reservation's `Uncomfirmed`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize, ToSchema)]
pub enum VenueStatus {
    Available,
    Occupied,
    Closed,
    Unconfirmed,
}

/// Statuses travel wrapped: `{"status": "Available"}`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct VenueStatusObject {
    pub status: VenueStatus,
}

/// A venue as every client reads it.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Venue {
    /// The owner's uid (the portal's `localid`, the QR text of the check-in).
    pub id: String,
    pub name: String,
    /// `"<lat>,<lng>"` by convention.
    pub location: String,
    /// 0 is unlimited.
    pub capacity: i64,
    pub logo: String,
    pub pictures: Vec<String>,
    /// Naive UTC datetimes (`YYYY-MM-DDTHH:MM:SS[.ffffff]`, no offset): the clients shift them.
    pub slots: Vec<String>,
    pub characteristics: Vec<String>,
    pub features: Vec<String>,
    /// Naive UTC datetimes, as `slots`.
    pub vacations: Vec<String>,
    #[serde(rename = "reservationLeadTime")]
    pub reservation_lead_time: i64,
    pub menu: String,
    pub status: VenueStatusObject,
}

/// A page of venues; `total` counts every match, not only this page.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct VenuePage {
    pub result: Vec<Venue>,
    pub total: u64,
}

/// A venue and its distance from the searched point.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct VenueDistance {
    pub venue: Venue,
    /// Whole metres.
    pub distance: u64,
}

/// Venues nearest first; `total` counts every venue that qualified before `limit`.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct NearPage {
    pub result: Vec<VenueDistance>,
    pub total: u64,
}

/// `GET /venues` (E7, E8). Unknown keys are ignored.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VenueSearch {
    /// One venue: the answer holds it (total 1) or nothing (total 0); the other filters and
    /// the paging are then ignored. Empty means no filter.
    pub id: Option<String>,
    /// Exact name.
    pub name: Option<String>,
    /// A characteristic every venue returned has; repeat the key for more.
    #[serde(default)]
    #[param(value_type = Option<Vec<Characteristic>>, inline)]
    pub characteristic: Vec<String>,
    /// The same as `characteristic` (the venues service's spelling).
    #[serde(default)]
    #[param(value_type = Option<Vec<Characteristic>>, inline)]
    pub characteristics: Vec<String>,
    /// A feature every venue returned has; repeat the key for more.
    #[serde(default)]
    #[param(value_type = Option<Vec<Feature>>, inline)]
    pub feature: Vec<String>,
    /// The same as `feature`.
    #[serde(default)]
    #[param(value_type = Option<Vec<Feature>>, inline)]
    pub features: Vec<String>,
    /// Page size, 0 to 100000 (default 10).
    #[param(maximum = 100_000)]
    pub limit: Option<u32>,
    /// Venues skipped (default 0).
    pub start: Option<u64>,
}

impl VenueSearch {
    /// The venues service's query: plural tag keys.
    fn forwarded(self) -> Vec<(&'static str, String)> {
        let mut query = Vec::new();
        query.extend(self.id.map(|v| ("id", v)));
        query.extend(self.name.map(|v| ("name", v)));
        let characteristics = self.characteristic.into_iter().chain(self.characteristics);
        query.extend(characteristics.map(|v| ("characteristics", v)));
        let features = self.feature.into_iter().chain(self.features);
        query.extend(features.map(|v| ("features", v)));
        query.extend(self.limit.map(|v| ("limit", v.to_string())));
        query.extend(self.start.map(|v| ("start", v.to_string())));
        query
    }
}

/// `GET /venues/near` (E9).
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct NearSearch {
    /// Latitude, then longitude: the key twice (`?location=-34.6&location=-58.4`). Without it
    /// the search starts at (-34.594174, -58.4566507).
    #[serde(default)]
    #[param(schema_with = crate::routes::schema::near_location, required = false)]
    pub location: Vec<f64>,
    /// At most this many venues (default: all).
    #[param(maximum = 100_000)]
    pub limit: Option<u32>,
    /// Only venues at most this many metres away (default: unlimited).
    #[param(minimum = 0)]
    pub max_distance: Option<f64>,
}

impl NearSearch {
    fn forwarded(self) -> Result<Vec<(&'static str, String)>, ApiError> {
        if !matches!(self.location.len(), 0 | 2) {
            return Err(ApiError::unprocessable(
                "location must be given twice (latitude, then longitude) or not at all",
            ));
        }
        let mut query: Vec<_> = self
            .location
            .into_iter()
            .map(|v| ("location", v.to_string()))
            .collect();
        query.extend(self.limit.map(|v| ("limit", v.to_string())));
        query.extend(self.max_distance.map(|v| ("max_distance", v.to_string())));
        Ok(query)
    }
}

/// The caller's own venue (the portal's "Mi Local").
#[utoipa::path(get, path = "/venue", tag = "venues",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The caller's venue", body = Venue),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not a registered restaurant", body = Envelope),
        (status = 404, description = "No venue yet: create it with `POST /venues`", body = Envelope),
        ServiceFailure,
    ))]
pub async fn own(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
) -> Result<Relayed<Venue>, ApiError> {
    state.venues.relay(&["venues", &claims.sub]).await
}

/// Create the caller's venue; its id is the caller's uid.
#[utoipa::path(post, path = "/venues", tag = "venues", request_body = NewVenue,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The new venue, `Available`", body = Venue),
        (status = 400, description = "A text too long or with control characters, a negative or too large number, too many list entries", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not a registered restaurant", body = Envelope),
        (status = 409, description = "The caller already has a venue: change it with `PUT /venues/{venue_id}`", body = Envelope),
        (status = 422, description = "Malformed body, datetime, characteristic or feature", body = Envelope),
        ServiceFailure,
    ))]
pub async fn create(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Json(body): Json<NewVenue>,
) -> Result<Json<Venue>, ApiError> {
    match state.identity.user_type(&claims.sub).await? {
        UserType::Restaurant => {}
        UserType::Client => {
            return Err(ApiError::forbidden(
                "Forbidden: only restaurant accounts have a venue",
            ));
        }
        UserType::Anonymous => {
            return Err(ApiError::forbidden(
                "Forbidden: register your profile with POST /users before creating a venue",
            ));
        }
    }
    let creation = Creation {
        id: &claims.sub,
        venue: &body,
    };
    Ok(Json(state.venues.post(&["venues"], &creation).await?))
}

/// 403 unless the caller owns `venue_id` (a venue's id is its owner's uid).
fn owner(claims: &chefcito::jwks::Claims, venue_id: &str) -> Result<(), ApiError> {
    if claims.sub == venue_id {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "Forbidden: only the venue's owner can change it",
        ))
    }
}

/// Change the caller's venue.
#[utoipa::path(put, path = "/venues/{venue_id}", tag = "venues", request_body = VenueChanges,
    security(("bearer" = [])),
    params(("venue_id" = inline(Id), Path, description = "The caller's uid")),
    responses(
        (status = 200, description = "The venue after the change", body = Venue),
        (status = 400, description = "A text too long or with control characters, a negative or too large number, too many list entries", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not the venue's owner", body = Envelope),
        (status = 404, description = "No such venue", body = Envelope),
        (status = 422, description = "Malformed body, datetime, characteristic or feature", body = Envelope),
        ServiceFailure,
    ))]
pub async fn update(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Path(venue_id): Path<String>,
    Json(body): Json<VenueChanges>,
) -> Result<Json<Venue>, ApiError> {
    owner(&claims, &venue_id)?;
    Ok(Json(state.venues.put(&["venues", &venue_id], &body).await?))
}

/// Delete the caller's venue (no client does).
#[utoipa::path(delete, path = "/venues/{venue_id}", tag = "venues",
    security(("bearer" = [])),
    params(("venue_id" = inline(Id), Path, description = "The caller's uid")),
    responses(
        (status = 200, description = "Deleted (also when there was nothing to delete): `null`", body = ()),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not the venue's owner", body = Envelope),
        ServiceFailure,
    ))]
pub async fn remove(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Path(venue_id): Path<String>,
) -> Result<Json<()>, ApiError> {
    owner(&claims, &venue_id)?;
    Ok(Json(state.venues.delete(&["venues", &venue_id]).await?))
}

/// The catalogue, or one venue by id; no identity needed.
#[utoipa::path(get, path = "/venues", tag = "venues", params(VenueSearch),
    responses(
        (status = 200, description = "Venues with every tag asked, ordered by id", body = VenuePage),
        (status = 400, description = "A filter the service does not implement (`location`, `capacity`, …)", body = Envelope),
        (status = 422, description = "Malformed query, limit over 100000, unknown characteristic or feature", body = Envelope),
        ServiceFailure,
    ))]
pub async fn list(
    State(state): State<crate::State>,
    Query(search): Query<VenueSearch>,
) -> Result<Relayed<VenuePage>, ApiError> {
    let query = search.forwarded();
    state.venues.relay_query(&["venues"], &query).await
}

/// Venues nearest to a point, with their distance; no identity needed.
#[utoipa::path(get, path = "/venues/near", tag = "venues", params(NearSearch),
    responses(
        (status = 200, description = "Nearest first (ties by id)", body = NearPage),
        (status = 422, description = "`location` not twice, a coordinate out of range, a negative `limit` or `max_distance`", body = Envelope),
        ServiceFailure,
    ))]
pub async fn near(
    State(state): State<crate::State>,
    Query(search): Query<NearSearch>,
) -> Result<Relayed<NearPage>, ApiError> {
    let query = search.forwarded()?;
    state.venues.relay_query(&["venues", "near"], &query).await
}

/// The promoted venues (configured on the venues service, else the newest available ones);
/// no identity needed.
#[utoipa::path(get, path = "/venues/promotions", tag = "venues",
    responses(
        (status = 200, description = "Complete venues", body = VenuePage),
        ServiceFailure,
    ))]
pub async fn promotions(State(state): State<crate::State>) -> Result<Relayed<VenuePage>, ApiError> {
    state.venues.relay(&["venues", "promotions"]).await
}

/// Lists of datetimes in bodies: any accepted form in, `…Z` out; `null` reads as absent.
mod datetimes {
    use super::*;

    pub fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<DateTime<Utc>>>, D::Error> {
        Option::<Vec<String>>::deserialize(d)?
            .map(|texts| {
                texts
                    .iter()
                    .map(|t| chefcito::time::parse(t).map_err(serde::de::Error::custom))
                    .collect()
            })
            .transpose()
    }

    pub fn write<S: Serializer>(
        list: &Option<Vec<DateTime<Utc>>>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        let texts: Option<Vec<String>> = list
            .as_ref()
            .map(|l| l.iter().map(chefcito::time::with_z).collect());
        texts.serialize(s)
    }
}
