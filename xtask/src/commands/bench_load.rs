//! `cargo xtask bench [WORKLOAD…]`: the product's throughput, latency and memory under `wrk`
//! (a benchmark, not a test: nothing here asserts on speed).
//!
//! Brings up an isolated cluster (project `bench`, fresh volumes, the gateway on an ephemeral
//! port of the project network's host address, where the kernel forwards it; `--loopback`
//! publishes on 127.0.0.1 through the engine's proxy, as `up` does; `--native` runs the same
//! release binaries as local processes ([`crate::load::native`]); `--url` measures a gateway
//! that is already running instead), times each service's first answer, seeds 1,000 venues
//! and 10,000 reservations through the public API ([`crate::load::seed`]), then runs each
//! workload ([`crate::load::workloads`]) with wrk once the cluster is idle
//! ([`crate::load::quiet`]): a warm-up, then the measured run, at a fixed concurrency. Prints the table (requests/s, p50, p99, p99.9, errors, the
//! issue's target) and each service's RSS idle, at its peak and after the load, and writes the
//! same as JSON to `target/bench/`. The cluster is removed at the end unless `--keep`.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use anyhow::{Result, bail};

use crate::cluster::PublishOn;
use crate::commands::build;
use crate::engine::Engine;
use crate::load::native::Processes;
use crate::load::seed::Plan;
use crate::load::workloads::Workload;
use crate::load::wrk::{self, Load};
use crate::load::{self, Report, memory, quiet, startup};
use crate::progress;
use crate::services;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Workloads to run (default: all): venue-by-id, venues-page, search, near-me, book,
    /// venue-reservations, sign-in.
    #[arg(value_enum, value_name = "WORKLOAD")]
    pub workloads: Vec<Workload>,
    /// Name of the isolated cluster the benchmark brings up (and removes, with its volumes).
    #[arg(long, default_value = "bench")]
    pub project: String,
    /// Measure this running gateway instead (e.g. http://127.0.0.1:8000; 127.0.0.1,
    /// localhost or [::1] only): no cluster is started or removed, and no memory is read.
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Venues to seed (one restaurant account each).
    #[arg(long, value_name = "N", default_value_t = 1_000,
          value_parser = clap::value_parser!(u64).range(1..=1_000_000))]
    pub venues: u64,
    /// Reservations to seed.
    #[arg(long, value_name = "M", default_value_t = 10_000,
          value_parser = clap::value_parser!(u64).range(0..=10_000_000))]
    pub reservations: u64,
    /// Seconds each workload is measured.
    #[arg(long, value_name = "SECONDS", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Seconds of load before each measurement (not counted).
    #[arg(long, value_name = "SECONDS", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(0..=600))]
    pub warmup: u64,
    /// Connections kept open by wrk.
    #[arg(long, value_name = "N", default_value_t = 64,
          value_parser = clap::value_parser!(u64).range(1..=10_000))]
    pub connections: u64,
    /// wrk threads.
    #[arg(long, value_name = "N", default_value_t = 2,
          value_parser = clap::value_parser!(u64).range(1..=64))]
    pub threads: u64,
    /// Then grow the data to 100,000 venues and 1,000,000 reservations (in bulk, through the
    /// venues and reservations services' internal API; ~10 minutes) and repeat the read
    /// workloads.
    #[arg(long, conflicts_with = "url")]
    pub scale: bool,
    /// Leave the cluster running at the end (its accounts are in target/bench/seed.json).
    #[arg(long)]
    pub keep: bool,
    /// Publish the gateway on 127.0.0.1, as `cargo xtask up` does: every byte then goes
    /// through the engine's userland proxy, which costs about half of a cheap request. By
    /// default the bench publishes it on the host's address on the project network, where
    /// the kernel forwards the port.
    #[arg(long, conflicts_with = "url")]
    pub loopback: bool,
    /// Run the services as local processes instead of containers: the same static release
    /// binaries, on 127.0.0.1 at their usual ports (8000–8008 must be free), fresh data under
    /// target/chefcito-native/<project>/. What the containers cost shows as the difference.
    #[arg(long, conflicts_with_all = ["url", "loopback", "keep"])]
    pub native: bool,
}

