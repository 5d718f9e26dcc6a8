//! `cargo xtask logs [SERVICE…] [-f]`: the services' output merged, each line prefixed with
//! its service in a colour of its own. Without `-f` the lines are sorted by the engine's
//! timestamps, so that a request can be followed across services.

use anyhow::{Result, bail};
use bollard::query_parameters::LogsOptions;
use futures_util::StreamExt;

use crate::commands::ProjectArg;
use crate::engine::{self, Engine};
use crate::progress::print_line;
use crate::services;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Services to show (default: all).
    pub services: Vec<String>,
    #[command(flatten)]
    pub project: ProjectArg,
    /// Keep printing new lines until Ctrl-C.
    #[arg(short, long)]
    pub follow: bool,
    /// How many of the last lines of each service to show first (`all` for everything).
    #[arg(long, default_value = "200")]
    pub tail: String,
}

pub async fn run(args: &Args) -> Result<()> {
    let project = args.project.project.as_str();
    engine::check_project(project)?;
    let engine = Engine::connect().await?;
    let wanted = services::selected(&args.services)?;
    let containers = engine.project_containers(project).await?;
    let mut sources = Vec::new();
    for s in &wanted {
        // The colour follows the service's row in the table, whatever the selection.
        let index = services::SERVICES
            .iter()
            .position(|x| x.name == s.name)
            .unwrap_or(0);
        if containers
            .iter()
            .any(|c| engine::service_of(c) == Some(s.name))
        {
            sources.push((index, s.name, engine::container_name(project, s.name)));
        }
    }
    if sources.is_empty() {
        bail!(
            "project {project} has no containers for these services: start them with `cargo xtask up`"
        );
    }
    let width = sources.iter().map(|(_, n, _)| n.len()).max().unwrap_or(0);
    let streams = sources.iter().map(|(index, name, container)| {
        let options = LogsOptions {
            follow: args.follow,
            stdout: true,
            stderr: true,
            timestamps: true,
            tail: args.tail.clone(),
            ..Default::default()
        };
        let (index, name) = (*index, *name);
        engine
            .docker
            .logs(container, Some(options))
            .map(move |chunk| (index, name, chunk))
    });
    let mut merged = futures_util::stream::select_all(streams);
    let mut collected: Vec<(String, usize, &str, String)> = Vec::new();
    while let Some((index, name, chunk)) = merged.next().await {
        let Ok(chunk) = chunk else { continue };
        let text = String::from_utf8_lossy(&chunk.into_bytes()).into_owned();
        for line in text.lines() {
            // `2024-01-01T00:00:00.123456789Z message`
            let (stamp, message) = line.split_once(' ').unwrap_or(("", line));
            if args.follow {
                print_line(index, name, width, message);
            } else {
                collected.push((stamp.to_string(), index, name, message.to_string()));
            }
        }
    }
    collected.sort_by(|a, b| a.0.cmp(&b.0));
    for (_, index, name, message) in collected {
        print_line(index, name, width, &message);
    }
    Ok(())
}
