//! `GET /venues`: production semantics (contain-all, true totals, id order), the lookup by
//! id, both spellings of the tag lists and the clients' odd query strings (H8).

use serde_json::json;

use crate::common::*;

async fn tagged(s: &Service) {
    create(
        &s.app,
        "c",
        "C",
        json!({"characteristics": ["Arepas", "Cafeteria"], "features": ["Wifi", "Veggie"]}),
    )
    .await;
    create(
        &s.app,
        "a",
        "A",
        json!({"characteristics": ["Arepas"], "features": ["Wifi"]}),
    )
    .await;
    create(
        &s.app,
        "b",
        "B",
        json!({"characteristics": ["Cafeteria"], "features": []}),
    )
    .await;
}

#[tokio::test]
async fn tag_filters_contain_all_not_any() {
    let s = service().await;
    tagged(&s).await;
    let both = get(
        &s.app,
        "/venues?characteristics=Arepas&characteristics=Cafeteria",
    )
    .await;
    assert_eq!((both.ids(), both.total()), (vec!["c".to_string()], 1));
    let arepas = get(&s.app, "/venues?characteristics=Arepas").await;
    assert_eq!(arepas.ids(), ["a", "c"]);
    let mixed = get(&s.app, "/venues?characteristics=Cafeteria&features=Wifi").await;
    assert_eq!(mixed.ids(), ["c"]);
    let none = get(&s.app, "/venues?features=Wifi&features=Mascotas").await;
    assert_eq!((none.ids().len(), none.total()), (0, 0));
}

/// The gateway may forward the clients' singular spellings; both spellings merge, repeats
/// count once, and a leading `?&` is fine.
#[tokio::test]
async fn singular_spellings_leading_ampersand_and_repeats() {
    let s = service().await;
    tagged(&s).await;
    let answer = get(
        &s.app,
        "/venues?&characteristic=Arepas&characteristics=Cafeteria&characteristic=Arepas&feature=Veggie",
    )
    .await;
    assert_eq!(answer.ids(), ["c"]);
    let encoded = get(
        &s.app,
        "/venues?&limit=20&characteristic=Arepas&feature=Wifi&start=0",
    )
    .await;
    assert_eq!(encoded.ids(), ["a", "c"]);
}

#[tokio::test]
async fn results_are_ordered_by_id_and_total_counts_every_match() {
    let s = service().await;
    for id in ["m", "b", "z", "a", "k"] {
        create(&s.app, id, "same", json!({})).await;
    }
    create(&s.app, "other", "different", json!({})).await;
    let page = get(&s.app, "/venues?name=same&limit=2&start=1").await;
    assert_eq!(page.ids(), ["b", "k"]);
    assert_eq!(page.total(), 5);
    let past_the_end = get(&s.app, "/venues?name=same&start=50").await;
    assert_eq!((past_the_end.ids().len(), past_the_end.total()), (0, 5));
    let zero = get(&s.app, "/venues?limit=0").await;
    assert_eq!((zero.ids().len(), zero.total()), (0, 6));
    let default_page = get(&s.app, "/venues").await;
    assert_eq!(default_page.ids(), ["a", "b", "k", "m", "other", "z"]);
}

#[tokio::test]
async fn name_matches_exactly() {
    let s = service().await;
    create(&s.app, "v1", "Lo de Ana", json!({})).await;
    assert_eq!(
        get(&s.app, "/venues?name=Lo%20de%20Ana").await.ids(),
        ["v1"]
    );
    assert_eq!(get(&s.app, "/venues?name=lo%20de%20ana").await.total(), 0);
    assert_eq!(get(&s.app, "/venues?name=Lo%20de").await.total(), 0);
}

/// The portal asks for `limit=100000` (E13, E19): accepted, everything comes back.
#[tokio::test]
async fn limit_100000_is_accepted() {
    let s = service().await;
    for i in 0..12 {
        create(&s.app, &format!("v{i:02}"), "x", json!({})).await;
    }
    let answer = get(&s.app, "/venues?limit=100000&start=0").await;
    assert_eq!((answer.ids().len(), answer.total()), (12, 12));
    let near = get(&s.app, "/venues/near?limit=100000").await;
    assert_eq!((near.ids().len(), near.total()), (12, 12));
}

