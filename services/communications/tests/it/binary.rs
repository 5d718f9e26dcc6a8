//! The `communications` binary itself: `--help`, `healthcheck`, serving and graceful shutdown.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_communications");

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
        "VENUES_URL",
        "MESSENGER",
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_FROM",
        "TWILIO_MESSAGING_SERVICE_SID",
        "TWILIO_BASE_URL",
        "SEND_RETRY_BASE_MS",
        "SEND_RETRY_MAX_SECS",
        "SEND_MAX_ATTEMPTS",
        "MESSAGE_RETENTION_DAYS",
        "DATE_OFFSET_MINUTES",
        "healthcheck",
    ] {
        assert!(help.contains(var), "--help lacks {var}:\n{help}");
    }
}

#[test]
fn refuses_to_start_twilio_without_credentials() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .env("BIND", format!("127.0.0.1:{}", free_port()))
        .env("DATA_DIR", dir.path())
        .env("MESSENGER", "twilio")
        .env("TWILIO_FROM", "+15005550006")
        .env("LOG", "off")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("TWILIO_ACCOUNT_SID"), "{stderr}");
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
    assert!(dir.path().join(communications::DB_FILE).exists());
    let term = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(term.success());
    let status = child.wait().unwrap();
    assert!(status.success(), "graceful shutdown exits 0: {status:?}");
}
