//! A scratch copy of the workspace for exercising `watch` without touching the real one
//! (people edit it while the tests and the benchmark run), and a probe route to edit in it.
//! The copy is of the last commit: `watch` is under test, not the work in progress.
//!
//! The copy lives at a fixed place (`target/chefcito-watch/<name>/`) and shares the real
//! target directory: the registry crates are compiled once for both, and a later run only
//! recompiles what changed since (files are rewritten only when their content differs, so
//! their modification times, and cargo's fingerprints, survive). Its own crates are compiled
//! apart from the real ones (another path is another package to cargo); their binaries are
//! copied to the same `target/<triple>/release/<svc>`, as any build's are.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crate::engine::{self, Engine};
use crate::services;

/// Where the copy called `name` lives.
pub fn dir(name: &str) -> PathBuf {
    crate::paths::target_dir().join("chefcito-watch").join(name)
}

/// Makes `to` a copy of the committed tree of the repository at `repo` (`git archive HEAD`):
/// not the work tree, whose half-finished edits (anyone's) must not break a test of `watch`.
/// Returns how many files were written.
pub fn sync(repo: &Path, to: &Path) -> Result<usize> {
    let archive = std::process::Command::new("git")
        .args(["archive", "--format=tar", "HEAD"])
        .current_dir(repo)
        .output()
        .context("running git archive")?;
    if !archive.status.success() {
        bail!(
            "git archive HEAD failed in {}: {}",
            repo.display(),
            String::from_utf8_lossy(&archive.stderr).trim()
        );
    }
    let mut written = 0;
    let mut tar = tar::Archive::new(archive.stdout.as_slice());
    for entry in tar.entries().context("reading git archive's output")? {
        let mut entry = entry?;
        if entry.header().entry_type() != tar::EntryType::Regular {
            continue;
        }
        let rel = entry.path()?.into_owned();
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut bytes)?;
        let target = to.join(&rel);
        if std::fs::read(&target).is_ok_and(|old| old == bytes) {
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        std::fs::write(&target, &bytes).with_context(|| format!("writing {}", target.display()))?;
        written += 1;
    }
    Ok(written)
}

/// The file edited by the probe: the venues service's routes.
pub const PROBE_FILE: &str = "services/venues/src/http.rs";

/// The path of the probe route.
pub const PROBE_PATH: &str = "/watch-probe";

/// `original` (the routes file) with a route at [`PROBE_PATH`] answering the Rust
/// expression `answer` (`"\"one\""`; anything else that does not compile is a broken edit).
pub fn with_probe(original: &str, answer: &str) -> Result<String> {
    const ANCHOR: &str = "Router::new()";
    if !original.contains(ANCHOR) {
        bail!(
            "{PROBE_FILE} has no `{ANCHOR}` to add the probe route to: update xtask/src/watch/scratch.rs"
        );
    }
    Ok(original.replacen(
        ANCHOR,
        &format!("{ANCHOR}.route(\"{PROBE_PATH}\", get(|| async {{ {answer} }}))"),
        1,
    ))
}

/// The base URL of a service on its project network (the host routes to its bridge
/// networks).
pub async fn service_url(engine: &Engine, project: &str, service: &str) -> Result<String> {
    let container = engine::container_name(project, service);
    let c = engine
        .docker
        .inspect_container(
            &container,
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .with_context(|| format!("inspecting {container}"))?;
    let ip = c
        .network_settings
        .and_then(|n| n.networks)
        .and_then(|n| n.get(&engine::network_name(project)).cloned())
        .and_then(|e| e.ip_address)
        .filter(|ip| !ip.is_empty())
        .with_context(|| format!("{container} has no address on its network"))?;
    Ok(format!("http://{ip}:{}", services::get(service)?.port))
}

/// `GET <venues>/watch-probe` with the internal token: its status and body.
pub async fn probe(url: &str, token: &str) -> Result<(u16, String)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let answer = client
        .get(format!("{url}{PROBE_PATH}"))
        .header(chefcito::INTERNAL_TOKEN_HEADER, token)
        .send()
        .await?;
    let status = answer.status().as_u16();
    Ok((status, answer.text().await.unwrap_or_default()))
}

/// Removes the images `<prefix>-<svc>:*` a scratch cluster was built with.
pub async fn remove_images(engine: &Engine, prefix: &str) {
    let images = engine
        .docker
        .list_images(None::<bollard::query_parameters::ListImagesOptions>)
        .await
        .unwrap_or_default();
    for tag in images.into_iter().flat_map(|i| i.repo_tags) {
        if tag.starts_with(&format!("{prefix}-")) {
            let options = bollard::query_parameters::RemoveImageOptions {
                force: true,
                ..Default::default()
            };
            let _ = engine.docker.remove_image(&tag, Some(options), None).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_probe_goes_into_the_router() {
        let routes = "pub fn routes() -> Router<State> {\n    Router::new()\n        .route(\"/venues\", get(list))\n}\n";
        let edited = with_probe(routes, "\"one\"").unwrap();
        assert!(
            edited.contains("Router::new().route(\"/watch-probe\", get(|| async { \"one\" }))\n        .route(\"/venues\""),
            "{edited}"
        );
        assert!(with_probe("fn x() {}", "1").is_err());
        // The real file still has its anchor.
        let real = std::fs::read_to_string(crate::paths::root().join(PROBE_FILE)).unwrap();
        with_probe(&real, "\"one\"").unwrap();
    }

    #[test]
    fn sync_copies_the_committed_tree_and_keeps_identical_files() {
        let to = tempfile::tempdir().unwrap();
        let written = sync(&crate::paths::root(), to.path()).unwrap();
        assert!(written > 20, "{written}");
        assert!(to.path().join("Cargo.lock").is_file());
        assert!(
            to.path()
                .join("containerfiles/venues/CONTAINERFILE")
                .is_file()
        );
        assert!(!to.path().join("target").exists());
        // A file that did not change is not written again (its mtime is cargo's fingerprint).
        let file = to.path().join("containerfiles/venues/CONTAINERFILE");
        let before = std::fs::metadata(&file).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        sync(&crate::paths::root(), to.path()).unwrap();
        assert_eq!(
            std::fs::metadata(&file).unwrap().modified().unwrap(),
            before
        );
    }
}
