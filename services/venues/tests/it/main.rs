//! Black-box tests of the venues service: through `app()` in-process (and the binary through
//! a real listener on 127.0.0.1), each with its own SQLite file in a temporary directory.

mod bad_input;
mod binary;
mod common;
mod listing;
mod near;
mod original;
mod promotions;
mod updates;
