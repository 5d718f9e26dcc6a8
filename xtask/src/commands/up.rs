//! `cargo xtask up [SERVICE…]`: the cluster on the local engine, idempotently.
//!
//! A private network `<project>`, a named volume `<project>-<svc>-data` per stateful service,
//! containers `<project>-<svc>` with the network alias `<svc>`, started level by level in
//! dependency order; a level starts only when the previous one is healthy (the engine's own
//! health status, from the image's HEALTHCHECK). Only the gateway is published, on
//! 127.0.0.1.
//!
//! Health gate: the engine (20.10, API 1.41) has no `start-interval`, so its first check runs
//! a full interval (10 s) after the start and waiting for it alone costs 10 s per dependency
//! level. While the engine still says `starting`, `up` therefore also runs the image's own
//! HEALTHCHECK command itself (an exec, every 100 ms): the same check, just sooner. Only the
//! engine can declare a service unhealthy; an exited container fails at once.
//!
//! A container whose configuration hash (see [`crate::cluster`]) is unchanged is
//! kept as it is; a changed one is recreated; containers of the project that are no service
//! any more are removed.

//!
//! The work is [`crate::cluster::up`]; this command parses the options and prints the status
//! table and the gateway's URL.

use anyhow::Result;

use crate::cluster::{Report, UpOptions};
use crate::commands::ProjectArg;
use crate::engine::Engine;
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Services to start, with everything they depend on (default: all).
    pub services: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Host port of the gateway (on 127.0.0.1).
    #[arg(long, default_value_t = chefcito::config::ports::GATEWAY)]
    pub port: u16,
    /// Publish on random free host ports instead (CI: runs never clash); the URL is printed.
    #[arg(long, conflicts_with = "port")]
    pub ephemeral_ports: bool,
    /// Also publish the internal services on 127.0.0.1 (debugging): each on its own port, or
    /// on random ones with --ephemeral-ports.
    #[arg(long)]
    pub publish_all: bool,
    /// Extra environment for one service, e.g. `--env gateway:LOG=debug` (repeatable); a
    /// changed value recreates that container only.
    #[arg(long = "env", value_name = "SERVICE:KEY=VALUE")]
    pub env: Vec<String>,
    /// How long to wait for each level of services to become healthy, in seconds.
    #[arg(long, default_value_t = 60)]
    pub timeout: u64,
}

impl Args {
    pub fn options(&self) -> UpOptions {
        UpOptions {
            services: self.services.clone(),
            project: self.project.project.clone(),
            port: self.port,
            ephemeral_ports: self.ephemeral_ports,
            publish_all: self.publish_all,
            env: self.env.clone(),
            timeout: self.timeout,
            permissions: Some(crate::permissions::shipped()),
            image_prefix: crate::engine::IMAGE_PREFIX.to_string(),
            publish_on: crate::cluster::PublishOn::Loopback,
        }
    }
}

pub async fn run(args: &Args) -> Result<Report> {
    let engine = Engine::connect().await?;
    let report = crate::cluster::up(&engine, &args.options()).await?;
    println!(
        "{}",
        crate::cluster::status::render(
            &engine,
            &args.project.project,
            &report.containers.keys().copied().collect::<Vec<_>>()
        )
        .await?
    );
    if let Some(line) = &report.permissions {
        println!("\n{line}");
    }
    match &report.gateway_url {
        Some(url) => println!("\ngateway: {url}"),
        None => println!("\nthe gateway is not published (not selected)"),
    }
    Ok(report)
}
