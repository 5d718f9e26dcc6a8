//! CORS for the browser apps (hazard H4): they send `Content-Type: application/json` and a
//! bearer token on every call, so every call is pre-flighted, restaurant-only paths included,
//! and the pre-flight carries no token. The layer sits outside everything else: pre-flights
//! are answered before the permission guard, and error answers get the headers too (a browser
//! hides an error without them).
//!
//! Tokens travel in a header, never in cookies, so no credentials mode: by default any origin
//! may call (`access-control-allow-origin: *`, no `allow-credentials`). With `CORS_ORIGINS`
//! set, only the listed origins are answered, each mirrored back. The `null` origin (sandboxed
//! frames, `file:` pages) is never mirrored and cannot be listed.

use std::time::Duration;

use axum::http::{HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// How long a browser may reuse a pre-flight answer (the original's value).
const MAX_AGE: Duration = Duration::from_secs(600);

/// Which origins may call the gateway from a browser.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origins {
    /// `*`: any origin, without credentials.
    Any,
    /// Only these (`https://portal.example.com`), mirrored back when they call.
    Listed(Vec<HeaderValue>),
}

impl Origins {
    /// `CORS_ORIGINS`: empty or absent → any; else a comma-separated list of origins.
    pub fn parse(raw: Option<&str>) -> anyhow::Result<Origins> {
        let listed: Vec<&str> = raw
            .unwrap_or_default()
            .split(',')
            .map(str::trim)
            .filter(|o| !o.is_empty())
            .collect();
        if listed.is_empty() {
            return Ok(Origins::Any);
        }
        let mut values = Vec::new();
        for origin in listed {
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"))
                .map(|rest| rest.trim_end_matches('/'));
            let valid = host.is_some_and(|h| !h.is_empty() && !h.contains(['/', ' ', '?', '#']));
            if !valid || origin.eq_ignore_ascii_case("null") {
                anyhow::bail!(
                    "CORS_ORIGINS: `{origin}` is not an origin (expected scheme://host[:port], e.g. https://portal.example.com; `null` is never allowed)"
                );
            }
            values.push(HeaderValue::from_str(origin.trim_end_matches('/'))?);
        }
        Ok(Origins::Listed(values))
    }
}

pub fn layer(origins: &Origins) -> CorsLayer {
    let allow = match origins {
        Origins::Any => AllowOrigin::any(),
        Origins::Listed(list) => AllowOrigin::list(list.clone()),
    };
    CorsLayer::new()
        .allow_origin(allow)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_parse() {
        assert_eq!(Origins::parse(None).unwrap(), Origins::Any);
        assert_eq!(Origins::parse(Some(" ")).unwrap(), Origins::Any);
        let listed = Origins::parse(Some("https://a.example, http://localhost:5173/")).unwrap();
        assert_eq!(
            listed,
            Origins::Listed(vec![
                HeaderValue::from_static("https://a.example"),
                HeaderValue::from_static("http://localhost:5173")
            ])
        );
        for bad in ["null", "a.example", "https://a.example/path", "ftp://x"] {
            assert!(Origins::parse(Some(bad)).is_err(), "{bad}");
        }
    }
}
