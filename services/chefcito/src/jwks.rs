//! Bearer token verification against a JWKS, with key caching.
//!
//! The gateway verifies every token locally (signature, `iss`, `aud`, `exp`): no call to
//! another service per request. Keys are fetched from the JWKS URL and kept for as long as
//! its `Cache-Control: max-age` says (5 minutes when absent). A token signed with a key id we
//! do not know triggers one refetch (at most one every [`FORCED_REFRESH_INTERVAL`], so a flood
//! of forged key ids cannot turn into a flood of fetches): that is how key rotation is
//! picked up. The algorithm is taken from the key, never from the token, so `alg: none` and
//! algorithm confusion are rejected.
//!
//! **Outages.** When the keys are due for a refresh and the JWKS cannot be fetched, the cached
//! keys stay in use (stale-if-error) for up to [`STALE_IF_ERROR`]: tokens signed with them keep
//! working through a provider outage. One fetch is in flight at a time, and a failure is
//! remembered for [`FAILURE_BACKOFF`], so an outage does not turn every request into a fetch.
//! A token with an unknown key id during an outage is 401 (it cannot be checked, so it is not
//! accepted); only with no usable keys at all is the answer 503.
//!
//! Besides signature, `iss`, `aud` and `exp`, a token must not be used before its `nbf` nor
//! claim to be issued in the future (`iat`), with the same leeway ([`LEEWAY_SECS`]).
//!
//! **Verified tokens are remembered.** The apps send the same token with every request for up
//! to an hour, and checking an Ed25519 signature costs more than the rest of the gateway's work
//! on a request. A token that passed every check is kept (at most [`VERIFIED_CAPACITY`]) and
//! accepted again without a new check while it has not expired and the keys it was checked
//! against are still fresh: any fetch of the keys forgets every remembered token, so a rotated
//! or withdrawn key is honoured exactly as before, and during a JWKS outage every token goes
//! through the full check again.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde::{Deserialize, Serialize};
use tokio::sync::{Mutex, RwLock};

const DEFAULT_MAX_AGE: Duration = Duration::from_secs(300);
/// Minimum time between two refetches caused by an unknown key id.
pub const FORCED_REFRESH_INTERVAL: Duration = Duration::from_secs(10);
/// How long past their expiry cached keys are still used while the JWKS cannot be fetched.
pub const STALE_IF_ERROR: Duration = Duration::from_secs(3600);
/// After a failed fetch, no other is tried for this long.
pub const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// The issuer of Firebase ID tokens, followed by the project id.
pub const FIREBASE_ISSUER_PREFIX: &str = "https://securetoken.google.com/";
/// Clock skew allowed on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: u64 = 30;
/// Verified tokens remembered at most (about 1 KiB each).
pub const VERIFIED_CAPACITY: usize = 20_000;

/// The claims we read from an ID token (Firebase and the embedded provider agree on these).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Claims {
    /// The user id (`localId`).
    pub sub: String,
    #[serde(default)]
    pub email: Option<String>,
    pub exp: u64,
    #[serde(default)]
    pub iat: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// When the user authenticated (Firebase ID tokens always carry it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_time: Option<u64>,
    #[serde(default)]
    pub iss: String,
    #[serde(default)]
    pub aud: serde_json::Value,
}

/// Why a token was refused. Every variant is a 401 for the caller; the JWKS being
/// unreachable is a 503.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("malformed token")]
    Malformed,
    #[error("token signed with an unknown key")]
    UnknownKey,
    #[error("token algorithm does not match its key")]
    WrongAlgorithm,
    #[error("invalid token: {0}")]
    Invalid(String),
    #[error("token has expired")]
    Expired,
    #[error("identity keys are unavailable: {0}")]
    KeysUnavailable(String),
}

impl From<TokenError> for crate::ApiError {
    fn from(e: TokenError) -> Self {
        match e {
            TokenError::KeysUnavailable(_) => {
                tracing::error!(error = %e, "cannot verify tokens");
                crate::ApiError::unavailable("Identity keys are unavailable, try again later")
            }
            TokenError::Expired => {
                crate::ApiError::unauthorized("Token has expired, sign in again")
            }
            _ => crate::ApiError::unauthorized("Invalid token"),
        }
    }
}

/// Where keys come from and what a valid token must say.
#[derive(Debug, Clone)]
pub struct VerifierConfig {
    pub jwks_url: String,
    pub issuer: String,
    pub audience: String,
    /// Extra headers for the JWKS fetch (the internal token for the embedded provider; none
    /// for an external one).
    pub headers: Vec<(String, String)>,
}

struct Key {
    key: DecodingKey,
    algorithm: Algorithm,
}

struct Cache {
    keys: HashMap<String, Key>,
    /// The key used when a token carries no `kid` and the set has exactly one key.
    only: Option<String>,
    expires: Instant,
}

