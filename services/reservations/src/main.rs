//! The `reservations` binary: serves the reservations service (or probes it with
//! `reservations healthcheck`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "reservations",
    version,
    about = "Chefcito reservations service: bookings, their state machine, venue capacity, expiry and status events"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: reservations::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::RESERVATIONS,
        || reservations::build(&cli.config),
    )
}
