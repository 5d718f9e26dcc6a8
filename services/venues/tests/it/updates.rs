//! Create and update behaviour beyond the original's tests: the flag order, the truthy rule,
//! what the portal sends (E5, E6), datetimes, durability and concurrency.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn flags_apply_in_the_order_close_open_occupy() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let all = put(
        &s.app,
        "/venues/v1",
        json!({"occupy": true, "open": true, "close": true}),
    )
    .await;
    assert_eq!(all.body["status"]["status"], "Closed");
    let open_occupy = put(&s.app, "/venues/v1", json!({"occupy": true, "open": true})).await;
    assert_eq!(open_occupy.body["status"]["status"], "Available");
    let occupy = put(
        &s.app,
        "/venues/v1",
        json!({"occupy": true, "name": "Ignored"}),
    )
    .await;
    assert_eq!(occupy.body["status"]["status"], "Occupied");
    assert_eq!(occupy.body["name"], "Lo de Ana");
}

#[tokio::test]
async fn falsy_fields_change_nothing() {
    let s = service().await;
    let created = create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let answer = put(
        &s.app,
        "/venues/v1",
        json!({
            "name": "", "location": "", "capacity": 0, "logo": "", "pictures": [], "slots": [],
            "characteristics": [], "features": [], "vacations": [], "reservationLeadTime": 0,
            "menu": null, "open": false, "close": false, "occupy": false
        }),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body, created, "nothing changed, not even the status");
    let empty = put(&s.app, "/venues/v1", json!({})).await;
    assert_eq!(empty.body, created);
}

#[tokio::test]
async fn an_edit_keeps_the_venue_unconfirmed_until_it_is_opened() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    put(&s.app, "/venues/v1", json!({"capacity": 50})).await;
    assert_eq!(status_of(&s.app, "v1").await, "Unconfirmed");
    // Setting a field to the value it has is an edit all the same (the original's rule).
    put(&s.app, "/venues/v1", json!({"open": true})).await;
    put(&s.app, "/venues/v1", json!({"capacity": 50})).await;
    assert_eq!(status_of(&s.app, "v1").await, "Unconfirmed");
    put(&s.app, "/venues/v1", json!({"capacity": 0})).await;
    assert_eq!(status_of(&s.app, "v1").await, "Unconfirmed");
    put(&s.app, "/venues/v1", json!({"open": true})).await;
    assert_eq!(status_of(&s.app, "v1").await, "Available");
}

/// E5: the portal's create body carries `status` and may send `capacity: null`.
#[tokio::test]
async fn the_portal_create_body_is_accepted() {
    let s = service().await;
    let answer = post(
        &s.app,
        "/venues",
        json!({
            "id": "owner1", "name": "Lo de Ana", "location": "-34.58,-58.42", "capacity": null,
            "reservationLeadTime": 2, "logo": "", "menu": "", "pictures": [],
            "characteristics": ["Empanadas"], "features": [], "slots": [], "vacations": [],
            "status": {"status": "Unconfirmed"}
        }),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["capacity"], 0);
    assert_eq!(
        answer.body["status"]["status"], "Available",
        "the sent status is ignored"
    );
    // Only id and name are required.
    let minimal = post(&s.app, "/venues", json!({"id": "owner2", "name": "B"})).await;
    assert_eq!(minimal.status, 200, "{minimal:?}");
    assert_eq!(minimal.body["pictures"], json!([]));
    assert_eq!(minimal.body["reservationLeadTime"], 0);
}

/// E6: the portal sends the whole venue back, with `id`, `status` and false flags.
#[tokio::test]
async fn the_portal_update_body_is_accepted() {
    let s = service().await;
    let mut venue = create(&s.app, "owner1", "Lo de Ana", json!({})).await;
    venue["name"] = json!("Lo de Ana (Palermo)");
    venue["pictures"] = json!([]);
    venue["open"] = json!(false);
    venue["close"] = json!(false);
    venue["occupy"] = json!(false);
    let answer = put(&s.app, "/venues/owner1", venue).await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(answer.body["name"], "Lo de Ana (Palermo)");
    assert_eq!(
        answer.body["pictures"].as_array().unwrap().len(),
        1,
        "[] does not clear"
    );
    assert_eq!(answer.body["status"]["status"], "Unconfirmed");
}

/// Venue datetimes come back as naive UTC with microseconds only when present (H6).
#[tokio::test]
async fn datetimes_come_back_as_naive_utc() {
    let s = service().await;
    let venue = create(
        &s.app,
        "v1",
        "Lo de Ana",
        json!({
            "slots": ["2024-12-11T13:00:12.345Z", "2024-12-11 10:30:00-03:00", "2024-12-11T14:00:00"],
            "vacations": ["2024-12-25T00:00:00+00:00"]
        }),
    )
    .await;
    assert_eq!(
        venue["slots"],
        json!([
            "2024-12-11T13:00:12.345000",
            "2024-12-11T13:30:00",
            "2024-12-11T14:00:00"
        ])
    );
    assert_eq!(venue["vacations"], json!(["2024-12-25T00:00:00"]));
    assert_eq!(
        get(&s.app, "/venues/v1").await.body["slots"],
        venue["slots"]
    );
}

#[tokio::test]
async fn data_survives_reopening_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let first = venues::build(&config(dir.path(), &[])).await.unwrap();
    let created = create(&first, "v1", "Lo de Ana", json!({})).await;
    put(&first, "/venues/v1", json!({"close": true})).await;
    create_at(&first, "v2", "10,10").await;
    drop(first);
    let second = venues::build(&config(dir.path(), &[])).await.unwrap();
    let read = get(&second, "/venues/v1").await;
    assert_eq!(read.body["name"], created["name"]);
    assert_eq!(read.body["status"]["status"], "Closed");
    let by_tag = get(&second, "/venues?characteristics=Pizzas").await;
    assert_eq!(by_tag.ids(), ["v1", "v2"]);
    let near = get(&second, "/venues/near?location=10&location=10&limit=1").await;
    assert_eq!(near.ids(), ["v2"]);
}

/// Each update reads and writes in one transaction: concurrent edits of different fields
/// all land.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_updates_lose_nothing() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    let edits = [
        json!({"name": "Nuevo"}),
        json!({"capacity": 99}),
        json!({"menu": "https://m.example.com/m.pdf"}),
        json!({"reservationLeadTime": 7}),
        json!({"features": ["Veggie"]}),
        json!({"location": "1,1"}),
    ];
    let handles: Vec<_> = edits
        .into_iter()
        .map(|edit| {
            let app = s.app.clone();
            tokio::spawn(async move { put(&app, "/venues/v1", edit).await })
        })
        .collect();
    for handle in handles {
        let answer = handle.await.unwrap();
        assert_eq!(answer.status, 200, "{answer:?}");
    }
    let v = get(&s.app, "/venues/v1").await.body;
    assert_eq!(v["name"], "Nuevo");
    assert_eq!(v["capacity"], 99);
    assert_eq!(v["menu"], "https://m.example.com/m.pdf");
    assert_eq!(v["reservationLeadTime"], 7);
    assert_eq!(v["features"], json!(["Veggie"]));
    assert_eq!(v["location"], "1,1");
    assert_eq!(get(&s.app, "/venues?features=Veggie").await.ids(), ["v1"]);
    assert_eq!(get(&s.app, "/venues?features=Wifi").await.total(), 0);
}
