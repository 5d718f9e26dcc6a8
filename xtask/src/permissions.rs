//! The permission table of a running cluster. `db_config.yaml` is read and validated as a
//! whole, then put to the running users service (`PUT /permissions`, one transaction). The
//! users service keeps the version when the table is identical, so applying an unchanged file
//! changes nothing. `load-db` applies a file on demand; `up` and `run --native` apply the
//! repository's `db_config.yaml` every time, so that a cluster created before a new route
//! existed enforces the new table right after an upgrade.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chefcito::permissions::{Diff, Permissions};
use serde::Deserialize;

use crate::engine::{self, Engine};
use crate::secrets::Secrets;
use crate::services;

/// The repository's permission file, which `up` applies.
pub fn shipped() -> PathBuf {
    crate::paths::root().join("db_config.yaml")
}

/// Reads and validates a whole permission file; every problem is listed.
pub fn read(path: &Path) -> Result<Permissions> {
    Permissions::from_file(path).map_err(|e| {
        anyhow!(
            "{}: {e}\nnothing was written: fix the file and run the command again",
            path.display()
        )
    })
}

/// What applying a table did.
#[derive(Debug, Clone, Deserialize)]
pub struct Outcome {
    pub version: i64,
    pub diff: Diff,
}

impl Outcome {
    pub fn changed(&self) -> bool {
        !(self.diff.added.is_empty() && self.diff.removed.is_empty())
    }

    /// One line for `up`'s output.
    pub fn summary(&self, file: &Path) -> String {
        if self.changed() {
            format!(
                "permissions: {} applied ({} rows added, {} removed; version {})",
                file.display(),
                self.diff.added.len(),
                self.diff.removed.len(),
                self.version
            )
        } else {
            format!(
                "permissions: {} already in force (version {})",
                file.display(),
                self.version
            )
        }
    }
}

/// The users service's base URL on the project network (the host routes to its own bridge
/// networks, so xtask needs no published port, exec or helper image to reach it).
pub async fn users_url(engine: &Engine, project: &str) -> Result<String> {
    let container = engine::container_name(project, "users");
    let c = engine
        .docker
        .inspect_container(&container, None::<bollard::query_parameters::InspectContainerOptions>)
        .await
        .map_err(|e| anyhow!("{container}: {e}: start the cluster first with `cargo xtask up --project {project}`"))?;
    let ip = c
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.get(&engine::network_name(project)).cloned())
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty())
        .ok_or_else(|| {
            anyhow!("{container} is not running: `cargo xtask up --project {project}` starts it")
        })?;
    Ok(format!("http://{ip}:{}", services::get("users")?.port))
}

/// The internal token of a project: `INTERNAL_TOKEN` if set, else the project's secrets in
/// `dir`.
pub fn token(project: &str, dir: &Path) -> Result<String> {
    if let Ok(t) = std::env::var("INTERNAL_TOKEN") {
        return Ok(t);
    }
    match Secrets::load(dir)? {
        Some(s) => Ok(s.internal_token().to_string()),
        None => bail!(
            "project {project} has no secrets yet: start it with `cargo xtask up --project {project}`"
        ),
    }
}

/// Puts `permissions` to the users service at `url`.
pub async fn apply(url: &str, token: &str, permissions: &Permissions) -> Result<Outcome> {
    let url = url.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let response = client
        .put(format!("{url}/permissions"))
        .header(chefcito::INTERNAL_TOKEN_HEADER, token)
        .json(permissions)
        .send()
        .await
        .with_context(|| {
            format!("the users service at {url} does not answer: check `cargo xtask status`")
        })?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "users answered {status} to PUT /permissions: {body}\n(see `cargo xtask logs users`)"
        );
    }
    serde_json::from_str(&body).with_context(|| format!("unexpected answer from users: {body}"))
}
