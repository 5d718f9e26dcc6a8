//! Schemathesis against the gateway's OpenAPI document: every documented operation is called
//! with generated requests (valid and invalid), and each answer is checked against the
//! document (`--checks all`: no 5xx, documented statuses, schemas, content types, …). The
//! document is a contract: a failure means the server does something the document does not
//! say.
//!
//! Schemathesis is a Python tool: `cargo xtask install` puts it in its own virtual environment
//! under `target/tools/schemathesis` (PyPI package, pinned), so nothing touches the system's
//! Python.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The version `install` puts in place and the end-to-end stage runs.
pub const SCHEMATHESIS: &str = "schemathesis==4.32.5";

fn venv() -> PathBuf {
    crate::paths::target_dir().join("tools/schemathesis")
}

/// The `st` executable, when installed.
pub fn st() -> Option<PathBuf> {
    let st = venv().join("bin/st");
    st.exists().then_some(st)
}

/// `st --version`, when installed.
pub fn version(sh: &Shell) -> Option<String> {
    let st = st()?;
    cmd!(sh, "{st} --version")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()
}

/// Creates the virtual environment and installs schemathesis into it.
pub fn install(sh: &Shell) -> Result<()> {
    let dir = venv();
    cmd!(sh, "python3 -m venv {dir}")
        .run()
        .context("creating a Python virtual environment (is python3 with venv installed? `apt-get install -y python3-venv`)")?;
    let pip = dir.join("bin/pip");
    cmd!(
        sh,
        "{pip} install --quiet --disable-pip-version-check {SCHEMATHESIS}"
    )
    .run()
    .context("installing schemathesis from PyPI")?;
    Ok(())
}

/// Runs schemathesis against the gateway at `url`, as the user holding `token`.
pub fn run(sh: &Shell, url: &str, token: &str, report: &std::path::Path) -> Result<()> {
    let Some(st) = st() else {
        bail!("schemathesis is not installed: run `cargo xtask install`");
    };
    let schema = format!("{url}/openapi.json");
    let auth = format!("Authorization: Bearer {token}");
    let junit = report.display().to_string();
    cmd!(
        sh,
        "{st} run {schema} --checks all --header {auth} --max-examples 25 --seed 20261129 --request-timeout 10 --report junit --report-junit-path {junit}"
    )
    .env("SCHEMATHESIS_TELEMETRY", "false")
    .run()
    .context("schemathesis found requests whose answers break the OpenAPI document (above)")?;
    Ok(())
}
