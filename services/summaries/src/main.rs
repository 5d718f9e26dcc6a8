//! The `summaries` binary: serves the summaries service (or probes it with `summaries healthcheck`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "summaries",
    version,
    about = "Chefcito summaries service: one Spanish paragraph per venue from its opinions, regenerated in the background"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: summaries::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::SUMMARIES,
        || summaries::build(&cli.config),
    )
}
