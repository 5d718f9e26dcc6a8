//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes (Swagger
//! UI at `/docs` reads it).

use utoipa::openapi::security::{Http, HttpAuthScheme, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, PathItem};
use utoipa::{Modify, OpenApi};

/// The document's fixed part: info, security scheme, the standard service routes.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Chefcito gateway",
        description = "The public API of Chefcito. Errors answer `{\"description\", \"endpoint\"}`. \
                       Send `Authorization: Bearer <ID token>`; without it you are the anonymous user."
    ),
    paths(health, ready),
    modifiers(&BearerAuth),
    tags(
        (name = "auth", description = "Accounts and sessions of the embedded identity provider"),
        (name = "users", description = "The signed-in user's profile"),
        (name = "venues", description = "Restaurants' venues: the catalogue, near me, promotions, a restaurant's own"),
        (name = "reservations", description = "Bookings and their life: accept, cancel, check in, no-show, edit"),
        (name = "opinions", description = "Diners' reviews of their visits"),
        (name = "summaries", description = "One paragraph about each venue, from its reviews"),
        (name = "stats", description = "A restaurant's dashboard and diners' reliability"),
        (name = "docs", description = "This documentation"),
        (name = "service", description = "Probes"),
    )
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Liveness: answers as long as the process serves requests.
#[utoipa::path(get, path = "/health", tag = "service",
    responses((status = 200, description = "`{\"status\": \"ok\", \"service\": \"gateway\"}`")))]
#[allow(dead_code)] // documents the route `chefcito::service::finish` adds
fn health() {}

/// Readiness: answers 200 when the gateway can serve.
#[utoipa::path(get, path = "/ready", tag = "service",
    responses((status = 200, description = "`{\"status\": \"ready\"}`")))]
#[allow(dead_code)] // documents the route `chefcito::service::finish` adds
fn ready() {}

/// The complete document, as `/openapi.json` serves it.
pub fn document() -> Document {
    crate::routes::router().into_openapi()
}

/// The permission table entry that governs an OpenAPI path: `/x/{id}` → `/x/param`.
pub fn permission_entry(template: &str) -> String {
    template
        .split('/')
        .map(|s| {
            if s.starts_with('{') && s.ends_with('}') {
                "param"
            } else {
                s
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn operations(
    item: &PathItem,
) -> impl Iterator<Item = (&'static str, &utoipa::openapi::path::Operation)> {
    [
        ("GET", &item.get),
        ("POST", &item.post),
        ("PUT", &item.put),
        ("PATCH", &item.patch),
        ("DELETE", &item.delete),
        ("HEAD", &item.head),
        ("OPTIONS", &item.options),
        ("TRACE", &item.trace),
    ]
    .into_iter()
    .filter_map(|(method, op)| op.as_ref().map(|op| (method, op)))
}

/// Every `(method, path)` the document lists.
pub fn routes(document: &Document) -> Vec<(&'static str, String)> {
    document
        .paths
        .paths
        .iter()
        .flat_map(|(path, item)| operations(item).map(move |(m, _)| (m, path.clone())))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_map_to_param_entries() {
        assert_eq!(permission_entry("/venues/{id}"), "/venues/param");
        assert_eq!(permission_entry("/users"), "/users");
    }
}
