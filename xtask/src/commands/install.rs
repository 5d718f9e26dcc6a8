//! `cargo xtask install [--check]`: prepares a fresh machine. Checks the toolchain and its
//! components (cargo, rustfmt, clippy, cargo-nextest), static glibc for the image binaries,
//! schemathesis (the OpenAPI fuzzer of the end-to-end tests, in its own Python virtual
//! environment), kubectl with kustomize v5 (the deploy checks render `deploy/k8s`, see
//! [`crate::kubectl`]), actionlint with shellcheck (the workflow check, in a virtual
//! environment: [`crate::actionlint`]), docker-registry (the push test's local registry, a
//! Debian package: [`crate::local_registry`]), wrk (the load generator of `bench`), the Docker Engine's reachability and API version; then installs what is
//! missing and fetches every crate `--locked`. `--check` only reports (and fails when something required is
//! missing). A missing engine is a warning: `cargo xtask run` falls back to local processes.

use anyhow::{Result, bail};
use xshell::{Shell, cmd};

use crate::engine::Engine;
use crate::util::table;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Only report what is there and what is missing; change nothing.
    #[arg(long)]
    pub check: bool,
}

struct Check {
    name: &'static str,
    found: Option<String>,
    /// The command that fixes it, when `install` can.
    fix: Option<&'static str>,
    required: bool,
}

