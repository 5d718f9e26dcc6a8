//! Who is calling: the `Authorization` header → a verified identity → a user type.
//!
//! Tokens are verified locally by [`chefcito::jwks::Verifier`]. The user type needs the users
//! service (`GET /user/{uid}/type`); registered users' types are cached for
//! [`TYPE_TTL`], so a busy caller costs one lookup per half minute. Unregistered results are
//! never cached: the next request after a registration must see it, whichever gateway replica
//! handled the `POST /users`.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::request::Parts;
use chefcito::ApiError;
use chefcito::api::UserKind;
use chefcito::client::Downstream;
use chefcito::jwks::{Claims, Verifier, bearer};
use chefcito::permissions::UserType;

/// How long a registered user's type is trusted without asking the users service again.
pub const TYPE_TTL: Duration = Duration::from_secs(30);
/// Above this many cached types, expired entries are dropped on insert.
const CACHE_PRUNE_AT: usize = 10_000;

/// The token the original clients sent to mean "not signed in".
const ANONYMOUS_TOKEN: &str = "anonymous";

/// What the `Authorization` header says, before any verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Credential {
    /// No header, or `Bearer anonymous`.
    Anonymous,
    Bearer(String),
    /// A header that is not `Bearer <token>` (another scheme, an empty token).
    Malformed,
}

impl Credential {
    pub fn from_headers(headers: &HeaderMap) -> Credential {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Credential::Anonymous;
        };
        match value.to_str().ok().and_then(bearer) {
            Some(ANONYMOUS_TOKEN) => Credential::Anonymous,
            Some(token) => Credential::Bearer(token.to_string()),
            None => Credential::Malformed,
        }
    }
}

/// Verifies credentials and finds user types.
#[derive(Debug)]
pub struct Identity {
    verifier: Verifier,
    users: Downstream,
    types: Mutex<HashMap<String, (UserType, Instant)>>,
}

impl Identity {
    pub fn new(verifier: Verifier, users: Downstream) -> Identity {
        Identity {
            verifier,
            users,
            types: Mutex::new(HashMap::new()),
        }
    }

    /// The verified claims of a credential; `None` for the anonymous caller.
    pub async fn verify(&self, credential: &Credential) -> Result<Option<Claims>, ApiError> {
        match credential {
            Credential::Anonymous => Ok(None),
            Credential::Malformed => Err(ApiError::unauthorized(
                "Invalid Authorization header: expected `Bearer <ID token>`",
            )),
            Credential::Bearer(token) => match self.verifier.verify(token).await {
                Ok(claims) => Ok(Some(claims)),
                Err(e) => {
                    tracing::debug!(error = %e, "token refused");
                    Err(e.into())
                }
            },
        }
    }

    /// The user type of a verified user (`anonymous` when not registered).
    pub async fn user_type(&self, uid: &str) -> Result<UserType, ApiError> {
        if let Some(&(user_type, at)) = self.types.lock().unwrap().get(uid)
            && at.elapsed() < TYPE_TTL
        {
            return Ok(user_type);
        }
        let kind: UserKind = self.users.get(&["user", uid, "type"]).await?;
        if kind.user_type != UserType::Anonymous {
            let mut types = self.types.lock().unwrap();
            if types.len() >= CACHE_PRUNE_AT {
                types.retain(|_, (_, at)| at.elapsed() < TYPE_TTL);
            }
            types.insert(uid.to_string(), (kind.user_type, Instant::now()));
        }
        Ok(kind.user_type)
    }

    /// Forgets a cached type (after this gateway registered the user).
    pub fn forget(&self, uid: &str) {
        self.types.lock().unwrap().remove(uid);
    }
}

/// Put in the request extensions by the guard when it already verified the credential, so
/// the handler does not verify it twice.
#[derive(Debug, Clone)]
pub struct Verified(pub Option<Claims>);

/// Extractor for handlers that need a signed-in caller: 401 for the anonymous caller or an
/// invalid token.
#[derive(Debug, Clone)]
pub struct SignedIn(pub Claims);

impl FromRequestParts<crate::State> for SignedIn {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &crate::State,
    ) -> Result<Self, Self::Rejection> {
        let claims = match parts.extensions.get::<Verified>() {
            Some(Verified(claims)) => claims.clone(),
            None => {
                state
                    .identity
                    .verify(&Credential::from_headers(&parts.headers))
                    .await?
            }
        };
        claims.map(SignedIn).ok_or_else(|| {
            ApiError::unauthorized(
                "Authentication required: send `Authorization: Bearer <ID token>`",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(value: Option<&str>) -> HeaderMap {
        let mut h = HeaderMap::new();
        if let Some(v) = value {
            h.insert(axum::http::header::AUTHORIZATION, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn reads_credentials() {
        assert_eq!(
            Credential::from_headers(&headers(None)),
            Credential::Anonymous
        );
        assert_eq!(
            Credential::from_headers(&headers(Some("Bearer anonymous"))),
            Credential::Anonymous
        );
        assert_eq!(
            Credential::from_headers(&headers(Some("bearer abc"))),
            Credential::Bearer("abc".into())
        );
        for bad in ["Basic abc", "Bearer ", "abc", "eyJhbGciOi"] {
            assert_eq!(
                Credential::from_headers(&headers(Some(bad))),
                Credential::Malformed,
                "{bad}"
            );
        }
    }
}
