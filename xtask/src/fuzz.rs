//! Schemathesis against the gateway's OpenAPI document: every documented operation is called
//! with generated requests (valid and invalid), and each answer is checked against the
//! document (`--checks all`: no 5xx, documented statuses, schemas, content types, …). The
//! document is a contract: a failure means the server does something the document does not
//! say.
//!
//! Schemathesis is a Python tool: `cargo xtask install` puts it in its own virtual environment
//! ([`crate::pytool`], PyPI package, pinned).

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

use crate::pytool::PyTool;

/// The version `install` puts in place and the end-to-end stage runs.
pub const SCHEMATHESIS: &str = "schemathesis==4.32.5";

/// The tool and its environment.
pub const TOOL: PyTool = PyTool {
    name: "schemathesis",
    packages: &[SCHEMATHESIS],
    program: "st",
};

/// Runs schemathesis against the gateway at `url`, as the user holding `token`.
pub fn run(sh: &Shell, url: &str, token: &str, report: &std::path::Path) -> Result<()> {
    let Some(st) = TOOL.program() else {
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
