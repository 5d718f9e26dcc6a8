//! The OpenAPI document, the `/docs` page, and their agreement with `db_config.yaml` and
//! with what is actually served.

mod common;

use std::collections::BTreeSet;
use std::path::Path;

use chefcito::permissions::Permissions;
use common::*;
use gateway::openapi::{document, permission_entry, routes};
use reqwest::Method;

fn shipped_permissions() -> Permissions {
    Permissions::from_file(&Path::new(env!("CARGO_MANIFEST_DIR")).join("../../db_config.yaml"))
        .unwrap()
}

#[test]
fn db_config_has_an_entry_for_every_route_and_no_entry_for_nothing() {
    // The probes come from chefcito's `finish`, outside the guard: never in the table.
    let documented: BTreeSet<String> = routes(&document())
        .into_iter()
        .map(|(_, path)| permission_entry(&path))
        .filter(|path| path != "/health" && path != "/ready")
        .collect();
    let entries: BTreeSet<String> = shipped_permissions().endpoints.into_keys().collect();
    let missing: Vec<_> = documented.difference(&entries).collect();
    assert!(
        missing.is_empty(),
        "routes without a db_config.yaml entry: {missing:?}"
    );
    let stale: Vec<_> = entries.difference(&documented).collect();
    assert!(
        stale.is_empty(),
        "db_config.yaml entries naming no served path: {stale:?}"
    );
}

