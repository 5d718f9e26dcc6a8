//! `users load-permissions`: validates a permissions file and loads it into a running users
//! service — what `cargo xtask load-db` does on a laptop, in the users image for the
//! Kubernetes Job that applies `db_config.yaml` (no other tool is in a `FROM scratch` image).

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use chefcito::client::{Client, Downstream};
use chefcito::config::Secret;
use chefcito::permissions::Permissions;

use crate::store::Applied;

/// The subcommand's arguments.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// The permissions file (the format of db_config.yaml).
    #[arg(long, value_name = "FILE")]
    pub from_file: PathBuf,
    /// The running users service.
    #[arg(long, value_name = "URL", default_value = "http://127.0.0.1:8001")]
    pub url: String,
}

/// Checks the whole file, then replaces the table of the users service at `args.url` in one
/// call; returns the line to print. The internal token is required (fails closed).
pub async fn run(args: &Args, token: Option<Secret>) -> Result<String> {
    let token = token.ok_or_else(|| {
        anyhow!(
            "INTERNAL_TOKEN is not set: the users service refuses permission changes without it"
        )
    })?;
    let permissions = Permissions::from_file(&args.from_file).map_err(|e| {
        anyhow!(
            "{}: {e}\nnothing was written: fix the file and run again",
            args.from_file.display()
        )
    })?;
    let users = Downstream::new(Client::new(Some(token)), &args.url)?;
    let applied: Applied = users
        .put(&["permissions"], &permissions)
        .await
        .map_err(|e| anyhow!("{} {}", e.status, e.description))
        .with_context(|| format!("PUT {}/permissions", args.url.trim_end_matches('/')))?;
    Ok(format!(
        "permissions from {}: {} rows added, {} removed; version {}",
        args.from_file.display(),
        applied.diff.added.len(),
        applied.diff.removed.len(),
        applied.version
    ))
}
