//! Taking a project's cluster down (`cargo xtask down`, and the clean-ups of `test` and
//! `bench`). Volumes (the data) are kept unless asked for.

use anyhow::{Context, Result};
use bollard::query_parameters::{ListVolumesOptions, RemoveVolumeOptions, StopContainerOptions};
use futures_util::future::join_all;

use crate::engine::{self, Engine};
use crate::secrets::Secrets;

/// What `down` did.
#[derive(Debug, Clone, Default)]
pub struct DownReport {
    pub containers_removed: Vec<String>,
    pub volumes_removed: Vec<String>,
    pub volumes_kept: Vec<String>,
}

/// Stops and removes the containers and network of `project` (SIGTERM first), and its
/// volumes and secrets too when `remove_volumes`; prints nothing.
pub async fn down(engine: &Engine, project: &str, remove_volumes: bool) -> Result<DownReport> {
    engine::check_project(project)?;
    let mut report = DownReport::default();
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
            engine::remove(engine, &id).await
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
        if remove_volumes {
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
    if remove_volumes {
        Secrets::remove(&crate::paths::cluster_dir(project))?;
    }
    Ok(report)
}
