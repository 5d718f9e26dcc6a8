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
    serde_json::json!({"sub": "uid-1", "email": "a@b.co", "aud": aud, "iss": iss, "iat": now(), "exp": exp})
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
