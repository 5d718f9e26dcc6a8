//! `cargo xtask status`: one line per service of the table: state, health, published URL,
//! image tag and age.

use anyhow::Result;

use crate::cluster::status::render;
use crate::commands::ProjectArg;
use crate::engine::{self, Engine};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub project: ProjectArg,
}

pub async fn run(args: &Args) -> Result<()> {
    engine::check_project(&args.project.project)?;
    let engine = Engine::connect().await?;
    println!("{}", render(&engine, &args.project.project, &[]).await?);
    Ok(())
}
