//! Black-box tests of the communications service: through `app()` in-process, against local
//! stand-ins for the venues service and Twilio, and through the real binary. Each test has
//! its own SQLite files in a temporary directory.

mod bad_input;
mod binary;
mod common;
mod events;
mod messages;
mod original;
mod phones;
mod twilio;
