//! The `users` binary itself: `--help`, `healthcheck`, serving and graceful shutdown.

use chefcito::testing::{assert_help_lists, assert_serves_and_stops};

const BIN: &str = env!("CARGO_BIN_EXE_users");

#[test]
fn help_documents_every_variable() {
    assert_help_lists(
        BIN,
        &[
            "BIND",
            "DATA_DIR",
            "INTERNAL_TOKEN",
            "TOKEN_ISSUER",
            "TOKEN_AUDIENCE",
            "TOKEN_TTL_SECS",
            "REFRESH_TTL_DAYS",
            "SIGNING_KEY",
            "healthcheck",
        ],
    );
}

#[test]
fn serves_answers_the_healthcheck_and_stops_on_sigterm() {
    // Without SIGNING_KEY the service makes its key and keeps it in DATA_DIR.
    assert_serves_and_stops(
        BIN,
        &[("SIGNING_KEY", None)],
        &[users::DB_FILE, users::tokens::KEY_FILE],
    );
}
