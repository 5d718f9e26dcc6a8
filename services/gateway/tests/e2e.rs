//! End-to-end journeys of the real clients (`client-contract.md`) through the gateway of a
//! running cluster: containers built from the release images, the gateway reaching users by
//! its network alias. Ignored by default; `cargo xtask test --e2e` brings up an isolated
//! cluster and runs them with `CHEFCITO_E2E_URL` set to its gateway.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use reqwest::{Client, Method, StatusCode};
use serde_json::{Value, json};

fn gateway() -> String {
    std::env::var("CHEFCITO_E2E_URL")
        .expect("CHEFCITO_E2E_URL is not set: run `cargo xtask test --e2e`, which starts a cluster and sets it")
        .trim_end_matches('/')
        .to_string()
}

fn http() -> Client {
    Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// An e-mail no earlier run used, so the journeys can run again on the same cluster.
fn fresh_email(who: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("{who}-{nanos}-{}@example.com", std::process::id())
}

struct Session {
    uid: String,
    email: String,
    id_token: String,
}

/// `POST /auth/signup` (the embedded identity provider, open to anonymous).
async fn sign_up(who: &str) -> Session {
    let email = fresh_email(who);
    let response = http()
        .post(format!("{}/auth/signup", gateway()))
        .json(&json!({"email": email, "password": "una clave larga"}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["email"], email.as_str());
    assert_eq!(body["expiresIn"], "3600");
    assert!(
        body["refreshToken"].as_str().is_some_and(|t| !t.is_empty()),
        "{body}"
    );
    Session {
        uid: body["localId"].as_str().unwrap().to_string(),
        email,
        id_token: body["idToken"].as_str().unwrap().to_string(),
    }
}

async fn call(
    method: Method,
    path: &str,
    session: Option<&Session>,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut request = http().request(method, format!("{}{path}", gateway()));
    if let Some(s) = session {
        request = request.bearer_auth(&s.id_token);
    }
    if let Some(b) = body {
        request = request.json(&b);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(Value::String(text)),
    )
}

/// E1: register the signed-in user.
async fn register(s: &Session, user_type: &str, name: &str, number: &str) -> (StatusCode, Value) {
    let body = json!({"user_type": user_type, "name": name, "number": number});
    call(Method::POST, "/users", Some(s), Some(body)).await
}

#[tokio::test]
#[ignore = "needs a running cluster: cargo xtask test --e2e"]
async fn j1_restaurant_signs_up_registers_and_reads_its_profile() {
    let s = sign_up("resto").await;
    let (status, user) = register(&s, "restaurant", "La Esquina", "1122334455").await;
    assert_eq!(status, StatusCode::OK, "{user}");
    assert_eq!(
        user,
        json!({"localid": s.uid, "email": s.email, "name": "La Esquina", "phone_number": "1122334455"})
    );
    // E2: the portal stores `data` as its session and uses `data.localid` as the venue id.
    let (status, profile) = call(Method::GET, "/users", Some(&s), None).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["data"], user);
    assert_eq!(profile["points"]["user"], s.uid.as_str());
    assert!(profile["points"]["total"].is_i64(), "{profile}");
    assert!(profile["points"]["level"].is_string(), "{profile}");
}

#[tokio::test]
#[ignore = "needs a running cluster: cargo xtask test --e2e"]
async fn a_repeated_registration_answers_200_with_the_stored_user() {
    let s = sign_up("google").await;
    let (_, first) = register(&s, "restaurant", "Primero", "").await;
    // Every Google sign-in registers again, with whatever Google says now (H1).
    let (status, again) = register(&s, "restaurant", "Otro nombre", "999").await;
    assert_eq!(status, StatusCode::OK, "{again}");
    assert_eq!(again, first, "the stored user, unchanged");
}

#[tokio::test]
#[ignore = "needs a running cluster: cargo xtask test --e2e"]
async fn a_diner_signs_up_and_edits_the_profile() {
    let s = sign_up("diner").await;
    let (status, _) = register(&s, "client", "Ana", "1133334444").await;
    assert_eq!(status, StatusCode::OK);
    // E3: both keys always present; the key is `phone` here.
    let edit = json!({"name": "Ana María", "phone": "1155556666"});
    let (status, profile) = call(Method::PUT, "/users", Some(&s), Some(edit)).await;
    assert_eq!(status, StatusCode::OK, "{profile}");
    assert_eq!(profile["data"]["name"], "Ana María");
    assert_eq!(profile["data"]["phone_number"], "1155556666");
    let (_, read) = call(Method::GET, "/users", Some(&s), None).await;
    assert_eq!(read["data"], profile["data"]);
}

#[tokio::test]
#[ignore = "needs a running cluster: cargo xtask test --e2e"]
async fn a_returning_user_signs_in_and_gets_the_same_profile() {
    let s = sign_up("again").await;
    register(&s, "client", "Luis", "").await;
    let (status, auth) = call(
        Method::POST,
        "/auth/signin",
        None,
        Some(json!({"email": s.email, "password": "una clave larga"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{auth}");
    assert_eq!(auth["localId"], s.uid.as_str());
    let again = Session {
        id_token: auth["idToken"].as_str().unwrap().to_string(),
        ..s
    };
    let (status, profile) = call(Method::GET, "/users", Some(&again), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(profile["data"]["name"], "Luis");
}

#[tokio::test]
#[ignore = "needs a running cluster: cargo xtask test --e2e"]
async fn anonymous_get_users_is_401_with_the_envelope() {
    let (status, body) = call(Method::GET, "/users", None, None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "{body}");
    assert_eq!(body["endpoint"], "/users", "{body}");
    assert!(body["description"].is_string(), "{body}");
    let forged = Session {
        uid: String::new(),
        email: String::new(),
        id_token: "not.a.token".into(),
    };
    let (status, _) = call(Method::GET, "/users", Some(&forged), None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
#[ignore = "needs a running cluster: cargo xtask test --e2e"]
async fn a_cors_preflight_to_users_succeeds_without_a_token() {
    let origin = "https://portal.example.net";
    let response = http()
        .request(Method::OPTIONS, format!("{}/users", gateway()))
        .header("origin", origin)
        .header("access-control-request-method", "PUT")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success(), "{response:?}");
    let allowed = response
        .headers()
        .get("access-control-allow-origin")
        .map(|v| v.to_str().unwrap().to_string());
    // Any origin by default, without credentials: tokens travel in a header.
    assert_eq!(allowed.as_deref(), Some("*"));
    assert!(
        response
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );
}
