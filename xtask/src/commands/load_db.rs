//! `cargo xtask load-db --from-file db_config.yaml`: the permission table of the users
//! service (the original `chefcito load-db`).
//!
//! The whole file is validated first ([`Permissions::from_file`]): every problem is printed
//! with its entry and nothing is written. Then either
//! * the running users service of the project gets `PUT /permissions` (one transaction,
//!   see docs/internal-api.md). Users is not published to the host; xtask reaches it at its
//!   address on the project network (the engine gives it; the host routes to its own bridge
//!   networks), with the internal token from the project's secrets. This needs no extra port,
//!   no exec and no helper image. `--url` overrides the address (the token then comes from
//!   `INTERNAL_TOKEN` or the project's secrets); or
//! * with `--db PATH`, a users database file is written directly (no service running).
//!
//! Either way it prints the rows added and removed and the table's new version.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use chefcito::permissions::{Diff, Permissions};
use serde::Deserialize;

use crate::commands::ProjectArg;
use crate::engine::{self, Engine};
use crate::secrets::Secrets;
use crate::services;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The permissions file (user types and allowed endpoints), e.g. db_config.yaml.
    #[arg(long, value_name = "FILE")]
    pub from_file: PathBuf,
    /// Write this users database file directly instead of calling the running service.
    #[arg(long, value_name = "PATH", conflicts_with = "url")]
    pub db: Option<PathBuf>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Base URL of the users service (default: its address on the project network).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
}

/// What a load changed.
#[derive(Debug, Clone, Deserialize)]
pub struct Outcome {
    pub version: i64,
    pub diff: Diff,
}

pub async fn run(args: &Args) -> Result<Outcome> {
    let outcome = load(args).await?;
    for row in &outcome.diff.added {
        println!("  + {row}");
    }
    for row in &outcome.diff.removed {
        println!("  - {row}");
    }
    println!(
        "permissions: {} rows added, {} removed; version {}",
        outcome.diff.added.len(),
        outcome.diff.removed.len(),
        outcome.version
    );
    Ok(outcome)
}

/// Validates, then loads; prints nothing.
pub async fn load(args: &Args) -> Result<Outcome> {
    let permissions = Permissions::from_file(&args.from_file).map_err(|e| {
        anyhow!(
            "{}: {e}\nnothing was written: fix the file and run `cargo xtask load-db` again",
            args.from_file.display()
        )
    })?;
    match &args.db {
        Some(path) => write_db(path, &permissions).await,
        None => put(args, &permissions).await,
    }
}

/// Writes the table straight into a users database file (created, with its schema, if
/// absent), through the users crate's own store so that the schema is never duplicated here.
async fn write_db(path: &std::path::Path, permissions: &Permissions) -> Result<Outcome> {
    let owned = path.to_path_buf();
    let db = tokio::task::spawn_blocking(move || users::store::open(&owned))
        .await?
        .map_err(|e| anyhow!("cannot open the users database {}: {e}", path.display()))?;
    let applied = users::store::replace_permissions(&db, permissions)
        .await
        .map_err(|e| anyhow!("cannot write the permissions into {}: {e}", path.display()))?;
    Ok(Outcome {
        version: applied.version,
        diff: applied.diff,
    })
}

/// The users service's base URL on the project network.
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

/// The internal token: `INTERNAL_TOKEN` if set, else the project's.
fn token(project: &str) -> Result<String> {
    if let Ok(t) = std::env::var("INTERNAL_TOKEN") {
        return Ok(t);
    }
    match Secrets::load(&crate::paths::cluster_dir(project))? {
        Some(s) => Ok(s.internal_token().to_string()),
        None => bail!(
            "project {project} has no secrets yet: start it with `cargo xtask up --project {project}`"
        ),
    }
}

async fn put(args: &Args, permissions: &Permissions) -> Result<Outcome> {
    let project = args.project.project.as_str();
    engine::check_project(project)?;
    let url = match &args.url {
        Some(u) => u.trim_end_matches('/').to_string(),
        None => users_url(&Engine::connect().await?, project).await?,
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(15))
        .build()?;
    let response = client
        .put(format!("{url}/permissions"))
        .header(chefcito::INTERNAL_TOKEN_HEADER, token(project)?)
        .json(permissions)
        .send()
        .await
        .with_context(|| format!("users service at {url} does not answer: check `cargo xtask status --project {project}`"))?;
    let status = response.status();
    let body = response.text().await.unwrap_or_default();
    if !status.is_success() {
        bail!(
            "users answered {status} to PUT /permissions: {body}\n(see `cargo xtask logs users --project {project}`)"
        );
    }
    serde_json::from_str(&body).with_context(|| format!("unexpected answer from users: {body}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(file: PathBuf, db: PathBuf) -> Args {
        Args {
            from_file: file,
            db: Some(db),
            project: ProjectArg::new("unused"),
            url: None,
        }
    }

    #[tokio::test]
    async fn a_database_file_is_written_only_from_a_valid_file() {
        let dir = tempfile::tempdir().unwrap();
        let db = dir.path().join("users.db");
        let bad = dir.path().join("bad.yaml");
        std::fs::write(
            &bad,
            "endpoints:\n  - name: /a\n    allowed: [client]\n  - name: /b\n    allowed: [admin]\n",
        )
        .unwrap();
        let e = format!("{:#}", load(&args(bad, db.clone())).await.unwrap_err());
        assert!(
            e.contains("endpoints[1] (/b): unknown user type `admin`"),
            "{e}"
        );
        assert!(e.contains("nothing was written"), "{e}");
        assert!(
            !db.exists(),
            "an invalid file must not even create the database"
        );

        let shipped = crate::paths::root().join("db_config.yaml");
        let first = load(&args(shipped.clone(), db.clone())).await.unwrap();
        assert_eq!(first.version, 1);
        assert!(
            first.diff.added.contains(&"/users anonymous".to_string()),
            "{:?}",
            first.diff
        );
        assert!(first.diff.removed.is_empty());
        let again = load(&args(shipped, db.clone())).await.unwrap();
        assert_eq!(again.version, 1, "an identical table keeps its version");
        assert!(again.diff.added.is_empty() && again.diff.removed.is_empty());
    }
}
