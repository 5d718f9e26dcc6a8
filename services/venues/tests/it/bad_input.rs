//! Bad input: each case gets a clear 4xx, never a 5xx, and changes nothing.

use axum::http::Method;
use serde_json::{Value, json};

use crate::common::*;

/// Nothing was stored under `id`.
async fn assert_absent(s: &Service, id: &str) {
    assert_eq!(get(&s.app, &format!("/venues/{id}")).await.status, 404);
}

/// Venue `v1` is still exactly `before`.
async fn assert_unchanged(s: &Service, before: &Value) {
    assert_eq!(&get(&s.app, "/venues/v1").await.body, before);
}

fn with(field: &str, value: Value) -> Value {
    let mut body = venue_body("v1", "Lo de Ana");
    body[field] = value;
    body
}

#[tokio::test]
async fn unknown_characteristic_is_422() {
    let s = service().await;
    let answer = post(
        &s.app,
        "/venues",
        with("characteristics", json!(["Pizzas", "Sushis"])),
    )
    .await;
    assert_refused(&answer, 422, "Invalid characteristic: Sushis");
    assert_eq!(answer.body["endpoint"], "/venues");
    assert_absent(&s, "v1").await;
}

#[tokio::test]
async fn unknown_feature_is_422_even_behind_a_flag() {
    let s = service().await;
    let before = create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let answer = put(
        &s.app,
        "/venues/v1",
        json!({"close": true, "features": ["wifi"]}),
    )
    .await;
    assert_refused(&answer, 422, "Invalid feature: wifi");
    assert_unchanged(&s, &before).await;
}

#[tokio::test]
async fn unknown_tag_in_a_query_is_422() {
    let s = service().await;
    let answer = get(&s.app, "/venues?characteristic=Pizza").await;
    assert_refused(&answer, 422, "Invalid characteristic: Pizza");
    let answer = get(&s.app, "/venues?features=Pileta").await;
    assert_refused(&answer, 422, "Invalid feature: Pileta");
}

#[tokio::test]
async fn negative_limit_is_422() {
    let s = service().await;
    let answer = get(&s.app, "/venues?limit=-1").await;
    assert_refused(
        &answer,
        422,
        "Invalid limit: \"-1\" must be a whole number from 0 to 100000",
    );
    assert_eq!(get(&s.app, "/venues/near?limit=-3").await.status, 422);
}

#[tokio::test]
async fn limit_above_100000_is_422() {
    let s = service().await;
    assert_eq!(get(&s.app, "/venues?limit=100001").await.status, 422);
    assert_eq!(get(&s.app, "/venues?limit=ten").await.status, 422);
}

#[tokio::test]
async fn negative_start_is_422() {
    let s = service().await;
    let answer = get(&s.app, "/venues?start=-10").await;
    assert_refused(
        &answer,
        422,
        "Invalid start: \"-10\" must be a whole number, 0 or more",
    );
}

/// The original's text for the query keys it declared and never implemented; checked before
/// the lookup by id.
#[tokio::test]
async fn unsupported_query_keys_are_400() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    for key in [
        "location",
        "capacity",
        "logo",
        "pictures",
        "slots",
        "vacations",
        "reservationLeadTime",
        "menu",
    ] {
        let answer = get(&s.app, &format!("/venues?id=v1&{key}=1")).await;
        assert_refused(
            &answer,
            400,
            "Capacity, location, logo, pictures, menu and slots query not implemented",
        );
    }
}

#[tokio::test]
async fn location_not_given_twice_is_422() {
    let s = service().await;
    for query in ["location=1", "location=1&location=2&location=3"] {
        let answer = get(&s.app, &format!("/venues/near?{query}")).await;
        assert_eq!(answer.status, 422, "{query}: {answer:?}");
        assert!(
            answer.description().starts_with("Invalid location"),
            "{answer:?}"
        );
    }
}

