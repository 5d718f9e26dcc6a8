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
