//! The `summaries` binary itself: `--help`, `healthcheck`, serving and graceful shutdown.

use std::process::Command;

use chefcito::testing::{assert_help_lists, assert_serves_and_stops, free_port};

const BIN: &str = env!("CARGO_BIN_EXE_summaries");

#[test]
fn help_documents_every_variable() {
    assert_help_lists(
        BIN,
        &[
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
        ],
    );
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
    assert_serves_and_stops(BIN, &[], &[summaries::DB_FILE]);
}