fn version(sh: &Shell, program: &str, args: &[&str]) -> Option<String> {
    let out = cmd!(sh, "{program} {args...}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    Some(out.lines().next().unwrap_or_default().to_string())
}

fn toolchain(sh: &Shell) -> Vec<Check> {
    let cargo = crate::cargo::program();
    let static_libc = [
        "/usr/lib/x86_64-linux-gnu/libc.a",
        "/usr/lib64/libc.a",
        "/usr/lib/libc.a",
    ]
    .into_iter()
    .find(|p| std::path::Path::new(p).exists())
    .map(String::from);
    vec![
        Check {
            name: "cargo",
            found: version(sh, &cargo, &["--version"]),
            fix: None,
            required: true,
        },
        Check {
            name: "rustfmt",
            found: version(sh, &cargo, &["fmt", "--version"]),
            fix: Some("rustup component add rustfmt"),
            required: true,
        },
        Check {
            name: "clippy",
            found: version(sh, &cargo, &["clippy", "--version"]),
            fix: Some("rustup component add clippy"),
            required: true,
        },
        Check {
            name: "cargo-nextest",
            found: version(sh, &cargo, &["nextest", "--version"]),
            fix: Some("cargo install cargo-nextest --locked"),
            required: true,
        },
        Check {
            name: "static glibc (libc.a)",
            found: static_libc,
            fix: Some("apt-get install -y libc6-dev"),
            required: true,
        },
    ]
}

pub async fn run(args: &Args) -> Result<()> {
    let sh = crate::cargo::shell()?;
    let mut checks = toolchain(&sh);
    if !args.check {
        for c in checks.iter().filter(|c| c.found.is_none()) {
            if let Some(fix) = c.fix {
                println!("installing {}: {fix}", c.name);
                let words: Vec<&str> = fix.split_whitespace().collect();
                let (program, rest) = words.split_first().unwrap_or((&"true", &[]));
                if let Err(e) = cmd!(sh, "{program} {rest...}").run() {
                    println!("  could not: {e}");
                }
            }
        }
        checks = toolchain(&sh);
        if crate::fuzz::TOOL.version(&sh).is_none() {
            println!(
                "installing schemathesis ({}) into target/tools/schemathesis",
                crate::fuzz::SCHEMATHESIS
            );
            if let Err(e) = crate::fuzz::TOOL.install(&sh) {
                println!("  could not: {e:#}");
            }
        }
        if crate::kubectl::version(&sh).is_none() {
            println!(
                "installing kubectl (Debian package {})",
                crate::kubectl::DEBIAN_PACKAGE
            );
            if let Err(e) = crate::kubectl::install(&sh) {
                println!("  could not: {e:#}");
            }
        }
        if crate::actionlint::TOOL.version(&sh).is_none() {
            println!("installing actionlint and shellcheck into target/tools/actionlint");
            if let Err(e) = crate::actionlint::TOOL.install(&sh) {
                println!("  could not: {e:#}");
            }
        }
        if !crate::load::wrk::installed() {
            println!(
                "installing wrk (Debian package wrk, the load generator of `cargo xtask bench`)"
            );
            if let Err(e) = crate::apt::install(&sh, "wrk") {
                println!("  could not: {e:#}");
            }
        }
        if crate::local_registry::version(&sh).is_none() {
            println!(
                "installing docker-registry (Debian package {})",
                crate::local_registry::DEBIAN_PACKAGE
            );
            if let Err(e) = crate::local_registry::install(&sh) {
                println!("  could not: {e:#}");
            }
        }
    }
    let engine = match Engine::connect().await {
        Ok(e) => Ok(format!(
            "{} (API {})",
            crate::engine::address(),
            e.api_version
        )),
        Err(e) => Err(e),
    };
    let mut rows: Vec<Vec<String>> = checks
        .iter()
        .map(|c| match &c.found {
            Some(v) => vec![c.name.to_string(), "ok".into(), v.clone()],
            None => vec![
                c.name.to_string(),
                "MISSING".into(),
                c.fix.map(|f| format!("fix: {f}")).unwrap_or_default(),
            ],
        })
        .collect();
    rows.push(match crate::fuzz::TOOL.version(&sh) {
        Some(v) => vec!["schemathesis".into(), "ok".into(), v],
        None => vec![
            "schemathesis".into(),
            "absent".into(),
            "needed by `cargo xtask test --e2e`; `cargo xtask install` installs it".into(),
        ],
    });
    // Optional like schemathesis: the deploy checks skip without it, but fail in CI.
    rows.push(match crate::kubectl::usable(&sh) {
        Ok(v) => vec!["kubectl".into(), "ok".into(), v.describe()],
        Err(e) => vec![
            "kubectl".into(),
            match crate::kubectl::version(&sh) {
                Some(_) => "too old".into(),
                None => "absent".into(),
            },
            format!("{e:#}; needed by the deploy checks (xtask/tests/deploy.rs), mandatory in CI"),
        ],
    });
    // Optional too: the workflow check and the push test skip without them, but fail in CI.
    rows.push(match crate::actionlint::TOOL.version(&sh) {
        Some(v) => vec!["actionlint".into(), "ok".into(), v],
        None => vec![
            "actionlint".into(),
            "absent".into(),
            "lints .github/workflows (xtask/tests/workflows.rs), mandatory in CI".into(),
        ],
    });
    rows.push(if crate::load::wrk::installed() {
        vec![
            "wrk".into(),
            "ok".into(),
            "the load generator of `cargo xtask bench`".into(),
        ]
    } else {
        vec![
            "wrk".into(),
            "absent".into(),
            "needed by `cargo xtask bench` and its test (mandatory in CI)".into(),
        ]
    });
    rows.push(match crate::local_registry::version(&sh) {
        Some(v) => vec!["docker-registry".into(), "ok".into(), v],
        None => vec![
            "docker-registry".into(),
            "absent".into(),
            "a local registry for the push test of `cargo xtask test --e2e`, mandatory in CI"
                .into(),
        ],
    });
    rows.push(match &engine {
        Ok(v) => vec!["Docker Engine".into(), "ok".into(), v.clone()],
        Err(e) => vec!["Docker Engine".into(), "absent".into(), format!("{e:#}")],
    });
    println!("{}", table(&["CHECK", "STATUS", "DETAIL"], &rows));
    let missing: Vec<&str> = checks
        .iter()
        .filter(|c| c.required && c.found.is_none())
        .map(|c| c.name)
        .collect();
    if !missing.is_empty() {
        bail!(
            "missing: {}: run the fix commands above{}",
            missing.join(", "),
            if args.check {
                ", or `cargo xtask install`"
            } else {
                ""
            }
        );
    }
    if !args.check {
        crate::cargo::cmd(&sh, &["fetch", "--locked"]).run().map_err(|e| {
            anyhow::anyhow!(
                "{e}: check the network access to crates.io, then run `cargo xtask install` again"
            )
        })?;
        println!("ready: `cargo xtask run` starts the cluster, `cargo xtask test` runs the tests");
    }
    Ok(())
}
