//! `/openapi.json` and `/docs`: the API as the code declares it, and Swagger UI to try it.
//!
//! Swagger UI's assets are embedded in the binary at build time (`utoipa-swagger-ui` with its
//! `vendored` feature): the page works offline, with no CDN.

use std::sync::{Arc, LazyLock};

use axum::Extension;
use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use chefcito::ApiError;
use utoipa::openapi::OpenApi;
use utoipa_swagger_ui::Config;

/// The OpenAPI 3.1 document of this gateway.
#[utoipa::path(get, path = "/openapi.json", tag = "docs",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi_json(Extension(document): Extension<Arc<OpenApi>>) -> impl IntoResponse {
    let json = document.to_json().unwrap_or_else(|_| "{}".to_string());
    ([(header::CONTENT_TYPE, "application/json")], json)
}

/// Swagger UI reading `/openapi.json`: every endpoint, and a form to try each one.
#[utoipa::path(get, path = "/docs", tag = "docs",
    responses((status = 200, description = "An HTML page", content_type = "text/html")))]
pub async fn page() -> Result<Response, ApiError> {
    swagger_file("index.html")
}

/// The Swagger UI page's own files (scripts, styles, its initialiser).
#[utoipa::path(get, path = "/docs/{file}", tag = "docs",
    params(("file" = String, Path, description = "e.g. `swagger-ui.css`")),
    responses(
        (status = 200, description = "The file"),
        (status = 404, description = "No such file", body = chefcito::error::Envelope),
    ))]
pub async fn asset(Path(file): Path<String>) -> Result<Response, ApiError> {
    swagger_file(&file)
}

static CONFIG: LazyLock<Arc<Config<'static>>> =
    LazyLock::new(|| Arc::new(Config::from("/openapi.json")));

fn swagger_file(name: &str) -> Result<Response, ApiError> {
    let file = utoipa_swagger_ui::serve(name, CONFIG.clone())
        .map_err(|e| ApiError::internal(anyhow::anyhow!("swagger ui: {e}")))?
        .ok_or_else(|| ApiError::not_found("No such documentation file"))?;
    let mut bytes = file.bytes.into_owned();
    if name == "index.html" {
        // Served at `/docs` (no trailing slash), the page's relative asset links must resolve
        // under `/docs/`.
        let html =
            String::from_utf8_lossy(&bytes).replacen("<head>", "<head><base href=\"/docs/\">", 1);
        bytes = html.into_bytes();
    }
    let mut response = bytes.into_response();
    let content_type = HeaderValue::from_str(&file.content_type)
        .unwrap_or(HeaderValue::from_static("application/octet-stream"));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, content_type);
    if file.gzpipped {
        response
            .headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
    }
    Ok(response)
}
