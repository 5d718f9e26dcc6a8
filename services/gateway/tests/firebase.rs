//! Firebase mode, for real: an RS256 key published in a JWKS by a local server, tokens shaped
//! like Firebase's ID tokens. The valid one is accepted; each rule broken is refused; and the
//! embedded sign-in routes answer 404 (the external provider signs users in).

mod common;

use axum::Router;
use axum::routing::get;
use clap::Parser;
use common::*;
use serde_json::{Value, json};

/// A 2048-bit RSA key made for these tests only (never used anywhere else).
const RSA_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIIEvAIBADANBgkqhkiG9w0BAQEFAASCBKYwggSiAgEAAoIBAQCz6OSJRif6gPEk
4paAasK6NLTx2f7aENq+yxV6qaOT2b8oe85JEW5ZxyfaZz2Qr2doZFWOAjR2WWBD
OVNQUmfRH41pFocqFW8eHncOgepPzZz3onewFW63CmTERw3+yjg9lh6Upv42ufu2
UJlvj10t04M8XlhfEC6en7FjrVUWhyF2QUJOFCXth1aPdL8aQrgrFW0+T5Z3IpU5
Nm8JGSFGLHKPaiZ9yOBeN69K14qL/bASlCQDQUoYQort7m6ehs0a2TOuDrDpZ+zP
wcJTgFszyQ55wcVYCrAdRFjw4h1c2fpIoRVkW6t+BZIuBDEVAW1tmDjTjge5hXBE
nSssCl2bAgMBAAECggEAAmr+FB1uEOvSuENjVztLSrCSp5cQ2cihzmNxJajjmrhL
Q885XCBwpaKlL0ZCVl0R74RwGFLnQzMh6N77kHf+QgB09UicOgoq6CWFeOhxSCLk
GfmENxWfdOfq2sh2fUolrCfSv8sbkSWGwIVTMP1x3yYy/Ii4EoiavjI42OiBEEBs
gcyDBD+IKefHmuSvWRwR6jqaAojymUolAOuTeb8scly7+t8jgFLLf28xAkOnyn/Y
WOHOQvAfBL3nspmst2/KGQUep10xoOFPqHSK+etErW66sBIQtqVlHZ6ClSccwhPi
beG6MBoVXJkOuhIDNvD9tHEIhbHN9AcpciEgeVMSQQKBgQDhQTBTPr1aN81arwqA
vs6ATn/o/vUInhZNBnrkGHnAbmvaCPEhLLzstpthJbYP9R1BC4++GD1i1hcHrXGx
oN6Ai2WZ0VQK+jaWvb0xreshy4I8ZbpJGLorSait+O20gTbbpEUA6GK2R6q4R0s8
3rFJf2Lr5Yu7rYUAv+6gw+jYgwKBgQDMd0UDTOmgRtU22zci3SJscIvp/drOTVKI
aXAXsU5KTrCRqhJBsc2wgdviw77+CDe62UiKrAIsEJuwrZp3YMttkyqvk/7zsH02
ZlzakaG5Fl73oS4Wbl4S8qQ2V/TIxg8XnkTO5TksARpodFefEQz86p9HuBYpzKpx
AMuLyXRrCQKBgCgWINJ/tNTsX1hHFFhrHHbLAYpmbRb2g0N75rzW+jvbqsfnlXnw
60I5ERfNzUOzvFwKAa+zwqDnNrwACt6woUhBBnjEPu+hLbvP0m6X4+Nkwy2acPd3
NhJkDme/iBX6dNfLuRf7Qy3rPR+EWIhhnS1WRTVz6VUiASxr+7ySgMqfAoGATepN
ZDqU9LzJV0QmOKToD0a8KojQLrmMb+suCflJCkv+QSP8HQiyh0aVEk7ho1BiXFOc
rytpEH2rtqIRMNiz7KeeJpZRG2/v5yEO1UOVy0BZJChJtcaNFs9cAFF4OGIxMiDf
u6/iH4C0HYXoNfd7aY3G8L+Xwon5kWJqLnSwZnECgYBr75nBP9UZIpjrbVNkXYk0
b8+ugUn2bHKuMzeIlN3C2T/zeWIjHB7GWJCppXO0QeAFpdtuEANUjzXXlC5wPgKy
DcpYATMXo+C1BdeiZ1YXz3IPcvyPwlxBPkicggol33Vs4/WDgdn0GYI3BwkYUtkD
E/saUuSiUH0Jia6YZ6RGAg==
-----END PRIVATE KEY-----";
/// Its modulus, base64url, for the JWKS.
const RSA_N: &str = "s-jkiUYn-oDxJOKWgGrCujS08dn-2hDavssVeqmjk9m_KHvOSRFuWccn2mc9kK9naGRVjgI0dllgQzlTUFJn0R-NaRaHKhVvHh53DoHqT82c96J3sBVutwpkxEcN_so4PZYelKb-Nrn7tlCZb49dLdODPF5YXxAunp-xY61VFochdkFCThQl7YdWj3S_GkK4KxVtPk-WdyKVOTZvCRkhRixyj2omfcjgXjevSteKi_2wEpQkA0FKGEKK7e5unobNGtkzrg6w6Wfsz8HCU4BbM8kOecHFWAqwHURY8OIdXNn6SKEVZFurfgWSLgQxFQFtbZg4044HuYVwRJ0rLApdmw";
const PROJECT: &str = "chefcito-test";
const KID: &str = "fb-key-1";

