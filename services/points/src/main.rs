//! The `points` binary: serves the points service (or probes it with `points healthcheck`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "points",
    version,
    about = "Chefcito points service: loyalty balances, levels and decay, fed by reservation and opinion events"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: points::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::POINTS,
        || points::build(&cli.config),
    )
}