/// What is measured.
enum Cluster {
    /// Containers this command started.
    Docker(Engine),
    /// Local processes this command started.
    Native(Processes),
    /// A gateway already running (`--url`).
    Url,
}

impl Cluster {
    fn engine(&self) -> Option<&Engine> {
        match self {
            Cluster::Docker(engine) => Some(engine),
            _ => None,
        }
    }

    /// Each service's host pid, by name (none for `--url`).
    async fn pids(&self, project: &str) -> BTreeMap<String, i64> {
        match self {
            Cluster::Docker(engine) => memory::pids(engine, project).await,
            Cluster::Native(processes) => processes.pids(),
            Cluster::Url => BTreeMap::new(),
        }
    }

    /// A service's own address and the internal token, to grow the data at `--scale`.
    async fn internal(&self, project: &str, name: &'static str) -> Result<(String, String)> {
        match self {
            Cluster::Docker(engine) => {
                let secrets =
                    crate::secrets::Secrets::load(&crate::paths::cluster_dir(project))?
                        .ok_or_else(|| anyhow::anyhow!("the cluster {project} has no secrets"))?;
                let url = crate::engine::published_url(
                    engine,
                    &crate::engine::container_name(project, name),
                    services::get(name)?.port,
                )
                .await
                .ok_or_else(|| {
                    anyhow::anyhow!(
                        "{name} is not published: --scale starts the cluster with every port published"
                    )
                })?;
                Ok((url, secrets.internal_token().to_string()))
            }
            Cluster::Native(processes) => {
                Ok((processes.url(name)?, processes.internal_token().to_string()))
            }
            Cluster::Url => bail!("--scale needs the cluster this command starts"),
        }
    }
}

impl Args {
    fn workloads(&self) -> Vec<Workload> {
        let mut chosen: Vec<Workload> = if self.workloads.is_empty() {
            Workload::ALL.to_vec()
        } else {
            self.workloads.clone()
        };
        chosen.sort();
        chosen.dedup();
        chosen
    }
}

pub async fn run(args: &Args) -> Result<()> {
    if !wrk::installed() {
        bail!(
            "wrk is not installed: run `cargo xtask install` (it installs the Debian package `wrk`)"
        );
    }
    let mut cluster = if args.url.is_some() {
        Cluster::Url
    } else if args.native {
        crate::engine::check_project(&args.project)?;
        println!(
            "{}",
            progress::paint(4, "==> release build (cargo xtask build, without images)")
        );
        let names: Vec<&str> = services::SERVICES.iter().map(|s| s.name).collect();
        tokio::task::block_in_place(|| build::cargo_build_static(&names))?;
        println!(
            "{}",
            progress::paint(
                4,
                "==> local processes on 127.0.0.1 (ports 8000–8008), fresh data"
            )
        );
        Cluster::Native(Processes::start(&args.project, NATIVE_START).await?)
    } else {
        crate::engine::check_project(&args.project)?;
        let engine = Engine::connect().await?;
        println!("{}", progress::paint(4, "==> cargo xtask build"));
        build::run(&build::Args::default()).await?;
        // Fresh data: a previous run's venues would change every number.
        crate::cluster::down(&engine, &args.project, true).await?;
        Cluster::Docker(engine)
    };
    let outcome = bench(args, &cluster).await;
    if let Cluster::Native(processes) = &mut cluster {
        processes.stop().await;
    }
    if let Some(engine) = cluster.engine() {
        if args.keep && outcome.is_ok() {
            println!(
                "the cluster keeps running: `cargo xtask status --project {p}`; `cargo xtask down --volumes --project {p}` removes it",
                p = args.project
            );
        } else {
            crate::cluster::down(engine, &args.project, true).await?;
        }
    }
    let report = outcome?;
    println!("\n{}", report.render());
    let path = report.save()?;
    println!(
        "\nwritten to {} (and target/bench/latest.json)",
        path.display()
    );
    let failing: Vec<String> = report
        .workloads
        .iter()
        .filter(|m| m.outcome.errors() * 100 > m.outcome.requests)
        .map(|m| m.workload.name().to_string())
        .collect();
    if !failing.is_empty() {
        bail!(
            "more than 1% of the answers of {} were errors: the numbers are not valid; see `cargo xtask logs --project {}` (run with --keep)",
            failing.join(", "),
            args.project
        );
    }
    Ok(())
}