#[tokio::test]
async fn coordinates_that_are_not_numbers_are_422() {
    let s = service().await;
    let answer = get(&s.app, "/venues/near?location=abc&location=-58.4").await;
    assert_refused(&answer, 422, "Invalid latitude: abc");
    let answer = get(&s.app, "/venues/near?location=-34.6&location=oeste").await;
    assert_refused(&answer, 422, "Invalid longitude: oeste");
}

#[tokio::test]
async fn coordinates_out_of_range_are_422() {
    let s = service().await;
    let answer = get(&s.app, "/venues/near?location=90.5&location=0").await;
    assert_refused(&answer, 422, "Invalid latitude: 90.5");
    let answer = get(&s.app, "/venues/near?location=0&location=-181").await;
    assert_refused(&answer, 422, "Invalid longitude: -181");
    assert_eq!(
        get(&s.app, "/venues/near?location=NaN&location=0")
            .await
            .status,
        422
    );
}

#[tokio::test]
async fn negative_max_distance_is_422() {
    let s = service().await;
    let answer = get(&s.app, "/venues/near?max_distance=-1").await;
    assert_eq!(answer.status, 422, "{answer:?}");
    assert_eq!(
        get(&s.app, "/venues/near?max_distance=far").await.status,
        422
    );
}

#[tokio::test]
async fn over_long_name_is_400() {
    let s = service().await;
    let answer = post(&s.app, "/venues", with("name", json!("x".repeat(201)))).await;
    assert_refused(&answer, 400, "Invalid name: at most 200 characters");
    assert_absent(&s, "v1").await;
    // 200 accented characters are fine: characters, not bytes.
    let fine = post(&s.app, "/venues", with("name", json!("ñ".repeat(200)))).await;
    assert_eq!(fine.status, 200);
}

#[tokio::test]
async fn over_long_url_is_400() {
    let s = service().await;
    let answer = post(
        &s.app,
        "/venues",
        with("pictures", json!(["x".repeat(2049)])),
    )
    .await;
    assert_refused(&answer, 400, "Invalid pictures: at most 2048 characters");
    assert_absent(&s, "v1").await;
}

#[tokio::test]
async fn control_characters_are_400() {
    let s = service().await;
    let before = create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let answer = put(&s.app, "/venues/v1", json!({"name": "Lo de\nAna"})).await;
    assert_refused(
        &answer,
        400,
        "Invalid name: control characters are not allowed",
    );
    let answer = put(
        &s.app,
        "/venues/v1",
        json!({"location": "-34.6,\u{0}-58.4"}),
    )
    .await;
    assert_refused(
        &answer,
        400,
        "Invalid location: control characters are not allowed",
    );
    assert_unchanged(&s, &before).await;
}

#[tokio::test]
async fn negative_capacity_is_400() {
    let s = service().await;
    let answer = post(&s.app, "/venues", with("capacity", json!(-1))).await;
    assert_refused(&answer, 400, "Invalid capacity: it must be 0 or more");
    assert_absent(&s, "v1").await;
    let huge = post(&s.app, "/venues", with("capacity", json!(100_001))).await;
    assert_refused(&huge, 400, "Invalid capacity: at most 100000");
}

#[tokio::test]
async fn negative_lead_time_is_400() {
    let s = service().await;
    let before = create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let answer = put(&s.app, "/venues/v1", json!({"reservationLeadTime": -2})).await;
    assert_refused(
        &answer,
        400,
        "Invalid reservationLeadTime: it must be 0 or more",
    );
    assert_unchanged(&s, &before).await;
}

#[tokio::test]
async fn too_many_pictures_is_400() {
    let s = service().await;
    let pictures: Vec<String> = (0..31)
        .map(|i| format!("https://p.example.com/{i}.jpg"))
        .collect();
    let answer = post(&s.app, "/venues", with("pictures", json!(pictures))).await;
    assert_refused(&answer, 400, "Too many pictures: at most 30");
    assert_absent(&s, "v1").await;
}

