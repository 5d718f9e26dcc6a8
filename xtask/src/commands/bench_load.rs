//! `cargo xtask bench-load`: load on the gateway's hot paths of a running cluster, with the
//! numbers (a benchmark, not a test: nothing here asserts on speed).
//!
//! The target is the published gateway of `--project`'s Docker cluster (found the way `up` and
//! `status` find it), or `--url` (native mode, anything else on this machine). Only
//! 127.0.0.1, localhost and [::1] are accepted: load is only ever put on this machine.
//!
//! Set-up, not measured: `--users` fresh users (unique e-mails per run) sign up through
//! `/auth/signup` and register as clients with `POST /users`. Then each scenario runs for
//! `--duration` seconds with `--concurrency` workers (tokio tasks sharing one keep-alive
//! reqwest client), each sending its next request as soon as the previous one is answered:
//!
//! | scenario | request | expected | what it measures |
//! |---|---|---|---|
//! | `health` | `GET /health` | 200 | the floor of the stack |
//! | `profile` | `GET /users`, bearer token (users in turn) | 200 | token verification, permission check, user type, users' `GET /user/{uid}` |
//! | `anonymous-refused` | `GET /users`, no token | 401 | the refusal path (must be cheap) |
//! | `signin` | `POST /auth/signin` | 200 | argon2id, slow on purpose: at most 4 workers |
//!
//! A scenario stops at its deadline or after `--max-requests`, whichever comes first; a
//! request in flight at the deadline has at most the client timeout (10 s) to finish. Any
//! other status, or a transport error, is an error: counted, and the first distinct message
//! shown. Per scenario: requests, errors, req/s, latency p50/p90/p99/max (nearest rank over
//! every request). `--json PATH` writes the same as JSON for before/after notes.
//!
//! Measured on the 2-core dev machine against the Docker cluster (`cargo xtask up --project
//! bench --ephemeral-ports`, release images, gateway through the engine's loopback port
//! forwarding; the load generator, a debug build of xtask, shares the same 2 cores), 10 s per
//! scenario, 16 users, two runs:
//!
//! | scenario | workers | req/s | p50 ms | p99 ms |
//! |---|---|---|---|---|
//! | `health` | 32 | 4,420–4,590 | 6.9–7.1 | 16.7–16.9 |
//! | `profile` | 32 | 1,670–1,790 | 17.2–18.4 | 36.5–41.4 |
//! | `anonymous-refused` | 32 | 2,940–2,960 | 10.3–10.6 | 24.6–26.5 |
//! | `signin` | 4 | 70–74 | 52.7–55.2 | 98.8–115.5 |
//!
//! No errors. The authenticated read costs about 2.5 times the floor (`health`): the gateway's
//! own work plus a second HTTP hop to users and its SQLite read. The 401 path is cheaper than
//! `profile` but not free: it runs the permission check before refusing.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use futures_util::{StreamExt, TryStreamExt};
use indicatif::MultiProgress;
use serde::Serialize;
use serde_json::{Value, json};

use crate::commands::ProjectArg;
use crate::engine::{self, Engine};
use crate::progress;
use crate::services;
use crate::util::table;

