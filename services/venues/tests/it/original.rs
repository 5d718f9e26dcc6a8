//! The original project's venue tests (`original-venues-reservations-points.md` §4), ported
//! with the production semantics the spec adopts (contain-all, true totals).

use serde_json::json;

use crate::common::*;

/// `test_new_venue_is_open`.
#[tokio::test]
async fn new_venue_is_open() {
    let s = service().await;
    let venue = create(&s.app, "v1", "Lo de Ana", json!({})).await;
    assert_eq!(venue["status"], json!({"status": "Available"}));
    assert_eq!(status_of(&s.app, "v1").await, "Available");
}

/// `test_closing_a_venue_changes_status_to_closed`.
#[tokio::test]
async fn closing_a_venue_changes_status_to_closed() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let closed = put(&s.app, "/venues/v1", json!({"close": true})).await;
    assert_eq!(closed.body["status"]["status"], "Closed", "{closed:?}");
    assert_eq!(status_of(&s.app, "v1").await, "Closed");
}

/// `test_opening_a_closed_venue_changes_status_to_open`.
#[tokio::test]
async fn opening_a_closed_venue_changes_status_to_open() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    put(&s.app, "/venues/v1", json!({"close": true})).await;
    let opened = put(&s.app, "/venues/v1", json!({"open": true})).await;
    assert_eq!(opened.body["status"]["status"], "Available");
    assert_eq!(status_of(&s.app, "v1").await, "Available");
}

/// `test_updating_a_venue_changes_its_attributes`: all eleven fields, lists replaced whole.
#[tokio::test]
async fn updating_a_venue_changes_its_attributes() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let update = json!({
        "name": "Lo de Beto",
        "location": "-34.5,-58.5",
        "capacity": 12,
        "logo": "https://storage.example.com/new-logo.png",
        "pictures": ["https://storage.example.com/a.jpg", "https://storage.example.com/b.jpg"],
        "slots": ["2024-12-12T23:00:00.000Z"],
        "characteristics": ["Sushi"],
        "features": ["Mascotas", "Aire libre"],
        "vacations": ["2025-01-01T00:00:00Z", "2025-01-02T00:00:00Z"],
        "reservationLeadTime": 3,
        "menu": "https://storage.example.com/new-menu.pdf"
    });
    let answer = put(&s.app, "/venues/v1", update).await;
    let expected = json!({
        "id": "v1",
        "name": "Lo de Beto",
        "location": "-34.5,-58.5",
        "capacity": 12,
        "logo": "https://storage.example.com/new-logo.png",
        "pictures": ["https://storage.example.com/a.jpg", "https://storage.example.com/b.jpg"],
        "slots": ["2024-12-12T23:00:00"],
        "characteristics": ["Sushi"],
        "features": ["Mascotas", "Aire libre"],
        "vacations": ["2025-01-01T00:00:00", "2025-01-02T00:00:00"],
        "reservationLeadTime": 3,
        "menu": "https://storage.example.com/new-menu.pdf",
        "status": {"status": "Unconfirmed"}
    });
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, expected);
    assert_eq!(get(&s.app, "/venues/v1").await.body, expected);
}

/// `test_occupying_a_venue_changes_status_to_occupied`.
#[tokio::test]
async fn occupying_a_venue_changes_status_to_occupied() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let answer = put(&s.app, "/venues/v1", json!({"occupy": true})).await;
    assert_eq!(answer.body["status"]["status"], "Occupied");
    assert_eq!(status_of(&s.app, "v1").await, "Occupied");
}

/// `test_the_venue_can_close_through_an_update`: the flag wins and the fields are ignored.
#[tokio::test]
async fn the_venue_can_close_through_an_update() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let answer = put(
        &s.app,
        "/venues/v1",
        json!({"close": true, "name": "Ignored", "capacity": 3}),
    )
    .await;
    assert_eq!(answer.body["status"]["status"], "Closed");
    let stored = get(&s.app, "/venues/v1").await.body;
    assert_eq!(
        (stored["name"].as_str(), stored["capacity"].as_i64()),
        (Some("Lo de Ana"), Some(40))
    );
}

