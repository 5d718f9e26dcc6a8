//! `cargo xtask watch`: edit, save, it is running.
//!
//! Brings the cluster up, then watches the workspace. Each save is turned into a [`Plan`] (see
//! [`affected`]: which services are built from the changed files), and a cycle carries it
//! out: compile only those services, package only their images, replace only their
//! containers (health-gated, through [`crate::cluster::up`], which keeps every container
//! whose image did not change), or just apply `db_config.yaml`. The merged logs of the
//! watched containers stream throughout.
//!
//! * A failed compile changes nothing that runs: its errors are printed once, one line each,
//!   and its work is carried into the next save's cycle.
//! * A save during a compile stops it (its whole process group) and starts over with both
//!   saves' work: no queue of stale builds. Once compiled, a cycle finishes (images and
//!   containers are never left half-replaced).
//! * Stopping (Ctrl-C) leaves the cluster running.
//! * `--native`: the services run as local processes (debug builds, see [`crate::native`]);
//!   a cycle rebuilds the affected debug binaries and restarts those processes, one by one
//!   in dependency order, each gated on its `/health`. They are the watch's children and stop
//!   with it; a CONTAINERFILE change means nothing there.
//!
//! | setting | value |
//! |---|---|
//! | debounce | [`events::DEBOUNCE`] after the last file event |
//! | binaries | `target/x86_64-unknown-linux-gnu/release/<svc>`, static (`+crt-static`), as `build` makes them |
//! | images | `<prefix>-<svc>:latest` (`chefcito-…`), FROM scratch, as `build` makes them |
//! | health gate | `--timeout` seconds per dependency level (as `up`) |
//!
//! # Decisions
//!
//! * **The release profile, compiled incrementally, not a profile of its own.** A
//!   `[profile.watch]` would live in its own directory of `target/` and compile every
//!   dependency again (about 8 minutes on the 2-core machine, and as long again in CI for
//!   the watch tests) for no gain: cargo never compiles registry crates incrementally, so
//!   the dependencies of `CARGO_INCREMENTAL=1 cargo build --release` are exactly those of
//!   `cargo xtask build`. Only the workspace's own crates differ, and only they are
//!   recompiled after a `build` (and the other way round). The binaries stay static and the
//!   images FROM scratch: same target, same flags, same static check.
//! * **Containers are replaced by `up`, not by code of its own.** `up` of the affected
//!   services recreates exactly those whose image changed and keeps every other one (same
//!   container, same data); its health gate and error messages come along.
//! * **Only the compile is cancellable.** Killing a build costs nothing; interrupting an
//!   image build or a container replacement would leave a service without a container.
//! * **The binary is the last step of every CONTAINERFILE.** The engine's classic builder
//!   commits one layer per instruction (about 1 s each here); with the binary last, every
//!   step before it comes from the cache and an image takes 2 s instead of 7.
//! * **Measured, not adopted: `opt-level = 1` for the watched crates.** An edit to a venues
//!   handler compiled in the same 3.6–4.5 s (the link and axum's generic code dominate), and
//!   the images would run less optimised code than `build`'s.
//! * **Replaced images are removed** once their container is gone: one untagged 10 MB image
//!   per save would pile up otherwise.
//! * **Tests and the benchmark work on a scratch copy of the last commit** ([`scratch`]),
//!   sharing the target directory: the work tree is other people's, mid-edit.
//!
//! Measured (`cargo xtask bench-platform --only-watch`, 2 cores, other builds running):
//! a one-line change to a venues handler serves in 11.8–12.3 s: compile 6–7 s, image 4 s,
//! container 1 s.

pub mod affected;
pub mod compile;
pub mod events;
pub mod graph;
pub mod logs;
pub mod measure;
pub mod native;
pub mod scratch;

use std::collections::{BTreeMap, BTreeSet};
use std::future::Future;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use tokio::sync::mpsc;

pub use affected::Plan;
use compile::{Built, Flavour, Job};
use graph::Graph;

use crate::cluster::{Action, UpOptions};
use crate::engine::Engine;
use crate::image;
use crate::progress::paint;
use crate::services::{self, Service};

/// What to watch and where to run it.
#[derive(Debug, Clone)]
pub struct Options {
    /// The workspace (the repository's root; the tests use a copy).
    pub root: PathBuf,
    /// Its target directory.
    pub target_dir: PathBuf,
    /// The cluster: services (with their dependencies), project, ports, image prefix. Its
    /// `permissions` is ignored: `<root>/db_config.yaml` is applied.
    pub up: UpOptions,
    /// Local processes instead of containers.
    pub native: bool,
}

