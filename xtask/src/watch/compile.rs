//! The cargo build of a watch cycle, as a child process that a newer save can cancel.
//!
//! cargo runs in a process group of its own: cancelling (dropping the future) kills the whole
//! group, rustc included, so that no stale compiler keeps writing into `target/` while the
//! next build starts. Its diagnostics are read as JSON (`--message-format
//! json-diagnostic-short`): on failure only the errors are printed, one line each, once.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde::Deserialize;
use tokio::io::{AsyncBufReadExt, BufReader};

use crate::paths;

/// Which binaries to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavour {
    /// Static release binaries for the images (`target/<triple>/release/<svc>`), compiled
    /// incrementally: see [`crate::watch`]'s decisions.
    Image,
    /// Debug binaries for native mode (`target/debug/<svc>`).
    Native,
}

/// One build.
#[derive(Debug, Clone)]
pub struct Job {
    /// The workspace to build.
    pub root: PathBuf,
    /// Its target directory.
    pub target_dir: PathBuf,
    pub flavour: Flavour,
    pub services: BTreeSet<&'static str>,
}

impl Job {
    /// Where the binary of `service` ends up.
    pub fn binary(&self, service: &str) -> PathBuf {
        match self.flavour {
            Flavour::Image => self
                .target_dir
                .join(paths::IMAGE_TARGET)
                .join("release")
                .join(service),
            Flavour::Native => self.target_dir.join("debug").join(service),
        }
    }

    /// The command line after `cargo`.
    pub fn args(&self) -> Vec<String> {
        let mut args: Vec<String> = ["build", "--locked", "--message-format"]
            .map(String::from)
            .to_vec();
        args.push("json-diagnostic-short".into());
        if self.flavour == Flavour::Image {
            args.extend(["--release", "--target", paths::IMAGE_TARGET].map(String::from));
        }
        for s in &self.services {
            args.extend(["-p".to_string(), s.to_string()]);
        }
        args
    }

    fn command(&self) -> tokio::process::Command {
        let mut cmd = crate::cargo::command(&[]);
        cmd.args(self.args())
            .current_dir(&self.root)
            .env("CARGO_TARGET_DIR", &self.target_dir)
            // Only the workspace's own crates are compiled incrementally (cargo never does it
            // for registry crates), so the dependencies stay those of `cargo xtask build`.
            // Set explicitly: CI exports CARGO_INCREMENTAL=0.
            .env("CARGO_INCREMENTAL", "1")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        if self.flavour == Flavour::Image {
            // As `cargo xtask build`: for the image target only, so build scripts and
            // proc-macros stay dynamic.
            cmd.env(
                crate::commands::build::STATIC_FLAGS.0,
                crate::commands::build::STATIC_FLAGS.1,
            );
        }
        let mut cmd = tokio::process::Command::from(cmd);
        cmd.process_group(0).kill_on_drop(true);
        cmd
    }
}

/// How a build ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Built {
    Ok {
        elapsed: Duration,
    },
    /// The compiler's errors, one short line each (or cargo's own last lines when it failed
    /// before compiling anything).
    Failed {
        errors: Vec<String>,
    },
}

/// Kills a process group when dropped, unless disarmed.
struct Group(Option<u32>);

impl Drop for Group {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // `kill` the program: this crate forbids `unsafe`, so no libc::kill.
            let _ = std::process::Command::new("kill")
                .args(["-KILL", "--", &format!("-{pgid}")])
                .stderr(Stdio::null())
                .status();
        }
    }
}

/// One line of cargo's JSON output (only what is read).
#[derive(Deserialize)]
struct Line {
    reason: String,
    message: Option<Diagnostic>,
}

#[derive(Deserialize)]
struct Diagnostic {
    level: String,
    message: String,
    rendered: Option<String>,
}

/// The error line of a JSON message, if it is a compiler error worth showing.
pub fn error_of(json: &str) -> Option<String> {
    let line: Line = serde_json::from_str(json).ok()?;
    let d = line.message.filter(|_| line.reason == "compiler-message")?;
    if !d.level.starts_with("error") || d.message.starts_with("aborting due to") {
        return None;
    }
    let text = d.rendered.unwrap_or(d.message);
    let text = text.trim_end();
    (!text.is_empty()).then(|| text.to_string())
}

/// Runs `job`; `progress` gets cargo's status lines (`Compiling venues …`). Dropping the
/// future stops the build.
pub async fn run(job: &Job, progress: impl Fn(&str)) -> Result<Built> {
    let started = Instant::now();
    let mut child = job.command().spawn().context("starting cargo build")?;
    let mut group = Group(child.id());
    let stdout = child.stdout.take().context("cargo's stdout")?;
    let stderr = child.stderr.take().context("cargo's stderr")?;
    let errors = async {
        let mut errors: Vec<String> = Vec::new();
        let mut lines = BufReader::new(stdout).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if let Some(e) = error_of(&line)
                && !errors.contains(&e)
            {
                errors.push(e);
            }
        }
        errors
    };
    let tail = async {
        let mut tail: Vec<String> = Vec::new();
        let mut lines = BufReader::new(stderr).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            let line = line.trim().to_string();
            if line.is_empty() {
                continue;
            }
            progress(&line);
            tail.push(line);
            if tail.len() > 20 {
                tail.remove(0);
            }
        }
        tail
    };
    let (errors, tail, status) = tokio::join!(errors, tail, child.wait());
    let status = status.context("waiting for cargo build")?;
    // cargo is gone and took its rustc children with it: nothing left to kill.
    group.0 = None;
    if status.success() {
        return Ok(Built::Ok {
            elapsed: started.elapsed(),
        });
    }
    let errors = if errors.is_empty() {
        tail.into_iter()
            .filter(|l| !l.starts_with("Compiling") && !l.starts_with("Blocking"))
            .collect()
    } else {
        errors
    };
    Ok(Built::Failed { errors })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_lines() {
        let job = Job {
            root: "/ws".into(),
            target_dir: "/ws/target".into(),
            flavour: Flavour::Image,
            services: ["venues", "points"].into(),
        };
        assert_eq!(
            job.args().join(" "),
            "build --locked --message-format json-diagnostic-short --release --target \
             x86_64-unknown-linux-gnu -p points -p venues"
        );
        assert_eq!(
            job.binary("venues"),
            PathBuf::from("/ws/target/x86_64-unknown-linux-gnu/release/venues")
        );
        let native = Job {
            flavour: Flavour::Native,
            ..job
        };
        assert!(!native.args().contains(&"--release".to_string()));
        assert_eq!(
            native.binary("venues"),
            PathBuf::from("/ws/target/debug/venues")
        );
    }

    #[test]
    fn only_errors_are_kept() {
        let message = |level: &str, message: &str, rendered: &str| {
            serde_json::json!({
                "reason": "compiler-message", "package_id": "x",
                "message": {"level": level, "message": message, "rendered": rendered, "spans": []}
            })
            .to_string()
        };
        assert_eq!(
            error_of(&message(
                "error",
                "mismatched types",
                "services/venues/src/http.rs:36:9: error[E0308]: mismatched types\n"
            ))
            .as_deref(),
            Some("services/venues/src/http.rs:36:9: error[E0308]: mismatched types")
        );
        assert_eq!(error_of(&message("warning", "unused", "w: unused\n")), None);
        assert_eq!(
            error_of(&message(
                "error",
                "aborting due to 1 previous error",
                "error: aborting due to 1 previous error\n"
            )),
            None
        );
        assert_eq!(error_of(r#"{"reason":"compiler-artifact"}"#), None);
        assert_eq!(error_of("not json"), None);
    }
}
