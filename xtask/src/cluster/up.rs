//! Bringing a project's cluster up on the local engine, idempotently (`cargo xtask up`, `run`,
//! `test --e2e`, `bench` all use it).
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

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bollard::models::{NetworkCreateRequest, VolumeCreateOptions};
use bollard::query_parameters::StartContainerOptions;
use futures_util::future::try_join_all;

use super::{Publish, PublishOn, Spec};
use crate::engine::{self, Engine};
use crate::secrets::Secrets;
use crate::services::{self, Service};

/// What to bring up, and how.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// Services to start, with everything they depend on (all when empty).
    pub services: Vec<String>,
    pub project: String,
    /// Host port of the gateway (on 127.0.0.1).
    pub port: u16,
    /// Publish on random free host ports instead.
    pub ephemeral_ports: bool,
    /// Also publish the internal services.
    pub publish_all: bool,
    /// `SERVICE:KEY=VALUE` environment overrides.
    pub env: Vec<String>,
    /// Seconds to wait for each level to become healthy.
    pub timeout: u64,
    /// The permission file applied to the users service once it is up, whenever it differs
    /// from the table in force (`None`: leave the table alone).
    pub permissions: Option<PathBuf>,
    /// Containers run `<image_prefix>-<svc>:latest` (`chefcito`; the watch tests build
    /// images of their own under another prefix).
    pub image_prefix: String,
    /// Which host address published ports listen on.
    pub publish_on: PublishOn,
}

impl UpOptions {
    /// Every service of `project`, on ephemeral ports (tests, CI, benchmarks).
    pub fn ephemeral(project: &str) -> UpOptions {
        UpOptions {
            services: Vec::new(),
            project: project.to_string(),
            port: chefcito::config::ports::GATEWAY,
            ephemeral_ports: true,
            publish_all: false,
            env: Vec::new(),
            timeout: 60,
            permissions: Some(crate::permissions::shipped()),
            image_prefix: engine::IMAGE_PREFIX.to_string(),
            publish_on: PublishOn::Loopback,
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
    /// What applying the permission file did, in one line.
    pub permissions: Option<String>,
}

/// Brings `args.services` (all when empty) of a project up on a connected engine; prints only
/// the orphans it removes.
pub async fn up(engine: &Engine, args: &UpOptions) -> Result<Report> {
    let project = args.project.as_str();
    engine::check_project(project)?;
    let levels = services::levels(&args.services)?;
    let overrides = parse_overrides(&args.env)?;
    let starts_users = levels.iter().flatten().any(|s| s.name == "users");
    // Validated before anything starts: a broken file changes nothing.
    let table = match &args.permissions {
        Some(file) if starts_users => Some((file, crate::permissions::read(file)?)),
        _ => None,
    };
    // Every image first: a missing one fails before anything is started.
    let mut images = HashMap::new();
    for s in levels.iter().flatten() {
        images.insert(s.name, image_id(engine, &args.image_prefix, s).await?);
    }
    let secrets = Secrets::load_or_create(&crate::paths::cluster_dir(project))?;
    let network_gateway = ensure_network(engine, project).await?;
    let publish_ip = match args.publish_on {
        PublishOn::Loopback => super::PUBLISH_IP.to_string(),
        PublishOn::NetworkGateway => network_gateway.ok_or_else(|| {
            anyhow!(
                "network {} has no gateway address to publish on",
                engine::network_name(project)
            )
        })?,
    };
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
            let publish_ip = publish_ip.clone();
            async move {
                let mut spec = Spec::new(project, s, &image, secrets, publish, &env);
                spec.publish_ip = publish_ip;
                let (id, action) = converge(engine, &spec).await?;
                engine::wait_healthy(
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
            engine::published_url(
                engine,
                &engine::container_name(project, public.name),
                public.port,
            )
            .await
        }
        None => None,
    };
    let permissions = match table {
        Some((file, table)) => {
            let url = crate::permissions::users_url(engine, project).await?;
            let outcome = crate::permissions::apply(&url, secrets.internal_token(), &table)
                .await
                .with_context(|| format!("applying {}", file.display()))?;
            Some(outcome.summary(file))
        }
        None => None,
    };
    Ok(Report {
        gateway_url,
        containers,
        orphans_removed,
        permissions,
    })
}

pub fn publish_of(args: &UpOptions, s: &Service) -> Publish {
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

async fn image_id(engine: &Engine, prefix: &str, s: &Service) -> Result<String> {
    let tag = format!("{prefix}-{}:latest", s.name);
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

/// Creates the project network if needed; returns the host's address on it (its gateway).
async fn ensure_network(engine: &Engine, project: &str) -> Result<Option<String>> {
    let name = engine::network_name(project);
    let inspect = || {
        engine.docker.inspect_network(
            &name,
            None::<bollard::query_parameters::InspectNetworkOptions>,
        )
    };
    let network = match inspect().await {
        Ok(n) => {
            owned(n.labels.as_ref(), project, &format!("network {name}"))?;
            n
        }
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
            inspect()
                .await
                .with_context(|| format!("inspecting network {name}"))?
        }
        Err(e) => return Err(e).with_context(|| format!("inspecting network {name}")),
    };
    Ok(network
        .ipam
        .and_then(|ipam| ipam.config)
        .into_iter()
        .flatten()
        .find_map(|c| {
            c.gateway
                .filter(|g| g.parse::<std::net::Ipv4Addr>().is_ok())
        }))
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
        engine::remove(engine, &id).await?;
        println!(
            "removed {}: it is no service of xtask/src/services.rs any more",
            name.trim_start_matches('/')
        );
        removed.push(name.trim_start_matches('/').to_string());
    }
    Ok(removed)
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
            engine::remove(engine, &spec.container).await?;
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
        let mut args = UpOptions::ephemeral("p");
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
