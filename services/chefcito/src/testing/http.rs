//! Calling an `app()` in-process, as every service's tests do: the request with the internal
//! token, the answer with its JSON body read.

use axum::Router;
use axum::body::Body;
use axum::http::{HeaderMap, Method, Request, StatusCode};
use serde_json::Value;
use tower::ServiceExt;

use crate::INTERNAL_TOKEN_HEADER;

/// The internal token the services' tests configure.
pub const TOKEN: &str = "t";

/// A response, its JSON body read (`Null` when empty or not JSON).
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Value,
    /// The body as it came.
    pub raw: Vec<u8>,
}

impl Answer {
    /// The body as text, exactly as it came (byte-exact checks of a wire format).
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }

    /// The error envelope's `description`.
    #[track_caller]
    pub fn description(&self) -> &str {
        self.body["description"]
            .as_str()
            .unwrap_or_else(|| panic!("no description in {self:?}"))
    }

    /// The `id` of a 200 answer.
    #[track_caller]
    pub fn id(&self) -> String {
        assert_eq!(self.status, 200, "{self:?}");
        self.body["id"].as_str().unwrap().to_string()
    }

    /// The ids of a 200 listing's `result`: of each entry, or of its `venue` when it has one
    /// (`{venue, distance}` entries).
    #[track_caller]
    pub fn ids(&self) -> Vec<String> {
        assert_eq!(self.status, 200, "{self:?}");
        self.body["result"]
            .as_array()
            .unwrap_or_else(|| panic!("no result list in {self:?}"))
            .iter()
            .map(|r| {
                let r = if r["venue"].is_object() {
                    &r["venue"]
                } else {
                    r
                };
                r["id"].as_str().unwrap().to_string()
            })
            .collect()
    }

    /// The `total` of a 200 listing.
    #[track_caller]
    pub fn total(&self) -> i64 {
        assert_eq!(self.status, 200, "{self:?}");
        self.body["total"]
            .as_i64()
            .unwrap_or_else(|| panic!("no total in {self:?}"))
    }
}

/// `answer` is an error with `status` whose description contains `text`.
#[track_caller]
pub fn assert_refused(answer: &Answer, status: u16, text: &str) {
    assert_eq!(answer.status, status, "{answer:?}");
    assert!(
        answer.description().contains(text),
        "not {text:?}: {answer:?}"
    );
}

/// `request` through `app`, as it is.
pub async fn send(app: &Router, request: Request<Body>) -> Answer {
    let response = app.clone().oneshot(request).await.unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let raw = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .unwrap()
        .to_vec();
    Answer {
        status,
        headers,
        body: serde_json::from_slice(&raw).unwrap_or(Value::Null),
        raw,
    }
}

/// `method path` with the internal token and `body` sent as JSON.
pub async fn call_raw(app: &Router, method: Method, path: &str, body: impl Into<Body>) -> Answer {
    let request = Request::builder()
        .method(method)
        .uri(path)
        .header(INTERNAL_TOKEN_HEADER, TOKEN)
        .header("content-type", "application/json")
        .body(body.into())
        .unwrap();
    send(app, request).await
}

/// [`call_raw`] with a JSON value (`None`: no body).
pub async fn call(app: &Router, method: Method, path: &str, body: Option<Value>) -> Answer {
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    call_raw(app, method, path, body).await
}
