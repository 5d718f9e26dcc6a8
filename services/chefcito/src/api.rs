//! Wire types shared by a caller and a callee, so that neither writes them twice. With the
//! `openapi` feature the client-facing ones are `utoipa::ToSchema` too, so that a published
//! document describes these very types.

use serde::{Deserialize, Serialize};

pub use crate::permissions::UserType;

/// A user's profile as every client reads it (`localid` in lower case, `phone_number`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserData {
    pub localid: String,
    pub email: String,
    pub name: String,
    pub phone_number: String,
}

/// A user's registration state, as the gateway needs it on every request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserKind {
    pub localid: String,
    /// `anonymous` when the user has a valid identity but never registered a profile.
    pub user_type: UserType,
}

/// A user's points, as the points service answers them (E2's `points`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Points))]
pub struct PointsView {
    pub user: String,
    pub total: i64,
    /// One of the five levels (`Novato` to start with).
    pub level: String,
}

impl PointsView {
    /// What a user without any points history has.
    pub fn starting(user: &str) -> PointsView {
        PointsView {
            user: user.to_string(),
            total: 0,
            level: "Novato".to_string(),
        }
    }
}

/// What the auth endpoints answer, in Firebase's shape (the gateway passes it through).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id_token: String,
    pub refresh_token: String,
    /// Seconds, as a string (`"3600"`), as Firebase writes it.
    pub expires_in: String,
    pub local_id: String,
    pub email: String,
}

/// E-mail and password: the body of sign-up and sign-in, from the client through the gateway
/// to the users service (Firebase's extra keys such as `returnSecureToken` are ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// A refresh token: the body of refresh and sign-out. Firebase's token endpoint spells it
/// `refresh_token`, so both spellings are read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    #[serde(rename = "refreshToken", alias = "refresh_token")]
    pub refresh_token: String,
}

/// A profile registration as the users service takes it; the gateway fills `localid` and
/// `email` from the verified token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub localid: String,
    /// An external provider's token may carry no e-mail (phone sign-in): null is stored as `""`.
    pub email: Option<String>,
    pub user_type: String,
    pub name: String,
    pub phone_number: String,
}

/// E3's body, passed on as is: both keys must be present (the mobile app always sends both,
/// H13); `null` or `""` keeps the stored value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileUpdate {
    // `deserialize_with` makes serde require the key even though the type is an `Option`.
    #[serde(deserialize_with = "Option::deserialize")]
    pub name: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub phone: Option<String>,
}

/// Many users at once (listings enrich their rows with one call, never one per row).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsersBatch {
    pub localids: Vec<String>,
}
