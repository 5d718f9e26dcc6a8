//! The merged logs of the watched containers, streamed while watching.
//!
//! One follower per service, by container name: when `watch` replaces a container, the
//! stream of the old one ends and the follower attaches to the new one by itself. Lines are
//! read with the engine's timestamps, so that a reattached stream skips what was printed.

use std::time::Duration;

use bollard::query_parameters::LogsOptions;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use tokio::task::JoinHandle;

use crate::engine::{self, Engine};
use crate::progress::print_line;
use crate::services;

/// The followers; dropping this stops them.
#[derive(Debug)]
pub struct Followers {
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Followers {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Follows the containers of `names` in `project`, printing lines stamped after `since`.
pub fn follow(
    engine: &Engine,
    project: &str,
    names: &[&'static str],
    since: DateTime<Utc>,
) -> Followers {
    let width = names.iter().map(|n| n.len()).max().unwrap_or(0);
    let tasks = names
        .iter()
        .map(|name| {
            let index = services::SERVICES
                .iter()
                .position(|s| s.name == *name)
                .unwrap_or(0);
            let engine = engine.clone();
            let container = engine::container_name(project, name);
            let name = *name;
            tokio::spawn(async move {
                let mut last = since;
                loop {
                    follow_once(&engine, &container, index, name, width, &mut last).await;
                    // Gone (being replaced) or not started yet: look again shortly.
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
            })
        })
        .collect();
    Followers { tasks }
}

/// Streams one container until its stream ends, advancing `last`.
async fn follow_once(
    engine: &Engine,
    container: &str,
    index: usize,
    name: &str,
    width: usize,
    last: &mut DateTime<Utc>,
) {
    let options = LogsOptions {
        follow: true,
        stdout: true,
        stderr: true,
        timestamps: true,
        // Whole seconds: lines of that second already shown are skipped below.
        since: i32::try_from(last.timestamp()).unwrap_or(0),
        ..Default::default()
    };
    let mut stream = engine.docker.logs(container, Some(options));
    while let Some(Ok(chunk)) = stream.next().await {
        let text = String::from_utf8_lossy(&chunk.into_bytes()).into_owned();
        for line in text.lines() {
            let (stamp, message) = line.split_once(' ').unwrap_or(("", line));
            match DateTime::parse_from_rfc3339(stamp) {
                Ok(t) if t.with_timezone(&Utc) <= *last => continue,
                Ok(t) => *last = t.with_timezone(&Utc),
                Err(_) => {}
            }
            print_line(index, name, width, message);
        }
    }
}
