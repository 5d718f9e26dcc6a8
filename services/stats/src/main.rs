//! The `stats` binary: serves the stats service (or probes it with `stats healthcheck`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "stats",
    version,
    about = "Chefcito stats service: exact per-user and per-venue reservation counters, fed by reservation events"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: stats::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::STATS,
        || stats::build(&cli.config),
    )
}
