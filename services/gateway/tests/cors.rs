//! CORS (hazard H4): pre-flights succeed everywhere without a token, and every answer, errors
//! included, carries the headers a browser needs to show it.

mod common;

use common::*;
use reqwest::header::HeaderMap;
use reqwest::{Method, RequestBuilder};

const ORIGIN: &str = "https://portal.example.net";

async fn preflight(env: &Env, path: &str, method: &str) -> (u16, HeaderMap) {
    let response = env
        .http
        .request(Method::OPTIONS, env.url(path))
        .header("origin", ORIGIN)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> &'a str {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

/// By default any origin may call, without credentials (tokens travel in a header).
fn assert_simple_cors(headers: &HeaderMap) {
    assert_eq!(header(headers, "access-control-allow-origin"), "*");
    assert!(
        headers.get("access-control-allow-credentials").is_none(),
        "no credentials mode"
    );
}

/// Sends `request` from the portal's origin: the answer is `status` and carries the CORS
/// headers.
async fn assert_cors_answer(request: RequestBuilder, status: u16) {
    let response = request.header("origin", ORIGIN).send().await.unwrap();
    assert_eq!(response.status().as_u16(), status, "{response:?}");
    assert_simple_cors(response.headers());
}

#[tokio::test]
async fn preflights_succeed_everywhere_without_a_token() {
    // `/users` restaurant-only: its pre-flight is not permission-checked.
    let env = Env::with_table(&shipped_with("/users", "[restaurant]")).await;
    for (path, method) in [
        ("/users", "PUT"),
        ("/users", "POST"),
        ("/docs", "GET"),
        ("/nowhere/at/all", "GET"),
        ("/venue", "POST"),
        ("/stats/venue/v1", "GET"),
    ] {
        let (status, headers) = preflight(&env, path, method).await;
        assert!((200..300).contains(&status), "{path}: {status}");
        assert_simple_cors(&headers);
        let methods = header(&headers, "access-control-allow-methods");
        for m in ["DELETE", "GET", "HEAD", "OPTIONS", "PATCH", "POST", "PUT"] {
            assert!(methods.contains(m), "{methods}");
        }
        let allowed = header(&headers, "access-control-allow-headers").to_ascii_lowercase();
        assert!(
            allowed.contains("authorization") && allowed.contains("content-type"),
            "{allowed}"
        );
        assert_eq!(header(&headers, "access-control-max-age"), "600");
    }
    // Nothing was asked of the users service but the table itself.
    assert!(
        env.users
            .calls()
            .iter()
            .all(|c| c.starts_with("GET /permissions"))
    );
}

#[tokio::test]
async fn preflights_succeed_before_the_table_is_loaded() {
    let key = TestKey::new("k1");
    let jwks = jwks_server(&[&key]).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gw = gateway(&format!("http://{closed}"), &jwks.url, &[]).await;
    let request = reqwest::Client::new()
        .request(Method::OPTIONS, format!("{gw}/users"))
        .header("access-control-request-method", "GET");
    assert_cors_answer(request, 200).await;
}

#[tokio::test]
async fn error_answers_carry_cors_headers() {
    let env = Env::with_table(&shipped_with("/users", "[restaurant]")).await;
    env.users.register("ana", "client");
    let ana = env.bearer_for("ana");
    // (method, path, authorization, body, expected status)
    type Case<'a> = (
        Method,
        &'static str,
        Option<&'a str>,
        Option<&'static str>,
        u16,
    );
    let cases: [Case; 5] = [
        (Method::GET, "/users", None, None, 401),
        (Method::GET, "/users", Some(&ana), None, 403),
        (Method::GET, "/nowhere", None, None, 404),
        (Method::DELETE, "/docs", None, None, 405),
        (Method::POST, "/auth/signin", None, Some("{"), 415),
    ];
    for (method, path, authorization, body, status) in cases {
        let mut request = env.http.request(method, env.url(path));
        if let Some(a) = authorization {
            request = request.header("authorization", a);
        }
        if let Some(b) = body {
            request = request.body(b);
        }
        assert_cors_answer(request, status).await;
    }
    // And successes too.
    assert_cors_answer(env.http.get(env.url("/openapi.json")), 200).await;
}

#[tokio::test]
async fn downstream_failures_carry_cors_headers() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    env.users.data.lock().unwrap().fail_with = Some(500);
    let request = env
        .http
        .get(env.url("/users"))
        .header("authorization", env.bearer_for("ana"));
    assert_cors_answer(request, 502).await;
}

async fn preflight_from(gw: &str, origin: &str) -> HeaderMap {
    reqwest::Client::new()
        .request(Method::OPTIONS, format!("{gw}/users"))
        .header("origin", origin)
        .header("access-control-request-method", "GET")
        .send()
        .await
        .unwrap()
        .headers()
        .clone()
}

#[tokio::test]
async fn configured_origins_are_mirrored_only_when_listed_and_null_never() {
    let key = TestKey::new("k1");
    let jwks = jwks_server(&[&key]).await;
    let users = FakeUsers::start().await;
    let gw = gateway(
        &users.url,
        &jwks.url,
        &[
            "--cors-origins",
            "https://portal.example.net, http://localhost:5173",
        ],
    )
    .await;
    let listed = preflight_from(&gw, ORIGIN).await;
    assert_eq!(header(&listed, "access-control-allow-origin"), ORIGIN);
    assert!(listed.get("access-control-allow-credentials").is_none());
    assert!(
        header(&listed, "vary")
            .to_ascii_lowercase()
            .contains("origin")
    );
    for stranger in ["https://evil.example", "null"] {
        let refused = preflight_from(&gw, stranger).await;
        assert!(
            refused.get("access-control-allow-origin").is_none(),
            "{stranger}: {refused:?}"
        );
    }
    // A misconfiguration is refused at start-up, never served.
    let config =
        <gateway::Config as clap::Parser>::try_parse_from(["gateway", "--cors-origins", "null"])
            .unwrap();
    assert!(gateway::State::new(&config).is_err());
}

#[tokio::test]
async fn sign_up_and_sign_in_refuse_bodies_that_are_not_json() {
    let env = Env::start().await;
    for path in ["/auth/signup", "/auth/signin"] {
        for content_type in [
            "text/plain",
            "application/x-www-form-urlencoded",
            "multipart/form-data; boundary=x",
        ] {
            let response = env
                .http
                .post(env.url(path))
                .header("content-type", content_type)
                .body(r#"{"email":"a@b.co","password":"correct horse"}"#)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 415, "{path} {content_type}");
        }
    }
    assert!(
        env.users.calls().iter().all(|c| !c.contains("/auth/")),
        "refused before any call to users"
    );
}
