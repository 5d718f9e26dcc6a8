//! `cargo xtask seed` and the wrk workloads of `cargo xtask bench` against the real users,
//! venues, reservations and gateway services on loopback listeners. Speed is not asserted
//! (that is what the benchmark is for); what is asserted is that the data lands and that every
//! workload's requests are answered without errors.

use std::time::Duration;

use clap::Parser;
use xtask::load::gateway::Gateway;
use xtask::load::seed::{self, Plan};
use xtask::load::workloads::Workload;
use xtask::load::wrk::{self, Load};

const INTERNAL_TOKEN: &str = "load-test-internal-token";
/// A base URL where nothing listens: events for services not started wait in the outboxes.
const NOWHERE: &str = "http://127.0.0.1:9";

async fn serve(listener: tokio::net::TcpListener, router: axum::Router) {
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
}

fn args(name: &str, data: &std::path::Path, extra: &[(&str, &str)]) -> Vec<String> {
    let mut out = vec![
        name.to_string(),
        "--data-dir".into(),
        data.join(name).display().to_string(),
        "--internal-token".into(),
        INTERNAL_TOKEN.into(),
    ];
    for (flag, value) in extra {
        out.push(format!("--{flag}"));
        out.push(value.to_string());
    }
    out
}

/// Where the in-process cluster answers.
struct Urls {
    gateway: String,
    venues: String,
    reservations: String,
}

/// users, venues, reservations and the gateway.
async fn cluster(data: &std::path::Path) -> Urls {
    let listen = || tokio::net::TcpListener::bind("127.0.0.1:0");
    let (users_l, venues_l, reservations_l, gateway_l) = (
        listen().await.unwrap(),
        listen().await.unwrap(),
        listen().await.unwrap(),
        listen().await.unwrap(),
    );
    let url = |l: &tokio::net::TcpListener| format!("http://{}", l.local_addr().unwrap());
    let (users, venues, reservations) = (url(&users_l), url(&venues_l), url(&reservations_l));
    let gateway_url = url(&gateway_l);
    for name in ["users", "venues", "reservations"] {
        std::fs::create_dir_all(data.join(name)).unwrap();
    }
    let app = users::build(&users::Config::parse_from(args(
        "users",
        data,
        &[("communications-url", NOWHERE)],
    )))
    .await
    .unwrap();
    serve(users_l, app).await;
    let app = venues::build(&venues::Config::parse_from(args("venues", data, &[])))
        .await
        .unwrap();
    serve(venues_l, app).await;
    let app = reservations::build(&reservations::Config::parse_from(args(
        "reservations",
        data,
        &[
            ("venues-url", &venues),
            ("users-url", &users),
            ("points-url", NOWHERE),
            ("stats-url", NOWHERE),
            ("communications-url", NOWHERE),
            ("opinions-url", NOWHERE),
        ],
    )))
    .await
    .unwrap();
    serve(reservations_l, app).await;
    let app = gateway::build(&gateway::Config::parse_from([
        "gateway",
        "--users-url",
        &users,
        "--venues-url",
        &venues,
        "--reservations-url",
        &reservations,
        "--internal-token",
        INTERNAL_TOKEN,
    ]))
    .await
    .unwrap();
    serve(gateway_l, app).await;
    Urls {
        gateway: gateway_url,
        venues,
        reservations,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seeds_through_the_public_api_and_every_workload_is_answered_without_errors() {
    let data = tempfile::tempdir().unwrap();
    let urls = cluster(data.path()).await;
    let base = urls.gateway.clone();
    let gateway = Gateway::new(&base, 8).unwrap();
    let plan = Plan::new(6, 40, 1);
    let bar = indicatif::ProgressBar::hidden();
    let mut seeded = seed::seed(&gateway, &plan, &bar).await.unwrap();

    assert_eq!(seeded.restaurants.len(), 6);
    assert_eq!(seeded.diners.len(), 1);
    assert_eq!(seeded.reservations + seeded.refused, 40);
    assert!(seeded.reservations >= 36, "{seeded:?}");
    // Every venue is in the catalogue, at its owner's uid, in Buenos Aires.
    let diner = &seeded.diners[0].token.clone();
    let page = gateway
        .send(
            "GET",
            "/venues?limit=100",
            Some(diner),
            &serde_json::Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(page["total"], 6);
    for r in &seeded.restaurants {
        let found = gateway
            .send(
                "GET",
                &format!("/venues?id={}", r.uid),
                Some(diner),
                &serde_json::Value::Null,
            )
            .await
            .unwrap();
        let location = found["result"][0]["location"].as_str().unwrap();
        assert!(location.starts_with("-34."), "{location}");
    }
    // The bookings are there, each at one of the seeded venues.
    let mine = gateway
        .send(
            "GET",
            "/reservations?limit=1000",
            Some(diner),
            &serde_json::Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(mine["total"].as_u64(), Some(seeded.reservations), "{mine}");

    // --scale's growth: venues one by one, reservations imported in batches (a partial last
    // one), all through the services' internal APIs, and counted.
    let internal = seed::Internal {
        venues: Gateway::internal(&urls.venues, 4, INTERNAL_TOKEN).unwrap(),
        reservations: Gateway::internal(&urls.reservations, 4, INTERNAL_TOKEN).unwrap(),
    };
    let booked = seeded.reservations;
    seed::scale(&internal, &mut seeded, 25, 2_345, 7, &bar)
        .await
        .unwrap();
    assert_eq!(seeded.bulk_venues.len(), 25);
    assert_eq!(seeded.venue_ids().len(), 31);
    assert_eq!(seeded.reservations, booked + 2_345);
    let all = internal
        .reservations
        .send(
            "GET",
            "/reservations?limit=0",
            None,
            &serde_json::Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(all["total"].as_u64(), Some(seeded.reservations), "{all}");
    let page = gateway
        .send(
            "GET",
            "/venues?limit=0",
            Some(diner),
            &serde_json::Value::Null,
        )
        .await
        .unwrap();
    assert_eq!(page["total"], 31);

    if !wrk::installed() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: wrk is required: run `cargo xtask install`"
        );
        eprintln!("wrk is not installed: the workloads were not run (`cargo xtask install`)");
        return;
    }
    let load = Load {
        threads: 1,
        connections: 2,
        duration: Duration::from_secs(1),
    };
    for workload in Workload::ALL {
        let m = xtask::load::measure(&base, &seeded, 6, workload, load, Duration::ZERO)
            .await
            .unwrap();
        assert!(m.outcome.requests > 0, "{}: {m:?}", workload.name());
        assert_eq!(m.outcome.errors(), 0, "{}: {m:?}", workload.name());
    }
}