/// The password of every benchmark user.
const PASSWORD: &str = "bench-load password";
/// Longest any one request may take, connection and body included.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// Argon2id is slow on purpose: more sign-ins at once only queue in the users service.
const SIGNIN_CONCURRENCY: usize = 4;
/// Distinct error messages kept per scenario.
const DISTINCT_ERRORS: usize = 10;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub project: ProjectArg,
    /// Measure this gateway instead of the Docker cluster of --project, e.g.
    /// http://127.0.0.1:8000 (native mode). Only 127.0.0.1, localhost or [::1].
    #[arg(long, value_name = "URL")]
    pub url: Option<String>,
    /// Seconds each scenario runs.
    #[arg(long, value_name = "SECONDS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    pub duration: u64,
    /// Requests in flight at once (workers); `signin` uses at most 4.
    #[arg(long, value_name = "N", default_value_t = 32,
          value_parser = clap::value_parser!(u32).range(1..=1024))]
    pub concurrency: u32,
    /// Run only this scenario (repeatable; default: all, in the order listed).
    #[arg(long = "scenario", value_name = "NAME", value_enum)]
    pub scenarios: Vec<Scenario>,
    /// Users signed up and registered before the scenarios (profile and signin rotate
    /// over them).
    #[arg(long, value_name = "N", default_value_t = 16,
          value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub users: u32,
    /// Most requests per scenario, whatever the duration.
    #[arg(long, value_name = "N", default_value_t = 2_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    pub max_requests: u64,
    /// Also write the results as JSON to this file (for before/after comparisons).
    #[arg(long, value_name = "PATH")]
    pub json: Option<PathBuf>,
}

/// One kind of request, sent over and over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// GET /health: no auth, the floor of the stack.
    Health,
    /// GET /users with a valid bearer token: the main authenticated path.
    Profile,
    /// GET /users without a token: the 401 path.
    AnonymousRefused,
    /// POST /auth/signin with the right password: argon2id, at most 4 at once.
    Signin,
}

impl Scenario {
    pub const ALL: [Scenario; 4] = [
        Scenario::Health,
        Scenario::Profile,
        Scenario::AnonymousRefused,
        Scenario::Signin,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Health => "health",
            Scenario::Profile => "profile",
            Scenario::AnonymousRefused => "anonymous-refused",
            Scenario::Signin => "signin",
        }
    }

    /// The status every answer must have.
    fn expected(self) -> u16 {
        match self {
            Scenario::AnonymousRefused => 401,
            _ => 200,
        }
    }

    fn needs_users(self) -> bool {
        matches!(self, Scenario::Profile | Scenario::Signin)
    }

    /// Workers for this scenario out of `--concurrency`.
    pub fn workers(self, concurrency: usize) -> usize {
        match self {
            Scenario::Signin => concurrency.min(SIGNIN_CONCURRENCY),
            _ => concurrency,
        }
        .max(1)
    }
}

/// What to run, independent of the command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub duration: Duration,
    pub concurrency: usize,
    /// Run in the canonical order, each once, whatever order they were given in.
    pub scenarios: Vec<Scenario>,
    pub users: usize,
    pub max_requests: u64,
}

impl Args {
    pub fn options(&self) -> Options {
        let chosen: BTreeSet<Scenario> = self.scenarios.iter().copied().collect();
        Options {
            duration: Duration::from_secs(self.duration),
            concurrency: self.concurrency as usize,
            scenarios: if chosen.is_empty() {
                Scenario::ALL.to_vec()
            } else {
                chosen.into_iter().collect()
            },
            users: self.users as usize,
            max_requests: self.max_requests,
        }
    }
}

/// Latency distribution, in milliseconds.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Latency {
    pub p50: f64,
    pub p90: f64,
    pub p99: f64,
    pub max: f64,
}

impl Latency {
    /// From per-request latencies in microseconds (any order).
    pub fn from_micros(mut micros: Vec<u64>) -> Latency {
        micros.sort_unstable();
        let ms = |p| percentile(&micros, p) as f64 / 1000.0;
        Latency {
            p50: ms(50.0),
            p90: ms(90.0),
            p99: ms(99.0),
            max: ms(100.0),
        }
    }
}

