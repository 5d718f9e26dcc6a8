//! kubectl, for the Kubernetes manifests under `deploy/k8s/`: finding a usable one, installing
//! one, and rendering an overlay (`kubectl kustomize`) for the checks of `xtask/tests/deploy.rs`.
//! No cluster is contacted: rendering is offline.
//!
//! Decisions:
//!
//! * **kustomize v5 or newer** (kubectl 1.27 or newer bundles it). The manifests use `labels:`
//!   with `includeTemplates`, `patches:` and directories in `resources:`, which the kustomize
//!   v2 of old kubectls refuses. Debian 12's `kubernetes-client` is kubectl 1.20 (kustomize
//!   v2): `install` does not put it in place, since it would only fail later.
//! * Like schemathesis, kubectl is optional for `install` (a row in its table, not a failure):
//!   the deploy checks skip without it, except in CI (`CI=true`), where they fail and say to
//!   run `cargo xtask install`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The oldest kustomize that renders the manifests.
pub const MIN_KUSTOMIZE_MAJOR: u32 = 5;

/// The oldest kubectl that bundles it (1.27 bundles kustomize v5.0).
pub const MIN_KUBECTL_MINOR: u32 = 27;

/// The Debian package `install` tries when there is no kubectl at all.
pub const DEBIAN_PACKAGE: &str = "kubernetes-client";

/// What `kubectl version --client` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// `v1.32.4`.
    pub client: String,
    /// `v5.5.0`; `None` when kubectl does not print one (kubectl before 1.24).
    pub kustomize: Option<String>,
}

impl Version {
    /// Parses the output of `kubectl version --client` (the short form of kubectl 1.28+, or
    /// the `version.Info{…GitVersion:"v1.20.2"…}` form of old ones).
    pub fn parse(output: &str) -> Option<Version> {
        let mut client = None;
        let mut kustomize = None;
        for line in output.lines() {
            if let Some(rest) = line.strip_prefix("Client Version:") {
                let rest = rest.trim();
                client = Some(match rest.split("GitVersion:\"").nth(1) {
                    Some(git) => git.split('"').next().unwrap_or_default().to_string(),
                    None => rest.to_string(),
                });
            } else if let Some(rest) = line.strip_prefix("Kustomize Version:") {
                kustomize = Some(rest.trim().to_string());
            }
        }
        Some(Version {
            client: client.filter(|c| !c.is_empty())?,
            kustomize,
        })
    }

    /// `None` when this kubectl renders the manifests, else why not.
    pub fn unusable(&self) -> Option<String> {
        let major = self.kustomize.as_deref().and_then(major_of);
        match major {
            Some(m) if m >= MIN_KUSTOMIZE_MAJOR => None,
            _ => Some(format!(
                "kubectl {} bundles kustomize {}; the manifests need kustomize v{MIN_KUSTOMIZE_MAJOR} (kubectl 1.{MIN_KUBECTL_MINOR} or newer)",
                self.client,
                self.kustomize.as_deref().unwrap_or("v2 or v3")
            )),
        }
    }

    /// One line for `install`'s table.
    pub fn describe(&self) -> String {
        format!(
            "{} (kustomize {})",
            self.client,
            self.kustomize.as_deref().unwrap_or("unknown")
        )
    }
}

/// `5` of `v5.5.0`.
fn major_of(version: &str) -> Option<u32> {
    version
        .trim_start_matches('v')
        .split('.')
        .next()?
        .parse()
        .ok()
}

/// The installed kubectl's version, or `None` when there is no kubectl on the `PATH`.
pub fn version(sh: &Shell) -> Option<Version> {
    let out = cmd!(sh, "kubectl version --client")
        .quiet()
        .ignore_stderr()
        .ignore_status()
        .read()
        .ok()?;
    Version::parse(&out)
}

/// A kubectl that renders the manifests, or what to do to get one.
pub fn usable(sh: &Shell) -> Result<Version> {
    let Some(v) = version(sh) else {
        bail!("kubectl is not installed (it renders deploy/k8s): run `cargo xtask install`");
    };
    if let Some(why) = v.unusable() {
        bail!("{why}: install a newer kubectl, then check with `cargo xtask install --check`");
    }
    Ok(v)
}