/// `test_a_new_venue_has_no_id` / `test_a_schema_has_an_id`: `""` asks for an id.
#[tokio::test]
async fn an_empty_id_gets_a_generated_one() {
    let s = service().await;
    let first = create(&s.app, "", "Sin dueño", json!({})).await;
    let second = create(&s.app, "", "Sin dueño", json!({})).await;
    let id = first["id"].as_str().unwrap();
    assert_eq!(id.len(), 36, "a UUID: {id}");
    assert_ne!(first["id"], second["id"]);
    assert_eq!(get(&s.app, &format!("/venues/{id}")).await.body, first);
}

/// `test_after_persisting_a_venue_it_can_be_recovered_with_its_id` and
/// `test_venue_persistance`.
#[tokio::test]
async fn after_persisting_a_venue_it_can_be_recovered_with_its_id() {
    let s = service().await;
    let created = create(
        &s.app,
        "uC4M1ItQEgYLoeb1taxY3co6XED2",
        "Lo de Ana",
        json!({}),
    )
    .await;
    let read = get(&s.app, "/venues/uC4M1ItQEgYLoeb1taxY3co6XED2").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, created);
    // The reservations service and the apps read it through the list as well (E8).
    let listed = get(
        &s.app,
        "/venues?limit=10&start=0&id=uC4M1ItQEgYLoeb1taxY3co6XED2",
    )
    .await;
    assert_eq!(listed.body, json!({"result": [created], "total": 1}));
}

/// `test_after_deleting_a_venue_it_can_no_longer_be_recovered` and `test_venue_deletion`.
#[tokio::test]
async fn after_deleting_a_venue_it_can_no_longer_be_recovered() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    create(&s.app, "v2", "Lo de Beto", json!({})).await;
    let deleted = delete(&s.app, "/venues/v1").await;
    assert_eq!(
        (deleted.status.as_u16(), &deleted.body),
        (200, &json!(null))
    );
    let read = get(&s.app, "/venues/v1").await;
    assert_refused(&read, 404, "Venue does not exist");
    assert_eq!(
        get(&s.app, "/venues?id=v1").await.body,
        json!({"result": [], "total": 0})
    );
    assert_eq!(get(&s.app, "/venues").await.ids(), ["v2"]);
    assert_eq!(get(&s.app, "/venues/near").await.ids(), ["v2"]);
    // Idempotent: gone is gone.
    let again = delete(&s.app, "/venues/v1").await;
    assert_eq!((again.status.as_u16(), &again.body), (200, &json!(null)));
    assert_eq!(delete(&s.app, "/venues/never-was").await.status, 200);
}

/// `test_venue_update`.
#[tokio::test]
async fn venue_update_is_persisted() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    put(&s.app, "/venues/v1", json!({"name": "Lo de Ana y Beto"})).await;
    let read = get(&s.app, "/venues/v1").await;
    assert_eq!(read.body["name"], "Lo de Ana y Beto");
    assert_eq!(read.body["capacity"], 40, "other fields kept");
}

/// `test_venue_ranking_by_distance`: five venues on a diagonal south-west of the default
/// point, created shuffled, come back nearest first.
#[tokio::test]
async fn venue_ranking_by_distance() {
    let s = service().await;
    let (lat, lon) = (-34.594174, -58.4566507);
    let location = |i: u32| {
        format!(
            "{},{}",
            lat - 0.01 * f64::from(i),
            lon - 0.01 * f64::from(i)
        )
    };
    for i in [3, 1, 4, 0, 2] {
        create_at(&s.app, &format!("d{i}"), &location(i)).await;
    }
    let near = get(&s.app, "/venues/near").await;
    assert_eq!(near.ids(), ["d0", "d1", "d2", "d3", "d4"]);
    assert_eq!(near.total(), 5);
    let distances: Vec<i64> = near.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["distance"].as_i64().unwrap())
        .collect();
    assert_eq!(distances[0], 0);
    assert!(distances.windows(2).all(|w| w[0] < w[1]), "{distances:?}");
}

