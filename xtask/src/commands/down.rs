//! `cargo xtask down [--volumes]`: stops and removes the project's containers and network.
//! Volumes (the data) are kept unless `--volumes` is given; the command names what it kept.

use anyhow::Result;

use crate::cluster::DownReport;
use crate::commands::ProjectArg;
use crate::engine::{self, Engine};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Also remove the volumes (all data of the stateful services) and the cluster's secrets.
    #[arg(long)]
    pub volumes: bool,
}

impl Args {
    /// `down` of `project`, removing its volumes too when `volumes`.
    pub fn of(project: &str, volumes: bool) -> Args {
        Args {
            project: ProjectArg::new(project),
            volumes,
        }
    }
}

pub async fn run(args: &Args) -> Result<DownReport> {
    let engine = Engine::connect().await?;
    let project = &args.project.project;
    engine::check_project(project)?;
    let report = crate::cluster::down(&engine, project, args.volumes).await?;
    if report.containers_removed.is_empty() {
        println!("project {project}: no containers");
    } else {
        println!(
            "project {project}: removed {}",
            report.containers_removed.join(", ")
        );
    }
    if !report.volumes_removed.is_empty() {
        println!(
            "removed volumes (data deleted): {}",
            report.volumes_removed.join(", ")
        );
    }
    if !report.volumes_kept.is_empty() {
        println!(
            "kept volumes: {} (the data is there for the next `up`; `cargo xtask down --volumes` deletes it)",
            report.volumes_kept.join(", ")
        );
    }
    Ok(report)
}
