//! The Docker Engine: one connection (version negotiated, since the engine here speaks API
//! 1.41), the names and labels of everything xtask creates, and lookups shared by commands.
//!
//! Every object carries `chefcito.project=<project>`; commands only ever list, change or remove
//! objects with that label, so that nothing else on the engine is touched.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bollard::Docker;
use bollard::models::{ContainerStateStatusEnum, ContainerSummary, HealthStatusEnum};
use bollard::query_parameters::{ListContainersOptions, LogsOptions, RemoveContainerOptions};
use futures_util::StreamExt;

/// Label: the project (cluster) an object belongs to.
pub const PROJECT: &str = "chefcito.project";
/// Label: the service a container or image is.
pub const SERVICE: &str = "chefcito.service";
/// Label: hash of a container's configuration (see `cluster::Spec::hash`).
pub const CONFIG_HASH: &str = "chefcito.config-hash";
/// Label: SHA-256 of an image's binary.
pub const BINARY_SHA: &str = "chefcito.binary-sha256";
/// Label: SHA-256 of an image's whole build context (binary and CONTAINERFILE).
pub const CONTEXT_SHA: &str = "chefcito.context-sha256";

/// The default project: `cargo xtask up` without `--project`.
pub const DEFAULT_PROJECT: &str = "chefcito";

/// Images are `<prefix>-<svc>`; this is the prefix of `cargo xtask build`'s.
pub const IMAGE_PREFIX: &str = "chefcito";

pub fn image_repo(service: &str) -> String {
    format!("{IMAGE_PREFIX}-{service}")
}
pub fn image_latest(service: &str) -> String {
    format!("{IMAGE_PREFIX}-{service}:latest")
}
pub fn container_name(project: &str, service: &str) -> String {
    format!("{project}-{service}")
}
pub fn volume_name(project: &str, service: &str) -> String {
    format!("{project}-{service}-data")
}
pub fn network_name(project: &str) -> String {
    project.to_string()
}

/// Accepts names that are valid for containers, networks and volumes alike.
pub fn check_project(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 40
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if ok {
        Ok(())
    } else {
        Err(anyhow!(
            "invalid project name `{name}`: use 1 to 40 lower-case letters, digits, `-` or `_`, starting with a letter or digit"
        ))
    }
}

/// Where the engine is expected, for messages.
pub fn address() -> String {
    std::env::var("DOCKER_HOST").unwrap_or_else(|_| "unix:///var/run/docker.sock".into())
}

/// A connected engine.
#[derive(Debug, Clone)]
pub struct Engine {
    pub docker: Docker,
    pub api_version: String,
}

impl Engine {
    /// Connects and negotiates the API version; a clear error when no engine answers.
    pub async fn connect() -> Result<Engine> {
        let not_reachable = |e: &dyn std::fmt::Display| {
            anyhow!(
                "Docker Engine not reachable at {} ({e}): start Docker, or use `cargo xtask run --native` to run the services as local processes",
                address()
            )
        };
        let docker = Docker::connect_with_defaults().map_err(|e| not_reachable(&e))?;
        let docker = tokio::time::timeout(Duration::from_secs(5), docker.negotiate_version())
            .await
            .map_err(|_| not_reachable(&"no answer within 5 s"))?
            .map_err(|e| not_reachable(&e))?;
        let api_version = docker.client_version().to_string();
        Ok(Engine {
            docker,
            api_version,
        })
    }

    /// The containers of `project`, running or not.
    pub async fn project_containers(&self, project: &str) -> Result<Vec<ContainerSummary>> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{PROJECT}={project}")])]);
        self.docker
            .list_containers(Some(ListContainersOptions {
                all: true,
                filters: Some(filters),
                ..Default::default()
            }))
            .await
            .context("listing the project's containers")
    }

    /// The last `lines` lines a container printed (stdout and stderr), for error messages.
    pub async fn last_logs(&self, container: &str, lines: usize) -> String {
        let options = LogsOptions {
            stdout: true,
            stderr: true,
            tail: lines.to_string(),
            ..Default::default()
        };
        let mut stream = self.docker.logs(container, Some(options));
        let mut out = String::new();
        while let Some(Ok(chunk)) = stream.next().await {
            out.push_str(&String::from_utf8_lossy(&chunk.into_bytes()));
        }
        out
    }
}

/// The service label of a listed container.
pub fn service_of(c: &ContainerSummary) -> Option<&str> {
    c.labels.as_ref()?.get(SERVICE).map(String::as_str)
}