/// Nearest-rank percentile `p` (0–100) of `sorted` (ascending): the smallest value with at
/// least p % of the values at or below it; 0 for no values.
pub fn percentile(sorted: &[u64], p: f64) -> u64 {
    if sorted.is_empty() {
        return 0;
    }
    let rank = (p.clamp(0.0, 100.0) / 100.0 * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

/// The outcome of one scenario.
#[derive(Debug, Clone, Serialize)]
pub struct ScenarioResult {
    pub scenario: Scenario,
    pub concurrency: usize,
    /// Requests answered (or failed), errors included.
    pub requests: u64,
    /// Requests with another status than expected, or no answer.
    pub errors: u64,
    /// The distinct error messages, first seen first (at most 10).
    pub distinct_errors: Vec<String>,
    /// From the first request to the last answer.
    pub seconds: f64,
    pub requests_per_second: f64,
    pub latency_ms: Latency,
}

/// Every scenario's outcome, as printed and as written by `--json`.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub target: String,
    pub started_at: String,
    pub duration_secs: f64,
    pub users: usize,
    pub scenarios: Vec<ScenarioResult>,
}

impl Report {
    /// The results table, then the first error of every scenario that had some.
    pub fn render(&self) -> String {
        let rows: Vec<Vec<String>> = self
            .scenarios
            .iter()
            .map(|r| {
                vec![
                    r.scenario.name().to_string(),
                    r.concurrency.to_string(),
                    r.requests.to_string(),
                    r.errors.to_string(),
                    format!("{:.0}", r.requests_per_second),
                    format!("{:.2}", r.latency_ms.p50),
                    format!("{:.2}", r.latency_ms.p90),
                    format!("{:.2}", r.latency_ms.p99),
                    format!("{:.2}", r.latency_ms.max),
                ]
            })
            .collect();
        let mut out = format!(
            "gateway {} — {} s per scenario, {} users\n{}",
            self.target,
            self.duration_secs,
            self.users,
            table(
                &[
                    "SCENARIO", "CONC", "REQUESTS", "ERRORS", "REQ/S", "P50 MS", "P90 MS",
                    "P99 MS", "MAX MS"
                ],
                &rows
            )
        );
        for r in self.scenarios.iter().filter(|r| r.errors > 0) {
            out.push_str(&format!(
                "\n{}: {} errors ({} distinct); first: {}",
                r.scenario.name(),
                r.errors,
                r.distinct_errors.len(),
                r.distinct_errors.first().map(String::as_str).unwrap_or("?")
            ));
        }
        out
    }
}

pub async fn run(args: &Args) -> Result<()> {
    let target = match &args.url {
        Some(url) => check_url(url)?,
        None => cluster_url(&args.project.project).await?,
    };
    let report = bench(&target, &args.options()).await?;
    println!("\n{}", report.render());
    if let Some(path) = &args.json {
        let text = serde_json::to_string_pretty(&report)?;
        std::fs::write(path, text + "\n")
            .with_context(|| format!("writing the results to {}", path.display()))?;
        println!("\nresults written to {}", path.display());
    }
    let failed: Vec<&str> = report
        .scenarios
        .iter()
        .filter(|r| r.errors > 0)
        .map(|r| r.scenario.name())
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} had unexpected answers (above): the numbers are not valid; look at `cargo xtask logs` (or the services' output) and run again",
            failed.join(", ")
        );
    }
    Ok(())
}

/// The base URL of a `--url`: only this machine, http(s), no path.
pub fn check_url(text: &str) -> Result<String> {
    let url = reqwest::Url::parse(text)
        .map_err(|e| anyhow!("--url `{text}`: {e}: expected e.g. http://127.0.0.1:8000"))?;
    if !matches!(url.scheme(), "http" | "https") {
        bail!("--url `{text}`: expected an http:// or https:// URL, e.g. http://127.0.0.1:8000");
    }
    if !matches!(url.host_str(), Some("127.0.0.1" | "localhost" | "[::1]")) {
        bail!(
            "--url `{text}`: load tests may only target this machine: use 127.0.0.1, localhost or [::1] as the host (e.g. http://127.0.0.1:8000)"
        );
    }
    if url.path() != "/" || url.query().is_some() {
        bail!(
            "--url `{text}`: give the gateway's base URL without a path, e.g. http://127.0.0.1:8000"
        );
    }
    Ok(url.origin().ascii_serialization())
}

