//! `/metrics` on the public gateway: served only to a caller with the internal token, never
//! decided by the permission table, and absent from the OpenAPI document.

mod common;

use clap::Parser;
use common::*;
use reqwest::Method;

#[tokio::test]
async fn metrics_need_the_internal_token_as_a_bearer_token() {
    let env = Env::start().await;
    let user = env.bearer_for("ana");
    let refused = [
        None,
        Some(user.as_str()),
        Some("Bearer wrong"),
        Some("Bearer anonymous"),
    ];
    for authorization in refused {
        let (status, body) = env.get("/metrics", authorization).await;
        assert_eq!(status, 401, "{authorization:?}: {body}");
        assert_eq!(body["endpoint"], "/metrics", "the usual envelope: {body}");
    }
    // Other methods: the token decides first, not the permission table or the method check.
    let (status, body) = env.call(Method::POST, "/metrics", None, None).await;
    assert_eq!(status, 401, "{body}");

    assert_eq!(env.get("/health", None).await.0, 200);
    let scraper = bearer(INTERNAL_TOKEN);
    let (status, body) = env.get("/metrics", Some(&scraper)).await;
    assert_eq!(status, 200, "{body}");
    let text = body.as_str().expect("the text format, not JSON");
    assert!(
        text.contains(r#"http_requests_total{route="/health",method="GET",status="200"}"#),
        "{text}"
    );
    assert!(
        text.contains(r#"http_requests_total{route="/metrics",method="GET",status="401"}"#),
        "refused scrapes are counted: {text}"
    );
}

#[tokio::test]
async fn metrics_are_not_in_the_openapi_document() {
    let document = serde_json::to_value(gateway::openapi::document()).unwrap();
    let paths = document["paths"].as_object().unwrap();
    assert!(paths.contains_key("/health"));
    assert!(!paths.contains_key("/metrics"));
}

#[tokio::test]
async fn a_gateway_without_an_internal_token_never_serves_metrics() {
    let config = gateway::Config::parse_from(["gateway", "--users-url", "http://127.0.0.1:9"]);
    let (url, _stop) = serve(gateway::app(gateway::State::new(&config).unwrap())).await;
    let http = reqwest::Client::new();
    for authorization in [None, Some("Bearer "), Some("Bearer anything")] {
        let mut request = http.get(format!("{url}/metrics"));
        if let Some(value) = authorization {
            request = request.header("authorization", value);
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 401, "{authorization:?}");
        assert!(
            !response
                .text()
                .await
                .unwrap()
                .contains("http_requests_total")
        );
    }
}
