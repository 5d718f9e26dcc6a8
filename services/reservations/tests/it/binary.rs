//! The `reservations` binary itself: `--help`, `healthcheck`, serving and graceful shutdown.

use chefcito::testing::{assert_help_lists, assert_serves_and_stops};

const BIN: &str = env!("CARGO_BIN_EXE_reservations");

#[test]
fn help_documents_every_variable() {
    assert_help_lists(
        BIN,
        &[
            "BIND",
            "DATA_DIR",
            "INTERNAL_TOKEN",
            "VENUES_URL",
            "USERS_URL",
            "POINTS_URL",
            "SEATING_MINUTES",
            "EXPIRY_SWEEP_SECS",
            "DISPLAY_OFFSET_MINUTES",
            "healthcheck",
        ],
    );
}

#[test]
fn serves_answers_the_healthcheck_and_stops_on_sigterm() {
    assert_serves_and_stops(BIN, &[], &[reservations::DB_FILE]);
}
