//! `GET /venues/promotions`: configured ids in order, unknown ones skipped, else the newest
//! available venues.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn configured_venues_come_in_the_configured_order() {
    let s = service_with(&["--promoted-venues", "b, a,b"]).await;
    for id in ["a", "b", "c"] {
        create(&s.app, id, id, json!({})).await;
    }
    // A configured venue is shown whatever its status; a repeated id is repeated.
    put(&s.app, "/venues/b", json!({"close": true})).await;
    let answer = get(&s.app, "/venues/promotions").await;
    assert_eq!(answer.ids(), ["b", "a", "b"]);
    assert_eq!(answer.total(), 3);
    assert_eq!(answer.body["result"][0]["status"]["status"], "Closed");
    assert_eq!(
        answer.body["result"][1]["slots"].as_array().unwrap().len(),
        2,
        "whole venues"
    );
}

#[tokio::test]
async fn unknown_configured_venues_are_skipped() {
    let s = service_with(&["--promoted-venues", "ghost,a,phantom"]).await;
    for id in ["a", "b"] {
        create(&s.app, id, id, json!({})).await;
    }
    let answer = get(&s.app, "/venues/promotions").await;
    assert_eq!((answer.ids(), answer.total()), (vec!["a".to_string()], 1));
}

#[tokio::test]
async fn without_configured_venues_the_newest_available_ones_are_shown() {
    let s = service().await;
    for id in ["v1", "v2", "v3", "v4", "v5"] {
        create(&s.app, id, id, json!({})).await;
    }
    put(&s.app, "/venues/v4", json!({"occupy": true})).await;
    put(&s.app, "/venues/v2", json!({"name": "edited"})).await;
    let answer = get(&s.app, "/venues/promotions").await;
    assert_eq!(answer.ids(), ["v5", "v3", "v1"]);
    assert_eq!(answer.total(), 3);
}

#[tokio::test]
async fn when_no_configured_venue_exists_the_newest_available_ones_are_shown() {
    let s = service_with(&["--promoted-venues", "ghost"]).await;
    create(&s.app, "v1", "v1", json!({})).await;
    create(&s.app, "v2", "v2", json!({})).await;
    let answer = get(&s.app, "/venues/promotions").await;
    assert_eq!(answer.ids(), ["v2", "v1"]);
}

#[tokio::test]
async fn no_venues_no_promotions() {
    let s = service().await;
    let answer = get(&s.app, "/venues/promotions").await;
    assert_eq!(
        (answer.status.as_u16(), answer.body),
        (200, json!({"result": [], "total": 0}))
    );
}