/// The published URL of the gateway of `project`'s Docker cluster.
pub async fn cluster_url(project: &str) -> Result<String> {
    engine::check_project(project)?;
    let engine = Engine::connect().await.map_err(|e| {
        anyhow!("{e:#}\nno cluster to measure: `cargo xtask run` first, or pass --url http://127.0.0.1:PORT")
    })?;
    let gateway = services::SERVICES
        .iter()
        .find(|s| s.public)
        .ok_or_else(|| anyhow!("no public service in xtask/src/services.rs"))?;
    let container = engine::container_name(project, gateway.name);
    if let Some(url) = crate::engine::published_url(&engine, &container, gateway.port).await {
        return Ok(url);
    }
    let state = crate::cluster::status::rows(&engine, project)
        .await?
        .into_iter()
        .find(|r| r.service == gateway.name)
        .map(|r| r.state)
        .unwrap_or_else(|| "absent".into());
    let up_command = if project == engine::DEFAULT_PROJECT {
        "`cargo xtask run`".to_string()
    } else {
        format!("`cargo xtask up --project {project}`")
    };
    bail!(
        "no cluster running in project {project} (its gateway is {state}, with no published port): {up_command} first, or pass --url http://127.0.0.1:PORT"
    )
}

/// A signed-up, registered user.
#[derive(Debug, Clone)]
struct User {
    email: String,
    token: String,
}

/// Signs up the users, then runs every scenario of `options` against the gateway at `base`
/// (already checked: see [`check_url`]).
pub async fn bench(base: &str, options: &Options) -> Result<Report> {
    let workers = options.concurrency.max(1);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(workers)
        .timeout(REQUEST_TIMEOUT)
        .build()?;
    let started_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    check_health(&client, base).await?;

    let multi = MultiProgress::new();
    let width = Scenario::ALL
        .iter()
        .map(|s| s.name().len())
        .max()
        .unwrap_or(8);
    let users = if options.scenarios.iter().any(|s| s.needs_users()) {
        let bar = progress::line(&multi, "set-up", width);
        match set_up(&client, base, options.users.max(1), &bar).await {
            Ok(users) => {
                progress::finish(
                    &bar,
                    true,
                    format!("{} users signed up and registered", users.len()),
                );
                users
            }
            Err(e) => {
                progress::finish(&bar, false, "failed".into());
                return Err(e);
            }
        }
    } else {
        Vec::new()
    };
    let users: Arc<[User]> = users.into();

    let mut results = Vec::new();
    for &scenario in &options.scenarios {
        let bar = progress::line(&multi, scenario.name(), width);
        let result = measure(
            &client,
            base,
            scenario,
            users.clone(),
            scenario.workers(workers),
            options,
            &bar,
        )
        .await;
        progress::finish(
            &bar,
            result.errors == 0,
            format!(
                "{} requests, {} errors, {:.0} req/s, p50 {:.2} ms, p99 {:.2} ms",
                result.requests,
                result.errors,
                result.requests_per_second,
                result.latency_ms.p50,
                result.latency_ms.p99
            ),
        );
        results.push(result);
    }
    Ok(Report {
        target: base.to_string(),
        started_at,
        duration_secs: options.duration.as_secs_f64(),
        users: users.len(),
        scenarios: results,
    })
}

async fn check_health(client: &reqwest::Client, base: &str) -> Result<()> {
    let response = client.get(format!("{base}/health")).send().await.map_err(|e| {
        anyhow!(
            "nothing answers at {base} ({}): start the cluster (`cargo xtask run`, or `cargo xtask run --native`) or fix --url",
            chain(&e)
        )
    })?;
    if response.status() != 200 {
        bail!(
            "{base}/health answered {}: the gateway is not healthy; see `cargo xtask status` and `cargo xtask logs gateway`",
            response.status()
        );
    }
    Ok(())
}

