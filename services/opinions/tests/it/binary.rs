//! The `opinions` binary itself: `--help`, `healthcheck`, serving and graceful shutdown.

use chefcito::testing::{assert_help_lists, assert_serves_and_stops};

const BIN: &str = env!("CARGO_BIN_EXE_opinions");

#[test]
fn help_documents_every_variable() {
    assert_help_lists(
        BIN,
        &[
            "BIND",
            "DATA_DIR",
            "INTERNAL_TOKEN",
            "RESERVATIONS_URL",
            "POINTS_URL",
            "COMMUNICATIONS_URL",
            "SUMMARIES_URL",
            "healthcheck",
        ],
    );
}

#[test]
fn serves_answers_the_healthcheck_and_stops_on_sigterm() {
    assert_serves_and_stops(BIN, &[], &[opinions::DB_FILE]);
}
