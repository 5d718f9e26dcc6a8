//! `cargo xtask test [--e2e]`: the README's test command and what `.ci/run` runs.
//!
//! Always: `cargo fmt --all --check`, `cargo clippy --workspace --all-targets --locked -- -D
//! warnings`, `cargo nextest run --workspace --locked` (unit and system tests; the tests
//! marked `#[ignore]` need Docker and are skipped there).
//!
//! With `--e2e`, or whenever `CI=true` (then it is mandatory): `build` every image, run the
//! Docker tests of xtask (`xtask/tests/docker.rs`, ignored tests), then `watch`'s
//! (`xtask/tests/watch.rs`: a scratch copy of the workspace, edited), bring up an isolated
//! cluster `e2e-<pid>` on ephemeral ports, run the journeys of `services/gateway/tests/e2e.rs`
//! against it (`CHEFCITO_E2E_URL`), run schemathesis against its OpenAPI document with a real
//! token (zero failures required), and remove that cluster with its volumes whatever happened.

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result, bail};
use xshell::Shell;

use crate::commands::build;
use crate::engine::Engine;
use crate::progress::paint;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Also build the images and run the Docker and end-to-end tests (always on with CI=true).
    #[arg(long)]
    pub e2e: bool,
}

fn step(name: &str, f: impl FnOnce() -> Result<()>) -> Result<()> {
    println!("{}", paint(4, &format!("==> {name}")));
    f().with_context(|| format!("`{name}` failed"))
}

fn sh() -> Result<Shell> {
    crate::cargo::shell()
}

/// Tests passed and failed over every nextest run of this command.
static PASSED: AtomicU64 = AtomicU64::new(0);
static FAILED: AtomicU64 = AtomicU64::new(0);

/// `cargo nextest run --locked <args>`, adding its JUnit totals to the tally.
fn nextest(sh: &Shell, args: &[&str]) -> Result<()> {
    let junit = crate::paths::target_dir().join("nextest/default/junit.xml");
    let _ = std::fs::remove_file(&junit);
    let outcome = crate::cargo::cmd(sh, &["nextest", "run", "--locked"])
        .args(args)
        .run();
    if let Some((tests, failed)) = std::fs::read_to_string(&junit)
        .ok()
        .as_deref()
        .and_then(junit_totals)
    {
        PASSED.fetch_add(tests.saturating_sub(failed), Ordering::Relaxed);
        FAILED.fetch_add(failed, Ordering::Relaxed);
    }
    Ok(outcome?)
}

/// `(tests, failures + errors)` from the root element of a JUnit report.
fn junit_totals(xml: &str) -> Option<(u64, u64)> {
    let root = &xml[xml.find("<testsuites")?..];
    let root = &root[..root.find('>')?];
    let attr = |name: &str| -> Option<u64> {
        let start = root.find(&format!(" {name}=\""))? + name.len() + 3;
        root[start..].split('"').next()?.parse().ok()
    };
    Some((
        attr("tests")?,
        attr("failures").unwrap_or(0) + attr("errors").unwrap_or(0),
    ))
}

pub async fn run(args: &Args) -> Result<()> {
    let outcome = checks_and_tests(args).await;
    // The closing line CI reads: every test that ran, whatever stage stopped the run.
    println!(
        "xtask: {} passed, {} failed",
        PASSED.load(Ordering::Relaxed),
        FAILED.load(Ordering::Relaxed)
    );
    outcome
}

async fn checks_and_tests(args: &Args) -> Result<()> {
    let ci = std::env::var("CI").is_ok_and(|v| v == "true");
    let sh = sh()?;
    step("cargo fmt --all --check", || {
        crate::cargo::cmd(&sh, &["fmt", "--all", "--check"])
            .run()
            .context("formatting differs: run `cargo fmt --all`")
    })?;
    step(
        "cargo clippy --workspace --all-targets --locked -- -D warnings",
        || {
            Ok(crate::cargo::cmd(
                &sh,
                &[
                    "clippy",
                    "--workspace",
                    "--all-targets",
                    "--locked",
                    "--",
                    "-D",
                    "warnings",
                ],
            )
            .run()?)
        },
    )?;
    step("cargo nextest run --workspace --locked", || {
        nextest(&sh, &["--workspace"])
    })?;
    if args.e2e || ci {
        e2e(ci).await?;
    } else {
        println!(
            "(the Docker and end-to-end tests did not run: `cargo xtask test --e2e` runs them)"
        );
    }
    println!("{}", paint(2, "all tests passed"));
    Ok(())
}

