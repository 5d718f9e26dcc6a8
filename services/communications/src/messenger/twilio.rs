//! Twilio's REST API (spec §8.2): `POST {base}/2010-04-01/Accounts/{sid}/Messages.json`,
//! form-encoded `To`, `From` (or `MessagingServiceSid`) and `Body`, HTTP basic auth
//! `sid:token`. A 201 carries the message `sid`; an error is a JSON
//! `{"code","message","more_info","status"}`.
//!
//! Error kinds:
//! * any other 4xx (e.g. 21211 invalid `To`, 21610 unsubscribed recipient) → permanent;
//! * 408, 429, 5xx, a transport error or a timeout → transient, honouring `Retry-After`;
//! * 401 → transient: it means *our* credentials are wrong, which no single message is at
//!   fault for; retrying gives an operator the time to fix the configuration before the sender
//!   gives up on the message.

use std::time::Duration;

use chefcito::config::Secret;
use reqwest::StatusCode;
use serde::Deserialize;

use super::{BoxFuture, Messenger, SendError, Sent};

/// Who a message comes from: a number of the account, or a messaging service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sender {
    From(String),
    MessagingService(String),
}

/// What the adapter needs; every value comes from the configuration.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com` in production; a local server in tests.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: Secret,
    pub sender: Sender,
}

/// The Twilio messenger.
#[derive(Debug, Clone)]
pub struct Twilio {
    http: reqwest::Client,
    url: String,
    account_sid: String,
    auth_token: Secret,
    sender: Sender,
}

impl Twilio {
    /// `http` must not carry the internal token: use `chefcito::client::Client::http`.
    pub fn new(config: TwilioConfig, http: reqwest::Client) -> anyhow::Result<Twilio> {
        let sid = &config.account_sid;
        if sid.is_empty() || !sid.chars().all(|c| c.is_ascii_alphanumeric()) {
            anyhow::bail!(
                "TWILIO_ACCOUNT_SID must be set to the account's SID (letters and digits)"
            );
        }
        if config.auth_token.expose().is_empty() {
            anyhow::bail!("TWILIO_AUTH_TOKEN must be set");
        }
        let mut url = reqwest::Url::parse(config.base_url.trim_end_matches('/')).map_err(|e| {
            anyhow::anyhow!("TWILIO_BASE_URL {:?} is not a URL: {e}", config.base_url)
        })?;
        if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
            anyhow::bail!(
                "TWILIO_BASE_URL {:?} must be an http(s) URL",
                config.base_url
            );
        }
        url.path_segments_mut()
            .map_err(|()| anyhow::anyhow!("TWILIO_BASE_URL cannot be a base"))?
            .pop_if_empty()
            .extend(["2010-04-01", "Accounts", sid.as_str(), "Messages.json"]);
        Ok(Twilio {
            http,
            url: url.into(),
            account_sid: config.account_sid,
            auth_token: config.auth_token,
            sender: config.sender,
        })
    }

    /// The endpoint messages are POSTed to.
    pub fn url(&self) -> &str {
        &self.url
    }

    async fn post(&self, to: &str, body: &str) -> Result<Sent, SendError> {
        let sender = match &self.sender {
            Sender::From(from) => ("From", from.as_str()),
            Sender::MessagingService(sid) => ("MessagingServiceSid", sid.as_str()),
        };
        let form = [("To", to), sender, ("Body", body)];
        let response = self
            .http
            .post(&self.url)
            .basic_auth(&self.account_sid, Some(self.auth_token.expose()))
            .form(&form)
            .send()
            .await
            .map_err(|e| transient(format!("Twilio unreachable: {}", without_url(e)), None))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let bytes = response
            .bytes()
            .await
            .map_err(|e| transient(format!("Twilio answer lost: {}", without_url(e)), None))?;
        if status.is_success() {
            let created = serde_json::from_slice::<Created>(&bytes).ok();
            return Ok(Sent {
                provider_id: created
                    .and_then(|c| c.sid)
                    .unwrap_or_else(|| "twilio".into()),
            });
        }
        // Twilio's messages quote the number (`The 'To' number +54… is not valid`); it is
        // personal data, kept out of logs and stored errors (the message row has it anyway).
        let mut error = describe(status, &bytes);
        if !to.is_empty() {
            error = error.replace(to, "<To>");
        }
        if status == StatusCode::UNAUTHORIZED {
            tracing::error!(%error, "Twilio refused our credentials; check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN");
        }
        let retry = status.is_server_error()
            || matches!(
                status,
                StatusCode::TOO_MANY_REQUESTS
                    | StatusCode::REQUEST_TIMEOUT
                    | StatusCode::UNAUTHORIZED
            );
        Err(if retry {
            transient(error, retry_after)
        } else {
            SendError::Permanent(error)
        })
    }
}

