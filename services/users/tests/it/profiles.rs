//! Profiles: registration, reads and updates.

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn repeated_registration_returns_the_stored_user_unchanged() {
    let s = service().await;
    let first = register(&s.app, "u1", "client", "Ana", "1134567890").await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.body,
        json!({"localid": "u1", "email": "u1@example.com", "name": "Ana", "phone_number": "1134567890"})
    );
    // A Google sign-in in the portal re-registers the same uid as restaurant with other data.
    let again = post(
        &s.app,
        "/users",
        json!({"localid": "u1", "email": "other@example.com", "user_type": "restaurant",
               "name": "Ana Google", "phone_number": ""}),
    )
    .await;
    assert_eq!(again.status, 200, "H1: never 409");
    assert_eq!(again.body, first.body);
    assert_eq!(user_type(&s.app, "u1").await, "client");
}

#[tokio::test]
async fn concurrent_registrations_of_one_uid_leave_one_row() {
    let s = service().await;
    let tasks: Vec<_> = (0..10)
        .map(|i| {
            let app = s.app.clone();
            let kind = if i % 2 == 0 { "client" } else { "restaurant" };
            tokio::spawn(async move { register(&app, "u1", kind, &format!("name {i}"), "").await })
        })
        .collect();
    let mut bodies = Vec::new();
    for task in tasks {
        let answer = task.await.unwrap();
        assert_eq!(answer.status, 200);
        bodies.push(answer.body);
    }
    assert!(
        bodies.windows(2).all(|w| w[0] == w[1]),
        "all see the winner: {bodies:?}"
    );
    assert_eq!(
        count(
            s.dir.path(),
            "SELECT count(*) FROM users WHERE uid = ?1",
            "u1"
        ),
        1
    );
    assert_eq!(
        count(
            s.dir.path(),
            "SELECT count(*) FROM users_data WHERE uid = ?1",
            "u1"
        ),
        1
    );
}

#[tokio::test]
async fn empty_name_and_phone_are_accepted() {
    let s = service().await;
    let answer = register(&s.app, "u1", "client", "", "").await;
    assert_eq!(answer.status, 200, "H13");
    assert_eq!(
        (
            answer.body["name"].as_str(),
            answer.body["phone_number"].as_str()
        ),
        (Some(""), Some(""))
    );
    // A token without an e-mail (external provider) registers with an empty one.
    let no_email = post(
        &s.app,
        "/users",
        json!({"localid": "u2", "email": null, "user_type": "restaurant", "name": "R", "phone_number": ""}),
    )
    .await;
    assert_eq!(no_email.status, 200);
    assert_eq!(no_email.body["email"], "");
}

#[tokio::test]
async fn null_or_empty_fields_keep_their_values() {
    let s = service().await;
    register(&s.app, "u1", "client", "Ana", "111").await;
    let path = "/user/u1";
    let same = put(&s.app, path, json!({"name": null, "phone": ""})).await;
    assert_eq!(
        (
            same.body["name"].as_str(),
            same.body["phone_number"].as_str()
        ),
        (Some("Ana"), Some("111"))
    );
    let phone_only = put(&s.app, path, json!({"name": "", "phone": "222"})).await;
    assert_eq!(phone_only.status, 200);
    assert_eq!(
        (
            phone_only.body["name"].as_str(),
            phone_only.body["phone_number"].as_str()
        ),
        (Some("Ana"), Some("222"))
    );
    // One body type for the gateway and this service (chefcito::api::ProfileUpdate): both
    // keys are required, as the original gateway required them; a body without them changes
    // nothing.
    let absent = put(&s.app, path, json!({})).await;
    assert_eq!(absent.status, 422);
    assert_eq!(get(&s.app, path).await.body, phone_only.body);
}

#[tokio::test]
async fn a_batch_answers_the_registered_users_in_the_order_asked() {
    let s = service().await;
    register(&s.app, "u1", "client", "Ana", "111").await;
    register(&s.app, "u2", "restaurant", "Bar", "222").await;
    let answer = post(
        &s.app,
        "/users/batch",
        json!({"localids": ["u2", "nobody", "u1", "u2"]}),
    )
    .await;
    assert_eq!(answer.status, 200);
    let ids: Vec<&str> = answer
        .body
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["localid"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u2", "u1"]);
    assert_eq!(answer.body[1]["name"], "Ana");
    let too_many: Vec<String> = (0..1001).map(|i| format!("u{i}")).collect();
    let refused = post(&s.app, "/users/batch", json!({"localids": too_many})).await;
    assert_eq!(refused.status, 400);
    let malformed = post(&s.app, "/users/batch", json!({"localids": "u1"})).await;
    assert_eq!(malformed.status, 422);
}

#[tokio::test]
async fn phone_numbers_reach_communications_through_the_outbox() {
    use std::sync::{Arc, Mutex};
    let got: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let seen = got.clone();
    let fake = axum::Router::new().route(
        "/events",
        axum::routing::post(move |axum::Json(event): axum::Json<serde_json::Value>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(event);
                axum::Json(json!({"outcome": "applied"}))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, fake).await.unwrap() });
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.communications_url = url;
    let app = users::build(&config).await.unwrap();
    register(&app, "u1", "client", "Ana", "11 5555-0000").await;
    // Registering again changes nothing, so says nothing.
    register(&app, "u1", "client", "Ana", "11 5555-0000").await;
    put(
        &app,
        "/user/u1",
        json!({"name": "Ana María", "phone": null}),
    )
    .await;
    put(
        &app,
        "/user/u1",
        json!({"name": null, "phone": "11 4444-0000"}),
    )
    .await;
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while got.lock().unwrap().len() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "{:?}",
            got.lock().unwrap()
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let events = got.lock().unwrap().clone();
    let phones: Vec<(&str, &str, &str)> = events
        .iter()
        .map(|e| {
            (
                e["topic"].as_str().unwrap(),
                e["payload"]["user"].as_str().unwrap(),
                e["payload"]["phone"].as_str().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        phones,
        [
            ("user.phone", "u1", "11 5555-0000"),
            ("user.phone", "u1", "11 4444-0000")
        ]
    );
}
