//! The one internal HTTP client: pooled connections with keep-alive, a connect and a total
//! timeout, the internal token and the caller's request id on every call, and downstream
//! answers mapped onto [`ApiError`]:
//!
//! * 2xx → the decoded JSON (a body that does not decode is a 502);
//! * 4xx → the same status with the downstream description (the caller's mistake travels back);
//! * 5xx → 502; connection refused / DNS failure / timeout → 503.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::config::Secret;
use crate::error::Envelope;
use crate::{ApiError, INTERNAL_TOKEN_HEADER, REQUEST_ID_HEADER};

/// Cloneable (cheap: one shared connection pool).
#[derive(Clone, Debug)]
pub struct Client {
    http: reqwest::Client,
    token: Option<Secret>,
}

/// A raw downstream answer, for proxies and conditional requests.
#[derive(Debug)]
pub struct Raw {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: bytes::Bytes,
}

impl Client {
    /// A client that sends `token` as the internal token (if any).
    pub fn new(token: Option<Secret>) -> Client {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(60))
            .user_agent(concat!("chefcito/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("the HTTP client configuration is static and valid");
        Client { http, token }
    }

    /// The underlying pooled client (no internal token: safe for external calls).
    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }

    fn request(&self, method: Method, url: &str) -> reqwest::RequestBuilder {
        let mut builder = self.http.request(method, url);
        if let Some(token) = &self.token {
            builder = builder.header(INTERNAL_TOKEN_HEADER, token.expose());
        }
        if let Some(id) = crate::service::current_request_id() {
            builder = builder.header(REQUEST_ID_HEADER, id);
        }
        builder
    }

    /// Sends a request and returns the raw answer; only transport failures are errors.
    pub async fn raw<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
        headers: &[(&str, &str)],
    ) -> Result<Raw, ApiError> {
        let mut builder = self.request(method, url);
        if let Some(body) = body {
            builder = builder.json(body);
        }
        for (name, value) in headers {
            builder = builder.header(*name, *value);
        }
        let response = builder.send().await.map_err(|e| transport_error(url, e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .bytes()
            .await
            .map_err(|e| transport_error(url, e))?;
        Ok(Raw {
            status,
            headers,
            body,
        })
    }

    /// Sends JSON (or nothing) and decodes a JSON answer, mapping statuses as described above.
    pub async fn call<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<&B>,
    ) -> Result<T, ApiError> {
        let raw = self.raw(method, url, body, &[]).await?;
        decode(url, raw)
    }

    pub async fn get<T: DeserializeOwned>(&self, url: &str) -> Result<T, ApiError> {
        self.call::<(), T>(Method::GET, url, None).await
    }

    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.call(Method::POST, url, Some(body)).await
    }

    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        url: &str,
        body: &B,
    ) -> Result<T, ApiError> {
        self.call(Method::PUT, url, Some(body)).await
    }
}

/// One downstream service: the shared client plus the service's base URL. Paths are built
/// from segments, each percent-encoded, so that an id taken from a request can never change
/// the path it is put in (`../permissions` stays one segment).
///
/// Cloning is one reference count: handlers' state is cloned several times per request, and
/// copying the URL and the token each time showed in profiles of the gateway.
#[derive(Clone, Debug)]
pub struct Downstream {
    target: std::sync::Arc<Target>,
}

#[derive(Debug)]
struct Target {
    client: Client,
    base: reqwest::Url,
}

impl Downstream {
    /// `base` is the service's base URL, e.g. `http://users:8001`.
    pub fn new(client: Client, base: &str) -> anyhow::Result<Downstream> {
        let url = reqwest::Url::parse(base.trim_end_matches('/'))
            .map_err(|e| anyhow::anyhow!("{base:?} is not a URL: {e}"))?;
        if url.cannot_be_a_base() || !matches!(url.scheme(), "http" | "https") {
            anyhow::bail!("{base:?} cannot be a service base URL (expected http://host:port)");
        }
        Ok(Downstream {
            target: std::sync::Arc::new(Target { client, base: url }),
        })
    }

    pub fn client(&self) -> &Client {
        &self.target.client
    }

    /// The base URL as configured (no trailing slash).
    pub fn base(&self) -> &str {
        self.target.base.as_str().trim_end_matches('/')
    }

    /// `segments` appended to the base path, e.g. `["user", uid, "type"]`.
    pub fn url(&self, segments: &[&str]) -> String {
        let mut url = self.target.base.clone();
        url.path_segments_mut()
            .expect("checked in new")
            .pop_if_empty()
            .extend(segments);
        url.into()
    }

    /// [`Downstream::url`] with a query string (repeated keys for sequences).
    pub fn url_with_query<Q: Serialize + ?Sized>(
        &self,
        segments: &[&str],
        query: &Q,
    ) -> Result<String, ApiError> {
        let mut url = self.url(segments);
        let encoded = serde_html_form::to_string(query)
            .map_err(|e| ApiError::internal(anyhow::anyhow!("query does not encode: {e}")))?;
        if !encoded.is_empty() {
            url.push('?');
            url.push_str(&encoded);
        }
        Ok(url)
    }

