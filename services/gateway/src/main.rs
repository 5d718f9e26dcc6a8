//! The `gateway` binary: configuration from the environment, then serve (see the crate docs).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "gateway",
    about = "Chefcito's public gateway: token verification, permissions, CORS and the client API"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: gateway::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Public,
        chefcito::config::ports::GATEWAY,
        || gateway::build(&cli.config),
    )
}