/// Verifies tokens; cheap to share behind an `Arc`.
pub struct Verifier {
    config: VerifierConfig,
    http: reqwest::Client,
    cache: RwLock<Option<Cache>>,
    refresh: Mutex<Refreshes>,
    /// Token → its claims, for tokens that passed every check against the current keys.
    verified: std::sync::Mutex<HashMap<Box<str>, Claims>>,
}

/// When keys were last fetched on demand, and when a fetch last failed.
#[derive(Default)]
struct Refreshes {
    last_forced: Option<Instant>,
    failed_at: Option<Instant>,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("jwks_url", &self.config.jwks_url)
            .finish()
    }
}

fn algorithm_of(jwk: &Jwk) -> Option<Algorithm> {
    if let Some(alg) = jwk.common.key_algorithm {
        return Algorithm::from_str_opt(&alg.to_string());
    }
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        _ => None,
    }
}

trait AlgorithmExt: Sized {
    fn from_str_opt(s: &str) -> Option<Self>;
}

impl AlgorithmExt for Algorithm {
    fn from_str_opt(s: &str) -> Option<Self> {
        // HMAC keys in a JWKS would let anyone holding the "public" set forge tokens.
        match s.parse::<Algorithm>().ok()? {
            Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512 => None,
            alg => Some(alg),
        }
    }
}

fn max_age(headers: &reqwest::header::HeaderMap) -> Duration {
    headers
        .get(reqwest::header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(',')
                .filter_map(|part| part.trim().strip_prefix("max-age="))
                .find_map(|n| n.parse::<u64>().ok())
        })
        .map(Duration::from_secs)
        .unwrap_or(DEFAULT_MAX_AGE)
}

impl Verifier {
    pub fn new(config: VerifierConfig, http: reqwest::Client) -> Verifier {
        Verifier {
            config,
            http,
            cache: RwLock::new(None),
            refresh: Mutex::new(Refreshes::default()),
            verified: std::sync::Mutex::new(HashMap::new()),
        }
    }

    async fn fetch(&self) -> Result<Cache, TokenError> {
        let mut request = self.http.get(&self.config.jwks_url);
        for (name, value) in &self.config.headers {
            request = request.header(name, value);
        }
        let unavailable = |e: String| TokenError::KeysUnavailable(e);
        let response = request
            .send()
            .await
            .map_err(|e| unavailable(e.to_string()))?;
        if !response.status().is_success() {
            return Err(unavailable(format!("JWKS answered {}", response.status())));
        }
        let ttl = max_age(response.headers());
        let set: JwkSet = response
            .json()
            .await
            .map_err(|e| unavailable(format!("bad JWKS: {e}")))?;
        let mut keys = HashMap::new();
        for (index, jwk) in set.keys.iter().enumerate() {
            let (Some(algorithm), Ok(key)) = (algorithm_of(jwk), DecodingKey::from_jwk(jwk)) else {
                tracing::warn!(kid = ?jwk.common.key_id, "skipping unusable JWKS key");
                continue;
            };
            let kid = jwk
                .common
                .key_id
                .clone()
                .unwrap_or_else(|| format!("#{index}"));
            keys.insert(kid, Key { key, algorithm });
        }
        let only = (keys.len() == 1)
            .then(|| keys.keys().next().cloned())
            .flatten();
        Ok(Cache {
            keys,
            only,
            expires: Instant::now() + ttl,
        })
    }

    /// Whether keys are cached and not yet due for a refresh.
    async fn keys_fresh(&self) -> bool {
        self.cache
            .read()
            .await
            .as_ref()
            .is_some_and(|c| c.expires > Instant::now())
    }

    /// Refetches the keys unless another task just did, `forced` refreshes are rate-limited,
    /// or a fetch failed a moment ago.
    async fn refresh(&self, forced: bool) -> Result<(), TokenError> {
        // The lock also makes concurrent callers wait for one fetch instead of each fetching.
        let mut state = self.refresh.lock().await;
        let fresh = self.keys_fresh().await;
        let forced_recently = state
            .last_forced
            .is_some_and(|t| t.elapsed() < FORCED_REFRESH_INTERVAL);
        if fresh && (!forced || forced_recently) {
            return Ok(());
        }
        if state
            .failed_at
            .is_some_and(|t| t.elapsed() < FAILURE_BACKOFF)
        {
            return Err(TokenError::KeysUnavailable(
                "the JWKS failed a moment ago".into(),
            ));
        }
        if forced {
            state.last_forced = Some(Instant::now());
        }
        match self.fetch().await {
            Ok(cache) => {
                if state.failed_at.take().is_some() {
                    tracing::info!(url = %self.config.jwks_url, "JWKS reachable again");
                }
                *self.cache.write().await = Some(cache);
                // Tokens were checked against the old keys: check them again.
                self.verified_tokens().clear();
                Ok(())
            }
            Err(e) => {
                if state.failed_at.is_none() {
                    tracing::warn!(url = %self.config.jwks_url, error = %e, "JWKS fetch failed; cached keys stay in use");
                }
                state.failed_at = Some(Instant::now());
                Err(e)
            }
        }
    }