#[test]
fn the_document_lists_the_client_api() {
    let listed: BTreeSet<(&str, String)> = routes(&document()).into_iter().collect();
    for (method, path) in [
        ("POST", "/auth/signup"),
        ("POST", "/auth/signin"),
        ("POST", "/auth/refresh"),
        ("POST", "/auth/signout"),
        ("POST", "/users"),
        ("GET", "/users"),
        ("PUT", "/users"),
        ("GET", "/venue"),
        ("POST", "/venues"),
        ("GET", "/venues"),
        ("PUT", "/venues/{venue_id}"),
        ("DELETE", "/venues/{venue_id}"),
        ("GET", "/venues/near"),
        ("GET", "/venues/promotions"),
        ("POST", "/reservations"),
        ("GET", "/reservations"),
        ("GET", "/reservations/history"),
        ("GET", "/reservations/venue"),
        ("PUT", "/reservations/{reservation_id}"),
        ("DELETE", "/reservations/{reservation_id}"),
        ("POST", "/opinions"),
        ("GET", "/opinions"),
        ("GET", "/summaries/{venue_id}"),
        ("POST", "/summaries/{venue_id}"),
        ("GET", "/stats/venue/{venue_id}"),
        ("GET", "/stats/user/{user_id}"),
        ("GET", "/health"),
        ("GET", "/ready"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
    ] {
        assert!(
            listed.contains(&(method, path.to_string())),
            "{method} {path}"
        );
    }
}

#[tokio::test]
async fn every_documented_route_is_served() {
    let env = Env::start().await;
    for (method, path) in routes(&document()) {
        let method = Method::from_bytes(method.as_bytes()).unwrap();
        let (status, body) = env.call(method.clone(), &path, None, None).await;
        // A handler may answer 404 for an unknown id; the router's own 404 ("Not found")
        // or a 405 means the route is not served.
        let unrouted = status == 405 || (status == 404 && body["description"] == "Not found");
        assert!(
            !unrouted,
            "{method} {path} is documented but answers {status}: {body}"
        );
    }
}

#[tokio::test]
async fn openapi_json_is_the_document() {
    let env = Env::start().await;
    let (status, body) = env.get("/openapi.json", None).await;
    assert_eq!(status, 200);
    assert_eq!(body, serde_json::to_value(document()).unwrap());
    assert!(body["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(
        body["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
}

#[tokio::test]
async fn docs_is_swagger_ui_served_offline_from_our_document() {
    let env = Env::start().await;
    let response = env.http.get(env.url("/docs")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let html = response.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    assert!(html.contains("<base href=\"/docs/\">"));
    // Every asset the page loads is ours: nothing from a CDN.
    for external in ["http://", "https://"] {
        assert!(!html.contains(external), "{external}");
    }
    let init = env
        .http
        .get(env.url("/docs/swagger-initializer.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(init.status(), 200);
    assert!(init.text().await.unwrap().contains("/openapi.json"));
    let css = env
        .http
        .get(env.url("/docs/swagger-ui.css"))
        .send()
        .await
        .unwrap();
    assert_eq!(css.status(), 200);
    let missing = env.http.get(env.url("/docs/nope.js")).send().await.unwrap();
    assert_eq!(missing.status(), 404);
}

/// The vocabularies as the spec lists them (`original-venues-reservations-points.md` §2.2).
const SPEC_CHARACTERISTICS: &str = "Arepas, Cafeteria, Carnes, Comida Armenia, Comida China, Comida Japonesa, Comida Mexicana, Comida Vegana, Comida Vegetariana, Empanadas, Hamburguesas, Helados, Licuado y jugos, Lomitos, Milanesas, Panaderia, Panchos, Pasta, Pescado y mariscos, Picadas, Pizzas, Poke, Pollo, Postres, Saludable, Sushi, Sándwiches, Tartas, Tortillas, Woks, Wraps.";
const SPEC_FEATURES: &str = "Estacionamiento, Wifi, Mascotas, Aire libre, Veggie, Movilidad reducida, Musica en vivo, Area fumadores.";

#[test]
fn the_documented_vocabularies_are_the_specs() {
    use gateway::routes::schema::{CHARACTERISTICS, FEATURES};
    let words = |line: &'static str| -> Vec<&'static str> {
        line.trim_end_matches('.').split(", ").collect()
    };
    assert_eq!(CHARACTERISTICS.to_vec(), words(SPEC_CHARACTERISTICS));
    assert_eq!(FEATURES.to_vec(), words(SPEC_FEATURES));
    // Where the spec is checked out beside the repository, the lines above are still its own.
    let spec = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/spec/original-venues-reservations-points.md");
    if let Ok(text) = std::fs::read_to_string(spec) {
        assert!(text.contains(SPEC_CHARACTERISTICS) && text.contains(SPEC_FEATURES));
    }
    // And the document enumerates them where a venue's tags are read.
    let doc = serde_json::to_value(document()).unwrap();
    let fields = &doc["components"]["schemas"]["VenueFields"]["properties"];
    assert_eq!(
        fields["characteristics"]["items"]["enum"],
        serde_json::json!(CHARACTERISTICS)
    );
    assert_eq!(
        fields["features"]["items"]["enum"],
        serde_json::json!(FEATURES)
    );
}

#[test]
fn the_document_states_the_enforced_bounds() {
    let doc = serde_json::to_value(document()).unwrap();
    let schemas = &doc["components"]["schemas"];
    let people = &schemas["Booking"]["properties"]["people"];
    assert_eq!(
        (&people["minimum"], &people["maximum"]),
        (&1.into(), &1000.into())
    );
    let lead = &schemas["VenueFields"]["properties"]["reservationLeadTime"];
    assert_eq!(
        (&lead["minimum"], &lead["maximum"]),
        (&0.into(), &365.into())
    );
    // Both keys of a profile update are required, and each may be null.
    let update = &schemas["ProfileUpdate"];
    assert_eq!(update["required"], serde_json::json!(["name", "phone"]));
    assert_eq!(
        update["properties"]["name"]["type"],
        serde_json::json!(["string", "null"])
    );
    let password = &schemas["Credentials"]["properties"]["password"];
    assert_eq!(
        (&password["minLength"], &password["maxLength"]),
        (&8.into(), &128.into())
    );
    let near = &doc["paths"]["/venues/near"]["get"]["parameters"][0];
    assert_eq!(near["name"], "location");
    assert_eq!(
        (&near["schema"]["minItems"], &near["schema"]["maxItems"]),
        (&2.into(), &2.into())
    );
    let id = &doc["paths"]["/stats/user/{user_id}"]["get"]["parameters"][0]["schema"];
    assert_eq!(id["pattern"], gateway::routes::schema::ID_PATTERN);
    assert_eq!(
        (&id["minLength"], &id["maxLength"]),
        (&1.into(), &128.into())
    );
}