fn issuer() -> String {
    format!("https://securetoken.google.com/{PROJECT}")
}

fn firebase_claims(uid: &str) -> Value {
    let t = now();
    json!({"iss": issuer(), "aud": PROJECT, "auth_time": t - 120, "user_id": uid, "sub": uid,
           "iat": t - 60, "exp": t + 3540, "email": format!("{uid}@example.com"),
           "email_verified": false, "firebase": {"identities": {}, "sign_in_provider": "password"}})
}

fn sign(claims: &Value, kid: &str) -> String {
    let key = jsonwebtoken::EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap();
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(kid.to_string());
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A gateway configured as the README says for Firebase, against a local JWKS server.
async fn firebase_gateway() -> (String, FakeUsers) {
    let jwk =
        json!({"kty": "RSA", "alg": "RS256", "use": "sig", "kid": KID, "n": RSA_N, "e": "AQAB"});
    let app = Router::new().route(
        "/jwk",
        get(move || {
            let set = json!({"keys": [jwk.clone()]});
            async move {
                (
                    [("cache-control", "public, max-age=19000")],
                    axum::Json(set),
                )
            }
        }),
    );
    let (jwks, _) = serve(app).await;
    let users = FakeUsers::start().await;
    let config = gateway::Config::parse_from([
        "gateway",
        "--users-url",
        &users.url,
        "--auth-jwks-url",
        &format!("{jwks}/jwk"),
        "--auth-issuer",
        &issuer(),
        "--auth-audience",
        PROJECT,
        "--internal-token",
        INTERNAL_TOKEN,
    ]);
    assert!(
        !config.embedded_sign_in(),
        "an outside JWKS means an outside provider"
    );
    let (url, _) = serve(gateway::build(&config).await.unwrap()).await;
    (url, users)
}

async fn profile(gateway: &str, token: &str) -> u16 {
    reqwest::Client::new()
        .get(format!("{gateway}/users"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_firebase_id_token_is_accepted() {
    let (gw, users) = firebase_gateway().await;
    users.register("fb-user", "client");
    assert_eq!(
        profile(&gw, &sign(&firebase_claims("fb-user"), KID)).await,
        200
    );
}

#[tokio::test]
async fn every_broken_rule_is_refused() {
    let (gw, users) = firebase_gateway().await;
    users.register("fb-user", "client");
    let t = now();
    type Break = fn(&mut Value, u64);
    let cases: [(&str, Break); 9] = [
        ("another project's audience", |c, _| {
            c["aud"] = json!("other-project")
        }),
        ("another issuer", |c, _| {
            c["iss"] = json!("https://securetoken.google.com/other")
        }),
        ("expired", |c, t| c["exp"] = json!(t - 3600)),
        ("issued in the future", |c, t| c["iat"] = json!(t + 3600)),
        ("authenticated in the future", |c, t| {
            c["auth_time"] = json!(t + 3600)
        }),
        ("no auth_time", |c, _| {
            c.as_object_mut().unwrap().remove("auth_time");
        }),
        ("empty subject", |c, _| c["sub"] = json!("")),
        ("no subject", |c, _| {
            c.as_object_mut().unwrap().remove("sub");
        }),
        ("not yet valid", |c, t| c["nbf"] = json!(t + 3600)),
    ];
    for (rule, break_it) in cases {
        let mut claims = firebase_claims("fb-user");
        break_it(&mut claims, t);
        assert_eq!(profile(&gw, &sign(&claims, KID)).await, 401, "{rule}");
    }
    assert_eq!(
        profile(&gw, &sign(&firebase_claims("fb-user"), "unknown-kid")).await,
        401,
        "unknown key id"
    );
    // A tampered payload under the right signature.
    let token = sign(&firebase_claims("fb-user"), KID);
    let mut parts: Vec<String> = token.split('.').map(String::from).collect();
    use base64::Engine;
    let engine = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let mut payload: Value = serde_json::from_slice(&engine.decode(&parts[1]).unwrap()).unwrap();
    payload["sub"] = json!("someone-else");
    parts[1] = engine.encode(payload.to_string());
    assert_eq!(
        profile(&gw, &parts.join(".")).await,
        401,
        "tampered payload"
    );
}

#[tokio::test]
async fn sign_in_routes_answer_404_in_firebase_mode() {
    let (gw, users) = firebase_gateway().await;
    for action in ["signup", "signin", "refresh", "signout"] {
        let response = reqwest::Client::new()
            .post(format!("{gw}/auth/{action}"))
            .json(&json!({"email": "a@b.co", "password": "correct horse", "refreshToken": "x"}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 404, "{action}");
    }
    assert!(users.calls().iter().all(|c| !c.contains("/auth/")));
}