/// Venues and reservations at `--scale`, on top of the seeded ones.
const SCALE_VENUES: usize = 100_000;
const SCALE_RESERVATIONS: usize = 1_000_000;

/// How long local processes may take to answer `/health` (they take milliseconds).
const NATIVE_START: Duration = Duration::from_secs(30);

/// Grows the seeded data to the `--scale` sizes through the internal API.
async fn grow(
    cluster: &Cluster,
    project: &str,
    seeded: &mut crate::load::seed::Seeded,
) -> Result<()> {
    let (venues_url, token) = cluster.internal(project, "venues").await?;
    let (reservations_url, _) = cluster.internal(project, "reservations").await?;
    let internal = crate::load::seed::Internal {
        venues: crate::load::gateway::Gateway::internal(&venues_url, 64, &token)?,
        reservations: crate::load::gateway::Gateway::internal(&reservations_url, 64, &token)?,
    };
    let venues = SCALE_VENUES.saturating_sub(seeded.venue_ids().len());
    let reservations = SCALE_RESERVATIONS.saturating_sub(seeded.reservations as usize);
    println!(
        "{}",
        progress::paint(
            4,
            &format!("==> --scale: {venues} more venues and {reservations} more reservations")
        )
    );
    let bar = crate::commands::seed::bar();
    let outcome =
        crate::load::seed::scale(&internal, seeded, venues, reservations, 20261129, &bar).await;
    bar.finish_and_clear();
    outcome
}

