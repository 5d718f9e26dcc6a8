//! The OpenAPI document, generated from the handlers' `#[utoipa::path]` attributes, and the
//! `/docs` page rendered from it on the server (the machines are offline: no external
//! JavaScript or CSS).

use std::fmt::Write;

use chefcito::permissions::{Table, UserType};
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

fn who_may_call(table: Option<&Table>, path: &str, needs_token: bool) -> String {
    let Some(table) = table else {
        return "unknown (permissions are not loaded yet)".into();
    };
    let entry = permission_entry(path);
    let types: Vec<UserType> = UserType::ALL
        .into_iter()
        .filter(|t| table.allows(&entry, *t))
        .collect();
    let who = match types.as_slice() {
        [] => "nobody (no permission entry)".to_string(),
        all if all.len() == UserType::ALL.len() => "everyone".to_string(),
        some => some
            .iter()
            .map(|t| t.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    };
    if needs_token {
        format!("{who}; with a valid ID token")
    } else {
        who
    }
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:sans-serif;max-width:60em;margin:2em auto;padding:0 1em}\
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:.4em;text-align:left;vertical-align:top}\
code{background:#f4f4f4}.m{font-weight:bold;font-family:monospace}";

/// The human-readable page: one row per operation, with who may call it under `table`.
pub fn render_html(document: &Document, table: Option<&Table>) -> String {
    let title = escape(&document.info.title);
    let mut html = format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <style>{STYLE}</style></head><body><h1>{title}</h1>"
    );
    if let Some(description) = &document.info.description {
        let _ = write!(html, "<p>{}</p>", escape(description));
    }
    html.push_str(
        "<p>Machine-readable: <a href=\"/openapi.json\">/openapi.json</a>.</p>\
         <table><tr><th>Method</th><th>Path</th><th>What it does</th><th>Who may call it</th></tr>",
    );
    for (path, item) in &document.paths.paths {
        for (method, op) in operations(item) {
            let needs_token = op.security.as_ref().is_some_and(|s| !s.is_empty());
            let mut what = escape(op.summary.as_deref().unwrap_or(""));
            if let Some(description) = &op.description {
                let _ = write!(what, "<br><small>{}</small>", escape(description));
            }
            let _ = write!(
                html,
                "<tr><td class=\"m\">{method}</td><td><code>{}</code></td><td>{what}</td><td>{}</td></tr>",
                escape(path),
                escape(&who_may_call(table, path, needs_token)),
            );
        }
    }
    html.push_str("</table></body></html>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;
    use chefcito::permissions::Permissions;

    #[test]
    fn templates_map_to_param_entries() {
        assert_eq!(permission_entry("/venues/{id}"), "/venues/param");
        assert_eq!(permission_entry("/users"), "/users");
    }

    #[test]
    fn page_lists_every_operation_with_its_callers() {
        let d = document();
        let table = Table::new(
            &Permissions::from_yaml(
                "endpoints:\n  - name: /users\n    allowed: [client, restaurant]\n  - name: /docs\n    allowed: [anonymous]\n",
            )
            .unwrap(),
        );
        let html = render_html(&d, Some(&table));
        for (method, path) in routes(&d) {
            assert!(
                html.contains(&format!(
                    "<td class=\"m\">{method}</td><td><code>{path}</code>"
                )),
                "{method} {path}"
            );
        }
        assert!(html.contains("client, restaurant; with a valid ID token"));
        assert!(html.contains("Register the signed-in user&#39;s profile"));
        assert!(!html.contains("<script"));
    }

    #[test]
    fn escapes_html() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }
}
