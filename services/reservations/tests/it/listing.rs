//! Listings: the display shift, enrichment in batches, filters, order, paging and the
//! caller's scope.

use serde_json::{Value, json};

use crate::common::*;

#[tokio::test]
async fn listings_shift_times_for_display_and_answers_do_not() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    // 01:30 UTC on the 2nd is 22:30 on the 1st in Buenos Aires.
    let created = book(&s, "diner", "resto", 13 * 60 + 30, 2).await;
    assert_eq!(created.body["time"], "2030-01-02T01:30:00Z");
    let id = created.id();
    let listed = list(&s, "venue=resto").await;
    assert_eq!(listed.body["result"][0]["time"], "2030-01-01T22:30:00");
    let updated = update(&s, &id, "resto", json!({"advance_forward": true})).await;
    assert_eq!(updated.body["time"], "2030-01-02T01:30:00Z");
    // Filters compare with the stored (UTC) time, unshifted.
    let by_time = list(
        &s,
        "from_time=2030-01-02T01:30:00.000Z&to_time=2030-01-02T01:30:00.000Z",
    )
    .await;
    assert_eq!(by_time.ids(), [id]);
}

#[tokio::test]
async fn the_display_offset_is_configurable() {
    let s = service_with(Setup {
        flags: vec!["--display-offset-minutes".into(), "0".into()],
        ..Setup::default()
    })
    .await;
    s.fakes.venue("resto", 0, "Available");
    booked(&s, "diner", "resto", 30, 2).await;
    assert_eq!(
        list(&s, "venue=resto").await.body["result"][0]["time"],
        "2030-01-01T12:30:00"
    );
}

#[tokio::test]
async fn diners_come_from_one_users_call_per_listing_with_their_visits() {
    let s = quiet_service().await;
    s.fakes.venue("resto", 0, "Available");
    s.fakes.venue("other", 0, "Available");
    s.fakes.user("ana", "Ana", "+5491100000000");
    s.fakes.user("beto", "Beto", "");
    // ana: two visits attended and one no-show here, one attended elsewhere.
    for (venue, forward) in [
        ("resto", true),
        ("resto", true),
        ("resto", false),
        ("other", true),
    ] {
        let id = booked(&s, "ana", venue, 60, 2).await;
        accept(&s, &id, venue).await;
        moved(&update(&s, &id, venue, json!({"advance_forward": forward})).await);
    }
    booked(&s, "ana", "resto", 120, 2).await;
    booked(&s, "beto", "resto", 130, 2).await;
    booked(&s, "ghost", "resto", 140, 2).await;
    let before = s.fakes.users_calls().len();
    let answer = list(&s, "venue=resto&limit=100000").await;
    assert_eq!(answer.total(), 6);
    let calls = s.fakes.users_calls();
    assert_eq!(calls.len(), before + 1, "one batch call for the whole page");
    let mut asked = calls.last().unwrap().clone();
    asked.sort();
    assert_eq!(asked, ["ana", "beto", "ghost"], "each diner once");
    let users: Vec<&Value> = answer.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| &r["user"])
        .collect();
    // Newest first: ghost, beto, ana, then ana's past visits.
    assert_eq!(
        users[0],
        &json!({"id": "ghost", "name": "None", "phone": "None", "times_assisted": 0, "times_expired": 0})
    );
    assert_eq!(
        users[1],
        &json!({"id": "beto", "name": "Beto", "phone": "", "times_assisted": 0, "times_expired": 0})
    );
    for ana in &users[2..] {
        assert_eq!(
            *ana,
            &json!({"id": "ana", "name": "Ana", "phone": "+5491100000000",
                    "times_assisted": 2, "times_expired": 1})
        );
    }
    assert_eq!(answer.body["opinions"], json!({}));
    assert_eq!(
        s.fakes
            .missing_token
            .load(std::sync::atomic::Ordering::SeqCst),
        0
    );
}

#[tokio::test]
async fn a_failing_users_service_degrades_to_placeholders() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    s.fakes.user("ana", "Ana", "1");
    booked(&s, "ana", "resto", 60, 2).await;
    s.fakes
        .users_down
        .store(true, std::sync::atomic::Ordering::SeqCst);
    let answer = list(&s, "venue=resto").await;
    assert_eq!(answer.status, 200, "{answer:?}");
    assert_eq!(
        answer.body["result"][0]["user"],
        json!({"id": "ana", "name": "None", "phone": "None", "times_assisted": 0, "times_expired": 0})
    );
}

#[tokio::test]
async fn an_empty_page_asks_the_users_service_nothing() {
    let s = service().await;
    let answer = list(&s, "venue=nobody").await;
    assert_eq!(
        answer.body,
        json!({"result": [], "opinions": {}, "total": 0})
    );
    assert!(s.fakes.users_calls().is_empty());
}