async fn e2e(ci: bool) -> Result<()> {
    let engine = Engine::connect().await.map_err(|e| {
        if ci {
            e.context("CI=true: the end-to-end tests are mandatory and need the Docker Engine")
        } else {
            e
        }
    })?;
    println!("{}", paint(4, "==> cargo xtask build"));
    build::run(&build::Args::default()).await?;
    let sh = sh()?;
    step(
        "Docker tests (cargo nextest run -p xtask --test docker --run-ignored only)",
        || {
            nextest(
                &sh,
                &["-p", "xtask", "--test", "docker", "--run-ignored", "only"],
            )
        },
    )?;
    // Apart from the Docker tests: it compiles a copy of the workspace's crates in release,
    // which would starve their health gates of CPU.
    step(
        "watch tests (cargo nextest run -p xtask --test watch --run-ignored only)",
        || {
            nextest(
                &sh,
                &["-p", "xtask", "--test", "watch", "--run-ignored", "only"],
            )
        },
    )?;
    let project = format!("e2e-{}", std::process::id());
    println!(
        "{}",
        paint(4, &format!("==> cluster {project} (ephemeral ports)"))
    );
    let outcome = journeys(&engine, &project).await;
    let cleanup = crate::cluster::down(&engine, &project, true).await;
    outcome?;
    cleanup.with_context(|| {
        format!("removing the e2e cluster: `cargo xtask down --volumes --project {project}`")
    })?;
    Ok(())
}

async fn journeys(engine: &Engine, project: &str) -> Result<()> {
    let report = crate::cluster::up(engine, &crate::cluster::UpOptions::ephemeral(project)).await?;
    let url = report.gateway_url.context("the gateway is not published")?;
    println!("gateway: {url}");
    let sh = sh()?;
    let _url = sh.push_env("CHEFCITO_E2E_URL", &url);
    step(
        "journeys (cargo nextest run -p gateway --test e2e --run-ignored only)",
        || {
            nextest(
                &sh,
                &["-p", "gateway", "--test", "e2e", "--run-ignored", "only"],
            )
        },
    )
    .map_err(|e| {
        let hint = format!(
            "the cluster's logs were: `cargo xtask logs --project {project}` (removed now)"
        );
        if std::env::var_os("CHEFCITO_KEEP").is_some() {
            e
        } else {
            e.context(hint)
        }
    })?;
    if report.containers.is_empty() {
        bail!("no containers were started");
    }
    let token = fuzz_account(&url).await?;
    let junit = crate::paths::target_dir().join("schemathesis/junit.xml");
    step(
        "schemathesis (st run <gateway>/openapi.json --checks all)",
        || {
            let outcome = crate::fuzz::run(&sh, &url, &token, &junit);
            if let Some((tests, failed)) = std::fs::read_to_string(&junit)
                .ok()
                .as_deref()
                .and_then(junit_totals)
            {
                PASSED.fetch_add(tests.saturating_sub(failed), Ordering::Relaxed);
                FAILED.fetch_add(failed, Ordering::Relaxed);
            }
            outcome
        },
    )?;
    Ok(())
}

/// Signs up and registers a restaurant through the gateway: the identity schemathesis calls
/// every operation with.
async fn fuzz_account(url: &str) -> Result<String> {
    let http = reqwest::Client::new();
    let email = format!("fuzz-{}@example.com", std::process::id());
    let session: serde_json::Value = http
        .post(format!("{url}/auth/signup"))
        .json(&serde_json::json!({"email": email, "password": "a fuzzing password"}))
        .send()
        .await?
        .error_for_status()
        .context("signing up the schemathesis account")?
        .json()
        .await?;
    let token = session["idToken"]
        .as_str()
        .context("no idToken in the sign-up answer")?
        .to_string();
    http.post(format!("{url}/users"))
        .bearer_auth(&token)
        .json(&serde_json::json!({"user_type": "restaurant", "name": "Fuzz", "number": ""}))
        .send()
        .await?
        .error_for_status()
        .context("registering the schemathesis account")?;
    Ok(token)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_junit_totals() {
        let xml = r#"<?xml version="1.0"?><testsuites name="nextest-run" tests="184" failures="2" errors="1" uuid="x"><testsuite/></testsuites>"#;
        assert_eq!(junit_totals(xml), Some((184, 3)));
        assert_eq!(junit_totals("<nothing/>"), None);
    }
}