    pub async fn get<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ApiError> {
        self.target.client.get(&self.url(segments)).await
    }

    pub async fn get_query<Q: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        query: &Q,
    ) -> Result<T, ApiError> {
        self.target
            .client
            .get(&self.url_with_query(segments, query)?)
            .await
    }

    pub async fn post<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T, ApiError> {
        self.target.client.post(&self.url(segments), body).await
    }

    pub async fn put<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        segments: &[&str],
        body: &B,
    ) -> Result<T, ApiError> {
        self.target.client.put(&self.url(segments), body).await
    }

    pub async fn delete<T: DeserializeOwned>(&self, segments: &[&str]) -> Result<T, ApiError> {
        self.target
            .client
            .call::<(), T>(Method::DELETE, &self.url(segments), None)
            .await
    }

    /// A raw answer (status, headers, body) for proxies and conditional requests.
    pub async fn raw<B: Serialize + ?Sized>(
        &self,
        method: Method,
        segments: &[&str],
        body: Option<&B>,
        headers: &[(&str, &str)],
    ) -> Result<Raw, ApiError> {
        self.target
            .client
            .raw(method, &self.url(segments), body, headers)
            .await
    }
}

/// A downstream JSON answer passed on to the caller byte for byte: what a proxy route of the
/// gateway answers when the client's wire type is the service's own, so that the body is
/// neither decoded nor encoded again (for a page of venues, that was a tenth of the gateway's
/// work). `T` is the wire type the body holds, for readers and for the OpenAPI document.
#[derive(Debug)]
pub struct Relayed<T> {
    body: bytes::Bytes,
    wire: std::marker::PhantomData<fn() -> T>,
}

impl<T> Relayed<T> {
    /// The body as received.
    pub fn body(&self) -> &[u8] {
        &self.body
    }
}

impl<T> axum::response::IntoResponse for Relayed<T> {
    fn into_response(self) -> axum::response::Response {
        (
            [(
                axum::http::header::CONTENT_TYPE,
                axum::http::HeaderValue::from_static("application/json"),
            )],
            self.body,
        )
            .into_response()
    }
}

impl Downstream {
    /// `GET` with a query, the 2xx answer relayed as is (see [`Relayed`]); any other answer
    /// is mapped as [`decode`] maps it.
    pub async fn relay_query<Q: Serialize + ?Sized, T>(
        &self,
        segments: &[&str],
        query: &Q,
    ) -> Result<Relayed<T>, ApiError> {
        let url = self.url_with_query(segments, query)?;
        let raw = self
            .target
            .client
            .raw::<()>(Method::GET, &url, None, &[])
            .await?;
        relay(&url, raw)
    }

    /// [`Downstream::relay_query`] without a query.
    pub async fn relay<T>(&self, segments: &[&str]) -> Result<Relayed<T>, ApiError> {
        self.relay_query(segments, &[] as &[(&str, &str)]).await
    }
}