#[tokio::test]
async fn filters_combine_and_each_bound_works_alone() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    let small = booked(&s, "ana", "resto", 60, 1).await;
    let medium = booked(&s, "ana", "resto", 120, 4).await;
    let large = booked(&s, "beto", "resto", 180, 8).await;
    accept(&s, &medium, "resto").await;
    let ids = |q: &'static str| {
        let s = &s;
        async move { list(s, q).await.ids() }
    };
    assert_eq!(ids("from_people=4").await, [large.clone(), medium.clone()]);
    assert_eq!(ids("to_people=4").await, [medium.clone(), small.clone()]);
    assert_eq!(ids("from_people=2&to_people=5").await, [medium.as_str()]);
    assert_eq!(
        ids("from_time=2030-01-01T14:00:00.000Z").await,
        [large.clone(), medium.clone()]
    );
    assert_eq!(
        ids("to_time=2030-01-01T14:00:00.000Z").await,
        [medium.clone(), small.clone()]
    );
    assert_eq!(
        ids("status=Uncomfirmed").await,
        [large.clone(), small.clone()]
    );
    assert_eq!(
        ids("status=Uncomfirmed&status=Accepted&user=user/ana").await,
        [medium.clone(), small.clone()]
    );
    assert_eq!(
        ids("&venue=resto&limit=2&start=1").await,
        [medium.clone(), small.clone()]
    );
    assert_eq!(
        ids("id=&user=&venue=resto").await.len(),
        3,
        "empty values filter nothing"
    );
    let counted = list(&s, "limit=0").await;
    assert_eq!((counted.ids().len(), counted.total()), (0, 3));
    let big = list(&s, "start=0&limit=100000").await;
    assert_eq!(big.total(), 3);
}

#[tokio::test]
async fn with_a_caller_only_its_own_and_its_venues_reservations_are_listed() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    s.fakes.venue("other", 0, "Available");
    let anas = booked(&s, "ana", "resto", 60, 2).await;
    let betos = booked(&s, "beto", "other", 60, 2).await;
    let at_resto = booked(&s, "beto", "resto", 90, 2).await;
    // A foreign id: nothing, and the count says so.
    let foreign = list(&s, &format!("id={betos}&caller=user/ana")).await;
    assert_eq!((foreign.ids().len(), foreign.total()), (0, 0));
    assert_eq!(
        list(&s, &format!("id={anas}&caller=user/ana")).await.ids(),
        [anas.as_str()]
    );
    // The venue sees every reservation at its venue, its own included.
    assert_eq!(
        list(&s, &format!("id={at_resto}&caller=user/resto"))
            .await
            .ids(),
        [at_resto.as_str()]
    );
    assert_eq!(
        list(&s, "caller=user/resto").await.ids(),
        [at_resto.clone(), anas.clone()]
    );
    // Asking for someone else's reservations with a caller finds nothing.
    assert_eq!(list(&s, "user=user/beto&caller=user/ana").await.total(), 0);
    // Other internal callers (no caller) are not scoped.
    assert_eq!(list(&s, &format!("id={betos}")).await.ids(), [betos]);
}

#[tokio::test]
async fn more_than_a_thousand_diners_take_one_call_per_thousand() {
    let s = quiet_service().await;
    // Set up straight in the file: 1001 bookings through HTTP would only slow the test.
    let mut conn = rusqlite::Connection::open(s.dir.path().join(reservations::DB_FILE)).unwrap();
    let tx = conn.transaction().unwrap();
    let time = (start() + chrono::Duration::hours(1)).timestamp_micros();
    for i in 0..1001 {
        tx.execute(
            r#"INSERT INTO reservations (id, "user", venue, time, people, status, created_at, updated_at)
               VALUES (?1, ?2, 'resto', ?3, 1, 'Uncomfirmed', 0, 0)"#,
            rusqlite::params![format!("r{i:04}"), format!("user/u{i:04}"), time],
        )
        .unwrap();
    }
    tx.commit().unwrap();
    let answer = list(&s, "venue=resto&limit=100000").await;
    assert_eq!(answer.ids().len(), 1001);
    let mut sizes: Vec<usize> = s.fakes.users_calls().iter().map(Vec::len).collect();
    sizes.sort();
    assert_eq!(sizes, [1, 1000]);
}

#[tokio::test]
async fn listings_carry_the_opinions_of_their_reservations_from_one_batch_call() {
    use std::sync::{Arc, Mutex};
    let asked: Arc<Mutex<Vec<Value>>> = Arc::default();
    let seen = asked.clone();
    let opinions = axum::Router::new().route(
        "/opinions/batch",
        axum::routing::post(move |axum::Json(body): axum::Json<Value>| {
            let seen = seen.clone();
            async move {
                seen.lock().unwrap().push(body.clone());
                let first = body["reservations"][0].as_str().unwrap().to_string();
                // One opinion about a reservation on the page, one about another: only the
                // first may reach the listing.
                axum::Json(json!({
                    first.clone(): {"venue": "resto", "opinion": "Muy rico", "reservation": first, "date": "2030-01-01T23:00:00"},
                    "someone-else": {"venue": "resto", "opinion": "No", "reservation": "someone-else", "date": "2030-01-01T23:00:00"}
                }))
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, opinions).await.unwrap() });
    let s = service_with(Setup {
        opinions_url: Some(url),
        ..Setup::default()
    })
    .await;
    s.fakes.venue("resto", 0, "Available");
    let a = booked(&s, "diner", "resto", 30, 2).await;
    booked(&s, "other", "resto", 300, 2).await;
    let listed = list(&s, "venue=resto").await;
    let map = listed.body["opinions"].as_object().unwrap();
    assert_eq!(asked.lock().unwrap().len(), 1, "one call per listing");
    assert_eq!(
        asked.lock().unwrap()[0]["reservations"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert!(map.keys().all(|k| listed.ids().contains(k)), "{map:?}");
    assert_eq!(
        map.len(),
        1,
        "the opinion about a reservation off the page is dropped"
    );
    assert!(listed.ids().contains(&a));
}

#[tokio::test]
async fn a_failing_opinions_service_leaves_the_listing_without_opinions() {
    let s = service().await;
    s.fakes.venue("resto", 0, "Available");
    booked(&s, "diner", "resto", 30, 2).await;
    let listed = list(&s, "venue=resto").await;
    assert_eq!(listed.status, 200);
    assert_eq!(listed.body["opinions"], json!({}));
    assert_eq!(listed.ids().len(), 1);
}
