//! The state of a project's services, as `status` and `up` print it.

use anyhow::Result;
use bollard::models::ContainerSummary;

use crate::engine::{self, Engine};
use crate::services;
use crate::util::{human_age, table};

/// One status line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub service: String,
    pub state: String,
    pub health: String,
    pub url: String,
    /// How often the engine restarted the container after it died (restart policy).
    pub restarts: String,
    pub image: String,
    pub age: String,
}

/// The status of every service of the table in `project` (`absent` when it has no container).
pub async fn rows(engine: &Engine, project: &str) -> Result<Vec<Row>> {
    let containers = engine.project_containers(project).await?;
    let mut rows = Vec::new();
    for s in services::SERVICES {
        let Some(c) = containers
            .iter()
            .find(|c| engine::service_of(c) == Some(s.name))
        else {
            rows.push(Row {
                service: s.name.into(),
                state: "absent".into(),
                health: "-".into(),
                url: "-".into(),
                restarts: "-".into(),
                image: "-".into(),
                age: "-".into(),
            });
            continue;
        };
        let (image, age) = image_of(engine, c).await;
        rows.push(Row {
            service: s.name.into(),
            state: c.state.map(|s| s.to_string()).unwrap_or_default(),
            health: health_of(c.status.as_deref().unwrap_or_default()).into(),
            url: url_of(c).unwrap_or_else(|| "-".into()),
            restarts: restarts_of(engine, c).await,
            image,
            age,
        });
    }
    Ok(rows)
}

/// The published URL of the gateway of `project`'s Docker cluster, or an error saying how to
/// start it.
pub async fn gateway_url(project: &str) -> Result<String> {
    engine::check_project(project)?;
    let engine = Engine::connect().await.map_err(|e| {
        anyhow::anyhow!(
            "{e:#}\nno cluster to reach: `cargo xtask run` first, or pass --url http://127.0.0.1:PORT"
        )
    })?;
    let gateway = services::SERVICES
        .iter()
        .find(|s| s.public)
        .ok_or_else(|| anyhow::anyhow!("no public service in xtask/src/services.rs"))?;
    let container = engine::container_name(project, gateway.name);
    if let Some(url) = engine::published_url(&engine, &container, gateway.port).await {
        return Ok(url);
    }
    let state = rows(&engine, project)
        .await?
        .into_iter()
        .find(|r| r.service == gateway.name)
        .map(|r| r.state)
        .unwrap_or_else(|| "absent".into());
    let up_command = if project == engine::DEFAULT_PROJECT {
        "`cargo xtask run`".to_string()
    } else {
        format!("`cargo xtask up --project {project}`")
    };
    anyhow::bail!(
        "no cluster running in project {project} (its gateway is {state}, with no published port): {up_command} first, or pass --url http://127.0.0.1:PORT"
    )
}

/// The table, as `status` and `up` print it. `gated` are services whose health check `up`
/// has just seen pass, while the engine may not have run its first one yet.
pub async fn render(engine: &Engine, project: &str, gated: &[&str]) -> Result<String> {
    let mut rows = rows(engine, project).await?;
    for r in rows
        .iter_mut()
        .filter(|r| r.health == "starting" && gated.contains(&r.service.as_str()))
    {
        r.health = "healthy".into();
    }
    let cells: Vec<Vec<String>> = rows
        .into_iter()
        .map(|r| {
            vec![
                r.service, r.state, r.health, r.url, r.restarts, r.image, r.age,
            ]
        })
        .collect();
    Ok(format!(
        "project {project}\n{}",
        table(
            &[
                "SERVICE",
                "STATE",
                "HEALTH",
                "URL",
                "RESTARTS",
                "IMAGE",
                "IMAGE AGE"
            ],
            &cells
        )
    ))
}

async fn restarts_of(engine: &Engine, c: &ContainerSummary) -> String {
    let Some(id) = c.id.as_deref() else {
        return "-".into();
    };
    engine
        .docker
        .inspect_container(
            id,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .ok()
        .and_then(|i| i.restart_count)
        .map_or_else(|| "-".into(), |n| n.to_string())
}

/// The engine says `Up 5 seconds (healthy)` or `Up 1 second (health: starting)`.
fn health_of(status: &str) -> &'static str {
    if status.contains("(healthy)") {
        "healthy"
    } else if status.contains("(unhealthy)") {
        "unhealthy"
    } else if status.contains("health: starting") {
        "starting"
    } else {
        "-"
    }
}

fn url_of(c: &ContainerSummary) -> Option<String> {
    let port = c.ports.as_ref()?.iter().find(|p| p.public_port.is_some())?;
    let ip = port
        .ip
        .as_deref()
        .filter(|ip| !ip.is_empty() && *ip != "0.0.0.0")
        .unwrap_or("127.0.0.1");
    Some(format!("http://{ip}:{}", port.public_port?))
}

/// The most telling tag of the container's image (the git one rather than `latest`) and how
/// old the image is.
async fn image_of(engine: &Engine, c: &ContainerSummary) -> (String, String) {
    let id = c.image_id.clone().unwrap_or_default();
    let Ok(image) = engine.docker.inspect_image(&id).await else {
        return (c.image.clone().unwrap_or_else(|| "?".into()), "-".into());
    };
    let tags = image.repo_tags.unwrap_or_default();
    let tag = tags
        .iter()
        .find(|t| !t.ends_with(":latest"))
        .or(tags.first())
        .cloned()
        .unwrap_or_else(|| id.chars().take(19).collect());
    let age = image
        .created
        .as_deref()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
        .map(|t| human_age((chrono::Utc::now() - t.with_timezone(&chrono::Utc)).num_seconds()))
        .unwrap_or_else(|| "-".into());
    (tag, age)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn health_from_engine_status() {
        assert_eq!(health_of("Up 5 seconds (healthy)"), "healthy");
        assert_eq!(health_of("Up 1 second (health: starting)"), "starting");
        assert_eq!(health_of("Up 9 minutes (unhealthy)"), "unhealthy");
        assert_eq!(health_of("Exited (1) 3 seconds ago"), "-");
    }
}
