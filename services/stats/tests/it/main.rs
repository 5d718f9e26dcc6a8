//! Black-box tests of the stats service: through `app()` in-process and through the real
//! binary, each with its own SQLite file in a temporary directory.

mod bad_input;
mod binary;
mod common;
mod concurrency;
mod events;
mod original;
mod reads;
