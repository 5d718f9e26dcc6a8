//! `bench --native`: the services as local processes, from the same static release binaries
//! the images hold, on 127.0.0.1 at their usual ports, with fresh data under
//! `target/chefcito-native/<project>/`. What the containers cost (veth, bridge, NAT) shows as
//! the difference from the Docker run.

use std::collections::BTreeMap;
use std::time::Duration;

use anyhow::{Context, Result};
use tokio::process::Child;

use crate::paths;
use crate::secrets::Secrets;
use crate::services::{self, Service};

/// The running services; stopped by [`Processes::stop`] (or killed when dropped).
pub struct Processes {
    children: Vec<(&'static Service, Child)>,
    secrets: Secrets,
}

impl Processes {
    /// Starts every service in dependency order on fresh data and applies the shipped
    /// permission table.
    pub async fn start(project: &str, timeout: Duration) -> Result<Processes> {
        let dir = paths::native_dir(project);
        if dir.exists() {
            // Fresh data: a previous run's venues would change every number.
            std::fs::remove_dir_all(&dir)
                .with_context(|| format!("removing the previous data in {}", dir.display()))?;
        }
        let secrets = Secrets::load_or_create(&dir)?;
        let names: Vec<String> = services::SERVICES.iter().map(|s| s.name.into()).collect();
        let levels = services::levels(&names)?;
        let width = names.iter().map(String::len).max().unwrap_or(0);
        let mut children = Vec::new();
        let started = crate::native::start_all(
            &levels,
            paths::release_binary,
            project,
            gateway()?.port,
            &secrets,
            width,
            timeout,
            &mut children,
        )
        .await;
        let mut processes = Processes { children, secrets };
        if let Err(e) = started {
            processes.stop().await;
            return Err(e);
        }
        let table = crate::permissions::read(&crate::permissions::shipped())?;
        let users = processes.url("users")?;
        if let Err(e) =
            crate::permissions::apply(&users, processes.secrets.internal_token(), &table).await
        {
            processes.stop().await;
            return Err(e.context("applying the permission table"));
        }
        Ok(processes)
    }

    /// Where a service answers.
    pub fn url(&self, name: &str) -> Result<String> {
        Ok(format!("http://127.0.0.1:{}", services::get(name)?.port))
    }

    pub fn internal_token(&self) -> &str {
        self.secrets.internal_token()
    }

    /// Each service's pid, by name.
    pub fn pids(&self) -> BTreeMap<String, i64> {
        self.children
            .iter()
            .filter_map(|(s, c)| Some((s.name.to_string(), i64::from(c.id()?))))
            .collect()
    }

    /// Stops them all, dependents first.
    pub async fn stop(&mut self) {
        crate::native::stop(&mut self.children).await;
    }
}

fn gateway() -> Result<&'static Service> {
    services::get("gateway")
}
