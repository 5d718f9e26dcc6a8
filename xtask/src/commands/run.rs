//! `cargo xtask run`: `build` then `up`, the README's main command. Without a reachable
//! Docker Engine (or with `--native`) the services run as local processes instead, see
//! [`crate::native`].

use anyhow::Result;

use crate::commands::{build, up};
use crate::engine::{self, Engine};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)] // `up::Args` is flattened in: two groups named `Args` would clash.
pub struct Args {
    #[command(flatten)]
    pub up: up::Args,
    /// Run the services as local processes (debug builds, data under
    /// target/chefcito-native/), even when a Docker Engine is reachable.
    #[arg(long)]
    pub native: bool,
}

pub async fn run(args: &Args) -> Result<()> {
    if !args.native {
        match Engine::connect().await {
            Ok(_) => {
                let build_args = build::Args {
                    services: args.up.services.clone(),
                    ..Default::default()
                };
                build::run(&build_args).await?;
                up::run(&args.up).await?;
                return Ok(());
            }
            Err(_) => println!(
                "Docker Engine not reachable at {}: running the services as local processes instead \
                 (`cargo xtask run --native` skips this check; start Docker for the container cluster)",
                engine::address()
            ),
        }
    }
    crate::native::run(
        &args.up.services,
        &args.up.project.project,
        args.up.port,
        std::time::Duration::from_secs(args.up.timeout),
    )
    .await
}
