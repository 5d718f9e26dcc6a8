//! Running cargo from xtask.
//!
//! `cargo xtask` is `cargo run`, which gives xtask the variables it sets for the crate it runs
//! (`CARGO_MANIFEST_DIR=/…/xtask`, `CARGO_PKG_NAME=xtask`, …). Passed on to a child cargo they
//! look like a changed environment to build scripts that track them (ring's does), and every
//! release build would start over. Shells made here drop them.

use anyhow::Result;
use xshell::{Cmd, Shell};

/// Variables `cargo run` sets for the crate it runs.
fn leaked(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || name.starts_with("CARGO_BIN_")
        || matches!(name, "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE")
}

/// A shell in the workspace root.
pub fn shell() -> Result<Shell> {
    let sh = Shell::new()?;
    sh.change_dir(crate::paths::root());
    Ok(sh)
}

/// `cargo <args>` without the variables of `cargo run`.
pub fn cmd<'a>(sh: &'a Shell, args: &[&str]) -> Cmd<'a> {
    let mut cmd = sh.cmd(program()).args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(leaked) {
            cmd = cmd.env_remove(name);
        }
    }
    cmd
}

/// `cargo <args>` as a plain process (for async callers, which turn it into tokio's),
/// without the variables of `cargo run`, in the current directory.
pub fn command(args: &[&str]) -> std::process::Command {
    let mut cmd = std::process::Command::new(program());
    cmd.args(args);
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(leaked) {
            cmd.env_remove(name);
        }
    }
    cmd
}

/// The cargo that runs xtask (so that a rustup toolchain override applies to it too).
pub fn program() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_run_crate_variables_are_dropped() {
        assert!(
            leaked("CARGO_MANIFEST_DIR") && leaked("CARGO_PKG_NAME") && leaked("CARGO_CRATE_NAME")
        );
        assert!(
            !leaked("CARGO_TARGET_DIR") && !leaked("CARGO_HOME") && !leaked("CARGO_BUILD_JOBS")
        );
        assert!(!leaked("CARGO"));
    }
}
