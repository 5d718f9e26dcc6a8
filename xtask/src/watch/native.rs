//! `watch --native`: the services as local processes (debug builds), restarted one by one
//! when their binary changes. Same environment, data and secrets as `run --native` (see
//! [`crate::native`]). Stopping the watch stops the processes: they are its children.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use anyhow::{Result, bail};
use tokio::process::Child;

use super::compile::Job;
use super::{Done, Options, Plan, say};
use crate::paths;
use crate::secrets::Secrets;
use crate::services::{self, Service};

/// The running processes.
#[derive(Debug)]
pub struct Processes {
    project: String,
    gateway_port: u16,
    timeout: Duration,
    secrets: Secrets,
    width: usize,
    children: BTreeMap<&'static str, Child>,
}

impl Processes {
    pub fn new(options: &Options) -> Result<Processes> {
        let project = options.up.project.clone();
        let width = services::SERVICES
            .iter()
            .map(|s| s.name.len())
            .max()
            .unwrap_or(0);
        Ok(Processes {
            secrets: Secrets::load_or_create(&paths::native_dir(&project))?,
            project,
            gateway_port: options.up.port,
            timeout: Duration::from_secs(options.up.timeout),
            width,
            children: BTreeMap::new(),
        })
    }

    fn port_of(&self, s: &Service) -> u16 {
        if s.public { self.gateway_port } else { s.port }
    }

    /// Users' address and the internal token, to apply the permission table.
    pub fn users(&self) -> Result<(String, String)> {
        let users = services::get("users")?;
        Ok((
            format!("http://127.0.0.1:{}", users.port),
            self.secrets.internal_token().to_string(),
        ))
    }

    pub(super) async fn start(&mut self, watched: &[&'static str], job: &Job) -> Result<Done> {
        let names: Vec<String> = watched.iter().map(|s| s.to_string()).collect();
        for level in services::levels(&names)? {
            for s in &level {
                self.spawn(s, job)?;
            }
            for s in &level {
                self.wait_healthy(s).await?;
            }
        }
        if watched.contains(&"users") {
            let file = job.root.join("db_config.yaml");
            let table = crate::permissions::read(&file)?;
            let (url, token) = self.users()?;
            let outcome = crate::permissions::apply(&url, &token, &table).await?;
            say(&outcome.summary(&file));
        }
        if watched.contains(&"gateway") {
            say(&format!("gateway: http://127.0.0.1:{}", self.gateway_port));
        }
        Ok(Done::Started(self.pids()))
    }

    pub(super) async fn replace(&mut self, plan: &Plan, job: &Job) -> Result<Done> {
        if !plan.images.is_empty() {
            say("native mode runs no images: a CONTAINERFILE change needs nothing here");
        }
        let names: Vec<String> = plan.rebuild.iter().map(|s| s.to_string()).collect();
        if names.is_empty() {
            return Ok(Done::Replaced(BTreeMap::new()));
        }
        // In dependency order; `levels` adds the dependencies, which are not restarted.
        for level in services::levels(&names)? {
            for s in level.iter().filter(|s| plan.rebuild.contains(s.name)) {
                if let Some(child) = self.children.remove(s.name) {
                    crate::native::stop_child(child).await;
                }
                self.spawn(s, job)?;
                self.wait_healthy(s).await?;
            }
        }
        let pids = self.pids();
        Ok(Done::Replaced(
            pids.into_iter()
                .filter(|(k, _)| plan.rebuild.contains(k))
                .collect(),
        ))
    }

    fn pids(&self) -> BTreeMap<&'static str, String> {
        self.children
            .iter()
            .map(|(k, c)| (*k, c.id().map(|p| p.to_string()).unwrap_or_default()))
            .collect()
    }

    fn spawn(&mut self, s: &'static Service, job: &Job) -> Result<()> {
        let env = crate::native::environment(s, &self.project, self.gateway_port, &self.secrets);
        let child = crate::native::spawn(s, &job.binary(s.name), env, self.width)?;
        self.children.insert(s.name, child);
        Ok(())
    }

    async fn wait_healthy(&mut self, s: &Service) -> Result<()> {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port_of(s)));
        let Some(child) = self.children.get_mut(s.name) else {
            bail!("{} was not started", s.name);
        };
        crate::native::wait_healthy(s, addr, self.timeout, child).await
    }

    /// Native services are the watch's children and cannot outlive it: stopped gracefully,
    /// dependents first.
    pub(super) async fn stopped(mut self) {
        say("stopped watching; stopping the native services (they live only as long as the watch)");
        let names: Vec<String> = self.children.keys().map(|s| s.to_string()).collect();
        let order: Vec<&'static str> = services::levels(&names)
            .map(|levels| levels.into_iter().flatten().map(|s| s.name).collect())
            .unwrap_or_default();
        for name in order.iter().rev() {
            if let Some(child) = self.children.remove(name) {
                crate::native::stop_child(child).await;
            }
        }
    }
}
