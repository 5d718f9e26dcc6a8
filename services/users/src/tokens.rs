//! The signing key, ID tokens (EdDSA JWTs), the JWKS that publishes the public key, and
//! refresh tokens (opaque random strings stored only as hashes).

use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chefcito::config::Secret;
use ed25519_dalek::SigningKey;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, EncodePrivateKey};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// File name of the generated key inside the data directory.
pub const KEY_FILE: &str = "signing-key.pem";

/// The claims of an ID token; the gateway reads them through `chefcito::jwks`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdClaims {
    pub sub: String,
    pub email: String,
    pub iss: String,
    pub aud: String,
    pub iat: i64,
    pub exp: i64,
}

/// The service's Ed25519 key with everything derived from it.
pub struct Keys {
    signing: SigningKey,
    encoding: EncodingKey,
    kid: String,
    jwks: serde_json::Value,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("kid", &self.kid).finish()
    }
}

impl Keys {
    fn new(signing: SigningKey) -> anyhow::Result<Keys> {
        let der = signing
            .to_pkcs8_der()
            .map_err(|e| anyhow::anyhow!("cannot encode the signing key: {e}"))?;
        let public = signing.verifying_key().to_bytes();
        let kid = hex(&Sha256::digest(public))[..16].to_string();
        let jwks = serde_json::json!({
            "keys": [{
                "kty": "OKP",
                "crv": "Ed25519",
                "x": URL_SAFE_NO_PAD.encode(public),
                "kid": kid,
                "alg": "EdDSA",
                "use": "sig",
            }]
        });
        Ok(Keys {
            encoding: EncodingKey::from_ed_der(der.as_bytes()),
            signing,
            kid,
            jwks,
        })
    }

    /// A new random key.
    pub fn generate() -> anyhow::Result<Keys> {
        Keys::new(SigningKey::generate(&mut rand::rngs::OsRng))
    }

    /// A key from PKCS#8 PEM text (`-----BEGIN PRIVATE KEY-----`).
    pub fn from_pem(pem: &str) -> anyhow::Result<Keys> {
        let signing = SigningKey::from_pkcs8_pem(pem.trim()).map_err(|e| {
            anyhow::anyhow!("not a PKCS#8 PEM Ed25519 private key ({e}); generate one with `openssl genpkey -algorithm ed25519`")
        })?;
        Keys::new(signing)
    }

    pub fn to_pem(&self) -> anyhow::Result<Secret> {
        let pem = self
            .signing
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| anyhow::anyhow!("cannot encode the signing key: {e}"))?;
        Ok(Secret::new(pem.as_str()))
    }

    /// The configured key if there is one; else the one kept in `data_dir`, created on the
    /// first start. Keeping it on the volume is what lets tokens survive a restart.
    pub fn load_or_create(configured: Option<&Secret>, data_dir: &Path) -> anyhow::Result<Keys> {
        if let Some(pem) = configured {
            return Keys::from_pem(pem.expose()).map_err(|e| anyhow::anyhow!("SIGNING_KEY: {e}"));
        }
        let path = data_dir.join(KEY_FILE);
        match std::fs::read_to_string(&path) {
            Ok(pem) => {
                return Keys::from_pem(&pem).map_err(|e| {
                    anyhow::anyhow!("{}: {e}; remove the file to start over with a new key (existing tokens become invalid)", path.display())
                });
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => anyhow::bail!("cannot read {}: {e}", path.display()),
        }
        let keys = Keys::generate()?;
        match write_new_private_file(&path, keys.to_pem()?.expose()) {
            Ok(()) => {
                tracing::info!(kid = %keys.kid, path = %path.display(), "generated a new signing key");
                Ok(keys)
            }
            // Another process created it first: use theirs so that both sign alike.
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                Keys::load_or_create(None, data_dir)
            }
            Err(e) => anyhow::bail!("cannot write {}: {e}", path.display()),
        }
    }

    /// The key id: the first 16 hex digits of the SHA-256 of the public key.
    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key set, as `/.well-known/jwks.json` serves it.
    pub fn jwks(&self) -> &serde_json::Value {
        &self.jwks
    }

    pub fn sign(&self, claims: &IdClaims) -> anyhow::Result<String> {
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        jsonwebtoken::encode(&header, claims, &self.encoding)
            .map_err(|e| anyhow::anyhow!("cannot sign an ID token: {e}"))
    }
}

