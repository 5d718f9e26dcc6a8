//! `cargo xtask down [--volumes]`: stops and removes the project's containers and network.
//! Volumes (the data) are kept unless `--volumes` is given; the command names what it kept.

use anyhow::{Context, Result};
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions, StopContainerOptions};
use futures_util::future::join_all;

use crate::commands::ProjectArg;
use crate::engine::{self, Engine};
use crate::secrets::Secrets;

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

/// What `down` did.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub containers_removed: Vec<String>,
    pub volumes_removed: Vec<String>,
    pub volumes_kept: Vec<String>,
}

pub async fn run(args: &Args) -> Result<Report> {
    let engine = Engine::connect().await?;
    let report = down(&engine, args).await?;
    let project = &args.project.project;
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

/// `down` on a connected engine, without printing.
pub async fn down(engine: &Engine, args: &Args) -> Result<Report> {
    let project = args.project.project.as_str();
    engine::check_project(project)?;
    let mut report = Report::default();
    let containers = engine.project_containers(project).await?;
    // SIGTERM first, in parallel: the services finish their requests and close SQLite cleanly.
    let stops = containers
        .iter()
        .filter_map(|c| c.id.clone())
        .map(|id| async move {
            let options = StopContainerOptions {
                t: Some(5),
                ..Default::default()
            };
            let _ = engine.docker.stop_container(&id, Some(options)).await;
            crate::commands::up::remove(engine, &id).await
        });
    for result in join_all(stops).await {
        result?;
    }
    for c in &containers {
        if let Some(name) = c.names.as_ref().and_then(|n| n.first()) {
            report
                .containers_removed
                .push(name.trim_start_matches('/').to_string());
        }
    }
    let network = engine::network_name(project);
    if let Ok(n) = engine
        .docker
        .inspect_network(
            &network,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
        && n.labels
            .as_ref()
            .and_then(|l| l.get(engine::PROJECT))
            .map(String::as_str)
            == Some(project)
    {
        engine
            .docker
            .remove_network(&network)
            .await
            .with_context(|| format!("removing network {network}"))?;
    }
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("{}={project}", engine::PROJECT)],
    )]);
    let volumes = engine
        .docker
        .list_volumes(Some(ListVolumesOptions {
            filters: Some(filters),
        }))
        .await
        .context("listing volumes")?
        .volumes
        .unwrap_or_default();
    for v in volumes {
        if args.volumes {
            engine
                .docker
                .remove_volume(&v.name, Some(RemoveVolumeOptions { force: false }))
                .await
                .with_context(|| format!("removing volume {}", v.name))?;
            report.volumes_removed.push(v.name);
        } else {
            report.volumes_kept.push(v.name);
        }
    }
    if args.volumes {
        Secrets::remove(&crate::paths::cluster_dir(project))?;
    }
    Ok(report)
}
