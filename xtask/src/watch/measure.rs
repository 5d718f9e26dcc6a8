//! Save-to-serving time of `watch`, for `cargo xtask bench-platform`: on a scratch copy of
//! the workspace (see [`super::scratch`]) and an isolated cluster of venues alone, the time
//! from writing a one-line change to a venues handler until venues answers with it.
//!
//! A first, untimed save adds the probe handler (a new route: new types for the compiler to
//! generate code for, much more than an edit); each timed save then changes the line it
//! answers with, an edit inside an existing handler.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::sync::{mpsc, oneshot};

use super::{Options, Report, events, graph::Graph, scratch};
use crate::cluster::UpOptions;
use crate::engine::Engine;
use crate::secrets::Secrets;

/// `saves` timed saves (after the untimed cycles that build the copy and add the probe).
pub async fn save_to_serving(engine: &Engine, saves: u32) -> Result<Vec<Duration>> {
    let project = format!("bench-watch-{}", std::process::id());
    let copy = scratch::dir("bench");
    scratch::sync(&crate::paths::root(), &copy)?;
    let original = std::fs::read_to_string(copy.join(scratch::PROBE_FILE))?;
    let mut up = UpOptions::ephemeral(&project);
    up.services = vec!["venues".into()];
    up.image_prefix = project.clone();
    let options = Options {
        root: copy.clone(),
        target_dir: crate::paths::target_dir(),
        up,
        native: false,
    };
    let graph = Graph::load(&copy)?;
    let (watcher, changes) = events::watch(&copy, &graph)?;
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let watching = tokio::spawn(super::run(
        options,
        changes,
        async move {
            let _ = stop_rx.await;
        },
        Some(reports_tx),
    ));
    let timed = async {
        match next(&mut reports, Duration::from_secs(1800)).await? {
            Report::Ready { .. } => {}
            other => bail!("watch did not start: {other:?}"),
        }
        let token = Secrets::load(&crate::paths::cluster_dir(&project))?
            .context("the cluster has no secrets")?
            .internal_token()
            .to_string();
        let mut times = Vec::new();
        for n in 0..=saves {
            let answer = format!("save {n}");
            let text = scratch::with_probe(&original, &format!("{answer:?}"))?;
            let saved = Instant::now();
            std::fs::write(copy.join(scratch::PROBE_FILE), text)?;
            match next(&mut reports, Duration::from_secs(600)).await? {
                Report::Replaced { .. } => {}
                other => bail!("the save was not served: {other:?}"),
            }
            let url = scratch::service_url(engine, &project, "venues").await?;
            loop {
                if let Ok((200, body)) = scratch::probe(&url, &token).await
                    && body == answer
                {
                    break;
                }
                if saved.elapsed() > Duration::from_secs(120) {
                    bail!("venues never answered {answer:?}");
                }
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            if n > 0 {
                times.push(saved.elapsed());
            }
        }
        Ok(times)
    };
    let outcome = timed.await;
    let _ = stop_tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(30), watching).await;
    drop(watcher);
    let _ = std::fs::write(copy.join(scratch::PROBE_FILE), &original);
    let _ = crate::cluster::down(engine, &project, true).await;
    scratch::remove_images(engine, &project).await;
    outcome
}

async fn next(reports: &mut mpsc::UnboundedReceiver<Report>, limit: Duration) -> Result<Report> {
    loop {
        let report = tokio::time::timeout(limit, reports.recv())
            .await
            .map_err(|_| anyhow::anyhow!("watch reported nothing within {limit:?}"))?
            .context("watch stopped")?;
        if !matches!(report, Report::Permissions { .. }) {
            return Ok(report);
        }
    }
}