async fn bench(args: &Args, cluster: &Cluster) -> Result<Report> {
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let base = match (cluster, &args.url) {
        (_, Some(url)) => crate::load::gateway::check_url(url)?,
        (Cluster::Native(processes), None) => processes.url("gateway")?,
        (Cluster::Docker(engine), None) => {
            println!(
                "{}",
                progress::paint(
                    4,
                    &format!(
                        "==> cluster {} (an ephemeral port on {})",
                        args.project,
                        if args.loopback {
                            "127.0.0.1"
                        } else {
                            "the project network's host address"
                        }
                    )
                )
            );
            let options = crate::cluster::UpOptions {
                // --scale seeds venues and reservations through their own ports.
                publish_all: args.scale,
                publish_on: if args.loopback {
                    PublishOn::Loopback
                } else {
                    PublishOn::NetworkGateway
                },
                ..crate::cluster::UpOptions::ephemeral(&args.project)
            };
            let report = crate::cluster::up(engine, &options).await?;
            report.gateway_url.ok_or_else(|| {
                anyhow::anyhow!("the gateway of {} is not published", args.project)
            })?
        }
        (Cluster::Url, None) => bail!("no cluster and no --url"),
    };

    let mut first_answer_ms = std::collections::BTreeMap::new();
    if !matches!(cluster, Cluster::Url) {
        println!("{}", progress::paint(4, "==> first answer of each service"));
        let secrets = crate::secrets::Secrets::generate()?;
        for s in services::SERVICES {
            let took = tokio::task::block_in_place(|| startup::first_answer(s, &secrets))?;
            first_answer_ms.insert(s.name.to_string(), took.as_secs_f64() * 1000.0);
        }
    }
    let memory_idle = memory::of_pids(&cluster.pids(&args.project).await);

    println!(
        "{}",
        progress::paint(
            4,
            &format!(
                "==> seeding {} venues and {} reservations through {base}",
                args.venues, args.reservations
            )
        )
    );
    let plan = Plan::new(args.venues as usize, args.reservations as usize, 20261129);
    let (mut seeded, seconds_to_seed) =
        crate::commands::seed::seed_with_progress(&base, &plan).await?;
    let seed_file = crate::paths::target_dir().join("bench").join("seed.json");
    std::fs::create_dir_all(seed_file.parent().unwrap_or(&seed_file))?;
    std::fs::write(&seed_file, serde_json::to_string_pretty(&seeded)?)?;

    let load = Load {
        threads: args.threads as usize,
        connections: args.connections as usize,
        duration: Duration::from_secs(args.duration),
    };
    let multi = indicatif::MultiProgress::new();
    let width = Workload::ALL
        .iter()
        .map(|w| w.name().len())
        .max()
        .unwrap_or(10);
    let mut workloads = Vec::new();
    let mut runs: Vec<(Workload, bool)> =
        args.workloads().into_iter().map(|w| (w, false)).collect();
    if args.scale {
        runs.extend(
            args.workloads()
                .into_iter()
                .filter(|w| w.is_read())
                .map(|w| (w, true)),
        );
    }
    let seeded_reservations = seeded.reservations;
    let mut scaled_to = None;
    for (workload, scaled) in runs {
        if scaled && seeded.bulk_venues.is_empty() {
            let started = Instant::now();
            grow(cluster, &args.project, &mut seeded).await?;
            scaled_to = Some(load::Scaled {
                venues: seeded.venue_ids().len(),
                reservations: seeded.reservations,
                seconds_to_grow: started.elapsed().as_secs_f64(),
            });
        }
        let bar = progress::line(&multi, workload.name(), width);
        let pids = cluster.pids(&args.project).await;
        if !pids.is_empty() {
            bar.set_message("waiting for the cluster to be idle (outbox deliveries, messages)");
            let patience = if scaled {
                quiet::SCALE_PATIENCE
            } else {
                quiet::PATIENCE
            };
            if let Err(share) = quiet::settle(&pids, patience).await {
                // Printed above the bars, so that it stays in a log as well.
                multi.suspend(|| {
                    println!(
                        "  {}: the cluster still used {:.0}% of a core after {} s: measuring anyway",
                        workload.name(),
                        share * 100.0,
                        patience.as_secs()
                    )
                });
            }
        }
        bar.set_message(format!(
            "{} s warm-up, then {} s measured",
            args.warmup, args.duration
        ));
        let measured = load::measure(
            &base,
            &seeded,
            seeded.venue_ids().len(),
            workload,
            load,
            Duration::from_secs(args.warmup),
        )
        .await;
        match measured {
            Ok(m) => {
                progress::finish(
                    &bar,
                    m.outcome.errors() == 0,
                    format!(
                        "{:.0} req/s, p99 {:.2} ms, {} errors",
                        m.requests_per_second,
                        m.outcome.p99_us / 1000.0,
                        m.outcome.errors()
                    ),
                );
                workloads.push(m);
            }
            Err(e) => {
                progress::finish(&bar, false, "failed".into());
                return Err(e);
            }
        }
    }
    // Let the services return what the load made them hold.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let memory_after = memory::of_pids(&cluster.pids(&args.project).await);
    Ok(Report {
        machine: load::machine(),
        started_at,
        gateway: base,
        mode: match cluster {
            Cluster::Docker(_) if args.loopback => {
                "Docker cluster, release images, gateway published on 127.0.0.1 (the engine's userland proxy)".into()
            }
            Cluster::Docker(_) => {
                "Docker cluster, release images, gateway published on the project network's host address (kernel NAT)".into()
            }
            Cluster::Native(_) => {
                "local processes (the images' release binaries) on 127.0.0.1".into()
            }
            Cluster::Url => "a running gateway (--url)".into(),
        },
        connections: load.connections,
        threads: load.threads,
        warmup_secs: args.warmup,
        duration_secs: args.duration,
        venues: seeded.restaurants.len(),
        reservations: seeded_reservations,
        seconds_to_seed,
        scaled: scaled_to,
        workloads,
        first_answer_ms,
        memory_idle,
        memory_after,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    #[test]
    fn workloads_default_to_all_in_order() {
        let cli = Cli::try_parse_from(["bench"]).unwrap();
        assert_eq!(cli.args.workloads(), Workload::ALL.to_vec());
        let cli = Cli::try_parse_from(["bench", "book", "venue-by-id", "book"]).unwrap();
        assert_eq!(
            cli.args.workloads(),
            vec![Workload::VenueById, Workload::Book]
        );
        assert!(Cli::try_parse_from(["bench", "nothing"]).is_err());
        assert!(Cli::try_parse_from(["bench", "--connections", "0"]).is_err());
    }
}
