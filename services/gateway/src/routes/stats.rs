//! `/stats/*`: a restaurant's dashboard (E21) and a diner's reliability flags (E22), proxied
//! to the stats service (`/venue/{v}` and `/user/{u}` there).
//!
//! * `GET /stats/venue/{venue_id}`: only the venue's owner (caller uid = venue id); 403
//!   otherwise, without calling the service.
//! * `GET /stats/user/{user_id}`: that user, or any registered restaurant (H2: the portal's
//!   Bookings page reads the flags of every diner it lists, and one refusal empties the whole
//!   table); 403 otherwise. Restricting restaurants to their own diners would cost a
//!   reservations lookup per row for flags that are ratios, not personal data.
//! * Unknown users and venues read as zeros (200), as the service answers them.
//! * Shapes are the original's: ratios in `canceled`/`expired`, `people` a float sum,
//!   `days.means` keyed by weekday with 0 = Monday (the portal labels 0 as Sunday: a client
//!   bug kept on the wire, H7), `turns.turns` keyed by UTC `"HH:MM"`.

use std::collections::BTreeMap;

use axum::extract::State;
use chefcito::ApiError;
use chefcito::api::UserType;
use chefcito::error::Envelope;
use chefcito::extract::{Json, Path};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::auth::SignedIn;
use crate::routes::ServiceFailure;
use crate::routes::schema::{Id, checked_id};

/// This module's routes, each with its OpenAPI entry.
pub fn routes() -> OpenApiRouter<crate::State> {
    OpenApiRouter::new()
        .routes(routes!(venue))
        .routes(routes!(user))
}

/// A diner's finished reservations and the flags the portal shows.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct UserStats {
    pub user: String,
    /// Finished reservations (attended, cancelled or expired).
    pub total: i64,
    /// Share of `total` cancelled, 0 to 1, two decimals.
    pub canceled: f64,
    /// Share of `total` expired (no-shows), 0 to 1, two decimals.
    pub expired: f64,
    /// `expired` is over 0.5.
    pub expired_alert: bool,
    /// `canceled` is over 0.5.
    pub canceled_alert: bool,
}

/// Attended reservations per weekday.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Days {
    /// `"0"` (Monday) … `"6"` → attended reservations; only weekdays with some.
    pub means: BTreeMap<String, i64>,
}

/// Attended reservations per time of day.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct Turns {
    /// `"HH:MM"` in UTC → attended reservations; only times with some.
    pub turns: BTreeMap<String, i64>,
}

/// A venue's dashboard.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
pub struct VenueStats {
    pub venue: String,
    /// Finished reservations (attended, cancelled or expired).
    pub total: i64,
    /// Share of `total` cancelled, 0 to 1, two decimals.
    pub canceled: f64,
    /// Share of `total` expired, 0 to 1, two decimals.
    pub expired: f64,
    /// Sum of the parties of attended reservations (printed as a float, `17.0`).
    pub people: f64,
    pub days: Days,
    pub turns: Turns,
}

/// The caller's venue's stats.
#[utoipa::path(get, path = "/stats/venue/{venue_id}", tag = "stats",
    security(("bearer" = [])),
    params(("venue_id" = inline(Id), Path, description = "The caller's uid")),
    responses(
        (status = 200, description = "The venue's counts (zeros when nothing was counted yet)", body = VenueStats),
        (status = 400, description = "A venue id that breaks the rules", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not a registered restaurant, or not the venue's owner", body = Envelope),
        ServiceFailure,
    ))]
pub async fn venue(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Path(venue_id): Path<String>,
) -> Result<Json<VenueStats>, ApiError> {
    if claims.sub != venue_id {
        return Err(ApiError::forbidden(
            "Forbidden: only the venue's owner can read its stats",
        ));
    }
    Ok(Json(state.stats.get(&["venue", &venue_id]).await?))
}

/// A user's reliability: read by that user or by any restaurant.
#[utoipa::path(get, path = "/stats/user/{user_id}", tag = "stats",
    security(("bearer" = [])),
    params(("user_id" = inline(Id), Path, description = "A bare uid (the `user.id` of a listed reservation)")),
    responses(
        (status = 200, description = "The user's counts (zeros for an unknown user)", body = UserStats),
        (status = 400, description = "A user id that breaks the rules", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 403, description = "Not registered, or a client asking for someone else", body = Envelope),
        ServiceFailure,
    ))]
pub async fn user(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Path(user_id): Path<String>,
) -> Result<Json<UserStats>, ApiError> {
    checked_id("user", &user_id)?;
    if claims.sub != user_id && state.identity.user_type(&claims.sub).await? != UserType::Restaurant
    {
        return Err(ApiError::forbidden(
            "Forbidden: a user's stats are read by that user or by a restaurant",
        ));
    }
    Ok(Json(state.stats.get(&["user", &user_id]).await?))
}
