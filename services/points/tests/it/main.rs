//! Black-box tests of the points service: through `app()` in-process and through the real
//! binary, each with its own SQLite files in a temporary directory and a clock the test moves.

mod bad_input;
mod binary;
mod common;
mod concurrency;
mod events;
mod original;
mod reads;
