//! `cargo xtask bench-load` against the real users and gateway services, started in-process on
//! loopback listeners: every scenario completes requests, all answered as expected. Speed is
//! not asserted (that is what the benchmark is for).

use std::time::Duration;

use clap::Parser;
use xtask::commands::bench_load::{self, Options, Scenario};

const INTERNAL_TOKEN: &str = "bench-load-internal-token";

async fn serve(router: axum::Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_scenario_runs_without_errors_against_users_and_gateway() {
    let data = tempfile::tempdir().unwrap();
    let users = users::Config::parse_from([
        "users",
        "--data-dir",
        data.path().to_str().unwrap(),
        "--internal-token",
        INTERNAL_TOKEN,
        "--communications-url",
        "http://127.0.0.1:9",
    ]);
    let users_url = serve(users::build(&users).await.unwrap()).await;
    let gateway = gateway::Config::parse_from([
        "gateway",
        "--users-url",
        &users_url,
        "--internal-token",
        INTERNAL_TOKEN,
    ]);
    let gateway_url = serve(gateway::build(&gateway).await.unwrap()).await;

    let target = bench_load::check_url(&gateway_url).unwrap();
    let options = Options {
        duration: Duration::from_secs(1),
        concurrency: 4,
        scenarios: Scenario::ALL.to_vec(),
        users: 3,
        max_requests: 100_000,
    };
    let report = bench_load::bench(&target, &options).await.unwrap();
    println!("{}", report.render());

    assert_eq!(report.users, 3);
    let ran: Vec<Scenario> = report.scenarios.iter().map(|r| r.scenario).collect();
    assert_eq!(ran, Scenario::ALL);
    for r in &report.scenarios {
        let name = r.scenario.name();
        assert!(r.requests > 0, "{name}: no requests");
        assert_eq!(r.errors, 0, "{name}: {:?}", r.distinct_errors);
        assert!(r.latency_ms.p50 <= r.latency_ms.p99, "{name}");
        assert!(r.latency_ms.p99 <= r.latency_ms.max, "{name}");
    }
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["scenarios"][2]["scenario"], "anonymous-refused");
    assert_eq!(json["scenarios"][3]["concurrency"], 4);
}

#[tokio::test]
async fn a_target_that_does_not_answer_is_a_clear_error() {
    let free = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", free.local_addr().unwrap());
    drop(free);
    let options = Options {
        duration: Duration::from_secs(1),
        concurrency: 1,
        scenarios: vec![Scenario::Health],
        users: 1,
        max_requests: 10,
    };
    let e = bench_load::bench(&url, &options).await.unwrap_err();
    assert!(e.to_string().contains("cargo xtask run"), "{e}");
}