/// Is this engine error a 404?
pub fn is_not_found(e: &bollard::errors::Error) -> bool {
    matches!(
        e,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

/// Removes a container (stopped or not) and its anonymous volumes; a missing one is fine.
pub async fn remove(engine: &Engine, container: &str) -> Result<()> {
    let options = RemoveContainerOptions {
        force: true,
        v: true,
        ..Default::default()
    };
    match engine
        .docker
        .remove_container(container, Some(options))
        .await
    {
        Err(e) if !is_not_found(&e) => {
            Err(e).with_context(|| format!("removing container {container}"))
        }
        _ => Ok(()),
    }
}

/// Polls the engine's health status of `container` until healthy; a container that exits,
/// turns unhealthy or takes longer than `timeout` fails with its last log lines.
pub async fn wait_healthy(
    engine: &Engine,
    container: &str,
    service: &str,
    timeout: Duration,
) -> Result<()> {
    let started = Instant::now();
    loop {
        let c = engine
            .docker
            .inspect_container(
                container,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .with_context(|| format!("inspecting {container}"))?;
        let state = c.state.unwrap_or_default();
        let health = state.health.as_ref().and_then(|h| h.status);
        // With the restart policy a crashing service never stays `exited`: the engine starts it
        // again, so a restart during start-up is the crash.
        let restarts = c.restart_count.unwrap_or(0);
        let problem = match (state.status, health) {
            (_, Some(HealthStatusEnum::HEALTHY)) => return Ok(()),
            (Some(ContainerStateStatusEnum::RESTARTING), _) => {
                format!(
                    "exited with code {} (the engine is restarting it)",
                    state.exit_code.unwrap_or(-1)
                )
            }
            _ if restarts > 0 => {
                format!(
                    "exited with code {} (the engine restarted it {restarts} times)",
                    state.exit_code.unwrap_or(-1)
                )
            }
            // An image without HEALTHCHECK: running is all we can know.
            (Some(ContainerStateStatusEnum::RUNNING), None | Some(HealthStatusEnum::NONE)) => {
                return Ok(());
            }
            (Some(ContainerStateStatusEnum::EXITED | ContainerStateStatusEnum::DEAD), _) => {
                format!("exited with code {}", state.exit_code.unwrap_or(-1))
            }
            (_, Some(HealthStatusEnum::UNHEALTHY)) => {
                let last = state
                    .health
                    .and_then(|h| h.log)
                    .and_then(|l| l.last().cloned());
                let output = last.and_then(|r| r.output).unwrap_or_default();
                format!("is unhealthy (last check: {})", output.trim())
            }
            _ if started.elapsed() > timeout => {
                format!("is not healthy after {} s", timeout.as_secs())
            }
            (Some(ContainerStateStatusEnum::RUNNING), _)
                if probe(engine, container, c.config.as_ref()).await =>
            {
                return Ok(());
            }
            _ => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let logs = engine.last_logs(container, 30).await;
        bail!(
            "{service} {problem}; its last log lines:\n{}\nfix the service or its environment and run `cargo xtask up` again (`cargo xtask logs {service}` shows everything)",
            indent(&logs)
        );
    }
}

/// Runs the container's exec-form HEALTHCHECK command once; true when it exits 0.
async fn probe(
    engine: &Engine,
    container: &str,
    config: Option<&bollard::models::ContainerConfig>,
) -> bool {
    let test = config
        .and_then(|c| c.healthcheck.as_ref())
        .and_then(|h| h.test.clone())
        .unwrap_or_default();
    let Some(("CMD", argv)) = test
        .split_first()
        .map(|(k, rest)| (k.as_str(), rest.to_vec()))
    else {
        return false;
    };
    let exec = bollard::models::ExecConfig {
        cmd: Some(argv),
        ..Default::default()
    };
    let Ok(created) = engine.docker.create_exec(container, exec).await else {
        return false;
    };
    let detached = bollard::exec::StartExecOptions {
        detach: true,
        ..Default::default()
    };
    if engine
        .docker
        .start_exec(&created.id, Some(detached))
        .await
        .is_err()
    {
        return false;
    }
    let deadline = Instant::now() + Duration::from_secs(3);
    while Instant::now() < deadline {
        match engine.docker.inspect_exec(&created.id).await {
            Ok(r) if r.running == Some(false) => return r.exit_code == Some(0),
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(_) => return false,
        }
    }
    false
}

fn indent(text: &str) -> String {
    let lines: Vec<String> = text.lines().map(|l| format!("    {l}")).collect();
    if lines.is_empty() {
        "    (nothing)".into()
    } else {
        lines.join("\n")
    }
}

/// `http://127.0.0.1:<host port>` of a published container port.
pub async fn published_url(engine: &Engine, container: &str, port: u16) -> Option<String> {
    let c = engine
        .docker
        .inspect_container(
            container,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .ok()?;
    let ports = c.network_settings?.ports?;
    let binding = ports
        .get(&format!("{port}/tcp"))?
        .as_ref()?
        .first()?
        .clone();
    let ip = binding
        .host_ip
        .filter(|ip| !ip.is_empty() && ip != "0.0.0.0")
        .unwrap_or_else(|| crate::cluster::PUBLISH_IP.to_string());
    Some(format!("http://{ip}:{}", binding.host_port?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn project_names() {
        for good in ["chefcito", "t-1", "e2e_42"] {
            check_project(good).unwrap();
        }
        for bad in ["", "-x", "UPPER", "a b", "x/y", &"a".repeat(41)] {
            assert!(check_project(bad).is_err(), "{bad}");
        }
        assert_eq!(container_name("p", "users"), "p-users");
        assert_eq!(volume_name("p", "users"), "p-users-data");
    }
}
