//! Black-box tests of the reservations service: through `app()` in-process, each with its own
//! SQLite files in a temporary directory, and with fake venues, users and points services
//! (small axum routers on 127.0.0.1) standing in for the real ones.

mod bad_input;
mod binary;
mod capacity;
mod common;
mod events;
mod expiry;
mod import;
mod listing;
mod original;
mod rules;
