//! `cargo xtask services`: the names in the table of services, one per line, for scripts. The
//! deploy workflow sets one image per name in the Kubernetes overlay, so a new service needs no
//! edit of the workflow.

use anyhow::Result;

use crate::services::SERVICES;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> Result<()> {
    for s in SERVICES {
        println!("{}", s.name);
    }
    Ok(())
}
