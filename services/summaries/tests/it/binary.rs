//! The `summaries` binary itself: `--help`, `healthcheck`, serving and graceful shutdown.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_summaries");

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn healthcheck(port: u16) -> bool {
    Command::new(BIN)
        .arg("healthcheck")
        .env("BIND", format!("127.0.0.1:{port}"))
        .stderr(Stdio::null())
        .status()
        .unwrap()
        .success()
}

#[test]
fn help_documents_every_variable() {
    let out = Command::new(BIN).arg("--help").output().unwrap();
    assert!(out.status.success());
    let help = String::from_utf8(out.stdout).unwrap();
    for var in [
        "BIND",
        "DATA_DIR",
        "INTERNAL_TOKEN",
        "LOG",
        "OPINIONS_URL",
        "SUMMARY_API_BASE_URL",
        "SUMMARY_MODEL",
        "SUMMARY_API_KEY",
        "SUMMARY_TIMEOUT_SECS",
        "SUMMARY_STALE_DAYS",
        "SUMMARY_NEW_OPINIONS",
        "SUMMARY_MIN_OPINIONS",
        "SUMMARY_MAX_OPINIONS",
        "SUMMARY_COOLDOWN_SECS",
        "healthcheck",
    ] {
        assert!(help.contains(var), "--help lacks {var}:\n{help}");
    }
}

#[test]
fn a_chat_api_without_a_model_stops_the_start() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env("BIND", format!("127.0.0.1:{}", free_port()))
        .env("DATA_DIR", dir.path())
        .env("SUMMARY_API_BASE_URL", "http://127.0.0.1:9/v1")
        .env("SUMMARY_API_KEY", "sk-very-secret")
        .env("LOG", "info")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stderr.contains("SUMMARY_MODEL"), "{stderr}");
    assert!(!stderr.contains("sk-very-secret") && !stdout.contains("sk-very-secret"));
}

#[test]
fn serves_answers_the_healthcheck_and_stops_on_sigterm() {
    let port = free_port();
    assert!(!healthcheck(port), "nothing listens yet");
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .env("BIND", format!("127.0.0.1:{port}"))
        .env("DATA_DIR", dir.path())
        .env("INTERNAL_TOKEN", "t")
        .env("LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while !healthcheck(port) {
        if started.elapsed() > Duration::from_secs(20) {
            child.kill().unwrap();
            panic!("the service did not become healthy");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert!(dir.path().join(summaries::DB_FILE).exists());
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}
