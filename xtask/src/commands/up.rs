//! `cargo xtask up [SERVICE…]`: the cluster on the local engine, idempotently.
//!
//! A private network `<project>`, a named volume `<project>-<svc>-data` per stateful service,
//! containers `<project>-<svc>` with the network alias `<svc>`, started level by level in
//! dependency order; a level starts only when the previous one is healthy (the engine's own
//! health status, from the image's HEALTHCHECK). Only the gateway is published, on
//! 127.0.0.1.
//!
//! Health gate: the engine (20.10, API 1.41) has no `start-interval`, so its first check runs
//! a full interval (2 s) after the start and waiting for it alone costs 2 s per dependency
//! level. While the engine still says `starting`, `up` therefore also runs the image's own
//! HEALTHCHECK command itself (an exec, every 100 ms): the same check, just sooner. Only the
//! engine can declare a service unhealthy; an exited container fails at once.
//!
//! A container whose configuration hash (see [`crate::cluster`]) is unchanged is
//! kept as it is; a changed one is recreated; containers of the project that are no service
//! any more are removed.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use bollard::models::{
    ContainerStateStatusEnum, HealthStatusEnum, NetworkCreateRequest, VolumeCreateOptions,
};
use bollard::query_parameters::{RemoveContainerOptions, StartContainerOptions};
use futures_util::future::try_join_all;

use crate::cluster::{Publish, Spec};
use crate::commands::ProjectArg;
use crate::engine::{self, Engine};
use crate::secrets::Secrets;
use crate::services::{self, Service};

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
    /// `up` of every service in `project`, on ephemeral ports (tests, CI, benchmarks).
    pub fn ephemeral(project: &str) -> Args {
        Args {
            services: Vec::new(),
            project: ProjectArg {
                project: project.to_string(),
            },
            port: chefcito::config::ports::GATEWAY,
            ephemeral_ports: true,
            publish_all: false,
            env: Vec::new(),
            timeout: 60,
        }
    }
}

/// What `up` did to one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Kept,
    Started,
    Created,
    Recreated,
}

/// The outcome of `up`.
#[derive(Debug, Clone)]
pub struct Report {
    /// `http://127.0.0.1:<port>` when the gateway is up and published.
    pub gateway_url: Option<String>,
    /// Service → (container id, what was done).
    pub containers: BTreeMap<&'static str, (String, Action)>,
    /// Containers removed because their service is gone.
    pub orphans_removed: Vec<String>,
}

pub async fn run(args: &Args) -> Result<Report> {
    let engine = Engine::connect().await?;
    let report = up(&engine, args).await?;
    println!(
        "{}",
        crate::commands::status::render(
            &engine,
            &args.project.project,
            &report.containers.keys().copied().collect::<Vec<_>>()
        )
        .await?
    );
    match &report.gateway_url {
        Some(url) => println!("\ngateway: {url}"),
        None => println!("\nthe gateway is not published (not selected)"),
    }
    Ok(report)
}

/// `up` on a connected engine, without printing the table.
pub async fn up(engine: &Engine, args: &Args) -> Result<Report> {
    let project = args.project.project.as_str();
    engine::check_project(project)?;
    let levels = services::levels(&args.services)?;
    let overrides = parse_overrides(&args.env)?;
    // Every image first: a missing one fails before anything is started.
    let mut images = HashMap::new();
    for s in levels.iter().flatten() {
        images.insert(s.name, image_id(engine, s).await?);
    }
    let secrets = Secrets::load_or_create(&crate::paths::cluster_dir(project))?;
    ensure_network(engine, project).await?;
    for s in levels.iter().flatten().filter(|s| s.stateful) {
        ensure_volume(engine, project, s).await?;
    }
    let orphans_removed = remove_orphans(engine, project).await?;
    let mut containers = BTreeMap::new();
    for level in &levels {
        let jobs = level.iter().map(|s| {
            let publish = publish_of(args, s);
            let env = overrides.get(s.name).cloned().unwrap_or_default();
            let secrets = &secrets;
            let image = images[s.name].clone();
            async move {
                let spec = Spec::new(project, s, &image, secrets, publish, &env);
                let (id, action) = converge(engine, &spec).await?;
                wait_healthy(
                    engine,
                    &spec.container,
                    s.name,
                    Duration::from_secs(args.timeout),
                )
                .await?;
                Ok::<_, anyhow::Error>((s.name, (id, action)))
            }
        });
        containers.extend(try_join_all(jobs).await?);
    }
    let gateway_url = match levels.iter().flatten().find(|s| s.public) {
        Some(public) => {
            published_url(
                engine,
                &engine::container_name(project, public.name),
                public.port,
            )
            .await
        }
        None => None,
    };
    Ok(Report {
        gateway_url,
        containers,
        orphans_removed,
    })
}

