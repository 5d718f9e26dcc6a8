//! Debian packages the tools need (`wrk`, `docker-registry`, `kubernetes-client`), installed
//! with apt by `cargo xtask install`. Needs root, as on the CI machine.

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// Whether apt-get is on this machine at all.
pub fn available(sh: &Shell) -> bool {
    cmd!(sh, "apt-get --version")
        .quiet()
        .ignore_stdout()
        .run()
        .is_ok()
}

/// `apt-get update`, needed once before installing on a fresh machine.
pub fn update(sh: &Shell) -> Result<()> {
    cmd!(sh, "apt-get update -qq")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()
        .context("apt-get update (installing packages needs root and apt)")
}

/// Installs `package` non-interactively, after an `apt-get update`.
pub fn install(sh: &Shell, package: &str) -> Result<()> {
    if !available(sh) {
        bail!("no apt-get here: install the `{package}` package by hand");
    }
    update(sh)?;
    install_updated(sh, package)
}

/// Installs `package` when the package lists are already up to date.
pub fn install_updated(sh: &Shell, package: &str) -> Result<()> {
    cmd!(sh, "apt-get install -y -qq {package}")
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run()
        .with_context(|| format!("apt-get install {package}"))
}
