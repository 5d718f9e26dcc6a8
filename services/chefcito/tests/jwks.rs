//! The JWKS verifier against a real local JWKS server and tokens signed by test keys.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::Router;
use axum::routing::get;
use base64::Engine;
use chefcito::jwks::{TokenError, Verifier, VerifierConfig};
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use tokio::sync::RwLock;

const ISS: &str = "https://securetoken.google.com/proj";
const AUD: &str = "proj";

struct TestKey {
    kid: String,
    signing: SigningKey,
}

impl TestKey {
    fn new(kid: &str) -> TestKey {
        TestKey {
            kid: kid.into(),
            signing: SigningKey::generate(&mut rand::rngs::OsRng),
        }
    }

    fn jwk(&self) -> serde_json::Value {
        let x = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(self.signing.verifying_key().as_bytes());
        serde_json::json!({"kty": "OKP", "crv": "Ed25519", "x": x, "kid": self.kid, "alg": "EdDSA", "use": "sig"})
    }

    fn sign(&self, claims: &serde_json::Value) -> String {
        let pem = self.signing.to_pkcs8_pem(Default::default()).unwrap();
        let key = EncodingKey::from_ed_pem(pem.as_bytes()).unwrap();
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &key).unwrap()
    }
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims(aud: &str, iss: &str, exp: u64) -> serde_json::Value {
    serde_json::json!({"sub": "uid-1", "email": "a@b.co", "aud": aud, "iss": iss, "iat": now(), "auth_time": now(), "exp": exp})
}

/// A JWKS server whose key set can be swapped, counting fetches.
struct JwksServer {
    url: String,
    keys: Arc<RwLock<Vec<serde_json::Value>>>,
    fetches: Arc<AtomicUsize>,
}

async fn jwks_server(keys: Vec<serde_json::Value>, cache_control: &'static str) -> JwksServer {
    let keys = Arc::new(RwLock::new(keys));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (k, f) = (keys.clone(), fetches.clone());
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let (k, f) = (k.clone(), f.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                (
                    [("cache-control", cache_control)],
                    axum::Json(serde_json::json!({"keys": *k.read().await})),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    JwksServer { url, keys, fetches }
}

fn verifier(url: &str) -> Verifier {
    Verifier::new(
        VerifierConfig {
            jwks_url: url.into(),
            issuer: ISS.into(),
            audience: AUD.into(),
            headers: vec![],
        },
        reqwest::Client::new(),
    )
}

#[tokio::test]
async fn accepts_a_valid_token_and_caches_keys() {
    let key = TestKey::new("k1");
    let server = jwks_server(vec![key.jwk()], "public, max-age=600").await;
    let v = verifier(&server.url);
    for _ in 0..5 {
        let c = v
            .verify(&key.sign(&claims(AUD, ISS, now() + 3600)))
            .await
            .unwrap();
        assert_eq!(
            (c.sub.as_str(), c.email.as_deref()),
            ("uid-1", Some("a@b.co"))
        );
    }
    assert_eq!(
        server.fetches.load(Ordering::SeqCst),
        1,
        "keys are cached for max-age"
    );
}

#[tokio::test]
async fn rejects_expired_wrong_audience_wrong_issuer() {
    let key = TestKey::new("k1");
    let server = jwks_server(vec![key.jwk()], "max-age=600").await;
    let v = verifier(&server.url);
    let expired = v
        .verify(&key.sign(&claims(AUD, ISS, now() - 3600)))
        .await
        .unwrap_err();
    assert!(matches!(expired, TokenError::Expired), "{expired:?}");
    let aud = v
        .verify(&key.sign(&claims("other", ISS, now() + 3600)))
        .await
        .unwrap_err();
    assert!(matches!(aud, TokenError::Invalid(_)), "{aud:?}");
    let iss = v
        .verify(&key.sign(&claims(AUD, "https://evil", now() + 3600)))
        .await
        .unwrap_err();
    assert!(matches!(iss, TokenError::Invalid(_)), "{iss:?}");
}

#[tokio::test]
async fn rejects_alg_none_and_garbage() {
    let key = TestKey::new("k1");
    let server = jwks_server(vec![key.jwk()], "max-age=600").await;
    let v = verifier(&server.url);
    let b64 = |v: serde_json::Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string())
    };
    let none = format!(
        "{}.{}.",
        b64(serde_json::json!({"alg": "none", "kid": "k1"})),
        b64(claims(AUD, ISS, now() + 3600))
    );
    assert!(v.verify(&none).await.is_err());
    assert!(matches!(
        v.verify("not.a.token").await.unwrap_err(),
        TokenError::Malformed
    ));
    // A valid signature from another key under a known kid is still refused.
    let forger = TestKey::new("k1");
    assert!(matches!(
        v.verify(&forger.sign(&claims(AUD, ISS, now() + 3600)))
            .await
            .unwrap_err(),
        TokenError::Invalid(_)
    ));
}

