//! The `communications` binary: serves the communications service (or probes it with
//! `communications healthcheck`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "communications",
    version,
    about = "Chefcito communications service: phone numbers, and text messages for reservation and opinion events"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: communications::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::COMMUNICATIONS,
        || communications::build(&cli.config),
    )
}
