//! The `venues` binary: serves the venues service (or probes it with `venues healthcheck`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "venues",
    version,
    about = "Chefcito venues service: venues, tag filters, distance search and promotions"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: venues::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::VENUES,
        || venues::build(&cli.config),
    )
}
