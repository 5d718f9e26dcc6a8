//! Black-box tests of the opinions service: through `app()` in-process, each with its own
//! SQLite file in a temporary directory, and with one fake server on 127.0.0.1 playing the
//! reservations service and the three event consumers (points, communications, summaries).

mod bad_input;
mod batch;
mod binary;
mod common;
mod concurrency;
mod events;
mod listing;
mod original;
mod rules;
