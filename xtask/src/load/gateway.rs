//! The few public calls seeding needs, with errors that say which call failed and why.

use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Value, json};

/// Longest any one set-up call may take (sign-ups queue behind argon2).
const TIMEOUT: Duration = Duration::from_secs(30);

/// The public API of one gateway.
#[derive(Debug, Clone)]
pub struct Gateway {
    http: reqwest::Client,
    base: String,
    /// The internal token, for calling an internal service directly (bulk seeding).
    internal_token: Option<String>,
}

/// A signed-up, registered account.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Account {
    pub email: String,
    /// Its uid (for a restaurant, also its venue's id).
    pub uid: String,
    /// A valid ID token (one hour).
    pub token: String,
}

impl Gateway {
    /// A client for `base` (checked by [`check_url`]), keeping up to `connections` idle.
    pub fn new(base: &str, connections: usize) -> Result<Gateway> {
        Ok(Gateway {
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(connections)
                .timeout(TIMEOUT)
                .build()?,
            base: base.to_string(),
            internal_token: None,
        })
    }

    /// A client for an internal service at `base`, sending the internal token.
    pub fn internal(base: &str, connections: usize, token: &str) -> Result<Gateway> {
        Ok(Gateway {
            internal_token: Some(token.to_string()),
            ..Gateway::new(base, connections)?
        })
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    /// `GET /health`, with a hint when nothing answers.
    pub async fn check_health(&self) -> Result<()> {
        let base = &self.base;
        let response = self
            .http
            .get(format!("{base}/health"))
            .send()
            .await
            .map_err(|e| {
                anyhow!(
                    "nothing answers at {base} ({e}): start the cluster (`cargo xtask run`) or fix --url"
                )
            })?;
        if response.status() != 200 {
            bail!(
                "{base}/health answered {}: the gateway is not healthy; see `cargo xtask status` and `cargo xtask logs gateway`",
                response.status()
            );
        }
        Ok(())
    }

    /// Signs up `email` and registers it as `user_type` (`client` or `restaurant`).
    pub async fn account(
        &self,
        email: &str,
        password: &str,
        user_type: &str,
        name: &str,
    ) -> Result<Account> {
        let session = self
            .send(
                "POST",
                "/auth/signup",
                None,
                &json!({"email": email, "password": password}),
            )
            .await
            .with_context(|| format!("signing up {email}"))?;
        let field = |name: &str| {
            session[name]
                .as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("the sign-up of {email} returned no {name}: {session}"))
        };
        let (token, uid) = (field("idToken")?, field("localId")?);
        self.send(
            "POST",
            "/users",
            Some(&token),
            &json!({"user_type": user_type, "name": name, "number": ""}),
        )
        .await
        .with_context(|| format!("registering {email} (POST /users)"))?;
        Ok(Account {
            email: email.to_string(),
            uid,
            token,
        })
    }

    /// `POST /auth/signin`: a fresh token for `email`.
    pub async fn sign_in(&self, email: &str, password: &str) -> Result<String> {
        let session = self
            .send(
                "POST",
                "/auth/signin",
                None,
                &json!({"email": email, "password": password}),
            )
            .await
            .with_context(|| format!("signing in {email}"))?;
        session["idToken"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| anyhow!("the sign-in of {email} returned no idToken"))
    }

    /// A call that must answer 2xx with JSON; the error quotes the answer.
    pub async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: &Value,
    ) -> Result<Value> {
        let method = reqwest::Method::from_bytes(method.as_bytes())?;
        let mut request = self
            .http
            .request(method.clone(), format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(token) = &self.internal_token {
            request = request.header(chefcito::INTERNAL_TOKEN_HEADER, token);
        }
        if method != reqwest::Method::GET {
            request = request.json(body);
        }
        let response = request
            .send()
            .await
            .map_err(|e| anyhow!("{method} {path}: no answer ({e})"))?;
        let status = response.status();
        let text = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("{method} {path} answered {status}: {}", snippet(&text));
        }
        serde_json::from_str(&text)
            .map_err(|e| anyhow!("{method} {path}: the answer is not JSON ({e})"))
    }
}

fn snippet(text: &str) -> String {
    let mut s: String = text.chars().take(300).collect();
    if s.len() < text.len() {
        s.push('…');
    }
    s
}

/// The base URL of a `--url`: only this machine, http(s), no path.
pub fn check_url(text: &str) -> Result<String> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| anyhow!("--url `{text}`: {e}: expected e.g. http://127.0.0.1:8000"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--url `{text}`: expected an http:// or https:// URL, e.g. http://127.0.0.1:8000");
    }
    if !matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!(
            "--url `{text}`: load may only be put on this machine: use 127.0.0.1, localhost or [::1] as the host (e.g. http://127.0.0.1:8000)"
        );
    }
    if url.path() != "/" || url.query().is_some() {
        bail!(
            "--url `{text}`: give the gateway's base URL without a path, e.g. http://127.0.0.1:8000"
        );
    }
    Ok(url.origin().ascii_serialization())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_this_machine_is_a_target() {
        assert_eq!(
            check_url("http://127.0.0.1:8000/").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            check_url("http://localhost:9").unwrap(),
            "http://localhost:9"
        );
        assert!(check_url("http://[::1]:8000").is_ok());
        for bad in [
            "http://10.0.0.1:8000",
            "http://example.com",
            "ftp://127.0.0.1",
            "http://127.0.0.1:8000/users",
            "http://127.0.0.1:8000/?a=b",
            "127.0.0.1:8000",
        ] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
    }
}
