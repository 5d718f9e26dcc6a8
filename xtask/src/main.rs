//! `cargo xtask`: see the library's docs (`xtask/src/lib.rs`).
use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = xtask::Cli::parse();
    match xtask::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{} {e:#}", xtask::progress::paint(1, "error:"));
            std::process::ExitCode::FAILURE
        }
    }
}
