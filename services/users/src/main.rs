//! The `users` binary: serves the users service (or probes it with `users healthcheck`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "users",
    version,
    about = "Chefcito users service: accounts and ID tokens (JWKS), profiles and the permission table"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<chefcito::service::Command>,
    #[command(flatten)]
    config: users::Config,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    chefcito::service::run(
        cli.command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::USERS,
        || users::build(&cli.config),
    )
}