/// With an id, the other filters and the paging do not apply (the original's rule).
#[tokio::test]
async fn a_lookup_by_id_ignores_the_other_filters() {
    let s = service().await;
    tagged(&s).await;
    let found = get(
        &s.app,
        "/venues?id=a&name=nope&characteristics=Cafeteria&limit=0&start=5",
    )
    .await;
    assert_eq!((found.ids(), found.total()), (vec!["a".to_string()], 1));
    let missing = get(&s.app, "/venues?limit=10&start=0&id=nobody").await;
    assert_eq!(missing.body, json!({"result": [], "total": 0}));
    let empty_id = get(&s.app, "/venues?id=&limit=2").await;
    assert_eq!((empty_id.ids().len(), empty_id.total()), (2, 3));
}

/// GET /venues/{id} for the reservations service.
#[tokio::test]
async fn a_venue_by_path() {
    let s = service().await;
    let created = create(&s.app, "v1", "Lo de Ana", json!({})).await;
    assert_eq!(get(&s.app, "/venues/v1").await.body, created);
    let missing = get(&s.app, "/venues/v2").await;
    assert_eq!(
        missing.body,
        json!({"description": "Venue does not exist", "endpoint": "/venues/v2"})
    );
    assert_eq!(missing.status, 404);
}

/// Pages and totals are cut from a listing kept between writes: every write shows in the
/// very next read, whatever was read before it (each read below is made twice, so that the
/// second is answered from what the first kept).
#[tokio::test]
async fn every_write_shows_in_the_next_page_and_total() {
    let s = service().await;
    for id in ["d", "b", "e", "a", "c"] {
        create(&s.app, id, id, json!({"characteristics": ["Pizzas"]})).await;
    }
    let twice = |path: &'static str| {
        let app = s.app.clone();
        async move {
            let first = get(&app, path).await;
            let second = get(&app, path).await;
            assert_eq!(first.body, second.body, "{path}");
            (second.ids(), second.total())
        }
    };
    let ids = |list: &[&str]| list.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    assert_eq!(
        twice("/venues?start=1&limit=2").await,
        (ids(&["b", "c"]), 5)
    );
    assert_eq!(
        twice("/venues/near?location=-34.6&location=-58.4&limit=1")
            .await
            .1,
        5
    );

    create(&s.app, "bb", "bb", json!({"characteristics": ["Pizzas"]})).await;
    assert_eq!(
        twice("/venues?start=1&limit=2").await,
        (ids(&["b", "bb"]), 6)
    );
    assert_eq!(
        twice("/venues/near?location=-34.6&location=-58.4&limit=1")
            .await
            .1,
        6
    );
    assert_eq!(
        twice("/venues?characteristic=Pizzas&limit=1").await,
        (ids(&["a"]), 6)
    );

    let changed = put(&s.app, "/venues/a", json!({"characteristics": ["Sushi"]})).await;
    assert_eq!(changed.status, 200, "{changed:?}");
    assert_eq!(
        twice("/venues?characteristic=Pizzas&limit=1").await,
        (ids(&["b"]), 5)
    );
    assert_eq!(
        twice("/venues?characteristic=Sushi").await,
        (ids(&["a"]), 1)
    );

    assert_eq!(delete(&s.app, "/venues/b").await.status, 200);
    assert_eq!(
        twice("/venues?start=1&limit=2").await,
        (ids(&["bb", "c"]), 5)
    );
    assert_eq!(
        twice("/venues?characteristic=Pizzas&limit=1").await,
        (ids(&["bb"]), 4)
    );
    assert_eq!(
        twice("/venues/near?location=-34.6&location=-58.4&limit=1")
            .await
            .1,
        5
    );
}
