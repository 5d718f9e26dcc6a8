//! Black-box tests of the summaries service: through `app()` in-process (with a fake opinions
//! service and a fake chat API on 127.0.0.1:0) and through the real binary, each with its own
//! SQLite file in a temporary directory and a clock the test moves.

mod bad_input;
mod binary;
mod common;
mod concurrency;
mod events;
mod extractive;
mod openai;
mod original;
mod reads;
