//! `GET /venues/near`: order, whole metres, the default point, `max_distance` and `limit`
//! (checked against the full ranking), and the index staying in step with writes.

use serde_json::{Value, json};

use crate::common::*;

/// `(id, distance)` pairs of a near answer.
#[track_caller]
fn ranked(answer: &Answer) -> Vec<(String, i64)> {
    assert_eq!(answer.status, 200, "{answer:?}");
    answer.body["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["venue"]["id"].as_str().unwrap().to_string(),
                r["distance"].as_i64().unwrap(),
            )
        })
        .collect()
}

#[tokio::test]
async fn distances_are_haversine_in_whole_metres() {
    let s = service().await;
    create_at(&s.app, "north", "0.01,0").await;
    create_at(&s.app, "east", "0,1").await;
    create_at(&s.app, "here", "0,0").await;
    let answer = get(&s.app, "/venues/near?location=0&location=0").await;
    assert_eq!(
        ranked(&answer),
        [
            ("here".into(), 0),
            ("north".into(), 1111),
            ("east".into(), 111_195)
        ]
    );
    // Anchorage to the Centenario park: 13398.774 km with R = 6371.0088 km.
    create_at(&s.app, "centenario", "-34.6071389,-58.4383249").await;
    let far = get(
        &s.app,
        "/venues/near?location=61.2035833&location=-149.853936&max_distance=100000000",
    )
    .await;
    let centenario = ranked(&far)
        .into_iter()
        .find(|(id, _)| id == "centenario")
        .unwrap();
    assert!((centenario.1 - 13_398_774).abs() <= 1, "{centenario:?}");
    // The whole venue travels with its distance.
    assert_eq!(answer.body["result"][0]["venue"]["name"], "here");
    assert_eq!(
        answer.body["result"][0]["venue"]["status"]["status"],
        "Available"
    );
}

#[tokio::test]
async fn equal_distances_are_ordered_by_id() {
    let s = service().await;
    for id in ["c", "a", "b"] {
        create_at(&s.app, id, "-34.6,-58.4").await;
    }
    create_at(&s.app, "0-far", "-35,-58.4").await;
    let answer = get(&s.app, "/venues/near?location=-34.6&location=-58.4").await;
    assert_eq!(answer.ids(), ["a", "b", "c", "0-far"]);
}

/// No location: the search starts at the default point, where unreadable locations sit too.
#[tokio::test]
async fn the_default_point_stands_in_for_missing_locations() {
    let s = service().await;
    create_at(&s.app, "address", "Av. Santa Fe 1234, CABA").await;
    create_at(&s.app, "empty", "").await;
    create_at(&s.app, "off-the-globe", "123,456").await;
    create_at(&s.app, "palermo", "-34.594174,-58.4566507").await;
    create_at(&s.app, "obelisco", " -34.6037 , -58.3816 ").await;
    let answer = get(&s.app, "/venues/near").await;
    assert_eq!(
        ranked(&answer),
        [
            ("address".into(), 0),
            ("empty".into(), 0),
            ("off-the-globe".into(), 0),
            ("palermo".into(), 0),
            ("obelisco".into(), 6_950)
        ]
    );
    let from_obelisco = get(&s.app, "/venues/near?location=-34.6037&location=-58.3816").await;
    let distances: Vec<i64> = ranked(&from_obelisco).into_iter().map(|(_, d)| d).collect();
    assert_eq!(distances, [0, 6_950, 6_950, 6_950, 6_950]);
}

