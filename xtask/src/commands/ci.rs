//! `cargo xtask ci`: exactly what the CI pipelines run, in one command: the machine check of
//! `install --check`, then `test` with the Docker and end-to-end stages.

use anyhow::Result;

use crate::commands::{install, test};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {}

pub async fn run(_args: &Args) -> Result<()> {
    install::run(&install::Args { check: true }).await?;
    test::run(&test::Args { e2e: true }).await
}