/// Signs up and registers `count` users with unique e-mails, a few at a time (argon2id).
async fn set_up(
    client: &reqwest::Client,
    base: &str,
    count: usize,
    bar: &indicatif::ProgressBar,
) -> Result<Vec<User>> {
    let run_id = format!(
        "{}-{}",
        std::process::id(),
        chrono::Utc::now().timestamp_millis()
    );
    let done = AtomicU64::new(0);
    futures_util::stream::iter(0..count)
        .map(|i| {
            let email = format!("bench-{run_id}-{i}@example.com");
            let done = &done;
            async move {
                let user = sign_up(client, base, email).await?;
                let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                bar.set_message(format!("{n}/{count} users signed up and registered"));
                Ok::<_, anyhow::Error>(user)
            }
        })
        .buffer_unordered(SIGNIN_CONCURRENCY)
        .try_collect()
        .await
}

async fn sign_up(client: &reqwest::Client, base: &str, email: String) -> Result<User> {
    let session = post_json(
        client,
        &format!("{base}/auth/signup"),
        None,
        &json!({"email": email, "password": PASSWORD}),
    )
    .await
    .with_context(|| format!("signing up {email}"))?;
    let token = session["idToken"]
        .as_str()
        .ok_or_else(|| anyhow!("the sign-up of {email} returned no idToken: {session}"))?
        .to_string();
    post_json(
        client,
        &format!("{base}/users"),
        Some(&token),
        &json!({"user_type": "client", "name": "Bench", "number": ""}),
    )
    .await
    .with_context(|| format!("registering {email} (POST /users)"))?;
    Ok(User { email, token })
}

