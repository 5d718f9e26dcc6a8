//! The client-facing routes against a fake users service: E1–E3, the `/auth` proxy, bad
//! input (refused without a downstream call) and downstream failures.

mod common;

use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{Value, json};

/// `POST /users` signed in as `uid`.
async fn register(env: &Env, uid: &str, body: Value) -> (u16, Value) {
    env.call_as(Method::POST, "/users", uid, body).await
}

/// `PUT /users` signed in as `uid`.
async fn update(env: &Env, uid: &str, body: Value) -> (u16, Value) {
    env.call_as(Method::PUT, "/users", uid, body).await
}

/// `POST /auth/{action}` without a token.
async fn auth(env: &Env, action: &str, body: Value) -> (u16, Value) {
    env.call(Method::POST, &format!("/auth/{action}"), None, Some(body))
        .await
}

#[tokio::test]
async fn registration_maps_the_client_keys_onto_the_users_api() {
    let env = Env::start().await;
    let (status, body) = register(
        &env,
        "ana",
        json!({"user_type": "restaurant", "name": "", "number": ""}),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body,
        json!({"localid": "ana", "email": "ana@example.com", "name": "", "phone_number": ""})
    );
    let sent = env.users.data.lock().unwrap().bodies[0].clone();
    assert_eq!(
        sent,
        json!({"localid": "ana", "email": "ana@example.com", "user_type": "restaurant", "name": "", "phone_number": ""})
    );
}

#[tokio::test]
async fn a_repeated_registration_answers_the_stored_user() {
    let env = Env::start().await;
    let first = json!({"user_type": "client", "name": "Ana", "number": "1155"});
    let (_, stored) = register(&env, "ana", first).await;
    let (status, again) = register(
        &env,
        "ana",
        json!({"user_type": "restaurant", "name": "Other", "number": ""}),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(again, stored);
}

#[tokio::test]
async fn registration_needs_a_token_and_a_known_type() {
    let env = Env::start().await;
    let body = json!({"user_type": "client", "name": "Ana", "number": ""});
    let (status, answer) = env
        .call(Method::POST, "/users", None, Some(body.clone()))
        .await;
    assert_eq!(status, 401, "{answer}");
    let (status, answer) = register(
        &env,
        "ana",
        json!({"user_type": "anonymous", "name": "", "number": ""}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        answer,
        json!({"description": "user_type must be client or restaurant", "endpoint": "/users"})
    );
    assert_eq!(env.users.count("POST /users"), 1);
}

#[tokio::test]
async fn the_profile_has_data_and_points_from_the_points_service() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    let points = json!({"user": "ana", "total": 150, "level": "Aficionado Gourmet"});
    env.fake("points")
        .answer("GET /points/ana", 200, points.clone());
    let (status, body) = env.get_as("/users", "ana").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "data": {"localid": "ana", "email": "ana@example.com", "name": "Ana", "phone_number": "1155"},
            "points": points
        })
    );
    let (status, body) = update(&env, "ana", json!({"name": "Ana María", "phone": null})).await;
    assert_eq!((status, &body["points"]), (200, &points));
    let call = env.fake("points").calls()[0].clone();
    assert_eq!(call.token.as_deref(), Some(INTERNAL_TOKEN));
}

#[tokio::test]
async fn a_failing_points_service_leaves_the_starting_points_not_a_failed_sign_in() {
    let mut env = Env::start().await;
    env.users.register("ana", "client");
    let starting = json!({"user": "ana", "total": 0, "level": "Novato"});
    env.fake("points")
        .answer("GET /points/ana", 500, json!({"description": "boom"}));
    let (status, body) = env.get_as("/users", "ana").await;
    assert_eq!((status, &body["points"]), (200, &starting));
    assert_eq!(body["data"]["name"], "Ana");
    env.fake_mut("points").stop();
    let (status, body) = env.get_as("/users", "ana").await;
    assert_eq!((status, &body["points"]), (200, &starting));
    let (status, body) = update(&env, "ana", json!({"name": "Ana", "phone": null})).await;
    assert_eq!((status, &body["points"]), (200, &starting));
}

#[tokio::test]
async fn a_signed_in_user_who_never_registered_gets_an_empty_profile_not_an_error() {
    // As the original: the mobile app reads E2 right after sign-in and handles no error there.
    let env = Env::start().await;
    let (status, body) = env.get_as("/users", "ghost").await;
    assert_eq!(status, 200);
    assert_eq!(
        body,
        json!({
            "data": {"localid": "ghost", "email": "ghost@example.com", "name": "", "phone_number": ""},
            "points": {"user": "ghost", "total": 0, "level": "Novato"}
        })
    );
}

#[tokio::test]
async fn a_profile_update_keeps_null_and_empty_values() {
    let env = Env::start().await;
    env.users.register("ana", "client");
    let (status, body) = update(&env, "ana", json!({"name": "Ana María", "phone": ""})).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"]["name"], "Ana María");
    assert_eq!(body["data"]["phone_number"], "1155");
    assert_eq!(body["points"]["level"], "Novato");
    let (_, body) = update(&env, "ana", json!({"name": null, "phone": "1166"})).await;
    assert_eq!(
        (&body["data"]["name"], &body["data"]["phone_number"]),
        (&json!("Ana María"), &json!("1166"))
    );
    assert_eq!(
        env.users.data.lock().unwrap().bodies[1],
        json!({"name": null, "phone": "1166"})
    );
}

/// Each bad body is refused with the status given, and nothing reaches the users service.
async fn refused(env: &Env, method: Method, path: &str, body: reqwest::Body, status: u16) {
    let response = env
        .http
        .request(method, env.url(path))
        .header("authorization", env.bearer_for("ana"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), status, "{path}");
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["endpoint"], path);
    assert!(body["description"].is_string());
    let forwarded: Vec<String> = env
        .users
        .calls()
        .into_iter()
        .filter(|c| !c.starts_with("GET /permissions"))
        .collect();
    assert!(forwarded.is_empty(), "{forwarded:?}");
}