/// The directory of an overlay: `deploy/k8s/overlays/<env>`.
pub fn overlay(env: &str) -> PathBuf {
    crate::paths::root().join("deploy/k8s/overlays").join(env)
}

/// `kubectl kustomize <dir>`: the YAML stream that `kubectl apply -k <dir>` would apply.
pub fn render(sh: &Shell, dir: &Path) -> Result<String> {
    cmd!(sh, "kubectl kustomize {dir}")
        .quiet()
        .read()
        .with_context(|| format!("kubectl kustomize {} failed (above)", dir.display()))
}

/// The version apt would install of `package`, after `apt-get update`.
fn apt_candidate(sh: &Shell, package: &str) -> Option<String> {
    let policy = cmd!(sh, "apt-cache policy {package}")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    policy
        .lines()
        .find_map(|l| l.trim().strip_prefix("Candidate:"))
        .map(|c| c.trim().to_string())
        .filter(|c| c != "(none)" && !c.is_empty())
}

/// `(1, 20)` of Debian's `1.20.5+really1.20.2-1.1+deb12u1` (the version after `really` is the
/// one packaged).
fn debian_minor(version: &str) -> Option<(u32, u32)> {
    let real = version.rsplit("really").next()?;
    let mut parts = real.split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

/// Installs kubectl from the distribution's packages when there is none and the packaged one
/// is recent enough; otherwise says what to do instead.
pub fn install(sh: &Shell) -> Result<()> {
    if version(sh).is_some() {
        return Ok(());
    }
    if !crate::apt::available(sh) {
        bail!("no apt-get here: install kubectl 1.{MIN_KUBECTL_MINOR} or newer by hand");
    }
    crate::apt::update(sh)?;
    let Some(candidate) = apt_candidate(sh, DEBIAN_PACKAGE) else {
        bail!(
            "the distribution has no `{DEBIAN_PACKAGE}` package: install kubectl 1.{MIN_KUBECTL_MINOR} or newer from the Kubernetes project's apt repository"
        );
    };
    match debian_minor(&candidate) {
        Some((1, minor)) if minor >= MIN_KUBECTL_MINOR => {}
        _ => bail!(
            "the distribution's `{DEBIAN_PACKAGE}` is {candidate}, too old for the manifests (kustomize v{MIN_KUSTOMIZE_MAJOR} needs kubectl 1.{MIN_KUBECTL_MINOR} or newer): install kubectl from the Kubernetes project's apt repository"
        ),
    }
    crate::apt::install_updated(sh, DEBIAN_PACKAGE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_short_form_is_parsed_and_kustomize_v5_is_enough() {
        let v = Version::parse("Client Version: v1.32.4-dispatcher\nKustomize Version: v5.5.0\n")
            .unwrap();
        assert_eq!(v.client, "v1.32.4-dispatcher");
        assert_eq!(v.kustomize.as_deref(), Some("v5.5.0"));
        assert_eq!(v.unusable(), None);
        assert_eq!(v.describe(), "v1.32.4-dispatcher (kustomize v5.5.0)");
    }

    #[test]
    fn an_old_kubectl_is_refused_with_the_reason() {
        let old = Version::parse(
            r#"Client Version: version.Info{Major:"1", Minor:"20", GitVersion:"v1.20.2", GitCommit:"faecb196815e248d3ecfb03c680a4507229c2a56"}"#,
        )
        .unwrap();
        assert_eq!(old.client, "v1.20.2");
        assert_eq!(old.kustomize, None);
        let why = old.unusable().unwrap();
        assert!(why.contains("kubectl v1.20.2"), "{why}");
        assert!(why.contains("kubectl 1.27 or newer"), "{why}");
        let v4 = Version {
            client: "v1.26.0".into(),
            kustomize: Some("v4.5.7".into()),
        };
        assert!(v4.unusable().is_some());
        assert_eq!(Version::parse("error: unknown flag"), None);
    }

    #[test]
    fn debian_versions_are_read_after_really() {
        assert_eq!(
            debian_minor("1.20.5+really1.20.2-1.1+deb12u1"),
            Some((1, 20))
        );
        assert_eq!(debian_minor("1.32.3+ds-1"), Some((1, 32)));
        assert_eq!(debian_minor("garbage"), None);
    }
}
