//! `cargo xtask load-db --from-file db_config.yaml`: the permission table of the running users
//! service (the original `chefcito load-db`).
//!
//! The whole file is validated first: every problem is printed with its entry and nothing is
//! written. Then the project's running users service gets `PUT /permissions` (one
//! transaction, see docs/internal-api.md), at its address on the project network, with the
//! internal token from the project's secrets; `--url` overrides the address (the token then
//! comes from `INTERNAL_TOKEN` or the project's secrets). It prints the rows added and removed
//! and the table's new version. (`cargo xtask up` applies the repository's `db_config.yaml`
//! by itself; `load-db` is for another file or a running cluster.)

use std::path::PathBuf;

use anyhow::Result;

use crate::commands::ProjectArg;
use crate::engine::{self, Engine};
use crate::permissions::{self, Outcome};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The permissions file (user types and allowed endpoints), e.g. db_config.yaml.
    #[arg(long, value_name = "FILE")]
    pub from_file: PathBuf,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Base URL of the users service (default: its address on the project network).
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
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
    let table = permissions::read(&args.from_file)?;
    let project = args.project.project.as_str();
    engine::check_project(project)?;
    let url = match &args.url {
        Some(u) => u.clone(),
        None => permissions::users_url(&Engine::connect().await?, project).await?,
    };
    let token = permissions::token(project, &crate::paths::cluster_dir(project))?;
    permissions::apply(&url, &token, &table).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_invalid_file_is_refused_before_anything_is_contacted() {
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(
            &bad,
            "endpoints:\n  - name: /a\n    allowed: [client]\n  - name: /b\n    allowed: [admin]\n",
        )
        .unwrap();
        let args = Args {
            from_file: bad,
            project: ProjectArg::new("unused"),
            // Nothing listens here: a contacted service would fail differently.
            url: Some("http://127.0.0.1:9".into()),
        };
        let e = format!("{:#}", load(&args).await.unwrap_err());
        assert!(
            e.contains("endpoints[1] (/b): unknown user type `admin`"),
            "{e}"
        );
        assert!(e.contains("nothing was written"), "{e}");
    }
}
