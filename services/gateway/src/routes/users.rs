//! `/users`: register the signed-in user's profile (E1), read it (E2), edit it (E3).
//! The keys differ per call on purpose (H14): `number` here, `phone` in updates,
//! `phone_number` in answers.

use axum::extract::State;
use chefcito::ApiError;
use chefcito::api::{NewUser, PointsView, UserData};
use chefcito::error::Envelope;
use chefcito::extract::Json;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::auth::SignedIn;
use crate::routes::ServiceFailure;

/// E1's body; `name` and `number` may be empty (Google sign-ins send `""`, H13).
#[derive(Debug, Deserialize, ToSchema)]
pub struct Registration {
    /// `client` or `restaurant`.
    #[schema(value_type = RegisteredAs)]
    pub user_type: String,
    /// At most 100 characters.
    #[schema(max_length = 100)]
    pub name: String,
    /// The phone number as typed, at most 32 characters.
    #[schema(max_length = 32)]
    pub number: String,
}

/// The account kinds a profile is registered as (the users service checks `user_type`).
#[derive(ToSchema)]
#[schema(rename_all = "lowercase")]
#[allow(dead_code)] // documentation only: the users service reads the text
pub enum RegisteredAs {
    Client,
    Restaurant,
}

/// E3's body, passed on as is: both keys must be present (the mobile app always sends both,
/// H13); `null` or `""` keeps the stored value.
#[derive(Debug, Deserialize, Serialize, ToSchema)]
pub struct ProfileUpdate {
    // `deserialize_with` makes serde require the key even though the type is an `Option`.
    /// At most 100 characters.
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true, max_length = 100)]
    pub name: Option<String>,
    /// At most 32 characters.
    #[serde(deserialize_with = "Option::deserialize")]
    #[schema(required = true, max_length = 32)]
    pub phone: Option<String>,
}

/// `GET /users` and `PUT /users` answer: the profile and the points.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Profile)]
pub struct ProfileView {
    pub data: UserData,
    pub points: PointsView,
}

/// The user's points from the points service; the starting points when it fails, so that
/// signing in (`GET /users`) never fails because of the points service.
async fn points_of(state: &crate::State, uid: &str) -> PointsView {
    match state.points.get::<PointsView>(&["points", uid]).await {
        Ok(points) => points,
        Err(e) => {
            tracing::warn!(status = %e.status, error = %e.description,
                "points unavailable: answering the profile with the starting points");
            PointsView::starting(uid)
        }
    }
}

/// Register the signed-in user's profile.
///
/// Registering again answers 200 with the profile already stored, unchanged, so that apps
/// that register on every Google sign-in keep working (H1).
#[utoipa::path(post, path = "/users", tag = "users", request_body = Registration,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The stored profile", body = UserData),
        (status = 400, description = "`user_type` is neither `client` nor `restaurant`", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
    ))]
pub async fn register(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Json(body): Json<Registration>,
) -> Result<Json<UserData>, ApiError> {
    let user = NewUser {
        localid: claims.sub.clone(),
        email: claims.email.clone(),
        user_type: body.user_type,
        name: body.name,
        phone_number: body.number,
    };
    let stored: UserData = state.users.post(&["users"], &user).await?;
    state.identity.forget(&claims.sub);
    Ok(Json(stored))
}

/// The signed-in user's profile and points.
#[utoipa::path(get, path = "/users", tag = "users",
    security(("bearer" = [])),
    responses(
        (status = 200, description = "Profile and points (the starting points when the points service fails)", body = ProfileView),
        (status = 401, description = "No valid ID token", body = Envelope),
        ServiceFailure,
    ))]
pub async fn profile(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
) -> Result<Json<ProfileView>, ApiError> {
    let path = ["user", claims.sub.as_str()];
    let (data, points) = tokio::join!(
        state.users.get::<UserData>(&path),
        points_of(&state, &claims.sub)
    );
    let data = match data {
        Ok(data) => data,
        // Signed in but not registered yet: the account's e-mail, empty name and phone, as
        // the original answered (the mobile app does not handle an error here).
        Err(e) if e.status == 404 => UserData {
            localid: claims.sub.clone(),
            email: claims.email.clone().unwrap_or_default(),
            name: String::new(),
            phone_number: String::new(),
        },
        Err(e) => return Err(e),
    };
    Ok(Json(ProfileView { data, points }))
}

/// Change the signed-in user's name and phone.
#[utoipa::path(put, path = "/users", tag = "users", request_body = ProfileUpdate,
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The updated profile and points", body = ProfileView),
        (status = 400, description = "A name over 100 or a phone over 32 characters, or one with control characters", body = Envelope),
        (status = 401, description = "No valid ID token", body = Envelope),
        (status = 404, description = "Not registered yet: call `POST /users`", body = Envelope),
        (status = 422, description = "Malformed body", body = Envelope),
        ServiceFailure,
    ))]
pub async fn update(
    State(state): State<crate::State>,
    SignedIn(claims): SignedIn,
    Json(body): Json<ProfileUpdate>,
) -> Result<Json<ProfileView>, ApiError> {
    let path = ["user", claims.sub.as_str()];
    let (data, points) = tokio::join!(
        state.users.put::<_, UserData>(&path, &body),
        points_of(&state, &claims.sub)
    );
    Ok(Json(ProfileView {
        data: data?,
        points,
    }))
}