#[tokio::test]
async fn foreign_key_is_refused_and_refetches_are_rate_limited() {
    let key = TestKey::new("k1");
    let server = jwks_server(vec![key.jwk()], "max-age=600").await;
    let v = verifier(&server.url);
    v.verify(&key.sign(&claims(AUD, ISS, now() + 3600)))
        .await
        .unwrap();
    let foreign = TestKey::new("unknown");
    for _ in 0..20 {
        let e = v
            .verify(&foreign.sign(&claims(AUD, ISS, now() + 3600)))
            .await
            .unwrap_err();
        assert!(matches!(e, TokenError::UnknownKey), "{e:?}");
    }
    assert!(
        server.fetches.load(Ordering::SeqCst) <= 2,
        "a flood of unknown kids must not flood the JWKS"
    );
}

#[tokio::test]
async fn picks_up_a_rotated_key() {
    let old = TestKey::new("old");
    let server = jwks_server(vec![old.jwk()], "max-age=600").await;
    let v = verifier(&server.url);
    v.verify(&old.sign(&claims(AUD, ISS, now() + 3600)))
        .await
        .unwrap();
    let new = TestKey::new("new");
    *server.keys.write().await = vec![old.jwk(), new.jwk()];
    v.verify(&new.sign(&claims(AUD, ISS, now() + 3600)))
        .await
        .unwrap();
    assert_eq!(server.fetches.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn unreachable_jwks_is_keys_unavailable() {
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let v = verifier(&format!("http://{free}/jwks"));
    let e = v
        .verify(&TestKey::new("k").sign(&claims(AUD, ISS, now() + 3600)))
        .await
        .unwrap_err();
    assert!(matches!(e, TokenError::KeysUnavailable(_)), "{e:?}");
    assert_eq!(chefcito::ApiError::from(e).status, 503);
}

/// A JWKS server that can be switched to failing (500), counting fetches.
struct FlakyJwks {
    url: String,
    failing: Arc<std::sync::atomic::AtomicBool>,
    fetches: Arc<AtomicUsize>,
}

async fn flaky_jwks(keys: Vec<serde_json::Value>, cache_control: &'static str) -> FlakyJwks {
    let failing = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let fetches = Arc::new(AtomicUsize::new(0));
    let (fail, f) = (failing.clone(), fetches.clone());
    let app = Router::new().route(
        "/jwks",
        get(move || {
            let (fail, f, keys) = (fail.clone(), f.clone(), keys.clone());
            async move {
                f.fetch_add(1, Ordering::SeqCst);
                if fail.load(Ordering::SeqCst) {
                    return axum::http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
                }
                (
                    [("cache-control", cache_control)],
                    axum::Json(serde_json::json!({"keys": keys})),
                )
                    .into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    FlakyJwks {
        url,
        failing,
        fetches,
    }
}

use axum::response::IntoResponse;

#[tokio::test]
async fn cached_keys_keep_working_through_a_jwks_outage() {
    let key = TestKey::new("k1");
    let server = flaky_jwks(vec![key.jwk()], "public, max-age=1").await;
    let v = verifier(&server.url);
    let token = key.sign(&claims(AUD, ISS, now() + 3600));
    v.verify(&token).await.unwrap();
    server.failing.store(true, Ordering::SeqCst);
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    // The keys are due for a refresh and the JWKS is down: the cached ones still serve.
    let before = server.fetches.load(Ordering::SeqCst);
    for _ in 0..50 {
        v.verify(&token).await.unwrap();
    }
    assert_eq!(
        server.fetches.load(Ordering::SeqCst) - before,
        1,
        "one failed fetch, then the failure is remembered"
    );
    // A key we never saw cannot be checked during the outage: 401, not 503.
    let stranger = TestKey::new("k2");
    let e = v
        .verify(&stranger.sign(&claims(AUD, ISS, now() + 3600)))
        .await
        .unwrap_err();
    assert!(matches!(e, TokenError::UnknownKey), "{e:?}");
    assert_eq!(chefcito::ApiError::from(e).status, 401);
    // Back up: the next refresh after the back-off picks the keys up again.
    server.failing.store(false, Ordering::SeqCst);
    v.verify(&token).await.unwrap();
}

#[tokio::test]
async fn with_no_keys_at_all_an_outage_is_503() {
    let key = TestKey::new("k1");
    let server = flaky_jwks(vec![key.jwk()], "public, max-age=600").await;
    server.failing.store(true, Ordering::SeqCst);
    let v = verifier(&server.url);
    let e = v
        .verify(&key.sign(&claims(AUD, ISS, now() + 3600)))
        .await
        .unwrap_err();
    assert_eq!(chefcito::ApiError::from(e).status, 503);
}

#[tokio::test]
async fn tokens_not_yet_valid_or_issued_in_the_future_are_refused() {
    let key = TestKey::new("k1");
    let server = jwks_server(vec![key.jwk()], "public, max-age=600").await;
    let v = verifier(&server.url);
    let mut not_yet = claims(AUD, ISS, now() + 3600);
    not_yet["nbf"] = serde_json::json!(now() + 600);
    assert!(matches!(
        v.verify(&key.sign(&not_yet)).await,
        Err(TokenError::Invalid(_))
    ));
    let mut future = claims(AUD, ISS, now() + 3600);
    future["iat"] = serde_json::json!(now() + 600);
    assert!(matches!(
        v.verify(&key.sign(&future)).await,
        Err(TokenError::Invalid(_))
    ));
    // Within the leeway both are fine (clocks drift).
    let mut skewed = claims(AUD, ISS, now() + 3600);
    skewed["iat"] = serde_json::json!(now() + 10);
    skewed["nbf"] = serde_json::json!(now() + 10);
    v.verify(&key.sign(&skewed)).await.unwrap();
}

#[tokio::test]
async fn a_remembered_token_is_checked_again_once_its_key_is_withdrawn() {
    let old = TestKey::new("old");
    let server = jwks_server(vec![old.jwk()], "max-age=1").await;
    let v = verifier(&server.url);
    let token = old.sign(&claims(AUD, ISS, now() + 3600));
    for _ in 0..3 {
        v.verify(&token).await.unwrap();
    }
    // The provider withdraws the key; once the keys are due, the token is refused although it
    // was accepted (and remembered) before.
    *server.keys.write().await = vec![TestKey::new("new").jwk()];
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    let e = v.verify(&token).await.unwrap_err();
    assert!(matches!(e, TokenError::UnknownKey), "{e:?}");
}

#[tokio::test]
async fn a_remembered_token_is_only_the_same_token() {
    let key = TestKey::new("k1");
    let server = jwks_server(vec![key.jwk()], "max-age=600").await;
    let v = verifier(&server.url);
    let token = key.sign(&claims(AUD, ISS, now() + 3600));
    v.verify(&token).await.unwrap();
    // The same payload with a forged signature, and a token for another audience signed by
    // the same key, are still checked in full.
    let (head, _) = token.rsplit_once('.').unwrap();
    let forged = format!("{head}.{}", "A".repeat(86));
    assert!(v.verify(&forged).await.is_err());
    let other = key.sign(&claims("other", ISS, now() + 3600));
    assert!(v.verify(&other).await.is_err());
    v.verify(&token).await.unwrap();
}
