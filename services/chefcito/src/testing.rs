//! Test helpers every service's tests use (feature `testing`).

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use tower::ServiceExt;

/// Asserts that each call, made without the internal token, is refused with 401 and the
/// refusal marker, and that `/health` stays open. Every internal service runs it over its
/// routes in a test named `refuses_calls_without_the_internal_token`.
pub async fn assert_internal(app: Router, calls: &[(Method, &str)]) {
    assert!(!calls.is_empty(), "name at least one route");
    for (method, path) in calls {
        let request = Request::builder()
            .method(method.clone())
            .uri(*path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .expect("a valid request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert_eq!(
            response.status(),
            401,
            "{method} {path} answered without the internal token"
        );
        assert!(
            response
                .headers()
                .contains_key(crate::service::INTERNAL_TOKEN_REFUSED_HEADER),
            "{method} {path}: a refusal must be marked as an internal-token refusal"
        );
    }
    let health = Request::get("/health").body(Body::empty()).expect("valid");
    let status = app.oneshot(health).await.expect("infallible").status();
    assert_ne!(status, 401, "/health must not require the internal token");
}
