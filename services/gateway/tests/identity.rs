//! Token verification end to end: a gateway, a local JWKS server and tokens signed in the test
//! (Firebase-style issuer and audience).

mod common;

use base64::Engine;
use clap::Parser;
use common::*;
use serde_json::json;

async fn profile_with(env: &Env, authorization: &str) -> (u16, serde_json::Value) {
    env.get("/users", Some(authorization)).await
}

fn assert_401(answer: (u16, serde_json::Value)) {
    assert_eq!(answer.0, 401, "{answer:?}");
    assert_eq!(answer.1["endpoint"], "/users", "{answer:?}");
    assert!(answer.1["description"].is_string(), "{answer:?}");
}

#[tokio::test]
async fn a_valid_token_is_accepted() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    let (status, body) = profile_with(&env, &env.bearer_for("ana")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["localid"], "ana");
    // The scheme is case-insensitive.
    let (status, _) = profile_with(&env, &format!("bearer {}", env.key.token("ana"))).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn an_expired_token_is_401() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    let mut c = claims("ana");
    c["iat"] = json!(now() - 7200);
    c["exp"] = json!(now() - 3600);
    let answer = profile_with(&env, &bearer(&env.key.sign(&c))).await;
    assert!(
        answer.1["description"]
            .as_str()
            .unwrap()
            .contains("expired")
    );
    assert_401(answer);
}

#[tokio::test]
async fn a_token_signed_by_a_foreign_key_is_401() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    let foreign = TestKey::new("k2");
    // Published elsewhere, unknown here.
    let _elsewhere = jwks_server(&[&foreign]).await;
    assert_401(profile_with(&env, &bearer(&foreign.token("ana"))).await);
    // Forged to claim the known key id: the signature does not verify.
    let forged = foreign.sign_as(&env.key.kid, &claims("ana"));
    assert_401(profile_with(&env, &bearer(&forged)).await);
}

#[tokio::test]
async fn a_gateway_trusts_only_its_configured_provider() {
    let ours = TestKey::new("k1");
    let theirs = TestKey::new("k2");
    let ours_jwks = jwks_server(&[&ours]).await;
    let theirs_jwks = jwks_server(&[&theirs]).await;
    let users = FakeUsers::start().await;
    users.register("ana", "client");
    let http = reqwest::Client::new();
    for (jwks, good, bad) in [(&ours_jwks, &ours, &theirs), (&theirs_jwks, &theirs, &ours)] {
        let gw = gateway(&users.url, &jwks.url, &[]).await;
        let status = |token: String| {
            let request = http
                .get(format!("{gw}/users"))
                .header("authorization", bearer(&token));
            async move { request.send().await.unwrap().status().as_u16() }
        };
        assert_eq!(status(good.token("ana")).await, 200);
        assert_eq!(status(bad.token("ana")).await, 401);
    }
}

#[tokio::test]
async fn a_wrong_audience_or_issuer_is_401() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    for (claim, value) in [
        ("aud", "another-project"),
        ("iss", "https://securetoken.google.com/another-project"),
    ] {
        let mut c = claims("ana");
        c[claim] = json!(value);
        assert_401(profile_with(&env, &bearer(&env.key.sign(&c))).await);
    }
}

#[tokio::test]
async fn an_unsigned_alg_none_token_is_401() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    for header in [
        json!({"alg": "none", "typ": "JWT"}),
        json!({"alg": "none", "typ": "JWT", "kid": env.key.kid}),
    ] {
        let token = format!("{}.{}.", b64(header), b64(claims("ana")));
        assert_401(profile_with(&env, &bearer(&token)).await);
    }
}

#[tokio::test]
async fn garbage_and_other_schemes_are_401() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    for authorization in [
        "Bearer garbage".to_string(),
        "Bearer a.b.c".to_string(),
        format!("Basic {}", env.key.token("ana")),
        "Basic YW5hOnNlY3JldA==".to_string(),
        env.key.token("ana"), // no scheme at all
    ] {
        assert_401(profile_with(&env, &authorization).await);
    }
}

#[tokio::test]
async fn no_header_or_the_anonymous_token_is_the_anonymous_caller() {
    let env = Env::start().await;
    for authorization in [None, Some("Bearer anonymous")] {
        // Open to anonymous at the permission level...
        let (status, _) = env.get("/openapi.json", authorization).await;
        assert_eq!(status, 200);
        // ...but /users needs someone signed in.
        let (status, body) = env.get("/users", authorization).await;
        assert_eq!(status, 401, "{body}");
        assert!(
            body["description"]
                .as_str()
                .unwrap()
                .starts_with("Authentication required")
        );
    }
    // The JWKS is not even needed for that.
    assert!(env.jwks.tokens_seen.lock().unwrap().is_empty());
}

#[tokio::test]
async fn a_stale_token_does_not_block_paths_that_do_not_need_it() {
    let env = Env::start().await;
    let mut c = claims("ana");
    c["exp"] = json!(now() - 3600);
    let (status, body) = env
        .call(
            reqwest::Method::POST,
            "/auth/refresh",
            Some(&bearer(&env.key.sign(&c))),
            Some(json!({"refreshToken": "r1"})),
        )
        .await;
    assert_eq!(status, 200, "{body}");
}

#[tokio::test]
async fn the_internal_token_goes_to_our_users_jwks_only() {
    // External provider: never sees the internal token.
    let env = Env::start().await;
    env.users.register("ana", "client");
    assert_eq!(profile_with(&env, &env.bearer_for("ana")).await.0, 200);
    let seen = env.jwks.tokens_seen.lock().unwrap().clone();
    assert!(
        !seen.is_empty() && seen.iter().all(Option::is_none),
        "{seen:?}"
    );
    // Default provider (the users service): the JWKS call carries it.
    let users = FakeUsers::start().await;
    let key = TestKey::new("u1");
    users.data.lock().unwrap().jwks = vec![key.jwk()];
    users.register("ana", "client");
    // The defaults but for the users URL: issuer, audience and JWKS are the users service's.
    let config = gateway::Config::parse_from([
        "gateway",
        "--users-url",
        &users.url,
        "--internal-token",
        INTERNAL_TOKEN,
    ]);
    let gw = serve(gateway::build(&config).await.unwrap()).await.0;
    let mut c = claims("ana");
    c["iss"] = json!("chefcito-users");
    c["aud"] = json!("chefcito");
    let status = reqwest::Client::new()
        .get(format!("{gw}/users"))
        .header("authorization", bearer(&key.sign(&c)))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 200);
    let d = users.data.lock().unwrap();
    let jwks_calls: Vec<_> = d
        .calls
        .iter()
        .zip(&d.tokens)
        .filter(|(call, _)| call.contains("jwks"))
        .collect();
    assert!(!jwks_calls.is_empty());
    assert!(
        jwks_calls
            .iter()
            .all(|(_, t)| t.as_deref() == Some(INTERNAL_TOKEN))
    );
}

#[tokio::test]
async fn unreachable_keys_are_503_not_401() {
    let users = FakeUsers::start().await;
    users.register("ana", "client");
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let gw = gateway(&users.url, &format!("http://{closed}/jwks.json"), &[]).await;
    let response = reqwest::Client::new()
        .get(format!("{gw}/users"))
        .header("authorization", bearer(&TestKey::new("k1").token("ana")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    let body: serde_json::Value = response.json().await.unwrap();
    assert_eq!(body["endpoint"], "/users");
}