/// A POST that must answer 200 with JSON.
async fn post_json(
    client: &reqwest::Client,
    url: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<Value> {
    let mut request = client.post(url).json(body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.map_err(|e| anyhow!("{}", chain(&e)))?;
    let status = response.status();
    let text = response.text().await.unwrap_or_default();
    if status != 200 {
        bail!("answered {status}: {}", snippet(&text));
    }
    serde_json::from_str(&text).with_context(|| format!("not JSON: {}", snippet(&text)))
}

/// Runs one scenario with `workers` tasks until the deadline or the request budget.
async fn measure(
    client: &reqwest::Client,
    base: &str,
    scenario: Scenario,
    users: Arc<[User]>,
    workers: usize,
    options: &Options,
    bar: &indicatif::ProgressBar,
) -> ScenarioResult {
    let shared = Arc::new(Shared::default());
    let started = Instant::now();
    let deadline = started + options.duration;
    let tasks: Vec<_> = (0..workers)
        .map(|w| {
            let job = Worker {
                client: client.clone(),
                base: base.to_string(),
                scenario,
                users: users.clone(),
                shared: shared.clone(),
                deadline,
                max_requests: options.max_requests,
                // Workers start on different users so that they do not move in step.
                next_user: w,
            };
            tokio::spawn(job.run())
        })
        .collect();
    let ticker = {
        let shared = shared.clone();
        let bar = bar.clone();
        let total = options.duration.as_secs_f64();
        tokio::spawn(async move {
            loop {
                bar.set_message(format!(
                    "{} requests, {} errors, {:.1}/{total} s",
                    shared.done.load(Ordering::Relaxed),
                    shared.errors.load(Ordering::Relaxed),
                    started.elapsed().as_secs_f64().min(total),
                ));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        })
    };
    let mut latencies = Vec::new();
    for task in tasks {
        match task.await {
            Ok(mut l) => latencies.append(&mut l),
            Err(e) => shared.error(format!("worker failed: {e}")),
        }
    }
    ticker.abort();
    let seconds = started.elapsed().as_secs_f64();
    let requests = latencies.len() as u64;
    let distinct_errors = shared
        .distinct
        .lock()
        .map(|d| d.clone())
        .unwrap_or_default();
    ScenarioResult {
        scenario,
        concurrency: workers,
        requests,
        errors: shared.errors.load(Ordering::Relaxed),
        distinct_errors,
        seconds,
        requests_per_second: if seconds > 0.0 {
            requests as f64 / seconds
        } else {
            0.0
        },
        latency_ms: Latency::from_micros(latencies),
    }
}

/// Counters the workers share.
#[derive(Debug, Default)]
struct Shared {
    /// Requests started (the budget of --max-requests).
    issued: AtomicU64,
    done: AtomicU64,
    errors: AtomicU64,
    distinct: Mutex<Vec<String>>,
}

impl Shared {
    fn error(&self, message: String) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        if let Ok(mut d) = self.distinct.lock()
            && d.len() < DISTINCT_ERRORS
            && !d.contains(&message)
        {
            d.push(message);
        }
    }
}

struct Worker {
    client: reqwest::Client,
    base: String,
    scenario: Scenario,
    users: Arc<[User]>,
    shared: Arc<Shared>,
    deadline: Instant,
    max_requests: u64,
    next_user: usize,
}

impl Worker {
    /// Sends requests one after the other; returns each one's latency in microseconds.
    async fn run(mut self) -> Vec<u64> {
        let mut latencies = Vec::new();
        while Instant::now() < self.deadline
            && self.shared.issued.fetch_add(1, Ordering::Relaxed) < self.max_requests
        {
            let sent = Instant::now();
            let outcome = self.once().await;
            latencies.push(sent.elapsed().as_micros() as u64);
            self.shared.done.fetch_add(1, Ordering::Relaxed);
            if let Err(message) = outcome {
                self.shared.error(message);
            }
        }
        latencies
    }

    /// One request, its whole body read (so the connection is reused).
    async fn once(&mut self) -> Result<(), String> {
        let user = if self.users.is_empty() {
            None
        } else {
            self.next_user = (self.next_user + 1) % self.users.len();
            Some(&self.users[self.next_user])
        };
        let base = &self.base;
        let (what, request) = match (self.scenario, user) {
            (Scenario::Health, _) => ("GET /health", self.client.get(format!("{base}/health"))),
            (Scenario::Profile, Some(u)) => (
                "GET /users",
                self.client
                    .get(format!("{base}/users"))
                    .bearer_auth(&u.token),
            ),
            (Scenario::AnonymousRefused, _) => {
                ("GET /users", self.client.get(format!("{base}/users")))
            }
            (Scenario::Signin, Some(u)) => (
                "POST /auth/signin",
                self.client
                    .post(format!("{base}/auth/signin"))
                    .json(&json!({"email": u.email, "password": PASSWORD})),
            ),
            (_, None) => return Err("no users were set up".into()),
        };
        let response = request
            .send()
            .await
            .map_err(|e| format!("{what}: {}", chain(&e)))?;
        let status = response.status();
        let body = response
            .bytes()
            .await
            .map_err(|e| format!("{what}: reading the body: {}", chain(&e)))?;
        if status.as_u16() != self.scenario.expected() {
            return Err(format!(
                "{what}: {status} (expected {}): {}",
                self.scenario.expected(),
                snippet(&String::from_utf8_lossy(&body))
            ));
        }
        Ok(())
    }
}

/// An error and its causes on one line (reqwest's own message hides the cause).
fn chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

fn snippet(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(200) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn nearest_rank_percentiles() {
        let data: Vec<u64> = (1..=100).collect();
        assert_eq!(percentile(&data, 50.0), 50);
        assert_eq!(percentile(&data, 90.0), 90);
        assert_eq!(percentile(&data, 99.0), 99);
        assert_eq!(percentile(&data, 100.0), 100);
        assert_eq!(percentile(&data, 0.0), 1);
        assert_eq!(percentile(&[7], 99.0), 7);
        assert_eq!(percentile(&[], 50.0), 0);
        // Ten values: p99 is the largest, p50 the fifth.
        let ten = [1, 2, 3, 4, 5, 6, 7, 8, 9, 1000];
        assert_eq!(percentile(&ten, 50.0), 5);
        assert_eq!(percentile(&ten, 90.0), 9);
        assert_eq!(percentile(&ten, 99.0), 1000);
    }

    #[test]
    fn latency_sorts_and_converts_to_milliseconds() {
        let micros = vec![3000, 1000, 2000, 250_000, 4000];
        let l = Latency::from_micros(micros);
        assert_eq!(l.p50, 3.0);
        assert_eq!(l.p90, 250.0);
        assert_eq!(l.max, 250.0);
        assert_eq!(Latency::from_micros(Vec::new()), Latency::default());
    }

    #[test]
    fn only_this_machine_is_a_target() {
        assert_eq!(
            check_url("http://127.0.0.1:8000").unwrap(),
            "http://127.0.0.1:8000"
        );
        assert_eq!(
            check_url("http://localhost:9000/").unwrap(),
            "http://localhost:9000"
        );
        assert_eq!(
            check_url("http://LOCALHOST:1").unwrap(),
            "http://localhost:1"
        );
        assert_eq!(check_url("http://[::1]:8000").unwrap(), "http://[::1]:8000");
        for refused in [
            "http://10.0.0.5:8000",
            "http://example.com",
            "http://127.0.0.2:8000",
            "http://localhost.example.com:8000",
            "http://0.0.0.0:8000",
        ] {
            let e = check_url(refused).unwrap_err().to_string();
            assert!(e.contains("only target this machine"), "{refused}: {e}");
        }
        assert!(check_url("ftp://127.0.0.1/").is_err());
        assert!(check_url("127.0.0.1:8000").is_err());
        assert!(check_url("http://127.0.0.1:8000/users").is_err());
    }

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: Args,
    }

    fn parse(line: &str) -> Result<Args, clap::Error> {
        Cli::try_parse_from(line.split_whitespace()).map(|c| c.args)
    }

    #[test]
    fn arguments() {
        let a = parse("x").unwrap();
        assert_eq!((a.duration, a.concurrency, a.users), (10, 32, 16));
        assert!(a.url.is_none() && a.json.is_none());
        let o = a.options();
        assert_eq!(o.scenarios, Scenario::ALL);
        assert_eq!(o.duration, Duration::from_secs(10));

        let a = parse(
            "x --scenario signin --scenario health --scenario signin --duration 1 --concurrency 2 --url http://127.0.0.1:9 --json out.json",
        )
        .unwrap();
        assert_eq!(a.url.as_deref(), Some("http://127.0.0.1:9"));
        assert_eq!(a.json, Some(PathBuf::from("out.json")));
        let o = a.options();
        assert_eq!(o.scenarios, [Scenario::Health, Scenario::Signin]);
        assert_eq!(o.concurrency, 2);
        assert_eq!(Scenario::Signin.workers(32), 4);
        assert_eq!(Scenario::Signin.workers(2), 2);
        assert_eq!(Scenario::Profile.workers(32), 32);

        assert_eq!(
            parse("x --scenario anonymous-refused").unwrap().scenarios,
            [Scenario::AnonymousRefused]
        );
        for wrong in [
            "x --scenario nope",
            "x --duration 0",
            "x --concurrency 0",
            "x --users 0",
            "x --duration ten",
        ] {
            assert!(parse(wrong).is_err(), "{wrong}");
        }
    }

    #[test]
    fn errors_are_counted_and_kept_once() {
        let s = Shared::default();
        s.error("a".into());
        s.error("b".into());
        s.error("a".into());
        assert_eq!(s.errors.load(Ordering::Relaxed), 3);
        assert_eq!(*s.distinct.lock().unwrap(), ["a", "b"]);
    }
}
