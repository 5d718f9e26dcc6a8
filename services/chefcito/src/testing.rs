//! Test helpers every service's tests use (feature `testing`): the internal-token check
//! through `app()`, and the life cycle of the real binary (`--help`, serving, `healthcheck`,
//! SIGTERM).

pub mod http;

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::body::Body;
use axum::http::{Method, Request};
use tower::ServiceExt;

/// Asserts that each call, made without the internal token, is refused with 401 and the
/// refusal marker, and that `/health` stays open. Every internal service runs it over its
/// routes in a test named `refuses_calls_without_the_internal_token`.
pub async fn assert_internal(app: Router, calls: &[(Method, &str)]) {
    assert!(!calls.is_empty(), "name at least one route");
    for (method, path) in calls {
        let request = Request::builder()
            .method(method.clone())
            .uri(*path)
            .header("content-type", "application/json")
            .body(Body::from("{}"))
            .expect("a valid request");
        let response = app.clone().oneshot(request).await.expect("infallible");
        assert_eq!(
            response.status(),
            401,
            "{method} {path} answered without the internal token"
        );
        assert!(
            response
                .headers()
                .contains_key(crate::service::INTERNAL_TOKEN_REFUSED_HEADER),
            "{method} {path}: a refusal must be marked as an internal-token refusal"
        );
    }
    let health = Request::get("/health").body(Body::empty()).expect("valid");
    let status = app.oneshot(health).await.expect("infallible").status();
    assert_ne!(status, 401, "/health must not require the internal token");
}

/// A loopback port nothing listens on right now (the listener is dropped at once, so another
/// process could take it first: good enough for a test that then checks it answers).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Asserts that `bin --help` succeeds and names every one of `vars` (the environment
/// variables the crate documents, and `healthcheck`).
pub fn assert_help_lists(bin: &str, vars: &[&str]) {
    let out = Command::new(bin)
        .arg("--help")
        .output()
        .expect("the binary runs");
    assert!(out.status.success(), "{bin} --help failed: {out:?}");
    let help = String::from_utf8(out.stdout).expect("--help is UTF-8");
    for var in vars {
        assert!(help.contains(var), "--help lacks {var}:\n{help}");
    }
}

/// Runs `bin` as it is deployed and asserts its life cycle: it serves on `BIND` (a free
/// loopback port), `bin healthcheck` answers within 20 s, each of `data_files` exists in its
/// `DATA_DIR` (a fresh directory, removed afterwards), and SIGTERM stops it with status 0.
/// `INTERNAL_TOKEN` and `LOG=warn` are set; `env` sets more, or removes an inherited one with
/// `None`, so that a developer's shell cannot change what is tested.
pub fn assert_serves_and_stops(bin: &str, env: &[(&str, Option<&str>)], data_files: &[&str]) {
    let port = free_port();
    assert!(!healthcheck(bin, port), "nothing listens yet");
    let dir = TempDir::new();
    let mut command = Command::new(bin);
    command
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", &dir.0)
        .env("INTERNAL_TOKEN", "t")
        .env("LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    for (name, value) in env {
        match value {
            Some(value) => command.env(name, value),
            None => command.env_remove(name),
        };
    }
    let mut child = Running(command.spawn().expect("the binary starts"));
    let started = Instant::now();
    while !healthcheck(bin, port) {
        assert!(
            started.elapsed() < Duration::from_secs(20),
            "{bin} did not become healthy"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    for file in data_files {
        assert!(dir.0.join(file).exists(), "{file} is not in DATA_DIR");
    }
    // `kill` rather than a signal crate: std cannot send SIGTERM, and this keeps chefcito
    // free of a dependency only tests would use.
    let term = Command::new("kill")
        .args(["-TERM", &child.0.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(term.success());
    let status = child.0.wait().expect("the binary exits");
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}

/// Whether `bin healthcheck` finds a healthy service on the loopback `port`.
fn healthcheck(bin: &str, port: u16) -> bool {
    Command::new(bin)
        .arg("healthcheck")
        .env("BIND", format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .status()
        .expect("the binary runs")
        .success()
}

/// A child that a failed assertion must not leave running.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A fresh directory under the system's temporary one, removed on drop (chefcito does not
/// depend on `tempfile`).
struct TempDir(PathBuf);

impl TempDir {
    fn new() -> TempDir {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let name = format!(
            "chefcito-test-{}-{nanos}-{}",
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let path = std::env::temp_dir().join(name);
        std::fs::create_dir(&path).expect("a fresh temporary directory");
        TempDir(path)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