impl Messenger for Twilio {
    fn name(&self) -> &'static str {
        "twilio"
    }

    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(self.post(to, body))
    }
}

fn transient(error: String, retry_after: Option<Duration>) -> SendError {
    SendError::Transient { error, retry_after }
}

/// reqwest's error text names the URL, which holds the account SID: keep only the cause.
fn without_url(e: reqwest::Error) -> String {
    let kind = if e.is_timeout() {
        "timeout"
    } else if e.is_connect() {
        "cannot connect"
    } else {
        "transport error"
    };
    format!("{kind}: {}", e.without_url())
}

#[derive(Deserialize)]
struct Created {
    sid: Option<String>,
}

#[derive(Deserialize)]
struct TwilioError {
    code: Option<i64>,
    message: Option<String>,
}

/// `HTTP 400, Twilio 21211: The 'To' number … is not a valid phone number.`
fn describe(status: StatusCode, body: &[u8]) -> String {
    let parsed = serde_json::from_slice::<TwilioError>(body).ok();
    let code = parsed.as_ref().and_then(|e| e.code);
    let message = parsed
        .and_then(|e| e.message)
        .unwrap_or_else(|| status.canonical_reason().unwrap_or("").to_string());
    match code {
        Some(code) => format!("HTTP {}, Twilio {code}: {message}", status.as_u16()),
        None => format!("HTTP {}: {message}", status.as_u16()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(base: &str) -> TwilioConfig {
        TwilioConfig {
            base_url: base.into(),
            account_sid: "AC123".into(),
            auth_token: Secret::new("token"),
            sender: Sender::From("+15005550006".into()),
        }
    }

    #[test]
    fn builds_the_messages_url_under_any_base() {
        let http = reqwest::Client::new();
        let t = Twilio::new(config("https://api.twilio.com"), http.clone()).unwrap();
        assert_eq!(
            t.url(),
            "https://api.twilio.com/2010-04-01/Accounts/AC123/Messages.json"
        );
        let t = Twilio::new(config("http://127.0.0.1:9/twilio/"), http.clone()).unwrap();
        assert_eq!(
            t.url(),
            "http://127.0.0.1:9/twilio/2010-04-01/Accounts/AC123/Messages.json"
        );
        assert!(Twilio::new(config("ftp://x"), http.clone()).is_err());
        let mut bad = config("https://api.twilio.com");
        bad.account_sid = "AC/../x".into();
        assert!(Twilio::new(bad, http.clone()).is_err());
        let mut no_token = config("https://api.twilio.com");
        no_token.auth_token = Secret::new("");
        assert!(Twilio::new(no_token, http).is_err());
    }

    #[test]
    fn describes_twilio_errors() {
        let body = br#"{"code":21211,"message":"Invalid 'To' Phone Number","more_info":"https://www.twilio.com/docs/errors/21211","status":400}"#;
        assert_eq!(
            describe(StatusCode::BAD_REQUEST, body),
            "HTTP 400, Twilio 21211: Invalid 'To' Phone Number"
        );
        assert_eq!(
            describe(StatusCode::BAD_GATEWAY, b"<html>"),
            "HTTP 502: Bad Gateway"
        );
    }
}
