//! A wrong method on a served path is 405, whoever calls: checked before identity and
//! permissions, so that a client learns its mistake instead of a misleading 401/403.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{MatchedPath, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chefcito::ApiError;
use utoipa::openapi::OpenApi;

/// The methods each route template serves, as the OpenAPI document declares them.
#[derive(Debug, Default)]
pub struct Methods(HashMap<String, Vec<Method>>);

impl Methods {
    pub fn of(document: &OpenApi) -> Methods {
        let mut map: HashMap<String, Vec<Method>> = HashMap::new();
        for (method, path) in crate::openapi::routes(document) {
            if let Ok(method) = method.parse() {
                map.entry(path).or_default().push(method);
            }
        }
        Methods(map)
    }

    /// `Err(allow)` when `path` is served but not with `method`.
    fn check(&self, path: &str, method: &Method) -> Result<(), String> {
        let serves = |served: &[Method]| {
            served.contains(method) || (method == Method::HEAD && served.contains(&Method::GET))
        };
        match self.0.get(path) {
            Some(served) if !serves(served) => Err(served
                .iter()
                .map(Method::as_str)
                .collect::<Vec<_>>()
                .join(", ")),
            _ => Ok(()),
        }
    }
}

/// Route layer (runs only on matched paths), outside the permission guard.
pub async fn allowed(State(methods): State<Arc<Methods>>, req: Request, next: Next) -> Response {
    let path = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    if let Some(path) = path
        && let Err(allow) = methods.check(&path, req.method())
    {
        let mut response = ApiError::new(
            StatusCode::METHOD_NOT_ALLOWED,
            format!("Method not allowed on this path: use {allow}"),
        )
        .into_response();
        if let Ok(value) = HeaderValue::from_str(&allow) {
            response.headers_mut().insert(header::ALLOW, value);
        }
        return response;
    }
    next.run(req).await
}