/// What a cycle did, for callers that follow along (the tests, the benchmark).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Report {
    /// The cluster is up: every watched service and its container id (native: its pid).
    Ready {
        containers: BTreeMap<&'static str, String>,
    },
    /// These services run new code; ids of the new containers (or pids).
    Replaced {
        containers: BTreeMap<&'static str, String>,
        elapsed: Duration,
    },
    /// Compiled and packaged, but no image changed: nothing was replaced.
    Unchanged,
    /// The compile failed; nothing running was touched.
    BuildFailed { errors: Vec<String> },
    /// `db_config.yaml` was applied (the one-line summary).
    Permissions { summary: String },
    /// Images or containers could not be brought up to date.
    Failed { error: String },
}

/// Prints one status line of the watcher.
pub fn say(text: &str) {
    println!("{} {text}", paint(4, "watch |"));
}

/// The services `up` brings up for `options`: the selection and its dependencies.
pub fn watched(options: &UpOptions) -> Result<Vec<&'static str>> {
    Ok(services::levels(&options.services)?
        .into_iter()
        .flatten()
        .map(|s| s.name)
        .collect())
}

/// Watches until `stop` resolves or `changes` closes. `changes` carries batches of paths
/// relative to the root ([`events::watch`] makes them; tests may send their own); `reports`,
/// when given, hears what each cycle did.
pub async fn run(
    options: Options,
    mut changes: mpsc::UnboundedReceiver<Vec<PathBuf>>,
    stop: impl Future<Output = ()>,
    reports: Option<mpsc::UnboundedSender<Report>>,
) -> Result<()> {
    tokio::pin!(stop);
    let report = |r: Report| {
        if let Some(tx) = &reports {
            let _ = tx.send(r);
        }
    };
    let watched = watched(&options.up)?;
    let mut graph = Graph::load(&options.root)?;
    let mut runtime = if options.native {
        Runtime::Native(native::Processes::new(&options)?)
    } else {
        Runtime::Docker(Docker::connect(&options).await?)
    };
    // The first cycle builds everything watched: the images must be those of the tree.
    let mut pending = Plan::all(&watched);
    // Work that failed, done again with the next save's.
    let mut carried = Plan::default();
    let mut started_at = Instant::now();
    let mut running = false;
    'watching: loop {
        if pending.is_empty() {
            if !carried.is_empty() {
                say("waiting for the next save");
            }
            tokio::select! {
                _ = &mut stop => break,
                batch = changes.recv() => match batch {
                    Some(paths) => {
                        started_at = Instant::now();
                        let plan = affected::plan(&paths, &graph, &watched);
                        if !plan.is_empty() {
                            pending = std::mem::take(&mut carried);
                            pending.merge(plan);
                        }
                    }
                    None => break,
                },
            }
            continue;
        }
        let mut plan = std::mem::take(&mut pending);
        if plan.manifests {
            match Graph::load(&options.root) {
                Ok(g) => graph = g,
                Err(e) => say(&format!("{e:#} (keeping the crate graph as it was)")),
            }
        }
        let job = Job {
            root: options.root.clone(),
            target_dir: options.target_dir.clone(),
            flavour: runtime.flavour(),
            services: plan.rebuild.clone(),
        };
        let built = if job.services.is_empty() {
            Built::Ok {
                elapsed: Duration::ZERO,
            }
        } else {
            say(&format!("building {}", names(&job.services)));
            // The first build takes minutes: cargo's progress is shown then, not later when
            // it would only interleave with the logs.
            let first = !running;
            let compiling = compile::run(&job, move |line| {
                if first || line.starts_with("Blocking") {
                    println!("  {line}");
                }
            });
            tokio::pin!(compiling);
            loop {
                tokio::select! {
                    built = &mut compiling => break built?,
                    batch = changes.recv() => {
                        let Some(paths) = batch else { break 'watching };
                        let more = affected::plan(&paths, &graph, &watched);
                        if more.is_empty() {
                            continue;
                        }
                        started_at = Instant::now();
                        if more.rebuild.is_empty() {
                            // Nothing more to compile: done after this build.
                            plan.merge(more);
                            continue;
                        }
                        say("changed again: building again");
                        plan.merge(more);
                        pending = plan;
                        continue 'watching;
                    }
                    _ = &mut stop => break 'watching,
                }
            }
        };
        let compiled = match built {
            Built::Ok { elapsed } => elapsed,
            Built::Failed { errors } => {
                say(&paint(
                    1,
                    "build failed; the running services are unchanged:",
                ));
                for e in &errors {
                    println!("  {e}");
                }
                report(Report::BuildFailed { errors });
                if !running {
                    running = runtime.start_anyway(&watched, &report).await;
                }
                carried = plan;
                continue;
            }
        };
        let outcome = if running {
            runtime.replace(&plan, &job).await
        } else {
            runtime.start(&watched, &job).await
        };
        let done = match outcome {
            Ok(done) => done,
            Err(e) => {
                let error = format!("{e:#}");
                say(&paint(1, &error));
                report(Report::Failed { error });
                carried = plan;
                continue;
            }
        };
        let elapsed = started_at.elapsed();
        match done {
            Done::Started(containers) => {
                running = true;
                say(&paint(
                    2,
                    &format!(
                        "{} up in {:.1} s; watching {} (Ctrl-C stops watching)",
                        names(&watched.iter().copied().collect()),
                        elapsed.as_secs_f64(),
                        options.root.display()
                    ),
                ));
                runtime.follow_logs(&watched);
                report(Report::Ready { containers });
            }
            Done::Replaced(containers) if containers.is_empty() => {
                if !plan.replaced().is_empty() {
                    say("built; no binary or image changed, nothing replaced");
                    report(Report::Unchanged);
                }
            }
            Done::Replaced(containers) => {
                say(&paint(
                    2,
                    &format!(
                        "{} replaced in {:.1} s (compile {:.1} s)",
                        names(&containers.keys().copied().collect()),
                        elapsed.as_secs_f64(),
                        compiled.as_secs_f64()
                    ),
                ));
                report(Report::Replaced {
                    containers,
                    elapsed,
                });
            }
        }
        if plan.permissions {
            match runtime.permissions(&options).await {
                Ok(summary) => {
                    say(&summary);
                    report(Report::Permissions { summary });
                }
                Err(e) => {
                    let error = format!("{e:#}");
                    say(&paint(1, &error));
                    report(Report::Failed { error });
                }
            }
        }
    }
    runtime.stopped(running).await;
    Ok(())
}