fn publish_of(args: &Args, s: &Service) -> Publish {
    match (s.public || args.publish_all, args.ephemeral_ports) {
        (false, _) => Publish::No,
        (true, true) => Publish::Ephemeral,
        (true, false) if s.public => Publish::Fixed(args.port),
        (true, false) => Publish::Fixed(s.port),
    }
}

/// `svc:KEY=VALUE` → per-service environment.
pub fn parse_overrides(items: &[String]) -> Result<HashMap<String, BTreeMap<String, String>>> {
    let mut out: HashMap<String, BTreeMap<String, String>> = HashMap::new();
    for item in items {
        let parsed = item
            .split_once(':')
            .and_then(|(svc, kv)| Some((svc, kv.split_once('=')?)));
        let Some((svc, (key, value))) = parsed.filter(|(_, (k, _))| !k.is_empty()) else {
            bail!("--env `{item}`: expected SERVICE:KEY=VALUE, e.g. gateway:LOG=debug");
        };
        services::get(svc)?;
        out.entry(svc.to_string())
            .or_default()
            .insert(key.to_string(), value.to_string());
    }
    Ok(out)
}

async fn image_id(engine: &Engine, s: &Service) -> Result<String> {
    let tag = engine::image_latest(s.name);
    match engine.docker.inspect_image(&tag).await {
        Ok(image) => image.id.ok_or_else(|| anyhow!("image {tag} has no id")),
        Err(e) if engine::is_not_found(&e) => {
            bail!(
                "image {tag} not found: run `cargo xtask build {}` first (or `cargo xtask run`)",
                s.name
            )
        }
        Err(e) => Err(e).context("inspecting an image"),
    }
}

async fn ensure_network(engine: &Engine, project: &str) -> Result<()> {
    let name = engine::network_name(project);
    match engine
        .docker
        .inspect_network(
            &name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
        .await
    {
        Ok(n) => owned(n.labels.as_ref(), project, &format!("network {name}")),
        Err(e) if engine::is_not_found(&e) => {
            let request = NetworkCreateRequest {
                name: name.clone(),
                driver: Some("bridge".into()),
                labels: Some(HashMap::from([(
                    engine::PROJECT.to_string(),
                    project.to_string(),
                )])),
                ..Default::default()
            };
            engine
                .docker
                .create_network(request)
                .await
                .with_context(|| format!("creating network {name}"))?;
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("inspecting network {name}")),
    }
}

async fn ensure_volume(engine: &Engine, project: &str, s: &Service) -> Result<()> {
    let name = engine::volume_name(project, s.name);
    match engine.docker.inspect_volume(&name).await {
        Ok(v) => owned(Some(&v.labels), project, &format!("volume {name}")),
        Err(e) if engine::is_not_found(&e) => {
            let labels = HashMap::from([
                (engine::PROJECT.to_string(), project.to_string()),
                (engine::SERVICE.to_string(), s.name.to_string()),
            ]);
            let options = VolumeCreateOptions {
                name: Some(name.clone()),
                labels: Some(labels),
                ..Default::default()
            };
            engine
                .docker
                .create_volume(options)
                .await
                .with_context(|| format!("creating volume {name}"))?;
            Ok(())
        }
        Err(e) => Err(e).with_context(|| format!("inspecting volume {name}")),
    }
}

/// Refuses to adopt an object someone else made with the same name.
fn owned(labels: Option<&HashMap<String, String>>, project: &str, what: &str) -> Result<()> {
    if labels
        .and_then(|l| l.get(engine::PROJECT))
        .map(String::as_str)
        == Some(project)
    {
        Ok(())
    } else {
        bail!(
            "{what} exists but was not made by `cargo xtask` for project {project}: pick another `--project`, or remove it yourself"
        )
    }
}

async fn remove_orphans(engine: &Engine, project: &str) -> Result<Vec<String>> {
    let mut removed = Vec::new();
    for c in engine.project_containers(project).await? {
        if engine::service_of(&c).is_some_and(|s| services::get(s).is_ok()) {
            continue;
        }
        let name = c.names.and_then(|n| n.first().cloned()).unwrap_or_default();
        let id = c.id.unwrap_or_default();
        remove(engine, &id).await?;
        println!(
            "removed {}: it is no service of xtask/src/services.rs any more",
            name.trim_start_matches('/')
        );
        removed.push(name.trim_start_matches('/').to_string());
    }
    Ok(removed)
}

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
        Err(e) if !engine::is_not_found(&e) => {
            Err(e).with_context(|| format!("removing container {container}"))
        }
        _ => Ok(()),
    }
}