/// Writes `contents` to `path`, readable by the owner only, failing with `AlreadyExists` if
/// the file is there. The content is complete before the name appears (temporary file, then
/// a hard link), so a crash never leaves half a key behind.
fn write_new_private_file(path: &Path, contents: &str) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp: PathBuf = dir.join(format!(".{KEY_FILE}.{}", uuid::Uuid::new_v4()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options.open(&tmp).and_then(|mut file| {
        file.write_all(contents.as_bytes())?;
        file.sync_all()?;
        std::fs::hard_link(&tmp, path)
    });
    let _ = std::fs::remove_file(&tmp);
    result
}

/// A new refresh token: 32 random bytes, base64url without padding.
pub fn new_refresh_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// What the store keeps instead of the token: a leaked database does not yield usable tokens.
pub fn refresh_token_hash(token: &str) -> String {
    hex(&Sha256::digest(token.as_bytes()))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims() -> IdClaims {
        let now = 1_700_000_000;
        IdClaims {
            sub: "u1".into(),
            email: "a@b.co".into(),
            iss: "iss".into(),
            aud: "aud".into(),
            iat: now,
            exp: now + 60,
        }
    }

    #[test]
    fn pem_round_trip_keeps_the_key_id() {
        let keys = Keys::generate().unwrap();
        assert_eq!(keys.kid().len(), 16);
        let again = Keys::from_pem(keys.to_pem().unwrap().expose()).unwrap();
        assert_eq!(again.kid(), keys.kid());
        assert_eq!(again.jwks(), keys.jwks());
        assert!(
            Keys::from_pem("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----").is_err()
        );
    }

    #[test]
    fn signed_tokens_verify_with_the_published_key() {
        let keys = Keys::generate().unwrap();
        let token = keys.sign(&claims()).unwrap();
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.kid.as_deref(), Some(keys.kid()));
        let set: jsonwebtoken::jwk::JwkSet = serde_json::from_value(keys.jwks().clone()).unwrap();
        let key = jsonwebtoken::DecodingKey::from_jwk(&set.keys[0]).unwrap();
        let mut validation = jsonwebtoken::Validation::new(Algorithm::EdDSA);
        validation.set_audience(&["aud"]);
        validation.validate_exp = false;
        let data = jsonwebtoken::decode::<IdClaims>(&token, &key, &validation).unwrap();
        assert_eq!(data.claims, claims());
        let other = Keys::generate().unwrap();
        let forged = other.sign(&claims()).unwrap();
        assert!(jsonwebtoken::decode::<IdClaims>(&forged, &key, &validation).is_err());
    }

    #[test]
    fn key_file_is_created_once_private_and_reused() {
        let dir = tempfile::tempdir().unwrap();
        let first = Keys::load_or_create(None, dir.path()).unwrap();
        let second = Keys::load_or_create(None, dir.path()).unwrap();
        assert_eq!(first.kid(), second.kid());
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(dir.path().join(KEY_FILE))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let leftovers = std::fs::read_dir(dir.path()).unwrap().count();
        assert_eq!(leftovers, 1, "temporary files must be removed");
    }

    #[test]
    fn a_configured_key_wins_and_a_corrupt_file_is_reported() {
        let dir = tempfile::tempdir().unwrap();
        let configured = Keys::generate().unwrap();
        let pem = configured.to_pem().unwrap();
        let keys = Keys::load_or_create(Some(&pem), dir.path()).unwrap();
        assert_eq!(keys.kid(), configured.kid());
        assert!(!dir.path().join(KEY_FILE).exists());
        std::fs::write(dir.path().join(KEY_FILE), "garbage").unwrap();
        let err = Keys::load_or_create(None, dir.path()).unwrap_err();
        assert!(err.to_string().contains(KEY_FILE), "{err}");
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let a = new_refresh_token();
        assert_eq!(a.len(), 43);
        assert_ne!(a, new_refresh_token());
        assert_eq!(refresh_token_hash(&a).len(), 64);
        assert_ne!(refresh_token_hash(&a), a);
    }
}