    /// Whether cached keys may still be used although they are due for a refresh.
    async fn usable_when_stale(&self) -> bool {
        self.cache
            .read()
            .await
            .as_ref()
            .is_some_and(|c| c.expires + STALE_IF_ERROR > Instant::now())
    }

    fn verified_tokens(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Claims>> {
        // A panic elsewhere cannot leave the map inconsistent: it only holds finished entries.
        self.verified
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The claims of `token` if it passed every check against keys that are still fresh and
    /// has not expired since.
    async fn remembered(&self, token: &str) -> Option<Claims> {
        let fresh = self.keys_fresh().await;
        if !fresh {
            return None;
        }
        let claims = self.verified_tokens().get(token).cloned()?;
        (claims.exp > unix_now()).then_some(claims)
    }

    fn remember(&self, token: &str, claims: &Claims) {
        let mut verified = self.verified_tokens();
        if verified.len() >= VERIFIED_CAPACITY {
            let now = unix_now();
            verified.retain(|_, c| c.exp > now);
            if verified.len() >= VERIFIED_CAPACITY {
                verified.clear();
            }
        }
        verified.insert(token.into(), claims.clone());
    }

    /// Verifies `token` and returns its claims.
    pub async fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        if let Some(claims) = self.remembered(token).await {
            return Ok(claims);
        }
        let claims = self.check(token).await?;
        self.remember(token, &claims);
        Ok(claims)
    }

    /// Every check of a token: signature against the keys, then the claims.
    async fn check(&self, token: &str) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Malformed)?;
        let kid = header.kid.clone();
        let stale = !self.keys_fresh().await;
        if stale
            && let Err(e) = self.refresh(false).await
            && !self.usable_when_stale().await
        {
            return Err(e);
        }
        let known = |cache: &Option<Cache>| {
            cache.as_ref().is_some_and(|c| match &kid {
                Some(kid) => c.keys.contains_key(kid),
                None => c.only.is_some(),
            })
        };
        if !known(&*self.cache.read().await)
            && let Err(e) = self.refresh(true).await
        {
            // Keys we cannot fetch cannot vouch for the token: with some keys in hand it is
            // an unknown key (401), with none at all the provider is down (503).
            return Err(if self.usable_when_stale().await {
                TokenError::UnknownKey
            } else {
                e
            });
        }
        let guard = self.cache.read().await;
        let cache = guard.as_ref().ok_or(TokenError::UnknownKey)?;
        let key = match &kid {
            Some(kid) => cache.keys.get(kid),
            None => cache.only.as_ref().and_then(|k| cache.keys.get(k)),
        }
        .ok_or(TokenError::UnknownKey)?;
        if header.alg != key.algorithm {
            return Err(TokenError::WrongAlgorithm);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.set_issuer(&[&self.config.issuer]);
        validation.set_audience(&[&self.config.audience]);
        validation.set_required_spec_claims(&["exp", "iss", "aud", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::ExpiredSignature => TokenError::Expired,
                _ => TokenError::Invalid(e.to_string()),
            })?;
        let now = unix_now();
        if claims.iat > now + LEEWAY_SECS {
            return Err(TokenError::Invalid("issued in the future (iat)".into()));
        }
        if claims.sub.is_empty() {
            return Err(TokenError::Invalid("empty subject".into()));
        }
        // Firebase's rules for its ID tokens: authenticated in the past.
        let firebase = self.config.issuer.starts_with(FIREBASE_ISSUER_PREFIX);
        match claims.auth_time {
            Some(at) if at > now + LEEWAY_SECS => {
                return Err(TokenError::Invalid(
                    "authenticated in the future (auth_time)".into(),
                ));
            }
            None if firebase => {
                return Err(TokenError::Invalid("no auth_time".into()));
            }
            _ => {}
        }
        Ok(claims)
    }
}

fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Reads a bearer token from an `Authorization` header value: `Bearer <token>`, scheme
/// case-insensitive. `None` for any other scheme or an empty token.
pub fn bearer(header: &str) -> Option<&str> {
    let (scheme, token) = header.trim().split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_bearer_headers() {
        assert_eq!(bearer("Bearer abc"), Some("abc"));
        assert_eq!(bearer("bearer  abc "), Some("abc"));
        assert_eq!(bearer("Basic abc"), None);
        assert_eq!(bearer("Bearer "), None);
        assert_eq!(bearer("abc"), None);
    }

    #[test]
    fn reads_max_age() {
        let mut h = reqwest::header::HeaderMap::new();
        assert_eq!(max_age(&h), DEFAULT_MAX_AGE);
        h.insert(
            reqwest::header::CACHE_CONTROL,
            "public, max-age=19302, must-revalidate".parse().unwrap(),
        );
        assert_eq!(max_age(&h), Duration::from_secs(19302));
    }
}
