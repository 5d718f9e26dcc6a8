//! The `communications` binary itself: `--help`, `healthcheck`, serving and graceful shutdown.

use std::process::Command;

use chefcito::testing::{assert_help_lists, assert_serves_and_stops, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_communications");

#[test]
fn help_documents_every_variable() {
    assert_help_lists(
        BIN,
        &[
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
        ],
    );
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
    assert_serves_and_stops(BIN, &[], &[communications::DB_FILE]);
}