#[tokio::test]
async fn too_many_slots_is_400() {
    let s = service().await;
    let slots: Vec<String> = (0..337)
        .map(|i| format!("2024-12-11T{:02}:{:02}:00Z", (i / 60) % 24, i % 60))
        .collect();
    let answer = post(&s.app, "/venues", with("slots", json!(slots))).await;
    assert_refused(&answer, 400, "Too many slots: at most 336");
    assert_absent(&s, "v1").await;
}

#[tokio::test]
async fn a_bad_datetime_is_422() {
    let s = service().await;
    let answer = post(&s.app, "/venues", with("vacations", json!(["mañana"]))).await;
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(
        answer
            .description()
            .starts_with("Invalid vacations: \"mañana\""),
        "{answer:?}"
    );
    assert_absent(&s, "v1").await;
}

#[tokio::test]
async fn malformed_json_is_422() {
    let s = service().await;
    let answer = call_text(&s.app, Method::POST, "/venues", r#"{"id": "v1", "name": "#).await;
    assert_eq!(answer.status, 422, "{answer:?}");
    assert!(
        answer.description().starts_with("Malformed JSON"),
        "{answer:?}"
    );
    let wrong_type = post(&s.app, "/venues", with("capacity", json!("many"))).await;
    assert_eq!(wrong_type.status, 422, "{wrong_type:?}");
    let empty = call_text(&s.app, Method::PUT, "/venues/v1", "").await;
    assert_eq!(empty.status, 422);
    assert_absent(&s, "v1").await;
}

#[tokio::test]
async fn missing_id_or_name_is_422() {
    let s = service().await;
    let no_id = post(&s.app, "/venues", json!({"name": "Lo de Ana"})).await;
    assert_eq!(no_id.status, 422, "{no_id:?}");
    assert!(
        no_id.description().contains("missing field `id`"),
        "{no_id:?}"
    );
    let no_name = post(&s.app, "/venues", json!({"id": "v1"})).await;
    assert_refused(&no_name, 422, "Invalid request body: missing field `name`");
    assert_absent(&s, "v1").await;
}

#[tokio::test]
async fn an_unusable_id_is_400() {
    let s = service().await;
    for id in ["a/b", "a b", "near", "promotions", &"x".repeat(129)] {
        let answer = post(&s.app, "/venues", venue_body(id, "Lo de Ana")).await;
        assert_eq!(answer.status, 400, "{id:?}: {answer:?}");
        assert!(answer.description().starts_with("Invalid id"), "{answer:?}");
    }
    assert_eq!(get(&s.app, "/venues").await.total(), 0);
}

#[tokio::test]
async fn unknown_venue_on_put_is_404() {
    let s = service().await;
    let answer = put(&s.app, "/venues/ghost", json!({"name": "Boo"})).await;
    assert_refused(&answer, 404, "Venue does not exist");
    let flag = put(&s.app, "/venues/ghost", json!({"open": true})).await;
    assert_eq!(flag.status, 404);
    assert_absent(&s, "ghost").await;
}

#[tokio::test]
async fn duplicate_id_is_409() {
    let s = service().await;
    let first = create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let answer = post(&s.app, "/venues", venue_body("v1", "Impostor")).await;
    assert_refused(&answer, 409, "Venue already exists");
    assert_unchanged(&s, &first).await;
    assert_eq!(get(&s.app, "/venues?name=Impostor").await.total(), 0);
}

#[tokio::test]
async fn refuses_calls_without_the_internal_token() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    chefcito::testing::assert_internal(
        s.app.clone(),
        &[
            (Method::POST, "/venues"),
            (Method::GET, "/venues"),
            (Method::GET, "/venues/v1"),
            (Method::PUT, "/venues/v1"),
            (Method::DELETE, "/venues/v1"),
            (Method::GET, "/venues/near"),
            (Method::GET, "/venues/promotions"),
        ],
    )
    .await;
    assert_eq!(
        status_of(&s.app, "v1").await,
        "Available",
        "the refused DELETE did nothing"
    );
}
