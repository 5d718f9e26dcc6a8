//! `/openapi.json` and `/docs`: the API as the code declares it.

use std::sync::Arc;

use axum::Extension;
use axum::extract::State;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use utoipa::openapi::OpenApi;

/// The OpenAPI 3.1 document of this gateway.
#[utoipa::path(get, path = "/openapi.json", tag = "docs",
    responses((status = 200, description = "The OpenAPI document", content_type = "application/json")))]
pub async fn openapi_json(Extension(document): Extension<Arc<OpenApi>>) -> impl IntoResponse {
    let json = document.to_json().unwrap_or_else(|_| "{}".to_string());
    ([(header::CONTENT_TYPE, "application/json")], json)
}

/// This page: every endpoint, what it does and who may call it.
#[utoipa::path(get, path = "/docs", tag = "docs",
    responses((status = 200, description = "An HTML page", content_type = "text/html")))]
pub async fn page(
    State(state): State<crate::State>,
    Extension(document): Extension<Arc<OpenApi>>,
) -> Html<String> {
    Html(crate::openapi::render_html(
        &document,
        state.permissions.table().as_deref(),
    ))
}