/// Makes the container match `spec`: kept, started, or (re)created and started.
async fn converge(engine: &Engine, spec: &Spec) -> Result<(String, Action)> {
    let hash = spec.hash();
    let current = match engine
        .docker
        .inspect_container(
            &spec.container,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
    {
        Ok(c) => Some(c),
        Err(e) if engine::is_not_found(&e) => None,
        Err(e) => return Err(e).with_context(|| format!("inspecting {}", spec.container)),
    };
    let mut current_hash = None;
    if let Some(c) = &current {
        let labels = c.config.as_ref().and_then(|c| c.labels.as_ref());
        owned(
            labels,
            &spec.project,
            &format!("container {}", spec.container),
        )?;
        current_hash = labels.and_then(|l| l.get(engine::CONFIG_HASH)).cloned();
    }
    let action = match (&current, current_hash) {
        (Some(c), Some(h)) if h == hash => {
            let running = c.state.as_ref().and_then(|s| s.running).unwrap_or(false);
            let id = c.id.clone().unwrap_or_default();
            if running {
                return Ok((id, Action::Kept));
            }
            start(engine, spec).await?;
            return Ok((id, Action::Started));
        }
        (Some(_), _) => {
            remove(engine, &spec.container).await?;
            Action::Recreated
        }
        (None, _) => Action::Created,
    };
    let options = bollard::query_parameters::CreateContainerOptions {
        name: Some(spec.container.clone()),
        ..Default::default()
    };
    let created = engine
        .docker
        .create_container(Some(options), spec.create_body())
        .await
        .with_context(|| format!("creating container {}", spec.container))?;
    start(engine, spec).await?;
    Ok((created.id, action))
}

async fn start(engine: &Engine, spec: &Spec) -> Result<()> {
    engine.docker.start_container(&spec.container, None::<StartContainerOptions>).await.map_err(|e| {
        let text = e.to_string();
        if text.contains("port is already allocated") || text.contains("address already in use") {
            anyhow!("cannot start {}: {text}: the host port is taken: use `--port N` or `--ephemeral-ports`, or stop what uses it", spec.container)
        } else {
            anyhow!("cannot start {}: {text}", spec.container)
        }
    })
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
        let problem = match (state.status, health) {
            (_, Some(HealthStatusEnum::HEALTHY)) => return Ok(()),
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
    Some(format!(
        "http://{}:{}",
        crate::cluster::PUBLISH_IP,
        binding.host_port?
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_overrides() {
        let o = parse_overrides(&["gateway:LOG=debug".into(), "gateway:A=b=c".into()]).unwrap();
        assert_eq!(o["gateway"]["LOG"], "debug");
        assert_eq!(o["gateway"]["A"], "b=c");
        assert!(parse_overrides(&["gateway:=x".into()]).is_err());
        assert!(parse_overrides(&["LOG=debug".into()]).is_err());
        assert!(parse_overrides(&["nope:LOG=debug".into()]).is_err());
    }

    #[test]
    fn only_the_gateway_is_published_by_default() {
        let mut args = Args::ephemeral("p");
        let users = services::get("users").unwrap();
        let gateway = services::get("gateway").unwrap();
        assert_eq!(publish_of(&args, users), Publish::No);
        assert_eq!(publish_of(&args, gateway), Publish::Ephemeral);
        args.ephemeral_ports = false;
        args.port = 9000;
        assert_eq!(publish_of(&args, gateway), Publish::Fixed(9000));
        args.publish_all = true;
        assert_eq!(publish_of(&args, users), Publish::Fixed(8001));
    }
}
