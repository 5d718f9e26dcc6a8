//! `cargo xtask seed`: demo data through the public API of a running cluster (see
//! [`crate::load::seed`]). The accounts, with their tokens, are written to
//! `target/chefcito/<project>/seed.json` for trying things by hand.

use std::time::Instant;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use crate::commands::ProjectArg;
use crate::load::gateway::{Gateway, check_url};
use crate::load::seed::{self, PASSWORD, Plan, Seeded};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Seed this gateway instead of --project's Docker cluster, e.g. http://127.0.0.1:8000
    /// (native mode). Only 127.0.0.1, localhost or [::1].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Restaurants to create, one venue each.
    #[arg(long, value_name = "N", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub venues: u64,
    /// Bookings to make, spread over the venues and the next four weeks.
    #[arg(long, value_name = "M", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub reservations: u64,
    /// Seed of the random choices (locations, tags, times): the same seed asks for the same data.
    #[arg(long, value_name = "N", default_value_t = 20261129)]
    pub seed: u64,
}

/// The gateway of `--url`, or the published gateway of the project's cluster.
pub async fn target(project: &str, url: Option<&str>) -> Result<String> {
    match url {
        Some(url) => check_url(url),
        None => crate::cluster::gateway_url(project).await,
    }
}

/// A progress bar with a count, for the stages of seeding.
pub fn bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template("{spinner:.cyan} {msg:38} [{bar:30}] {pos}/{len} {per_sec}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    bar.enable_steady_tick(std::time::Duration::from_millis(120));
    bar
}

/// Seeds `plan` into the gateway at `base`, with a progress bar; returns what was made and
/// how long it took.
pub async fn seed_with_progress(base: &str, plan: &Plan) -> Result<(Seeded, f64)> {
    let gateway = Gateway::new(base, 64)?;
    let bar = bar();
    let started = Instant::now();
    let outcome = seed::seed(&gateway, plan, &bar).await;
    bar.finish_and_clear();
    let seeded = outcome?;
    Ok((seeded, started.elapsed().as_secs_f64()))
}

pub async fn run(args: &Args) -> Result<()> {
    let base = target(&args.project.project, args.url.as_deref()).await?;
    let plan = Plan::new(args.venues as usize, args.reservations as usize, args.seed);
    println!(
        "seeding {base}: {} restaurants with a venue each, {} diners, {} bookings",
        plan.venues,
        plan.diners(),
        plan.reservations
    );
    let (seeded, seconds) = seed_with_progress(&base, &plan).await?;
    let dir = crate::paths::cluster_dir(&args.project.project);
    std::fs::create_dir_all(&dir)?;
    let file = dir.join("seed.json");
    std::fs::write(&file, serde_json::to_string_pretty(&seeded)? + "\n")
        .with_context(|| format!("writing {}", file.display()))?;
    println!(
        "seeded in {seconds:.1} s: {} venues, {} diners, {} bookings ({} refused: full seating window)",
        seeded.restaurants.len(),
        seeded.diners.len(),
        seeded.reservations,
        seeded.refused
    );
    println!(
        "accounts and tokens (valid one hour; password `{PASSWORD}`): {}",
        file.display()
    );
    if let (Some(diner), Some(venue)) = (seeded.diners.first(), seeded.restaurants.first()) {
        println!(
            "try: curl -H 'Authorization: Bearer {}…' '{base}/venues?id={}'  (the full token is in the file)",
            &diner.token[..diner.token.len().min(16)],
            venue.uid
        );
    }
    Ok(())
}