/// `test_ranking_distances_without_filtering`: 200 points at base + 0.01·i, created in a
/// shuffled order, come back in exact ascending order.
#[tokio::test]
async fn ranking_without_filtering() {
    let s = service().await;
    let (lat, lon) = (-34.6211119, -58.4348481);
    let mut order: Vec<u32> = (0..200).collect();
    // A fixed shuffle: stride through the indexes.
    order.sort_by_key(|i| (i * 7919) % 200);
    for i in order {
        let location = format!(
            "{},{}",
            lat + 0.01 * f64::from(i),
            lon + 0.01 * f64::from(i)
        );
        create_at(&s.app, &format!("p{i:03}"), &location).await;
    }
    let answer = get(
        &s.app,
        &format!("/venues/near?location={lat}&location={lon}"),
    )
    .await;
    let expected: Vec<String> = (0..200).map(|i| format!("p{i:03}")).collect();
    assert_eq!(answer.ids(), expected);
    assert_eq!(answer.total(), 200);
    let distances: Vec<i64> = ranked(&answer).into_iter().map(|(_, d)| d).collect();
    assert!(distances.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn max_distance_and_limit() {
    let s = service().await;
    create_at(&s.app, "here", "0,0").await;
    create_at(&s.app, "1111m", "0.01,0").await;
    create_at(&s.app, "2223m", "0.02,0").await;
    create_at(&s.app, "far", "10,10").await;
    let within = get(
        &s.app,
        "/venues/near?location=0&location=0&max_distance=2000",
    )
    .await;
    assert_eq!(
        (within.ids(), within.total()),
        (vec!["here".to_string(), "1111m".into()], 2)
    );
    // The bound is compared with the whole metres shown, inclusive.
    let exact = get(
        &s.app,
        "/venues/near?location=0&location=0&max_distance=1111",
    )
    .await;
    assert_eq!(exact.ids(), ["here", "1111m"]);
    let just_short = get(
        &s.app,
        "/venues/near?location=0&location=0&max_distance=1110.9",
    )
    .await;
    assert_eq!(just_short.ids(), ["here"]);
    // `total` counts what qualifies before `limit`.
    let limited = get(
        &s.app,
        "/venues/near?location=0&location=0&max_distance=5000&limit=1",
    )
    .await;
    assert_eq!(
        (limited.ids(), limited.total()),
        (vec!["here".to_string()], 3)
    );
    let only_limit = get(&s.app, "/venues/near?location=0&location=0&limit=2").await;
    assert_eq!(
        (only_limit.ids(), only_limit.total()),
        (vec!["here".to_string(), "1111m".into()], 4)
    );
    let none = get(
        &s.app,
        "/venues/near?location=50&location=50&max_distance=10",
    )
    .await;
    assert_eq!(none.body, json!({"result": [], "total": 0}));
    let zero = get(&s.app, "/venues/near?limit=0").await;
    assert_eq!((zero.ids().len(), zero.total()), (0, 4));
}

/// The indexed searches agree with the full ranking, from clustered and remote origins and
/// across the antimeridian.
#[tokio::test]
async fn indexed_searches_agree_with_the_full_ranking() {
    let s = service().await;
    let mut n = 0;
    // A dense cluster in Buenos Aires, a sparse one across the globe, a few on the
    // antimeridian and near a pole.
    for i in 0..60 {
        let (a, b) = (f64::from(i % 8), f64::from(i / 8));
        create_at(
            &s.app,
            &format!("ba{n:03}"),
            &format!("{},{}", -34.6 + 0.003 * a, -58.4 + 0.004 * b),
        )
        .await;
        n += 1;
    }
    for i in 0..40 {
        let (lat, lon) = (
            f64::from((i * 37) % 160) - 80.0,
            f64::from((i * 71) % 360) - 180.0,
        );
        create_at(&s.app, &format!("gl{n:03}"), &format!("{lat},{lon}")).await;
        n += 1;
    }
    for location in [
        "10,179.999",
        "10.001,-179.999",
        "89.99,0",
        "89.99,180",
        "-89.99,-90",
    ] {
        create_at(&s.app, &format!("ed{n:03}"), location).await;
        n += 1;
    }
    let origins = [
        (-34.6, -58.4),
        (-34.59, -58.39),
        (40.0, -3.7),
        (10.0, 180.0),
        (10.0, -179.9),
        (89.999, 45.0),
        (-89.0, 0.0),
        (0.0, 0.0),
    ];
    for (lat, lon) in origins {
        let full = ranked(
            &get(
                &s.app,
                &format!("/venues/near?location={lat}&location={lon}"),
            )
            .await,
        );
        assert_eq!(full.len(), n);
        for limit in [1, 3, 10, 61, 200] {
            let query = format!("/venues/near?location={lat}&location={lon}&limit={limit}");
            let answer = get(&s.app, &query).await;
            let expected: Vec<_> = full.iter().take(limit).cloned().collect();
            assert_eq!(ranked(&answer), expected, "{query}");
            assert_eq!(answer.total(), n as i64);
        }
        for max in [0.0, 500.0, 1_500.0, 250_000.0, 3_000_000.0, 30_000_000.0] {
            let query = format!("/venues/near?location={lat}&location={lon}&max_distance={max}");
            let answer = get(&s.app, &query).await;
            let expected: Vec<_> = full
                .iter()
                .filter(|(_, d)| *d as f64 <= max)
                .cloned()
                .collect();
            assert_eq!(answer.total(), expected.len() as i64, "{query}");
            assert_eq!(ranked(&answer), expected, "{query}");
            let limited = get(&s.app, &format!("{query}&limit=4")).await;
            assert_eq!(
                ranked(&limited),
                expected.iter().take(4).cloned().collect::<Vec<_>>()
            );
        }
    }
}

/// Moving or deleting a venue moves it in (or out of) the distance index.
#[tokio::test]
async fn the_geo_index_follows_updates_and_deletes() {
    let s = service().await;
    create_at(&s.app, "mover", "0,0").await;
    create_at(&s.app, "stay", "1,1").await;
    put(&s.app, "/venues/mover", json!({"location": "20,20"})).await;
    let near_origin = get(
        &s.app,
        "/venues/near?location=0&location=0&max_distance=200000",
    )
    .await;
    assert_eq!(near_origin.ids(), ["stay"]);
    let near_new = get(&s.app, "/venues/near?location=20&location=20&limit=1").await;
    assert_eq!(near_new.ids(), ["mover"]);
    delete(&s.app, "/venues/mover").await;
    let after = get(&s.app, "/venues/near?location=20&location=20&limit=1").await;
    assert_eq!((after.ids(), after.total()), (vec!["stay".to_string()], 1));
    let everything: Value = get(&s.app, "/venues/near").await.body;
    assert_eq!(everything["total"], 1);
}
