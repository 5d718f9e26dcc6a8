//! Black-box tests of the users service: through `app()` in-process and through real
//! listeners on 127.0.0.1, each with its own SQLite files in a temporary directory.

mod auth;
mod bad_input;
mod binary;
mod common;
mod keys;
mod original;
mod permissions;
mod profiles;