/// `test_get_all_by_same_name`.
#[tokio::test]
async fn get_all_by_same_name() {
    let s = service().await;
    for i in 0..9 {
        create(
            &s.app,
            &format!("v{i}"),
            &format!("name_{}", i % 3),
            json!({}),
        )
        .await;
    }
    let answer = get(&s.app, "/venues?name=name_1").await;
    assert_eq!(answer.ids(), ["v1", "v4", "v7"]);
    assert_eq!(answer.total(), 3);
    assert!(
        answer.body["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|v| v["name"] == "name_1")
    );
}

/// `test_limiting_the_amount_of_venues`, with the production total (3, not the mock's 2).
#[tokio::test]
async fn limiting_the_amount_of_venues() {
    let s = service().await;
    for i in 0..9 {
        create(
            &s.app,
            &format!("v{i}"),
            &format!("name_{}", i % 3),
            json!({}),
        )
        .await;
    }
    let answer = get(&s.app, "/venues?name=name_1&limit=2").await;
    assert_eq!(answer.ids(), ["v1", "v4"]);
    assert_eq!(answer.total(), 3);
}

/// `test_stepping_with_limit_the_amount_of_venues`.
#[tokio::test]
async fn stepping_with_limit_the_amount_of_venues() {
    let s = service().await;
    for i in 0..9 {
        create(
            &s.app,
            &format!("v{i}"),
            &format!("name_{}", i % 3),
            json!({}),
        )
        .await;
    }
    let first = get(&s.app, "/venues?name=name_1&limit=2&start=0").await;
    let second = get(&s.app, "/venues?name=name_1&limit=2&start=2").await;
    assert_eq!(first.ids(), ["v1", "v4"]);
    assert_eq!(second.ids(), ["v7"]);
    assert_eq!((first.total(), second.total()), (3, 3));
}

/// `test_venue_pagination`: 99 venues, pages of 5 at 0/5/10, total 99, disjoint, by id.
#[tokio::test]
async fn venue_pagination() {
    let s = service().await;
    for i in 0..99 {
        create(&s.app, &format!("v{i:02}"), "x", json!({})).await;
    }
    let mut seen = Vec::new();
    for start in [0, 5, 10] {
        let page = get(&s.app, &format!("/venues?limit=5&start={start}")).await;
        assert_eq!(page.total(), 99);
        let ids = page.ids();
        assert_eq!(ids.len(), 5);
        assert_eq!(ids[0], format!("v{start:02}"), "ordered by id");
        seen.extend(ids);
    }
    let distinct: std::collections::HashSet<_> = seen.iter().collect();
    assert_eq!(distinct.len(), 15);
}

/// `test_venue_filter`: name and contain-all tags together (33 of 99 match).
#[tokio::test]
async fn venue_filter() {
    let s = service().await;
    for i in 0..99 {
        // Every venue has both characteristics asked for, half have a third one too; the
        // features differ so that contain-all has something to refuse below.
        let characteristics = if i % 2 == 0 {
            json!(["Arepas", "Cafeteria", "Pizzas"])
        } else {
            json!(["Cafeteria", "Arepas"])
        };
        create(
            &s.app,
            &format!("v{i:02}"),
            &format!("name_{}", i % 3),
            json!({"characteristics": characteristics, "features": ["Estacionamiento", "Wifi"]}),
        )
        .await;
    }
    let answer = get(
        &s.app,
        "/venues?name=name_1&characteristics=Arepas&characteristics=Cafeteria&features=Estacionamiento&limit=100",
    )
    .await;
    assert_eq!(answer.total(), 33);
    assert_eq!(answer.ids().len(), 33);
    let with_pizzas = get(
        &s.app,
        "/venues?name=name_1&characteristics=Arepas&characteristics=Pizzas&limit=1",
    )
    .await;
    // name_1 is i = 1, 4, 7, …: of those, the even ones (4, 10, …, 94) have Pizzas.
    assert_eq!(
        (with_pizzas.total(), with_pizzas.ids()),
        (16, vec!["v04".to_string()])
    );
}