/// A 2xx JSON answer as a [`Relayed`]; anything else mapped as [`decode`] maps it.
pub fn relay<T>(url: &str, raw: Raw) -> Result<Relayed<T>, ApiError> {
    let is_json = raw
        .headers
        .get(reqwest::header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if raw.status.is_success() && is_json {
        return Ok(Relayed {
            body: raw.body,
            wire: std::marker::PhantomData,
        });
    }
    if raw.status.is_success() {
        return Err(invalid_answer(url, &"not JSON"));
    }
    failure(url, raw)
}

fn invalid_answer(url: &str, error: &dyn std::fmt::Display) -> ApiError {
    tracing::error!(%url, %error, "undecodable answer");
    ApiError::bad_gateway(format!(
        "The {} service gave an invalid answer",
        service_name(url)
    ))
}

/// Maps a raw answer onto a decoded value or an [`ApiError`].
pub fn decode<T: DeserializeOwned>(url: &str, raw: Raw) -> Result<T, ApiError> {
    if raw.status.is_success() {
        return serde_json::from_slice(&raw.body).map_err(|e| invalid_answer(url, &e));
    }
    failure(url, raw)
}

/// The [`ApiError`] of a non-2xx answer.
fn failure<T>(url: &str, raw: Raw) -> Result<T, ApiError> {
    let target = service_name(url);
    if raw
        .headers
        .contains_key(crate::service::INTERNAL_TOKEN_REFUSED_HEADER)
    {
        // Callers never reach internal services directly: a refused internal token is a
        // configuration fault of ours, never the caller's.
        tracing::error!(%url, "internal call refused: check INTERNAL_TOKEN");
        return Err(ApiError::bad_gateway(format!(
            "The {target} service refused our credentials"
        )));
    }
    if raw.status.is_client_error() {
        let description = serde_json::from_slice::<Envelope>(&raw.body)
            .map(|e| e.description)
            .unwrap_or_else(|_| {
                raw.status
                    .canonical_reason()
                    .unwrap_or("Request failed")
                    .to_string()
            });
        return Err(ApiError::new(raw.status, description));
    }
    tracing::error!(%url, status = %raw.status, "downstream failure");
    Err(ApiError::bad_gateway(format!(
        "The {target} service failed"
    )))
}

fn transport_error(url: &str, e: reqwest::Error) -> ApiError {
    tracing::warn!(%url, error = %e, "downstream unreachable");
    ApiError::unavailable(format!(
        "The {} service is unavailable, try again later",
        service_name(url)
    ))
}

/// `http://users:8001/user/x` → `users`: names the service in error texts without leaking URLs.
fn service_name(url: &str) -> &str {
    let rest = url.split("://").nth(1).unwrap_or(url);
    let host = rest.split(['/', ':']).next().unwrap_or("downstream");
    if host.is_empty() || host.chars().next().is_some_and(|c| c.is_ascii_digit()) {
        "downstream"
    } else {
        host
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, content_type: &str, body: &str) -> Raw {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::CONTENT_TYPE, content_type.parse().unwrap());
        Raw {
            status: StatusCode::from_u16(status).unwrap(),
            headers,
            body: bytes::Bytes::from(body.to_string()),
        }
    }

    #[test]
    fn relays_json_as_is_and_maps_everything_else() {
        let url = "http://venues:8003/venues";
        let ok = relay::<()>(
            url,
            answer(200, "application/json", r#"{"total":0, "x":1}"#),
        )
        .unwrap();
        assert_eq!(ok.body(), br#"{"total":0, "x":1}"#);
        let not_json = relay::<()>(url, answer(200, "text/html", "<html>")).unwrap_err();
        assert_eq!(not_json.status, 502);
        let refused = relay::<()>(
            url,
            answer(
                422,
                "application/json",
                r#"{"description":"Invalid limit","endpoint":"/venues"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(
            (refused.status.as_u16(), refused.description.as_str()),
            (422, "Invalid limit")
        );
        let failed = relay::<()>(
            url,
            answer(500, "application/json", r#"{"description":"db"}"#),
        )
        .unwrap_err();
        assert_eq!(failed.status, 502);
        assert!(!failed.description.contains("db"));
    }

    #[test]
    fn ids_cannot_escape_their_segment() {
        let u = Downstream::new(Client::new(None), "http://users:8001/").unwrap();
        assert_eq!(
            u.url(&["user", "../permissions?x", "type"]),
            "http://users:8001/user/..%2Fpermissions%3Fx/type"
        );
        assert_eq!(u.url(&["users"]), "http://users:8001/users");
        let dots = u.url(&["user", "..", "type"]);
        assert!(dots.starts_with("http://users:8001/user/"), "{dots}");
        assert_eq!(
            u.url_with_query(
                &["venues"],
                &[
                    ("characteristics", "Pizzas"),
                    ("characteristics", "Sushi & co")
                ]
            )
            .unwrap(),
            "http://users:8001/venues?characteristics=Pizzas&characteristics=Sushi+%26+co"
        );
        assert!(Downstream::new(Client::new(None), "users:8001").is_err());
        assert!(Downstream::new(Client::new(None), "mailto:x@y").is_err());
    }

    #[test]
    fn names_the_service_from_the_url() {
        assert_eq!(service_name("http://users:8001/user/x"), "users");
        assert_eq!(service_name("http://127.0.0.1:8001/user/x"), "downstream");
    }

    fn raw(status: u16, body: &str) -> Raw {
        Raw {
            status: StatusCode::from_u16(status).unwrap(),
            headers: Default::default(),
            body: body.to_string().into(),
        }
    }

    #[test]
    fn maps_statuses() {
        let ok: serde_json::Value = decode("http://users/x", raw(200, "{\"a\":1}")).unwrap();
        assert_eq!(ok["a"], 1);
        let e = decode::<serde_json::Value>(
            "http://users/x",
            raw(
                404,
                r#"{"description":"User not found","endpoint":"/user/x"}"#,
            ),
        )
        .unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.description.as_str()),
            (404, "User not found")
        );
        let e = decode::<serde_json::Value>(
            "http://users/x",
            raw(401, r#"{"description":"Wrong password"}"#),
        )
        .unwrap_err();
        assert_eq!(
            (e.status.as_u16(), e.description.as_str()),
            (401, "Wrong password")
        );
        let mut refused = raw(401, "{}");
        refused.headers.insert(
            crate::service::INTERNAL_TOKEN_REFUSED_HEADER,
            "1".parse().unwrap(),
        );
        let e = decode::<serde_json::Value>("http://users/x", refused).unwrap_err();
        assert_eq!(
            e.status, 502,
            "a refused internal token is our fault, not the caller's"
        );
        let e = decode::<serde_json::Value>("http://users/x", raw(500, "boom")).unwrap_err();
        assert_eq!(e.status, 502);
        assert!(!e.description.contains("boom"));
        let e = decode::<serde_json::Value>("http://users/x", raw(200, "not json")).unwrap_err();
        assert_eq!(e.status, 502);
    }

    #[tokio::test]
    async fn refused_connection_is_503() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        let e = Client::new(None)
            .get::<serde_json::Value>(&format!("http://127.0.0.1:{port}/x"))
            .await
            .unwrap_err();
        assert_eq!(e.status, 503);
    }
}
