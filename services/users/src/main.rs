//! The `users` binary: serves the users service (or probes it with `users healthcheck`, or
//! loads a permissions file into a running one with `users load-permissions`).

use clap::Parser;

#[derive(Debug, Parser)]
#[command(
    name = "users",
    version,
    about = "Chefcito users service: accounts and ID tokens (JWKS), profiles and the permission table"
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    config: users::Config,
}

#[derive(Debug, clap::Subcommand)]
enum Command {
    #[command(flatten)]
    Service(chefcito::service::Command),
    /// Validate a permissions file (db_config.yaml) and load it into a running users service
    /// (PUT /permissions with INTERNAL_TOKEN); the Kubernetes Job runs this.
    LoadPermissions(users::load_permissions::Args),
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let command = match cli.command {
        Some(Command::LoadPermissions(args)) => return load_permissions(&args, &cli.config),
        Some(Command::Service(command)) => Some(command),
        None => None,
    };
    chefcito::service::run(
        command,
        &cli.config.serve,
        chefcito::service::Role::Internal,
        chefcito::config::ports::USERS,
        || users::build(&cli.config),
    )
}

fn load_permissions(
    args: &users::load_permissions::Args,
    config: &users::Config,
) -> std::process::ExitCode {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    match runtime.block_on(users::load_permissions::run(
        args,
        config.serve.internal_token.clone(),
    )) {
        Ok(line) => {
            println!("{line}");
            std::process::ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
