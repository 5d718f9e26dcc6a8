//! The `opinions` binary: serves the opinions service (or probes it with
//! `opinions healthcheck`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "opinions",
    version,
    about = "Chefcito opinions service: one opinion per assisted reservation, listings, batch lookups and opinion events"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: opinions::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::OPINIONS,
        || opinions::build(&cli.config),
    )
}
