//! Python tools from PyPI (schemathesis, actionlint with shellcheck), each in its own virtual
//! environment under `target/tools/<name>` with pinned versions, so that nothing touches the
//! system's Python. `cargo xtask install` installs them; the tests find them here.

use std::path::PathBuf;

use anyhow::{Context, Result};
use xshell::{Shell, cmd};

/// One tool: its environment's name, the packages put in it, and the program that is the tool.
#[derive(Debug, Clone, Copy)]
pub struct PyTool {
    pub name: &'static str,
    pub packages: &'static [&'static str],
    pub program: &'static str,
}

impl PyTool {
    fn venv(&self) -> PathBuf {
        crate::paths::target_dir().join("tools").join(self.name)
    }

    /// A program of the environment (installed or not).
    pub fn bin(&self, program: &str) -> PathBuf {
        self.venv().join("bin").join(program)
    }

    /// The tool's executable, when installed.
    pub fn program(&self) -> Option<PathBuf> {
        let p = self.bin(self.program);
        p.exists().then_some(p)
    }

    /// The first line of `<program> --version`, when installed.
    pub fn version(&self, sh: &Shell) -> Option<String> {
        let p = self.program()?;
        let out = cmd!(sh, "{p} --version")
            .quiet()
            .ignore_stderr()
            .read()
            .ok()?;
        out.lines().next().map(String::from)
    }

    /// Creates the virtual environment and installs the packages into it.
    pub fn install(&self, sh: &Shell) -> Result<()> {
        let dir = self.venv();
        cmd!(sh, "python3 -m venv {dir}")
            .run()
            .context("creating a Python virtual environment (is python3 with venv installed? `apt-get install -y python3-venv`)")?;
        let pip = dir.join("bin/pip");
        let packages = self.packages;
        cmd!(
            sh,
            "{pip} install --quiet --disable-pip-version-check {packages...}"
        )
        .run()
        .with_context(|| format!("installing {} from PyPI", packages.join(" ")))?;
        Ok(())
    }
}
