//! `cargo xtask bench-platform`: times the platform itself on an isolated cluster (a
//! benchmark, not a test): `up` of every service to healthy from nothing, a second `up`
//! (nothing to do), `build` with nothing changed, `down`. Needs the images built. Then
//! `watch`'s save-to-serving time: a one-line change to a venues handler in a scratch copy of
//! the workspace until venues answers with it (see [`crate::watch::measure`]; the first run
//! compiles the copy's crates, minutes, untimed; `--no-watch` skips it, `--only-watch` times
//! nothing else).

use std::time::{Duration, Instant};

use anyhow::Result;

use crate::commands::{build, down};
use crate::engine::Engine;
use crate::util::table;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// How many rounds to time (the table shows each).
    #[arg(long, default_value_t = 1)]
    pub rounds: u32,
    /// Skip timing `watch` (save to serving), which first compiles a scratch copy of the
    /// workspace's crates.
    #[arg(long)]
    pub no_watch: bool,
    /// Time only `watch` (save to serving), not the cluster commands.
    #[arg(long, conflicts_with = "no_watch")]
    pub only_watch: bool,
    /// How many saves `watch` is timed on.
    #[arg(long, default_value_t = 3)]
    pub saves: u32,
}

async fn timed<T>(f: impl std::future::Future<Output = Result<T>>) -> Result<(T, Duration)> {
    let started = Instant::now();
    let value = f.await?;
    Ok((value, started.elapsed()))
}

pub async fn run(args: &Args) -> Result<()> {
    let engine = Engine::connect().await?;
    let project = format!("bench-{}", std::process::id());
    let down_args = down::Args::of(&project, true);
    let mut rows = Vec::new();
    let rounds = if args.only_watch {
        0
    } else {
        args.rounds.max(1)
    };
    for round in 1..=rounds {
        let result = round_of(&engine, &project, &down_args).await;
        // Whatever happened, leave nothing behind.
        let _ = crate::cluster::down(&engine, &down_args.project.project, down_args.volumes).await;
        let times = result?;
        let target = [5.0, 1.0, 10.0, 3.0];
        let names = ["up (to healthy)", "up (no-op)", "build (no change)", "down"];
        for ((name, time), target) in names.iter().zip(times).zip(target) {
            rows.push(vec![
                round.to_string(),
                name.to_string(),
                format!("{:.2} s", time.as_secs_f64()),
                format!("< {target} s"),
                if time.as_secs_f64() < target {
                    "ok".into()
                } else {
                    "SLOW".into()
                },
            ]);
        }
    }
    if !args.no_watch {
        let times = crate::watch::measure::save_to_serving(&engine, args.saves).await?;
        for (n, time) in times.iter().enumerate() {
            rows.push(vec![
                format!("save {}", n + 1),
                "watch: save to serving".into(),
                format!("{:.2} s", time.as_secs_f64()),
                "< 15 s".into(),
                if time.as_secs_f64() < 15.0 {
                    "ok".into()
                } else {
                    "SLOW".into()
                },
            ]);
        }
    }
    println!(
        "\n{}",
        table(&["ROUND", "STEP", "TIME", "TARGET", ""], &rows)
    );
    Ok(())
}

async fn round_of(engine: &Engine, project: &str, down_args: &down::Args) -> Result<[Duration; 4]> {
    crate::cluster::down(engine, &down_args.project.project, down_args.volumes).await?;
    let up_args = crate::cluster::UpOptions::ephemeral(project);
    let (_, first) = timed(crate::cluster::up(engine, &up_args)).await?;
    let (_, again) = timed(crate::cluster::up(engine, &up_args)).await?;
    let (_, build) = timed(build::run(&build::Args::default())).await?;
    let keep = down::Args::of(project, false);
    let (_, down) = timed(crate::cluster::down(
        engine,
        &keep.project.project,
        keep.volumes,
    ))
    .await?;
    Ok([first, again, build, down])
}
