//! CORS for the browser apps (hazard H4): they send `Content-Type: application/json` and a
//! bearer token on every call, so every call is pre-flighted, restaurant-only paths included,
//! and the pre-flight carries no token. The layer sits outside everything else: pre-flights
//! are answered before the permission guard, and error answers get the headers too (a browser
//! hides an error without them).

use std::time::Duration;

use axum::http::Method;
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// How long a browser may reuse a pre-flight answer (the original's value).
const MAX_AGE: Duration = Duration::from_secs(600);

/// Mirrors the request origin with credentials allowed (a wildcard cannot carry
/// credentials), and any requested header.
pub fn layer() -> CorsLayer {
    CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_credentials(true)
        .allow_headers(AllowHeaders::mirror_request())
        .allow_methods([
            Method::DELETE,
            Method::GET,
            Method::HEAD,
            Method::OPTIONS,
            Method::PATCH,
            Method::POST,
            Method::PUT,
        ])
        .max_age(MAX_AGE)
}