fn names(set: &BTreeSet<&'static str>) -> String {
    set.iter().copied().collect::<Vec<_>>().join(", ")
}

/// What a cycle's second half did.
enum Done {
    Started(BTreeMap<&'static str, String>),
    Replaced(BTreeMap<&'static str, String>),
}

enum Runtime {
    Docker(Docker),
    Native(native::Processes),
}

impl Runtime {
    fn flavour(&self) -> Flavour {
        match self {
            Runtime::Docker(_) => Flavour::Image,
            Runtime::Native(_) => Flavour::Native,
        }
    }

    async fn start(&mut self, watched: &[&'static str], job: &Job) -> Result<Done> {
        match self {
            Runtime::Docker(d) => d.start(watched, job).await,
            Runtime::Native(n) => n.start(watched, job).await,
        }
    }

    async fn replace(&mut self, plan: &Plan, job: &Job) -> Result<Done> {
        match self {
            Runtime::Docker(d) => d.replace(plan, job).await,
            Runtime::Native(n) => n.replace(plan, job).await,
        }
    }

    /// The first build failed: brings the cluster up from the images there are, so that
    /// the rest of it runs while the error is fixed. True when it is up.
    async fn start_anyway(&mut self, watched: &[&'static str], report: &impl Fn(Report)) -> bool {
        let outcome = match self {
            Runtime::Docker(d) => d.up(watched.iter().copied().collect(), true).await,
            // Native mode has no older binaries worth starting.
            Runtime::Native(_) => return false,
        };
        match outcome {
            Ok(containers) => {
                say("the cluster runs the images it had; it gets the new code after the fix");
                self.follow_logs(watched);
                report(Report::Ready {
                    containers: containers.into_iter().map(|(k, (id, _))| (k, id)).collect(),
                });
                true
            }
            Err(e) => {
                say(&format!(
                    "{e:#}: the cluster starts after the first successful build"
                ));
                false
            }
        }
    }

    async fn permissions(&mut self, options: &Options) -> Result<String> {
        let file = options.root.join("db_config.yaml");
        let table = crate::permissions::read(&file)?;
        let (url, token) = match self {
            Runtime::Docker(d) => (
                crate::permissions::users_url(&d.engine, &d.up.project).await?,
                crate::permissions::token(
                    &d.up.project,
                    &crate::paths::cluster_dir(&d.up.project),
                )?,
            ),
            Runtime::Native(n) => n.users()?,
        };
        let outcome = crate::permissions::apply(&url, &token, &table).await?;
        Ok(outcome.summary(&file))
    }

    fn follow_logs(&mut self, watched: &[&'static str]) {
        match self {
            Runtime::Docker(d) => {
                d.logs = Some(logs::follow(&d.engine, &d.up.project, watched, d.since));
            }
            // Native processes' output is pumped from their pipes from the start.
            Runtime::Native(_) => {}
        }
    }

    async fn stopped(self, running: bool) {
        match self {
            Runtime::Docker(_) if !running => say("stopped watching"),
            Runtime::Docker(d) => {
                drop(d.logs);
                say(&format!(
                    "stopped watching; the cluster keeps running (cargo xtask down{} to stop it)",
                    if d.up.project == crate::engine::DEFAULT_PROJECT {
                        String::new()
                    } else {
                        format!(" --project {}", d.up.project)
                    }
                ));
            }
            Runtime::Native(n) => n.stopped().await,
        }
    }
}

/// The Docker side of a cycle.
struct Docker {
    engine: Engine,
    up: UpOptions,
    root: PathBuf,
    since: chrono::DateTime<chrono::Utc>,
    logs: Option<logs::Followers>,
}

impl Docker {
    async fn connect(options: &Options) -> Result<Docker> {
        let mut up = options.up.clone();
        up.permissions = Some(options.root.join("db_config.yaml"));
        Ok(Docker {
            engine: Engine::connect().await?,
            up,
            root: options.root.clone(),
            since: chrono::Utc::now(),
            logs: None,
        })
    }

    async fn start(&mut self, watched: &[&'static str], job: &Job) -> Result<Done> {
        let all: BTreeSet<&'static str> = watched.iter().copied().collect();
        let old = self.current_images(&all).await;
        self.images(&all, job).await?;
        let containers = self.up(all, true).await?;
        self.forget(old).await;
        Ok(Done::Started(
            containers.into_iter().map(|(k, (id, _))| (k, id)).collect(),
        ))
    }

    async fn replace(&mut self, plan: &Plan, job: &Job) -> Result<Done> {
        let replaced = plan.replaced();
        if replaced.is_empty() {
            return Ok(Done::Replaced(BTreeMap::new()));
        }
        let started = Instant::now();
        let old = self.current_images(&replaced).await;
        self.images(&replaced, job).await?;
        let packaged = started.elapsed();
        let containers = self.up(replaced.clone(), false).await?;
        self.forget(old).await;
        say(&format!(
            "images {:.1} s, containers {:.1} s",
            packaged.as_secs_f64(),
            (started.elapsed() - packaged).as_secs_f64()
        ));
        Ok(Done::Replaced(
            containers
                .into_iter()
                .filter(|(k, (_, action))| replaced.contains(k) && *action != Action::Kept)
                .map(|(k, (id, _))| (k, id))
                .collect(),
        ))
    }

    /// `up` of `services`; the permission table only on the first.
    async fn up(
        &mut self,
        services: BTreeSet<&'static str>,
        first: bool,
    ) -> Result<BTreeMap<&'static str, (String, Action)>> {
        let mut options = self.up.clone();
        if !first {
            options.services = services.iter().map(|s| s.to_string()).collect();
            options.permissions = None;
        }
        let report = crate::cluster::up(&self.engine, &options).await?;
        if first && let Some(line) = &report.permissions {
            say(line);
        }
        if first && let Some(url) = &report.gateway_url {
            say(&format!("gateway: {url}"));
        }
        Ok(report.containers)
    }

    /// The ids of the images the containers of `services` run now.
    async fn current_images(&self, services: &BTreeSet<&'static str>) -> Vec<String> {
        let mut ids = Vec::new();
        for name in services {
            let tag = format!("{}-{name}:latest", self.up.image_prefix);
            if let Ok(image) = self.engine.docker.inspect_image(&tag).await {
                ids.extend(image.id);
            }
        }
        ids
    }

    /// Removes images that were replaced: untagged and no longer used, they would pile up
    /// (one per save). The engine refuses to remove one that is still tagged or used, which
    /// is fine.
    async fn forget(&self, images: Vec<String>) {
        for id in images {
            let _ = self
                .engine
                .docker
                .remove_image(
                    &id,
                    None::<bollard::query_parameters::RemoveImageOptions>,
                    None,
                )
                .await;
        }
    }

    /// Packages the images of `services` from the binaries `job` built, in parallel.
    async fn images(&self, services: &BTreeSet<&'static str>, job: &Job) -> Result<()> {
        let version = crate::commands::build::version_tag();
        let bar = indicatif::ProgressBar::hidden();
        let jobs = services.iter().map(|name| {
            let (bar, version) = (&bar, &version);
            async move {
                let service: &'static Service = services::get(name)?;
                let path = self
                    .root
                    .join("containerfiles")
                    .join(name)
                    .join("CONTAINERFILE");
                let containerfile = std::fs::read_to_string(&path)
                    .with_context(|| format!("cannot read {}", path.display()))?;
                let request = image::Request {
                    service,
                    repo: format!("{}-{name}", self.up.image_prefix),
                    version: version.clone(),
                    binary: job.binary(name),
                    containerfile,
                    force: false,
                };
                image::build(&self.engine, &request, bar).await
            }
        });
        for result in futures_util::future::join_all(jobs).await {
            result?;
        }
        Ok(())
    }
}