#[tokio::test]
async fn malformed_json_is_422() {
    let env = Env::start().await;
    refused(&env, Method::POST, "/users", "{\"user_type\":".into(), 422).await;
    refused(&env, Method::PUT, "/users", "not json".into(), 422).await;
    refused(&env, Method::POST, "/auth/signin", "{".into(), 422).await;
}

#[tokio::test]
async fn wrong_types_are_422() {
    let env = Env::start().await;
    let body = json!({"user_type": "client", "name": 3, "number": ""}).to_string();
    refused(&env, Method::POST, "/users", body.into(), 422).await;
    let body = json!({"name": ["x"], "phone": null}).to_string();
    refused(&env, Method::PUT, "/users", body.into(), 422).await;
}

#[tokio::test]
async fn missing_fields_are_422() {
    let env = Env::start().await;
    let body = json!({"user_type": "client", "name": "Ana"}).to_string();
    refused(&env, Method::POST, "/users", body.into(), 422).await;
    // Both keys of an update are required, even though null is a valid value.
    let body = json!({"name": "Ana"}).to_string();
    refused(&env, Method::PUT, "/users", body.into(), 422).await;
    let body = json!({"email": "a@b.co"}).to_string();
    refused(&env, Method::POST, "/auth/signup", body.into(), 422).await;
}

#[tokio::test]
async fn a_body_that_is_not_an_object_is_422() {
    // serde reads `[null, null]` as a `ProfileUpdate` of two nulls: the document says object.
    let env = Env::start().await;
    for body in ["[null, null]", "[\"Ana\", \"1155\"]", "null", "\"Ana\""] {
        refused(&env, Method::PUT, "/users", body.into(), 422).await;
    }
    let body = json!(["client", "Ana", ""]).to_string();
    refused(&env, Method::POST, "/users", body.into(), 422).await;
    refused(
        &env,
        Method::POST,
        "/auth/signup",
        "[\"a@b.co\", \"secret123\"]".into(),
        422,
    )
    .await;
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let env = Env::start().await;
    let name = "x".repeat(300 * 1024);
    let body = json!({"user_type": "client", "name": name, "number": ""}).to_string();
    refused(&env, Method::POST, "/users", body.into(), 413).await;
}

#[tokio::test]
async fn auth_calls_are_passed_through() {
    let env = Env::start().await;
    let credentials = json!({"email": "a@b.co", "password": "secret-pass"});
    for action in ["signup", "signin"] {
        let (status, body) = auth(&env, action, credentials.clone()).await;
        assert_eq!(status, 200);
        assert_eq!(body["action"], action);
        assert_eq!(body["idToken"], "id");
    }
    let (status, body) = auth(
        &env,
        "signin",
        json!({"email": "a@b.co", "password": "wrong"}),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(
        body,
        json!({"description": "Wrong e-mail or password", "endpoint": "/auth/signin"})
    );
    // Either spelling of the refresh token; users always gets `refreshToken`.
    for key in ["refreshToken", "refresh_token"] {
        let (status, _) = auth(&env, "refresh", json!({ key: "r1" })).await;
        assert_eq!(status, 200);
    }
    let bodies = env.users.data.lock().unwrap().bodies.clone();
    assert_eq!(bodies[0], credentials);
    assert_eq!(bodies[3], json!({"refreshToken": "r1"}));
    assert_eq!(bodies[4], json!({"refreshToken": "r1"}));
}

#[tokio::test]
async fn downstream_failures_map_to_502_503_or_pass_through() {
    let mut env = Env::start().await;
    env.users.register("ana", "client");
    let ana = env.bearer_for("ana");
    env.users.data.lock().unwrap().fail_with = Some(500);
    let (status, body) = env.get("/users", Some(&ana)).await;
    assert_eq!(status, 502);
    assert_eq!(body["endpoint"], "/users");
    assert!(!body["description"].as_str().unwrap().contains("fake"));
    env.users.data.lock().unwrap().fail_with = Some(409);
    let (status, body) = env.get("/users", Some(&ana)).await;
    assert_eq!(
        (status, body),
        (
            409,
            json!({"description": "fake failure", "endpoint": "/users"})
        )
    );
    env.users.stop();
    assert!(
        eventually(Duration::from_secs(5), || async {
            env.get("/users", Some(&ana)).await.0 == 503
        })
        .await
    );
    let (status, body) = auth(&env, "signin", json!({"email": "a@b.co", "password": "x"})).await;
    assert_eq!(status, 503);
    assert!(
        body["description"]
            .as_str()
            .unwrap()
            .contains("unavailable")
    );
}

#[tokio::test]
async fn a_wrong_method_on_a_restricted_path_is_405_whoever_calls() {
    let env = Env::with_table(&shipped_with("/users", "[client, restaurant]")).await;
    for token in [None, Some("ana")] {
        let mut request = env.http.delete(env.url("/users"));
        if let Some(uid) = token {
            request = request.bearer_auth(env.key.token(uid));
        }
        let response = request.send().await.unwrap();
        assert_eq!(response.status(), 405, "as {token:?}");
        let allow = response.headers()["allow"].to_str().unwrap().to_string();
        for method in ["GET", "POST", "PUT"] {
            assert!(allow.contains(method), "{allow}");
        }
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["endpoint"], "/users");
    }
    // The right method still meets the guard.
    let response = env.http.get(env.url("/users")).send().await.unwrap();
    assert_eq!(response.status(), 401);
}
