//! One opinion per reservation under concurrent requests.

use axum::http::StatusCode;

use crate::common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn twenty_concurrent_opinions_on_one_reservation_store_exactly_one() {
    let s = quiet_service().await;
    s.fakes.booking("r1", "diner", "resto", "Assisted");
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = s.app.clone();
            tokio::spawn(async move {
                let body = body("diner", "resto", "r1", &format!("Opinión número {i}"));
                call(&app, axum::http::Method::POST, "/opinions", Some(body)).await
            })
        })
        .collect();
    let mut statuses = Vec::new();
    for task in tasks {
        statuses.push(task.await.unwrap().status);
    }
    let ok = statuses.iter().filter(|&&st| st == StatusCode::OK).count();
    let conflicts = statuses
        .iter()
        .filter(|&&st| st == StatusCode::CONFLICT)
        .count();
    assert_eq!((ok, conflicts), (1, 19), "{statuses:?}");
    assert_eq!(stored(&s), 1);
    let events = events(&s);
    assert_eq!(events.len(), 1, "one event for the one opinion");
    let listed = list(&s, "reservation=r1").await;
    assert_eq!(listed.total(), 1);
    assert_eq!(
        events[0]["opinion_text"],
        listed.body["result"][0]["opinion"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_opinions_on_different_reservations_all_land() {
    let s = quiet_service().await;
    for i in 0..20 {
        s.fakes
            .booking(&format!("r{i}"), "diner", "resto", "Assisted");
    }
    let tasks: Vec<_> = (0..20)
        .map(|i| {
            let app = s.app.clone();
            tokio::spawn(async move {
                let body = body("diner", "resto", &format!("r{i}"), "Rico");
                call(&app, axum::http::Method::POST, "/opinions", Some(body)).await
            })
        })
        .collect();
    for task in tasks {
        assert_eq!(task.await.unwrap().status, StatusCode::OK);
    }
    assert_eq!(stored(&s), 20);
    assert_eq!(events(&s).len(), 20);
    assert_eq!(list(&s, "venue=resto").await.total(), 20);
}
