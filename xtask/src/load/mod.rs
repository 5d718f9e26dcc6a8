//! Load on the gateway: seeding demo data and benchmarking with `wrk`.
//!
//! * [`gateway`]: the public calls seeding needs (sign-up, registration, venues, bookings).
//! * [`seed`]: restaurants with venues over Buenos Aires, diners, bookings over the next weeks.
//! * [`workloads`]: what each benchmark workload asks, as a wrk Lua script.
//! * [`wrk`]: runs wrk and reads its numbers.
//! * [`memory`], [`startup`]: RSS of each service, and time to its first answer.
//! * [`quiet`]: waiting for the cluster to be idle before each measurement.
//!
//! Only the set-up is ours; the load comes from wrk, which is faster than the gateway it
//! measures (the hand-written generator this replaces topped out at a fifth of wrk's rate
//! on `GET /health`).

pub mod gateway;
pub mod memory;
pub mod native;
pub mod quiet;
pub mod seed;
pub mod startup;
pub mod workloads;
pub mod wrk;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Serialize;

use crate::util::table;
use memory::{Rss, mib};
use seed::Seeded;
use workloads::Workload;
use wrk::{Load, Outcome};

/// One workload's numbers.
#[derive(Debug, Clone, Serialize)]
pub struct Measured {
    pub workload: Workload,
    /// Venues in the store while it ran.
    pub venues: usize,
    pub outcome: Outcome,
    pub requests_per_second: f64,
    pub target_requests_per_second: Option<f64>,
}

/// Runs `workload` against `base` with the data of `seeded`: a warm-up (not counted), then the
/// measured run. The script is kept under `target/bench/` for reruns by hand.
pub async fn measure(
    base: &str,
    seeded: &Seeded,
    venues: usize,
    workload: Workload,
    load: Load,
    warmup: Duration,
) -> Result<Measured> {
    let dir = crate::paths::target_dir().join("bench");
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let script = dir.join(format!("{}.lua", workload.name()));
    std::fs::write(&script, wrk::script(&workload.lua(seeded)))
        .with_context(|| format!("writing {}", script.display()))?;
    if !warmup.is_zero() {
        wrk::run(
            base,
            &script,
            Load {
                duration: warmup,
                ..load
            },
        )
        .await?;
    }
    let outcome = wrk::run(base, &script, load).await?;
    Ok(Measured {
        workload,
        venues,
        requests_per_second: outcome.requests_per_second(),
        target_requests_per_second: workload.target(),
        outcome,
    })
}

/// The data after `--scale` grew it (through the internal APIs).
#[derive(Debug, Clone, Copy, Serialize)]
pub struct Scaled {
    pub venues: usize,
    pub reservations: u64,
    pub seconds_to_grow: f64,
}

/// Everything one `cargo xtask bench` measured, as printed and as written to JSON.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub machine: String,
    pub started_at: String,
    pub gateway: String,
    pub mode: String,
    pub connections: usize,
    pub threads: usize,
    pub warmup_secs: u64,
    pub duration_secs: u64,
    pub venues: usize,
    pub reservations: u64,
    pub seconds_to_seed: f64,
    /// What `--scale` grew the data to, when it did.
    pub scaled: Option<Scaled>,
    pub workloads: Vec<Measured>,
    /// Service → milliseconds from its process start to its first answer.
    pub first_answer_ms: BTreeMap<String, f64>,
    /// Service → memory once up and idle, before any load.
    pub memory_idle: BTreeMap<String, Rss>,
    /// Service → memory after every workload (`peak_kib`: the most it held at any time).
    pub memory_after: BTreeMap<String, Rss>,
}

impl Report {
    pub fn render(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .workloads
            .iter()
            .map(|m| {
                let o = &m.outcome;
                let verdict = match m.target_requests_per_second {
                    Some(t) if m.requests_per_second >= t => format!("≥ {t:.0} ok"),
                    Some(t) => format!("≥ {t:.0} MISSED"),
                    None => "(argon2id)".into(),
                };
                vec![
                    m.workload.name().to_string(),
                    m.venues.to_string(),
                    format!("{:.0}", m.requests_per_second),
                    format!("{:.2}", o.p50_us / 1000.0),
                    format!("{:.2}", o.p99_us / 1000.0),
                    format!("{:.2}", o.p999_us / 1000.0),
                    o.errors().to_string(),
                    verdict,
                ]
            })
            .collect();
        let memory: Vec<Vec<String>> = self
            .memory_idle
            .keys()
            .chain(self.first_answer_ms.keys())
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .map(|s| {
                let idle = self.memory_idle.get(s);
                let after = self.memory_after.get(s);
                vec![
                    s.clone(),
                    self.first_answer_ms
                        .get(s)
                        .map_or("-".into(), |ms| format!("{ms:.1}")),
                    idle.map_or("-".into(), |r| mib(r.now_kib)),
                    after.map_or("-".into(), |r| mib(r.peak_kib)),
                    after.map_or("-".into(), |r| mib(r.now_kib)),
                ]
            })
            .collect();
        let scaled = self.scaled.map_or(String::new(), |s| {
            format!(
                "; --scale: {} venues, {} reservations (grown in {:.0} s)",
                s.venues, s.reservations, s.seconds_to_grow
            )
        });
        format!(
            "{} — {}, gateway {}\n{} venues, {} reservations (seeded in {:.0} s){scaled}; wrk {} threads, {} connections, {} s after a {} s warm-up\n\n{}\n\n{}",
            self.machine,
            self.mode,
            self.gateway,
            self.venues,
            self.reservations,
            self.seconds_to_seed,
            self.threads,
            self.connections,
            self.duration_secs,
            self.warmup_secs,
            table(
                &[
                    "WORKLOAD", "VENUES", "REQ/S", "P50 MS", "P99 MS", "P99.9 MS", "ERRORS",
                    "TARGET"
                ],
                &rows
            ),
            table(
                &[
                    "SERVICE",
                    "FIRST ANSWER MS",
                    "IDLE MIB",
                    "PEAK MIB",
                    "AFTER MIB"
                ],
                &memory
            )
        )
    }

    /// Writes the report as `target/bench/bench-<time>.json` and `target/bench/latest.json`.
    pub fn save(&self) -> Result<PathBuf> {
        let dir = crate::paths::target_dir().join("bench");
        std::fs::create_dir_all(&dir)?;
        let text = serde_json::to_string_pretty(self)? + "\n";
        let stamp = self.started_at.replace([':', '-'], "");
        let path = dir.join(format!("bench-{stamp}.json"));
        std::fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
        std::fs::write(dir.join("latest.json"), &text)?;
        Ok(path)
    }
}

/// "N cores, M GiB, <CPU model>" of this machine.
pub fn machine() -> String {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown CPU".into());
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let memory_gib = std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|t| {
            t.lines()
                .find(|l| l.starts_with("MemTotal:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|kib| kib.parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0 / 1024.0);
    format!("{cores} cores, {memory_gib:.0} GiB, {cpu}")
}
