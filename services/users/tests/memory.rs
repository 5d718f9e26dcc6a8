//! Password hashing uses a fixed amount of memory whatever the load: after 600 sign-ins, 16
//! at a time, the resident set stays within the idle one plus the argon2 memory pool.
//! Its own test binary, so that its process measures nothing but this.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use clap::Parser;
use tower::ServiceExt;

const TOKEN: &str = "t";

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kb: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kb * 1024
}

fn sign_in(email: &str) -> Request<Body> {
    Request::post("/auth/signin")
        .header(chefcito::INTERNAL_TOKEN_HEADER, TOKEN)
        .header("content-type", "application/json")
        .body(Body::from(
            serde_json::json!({"email": email, "password": "correct horse battery"}).to_string(),
        ))
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rss_after_600_sign_ins_stays_within_idle_plus_the_pool() {
    let dir = tempfile::tempdir().unwrap();
    let config = users::Config::parse_from([
        "users",
        "--data-dir",
        dir.path().to_str().unwrap(),
        "--internal-token",
        TOKEN,
        "--communications-url",
        "http://127.0.0.1:9",
    ]);
    let app = users::build(&config).await.unwrap();
    let signup = Request::post("/auth/signup")
        .header(chefcito::INTERNAL_TOKEN_HEADER, TOKEN)
        .header("content-type", "application/json")
        .body(Body::from(
            r#"{"email":"rss@example.com","password":"correct horse battery"}"#,
        ))
        .unwrap();
    assert_eq!(app.clone().oneshot(signup).await.unwrap().status(), 200);
    let idle = rss_bytes();

    let semaphore = std::sync::Arc::new(tokio::sync::Semaphore::new(16));
    let mut tasks = Vec::new();
    for _ in 0..600 {
        let (app, semaphore) = (app.clone(), semaphore.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = semaphore.acquire_owned().await.unwrap();
            app.oneshot(sign_in("rss@example.com"))
                .await
                .unwrap()
                .status()
        }));
    }
    for task in tasks {
        assert_eq!(task.await.unwrap(), StatusCode::OK);
    }
    let after = rss_bytes();
    let pool = users::passwords::slots() * users::passwords::memory_per_slot();
    // Slack for what 600 requests leave behind elsewhere (tokio's blocking threads' stacks,
    // SQLite page cache): a few MiB, nothing like one 19 MiB buffer per hash.
    let slack = 24 << 20;
    assert!(
        after <= idle + pool + slack,
        "RSS grew from {} MiB to {} MiB (pool {} MiB)",
        idle >> 20,
        after >> 20,
        pool >> 20
    );
    eprintln!(
        "RSS idle {} MiB, after 600 sign-ins {} MiB, pool {} MiB",
        idle >> 20,
        after >> 20,
        pool >> 20
    );
}
