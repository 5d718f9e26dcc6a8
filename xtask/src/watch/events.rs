//! File events of the workspace, debounced (notify + notify-debouncer-full), as batches of
//! paths relative to the root.
//!
//! Only what can matter is watched: the root directory itself (not recursively: its
//! `Cargo.toml`, `Cargo.lock`, `db_config.yaml`), every member crate's directory and
//! `containerfiles/`, recursively. `target/` is never watched: it holds tens of thousands of
//! directories, each an inotify watch, and changes on every build.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use notify_debouncer_full::notify::event::{AccessKind, AccessMode, MetadataKind, ModifyKind};
use notify_debouncer_full::notify::{EventKind, RecommendedWatcher, RecursiveMode};
use notify_debouncer_full::{DebounceEventResult, Debouncer, RecommendedCache, new_debouncer};
use tokio::sync::mpsc;

use super::affected::is_relevant;
use super::graph::Graph;

/// Quiet time after the last event before a batch is sent: an editor's save (write a temp
/// file, rename it over, touch metadata) is one batch.
pub const DEBOUNCE: Duration = Duration::from_millis(150);

/// Watching stops when this is dropped.
pub struct Watcher {
    _debouncer: Debouncer<RecommendedWatcher, RecommendedCache>,
}

impl std::fmt::Debug for Watcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Watcher")
    }
}

/// Does this kind of event change a file? Reads (cargo opening sources) and access-time
/// updates do not; writes, creations, removals, renames and `touch` do.
pub fn is_change(kind: &EventKind) -> bool {
    match kind {
        EventKind::Create(_) | EventKind::Remove(_) => true,
        EventKind::Modify(ModifyKind::Metadata(m)) => *m != MetadataKind::AccessTime,
        EventKind::Modify(_) => true,
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        _ => false,
    }
}

/// Starts watching `root`; each batch of relevant changes arrives on the receiver.
pub fn watch(
    root: &Path,
    graph: &Graph,
) -> Result<(Watcher, mpsc::UnboundedReceiver<Vec<PathBuf>>)> {
    let root = root
        .canonicalize()
        .with_context(|| format!("{} does not exist", root.display()))?;
    let (tx, rx) = mpsc::unbounded_channel();
    let base = root.clone();
    let handler = move |result: DebounceEventResult| match result {
        Ok(events) => {
            let mut paths: Vec<PathBuf> = Vec::new();
            for event in events.iter().filter(|e| is_change(&e.kind)) {
                for path in &event.paths {
                    if let Ok(rel) = path.strip_prefix(&base)
                        && is_relevant(rel)
                        && !paths.iter().any(|p| p == rel)
                    {
                        paths.push(rel.to_path_buf());
                    }
                }
            }
            if !paths.is_empty() {
                let _ = tx.send(paths);
            }
        }
        Err(errors) => {
            for e in errors {
                eprintln!("watch: file events: {e}");
            }
        }
    };
    let mut debouncer =
        new_debouncer(DEBOUNCE, None, handler).context("starting the file watcher")?;
    debouncer
        .watch(&root, RecursiveMode::NonRecursive)
        .context("watching the workspace root")?;
    let mut dirs: Vec<PathBuf> = graph.crates.iter().map(|c| root.join(&c.dir)).collect();
    dirs.push(root.join("containerfiles"));
    for dir in dirs.iter().filter(|d| d.is_dir()) {
        debouncer
            .watch(dir, RecursiveMode::Recursive)
            .with_context(|| {
                format!(
                    "watching {}: too many directories for inotify? raise fs.inotify.max_user_watches",
                    dir.display()
                )
            })?;
    }
    Ok((
        Watcher {
            _debouncer: debouncer,
        },
        rx,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify_debouncer_full::notify::event::{CreateKind, DataChange, RemoveKind, RenameMode};

    #[test]
    fn reads_are_not_changes() {
        assert!(!is_change(&EventKind::Access(AccessKind::Open(
            AccessMode::Any
        ))));
        assert!(!is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
        assert!(!is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::AccessTime
        ))));
        assert!(is_change(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Name(
            RenameMode::Both
        ))));
        assert!(is_change(&EventKind::Modify(ModifyKind::Metadata(
            MetadataKind::Any
        ))));
        assert!(is_change(&EventKind::Create(CreateKind::File)));
        assert!(is_change(&EventKind::Remove(RemoveKind::File)));
    }

    /// The real watcher on a scratch workspace: a write in a member arrives, relative; an
    /// editor's swap file and a file under target/ do not.
    #[tokio::test]
    async fn a_saved_file_arrives_as_one_relative_path() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        for d in [
            "services/venues/src",
            "containerfiles/venues",
            "target/release",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("services/venues/src/lib.rs"), "// one\n").unwrap();
        let graph = Graph {
            crates: vec![super::super::graph::Crate {
                name: "venues".into(),
                dir: "services/venues".into(),
                deps: Default::default(),
            }],
        };
        let (_watcher, mut rx) = watch(root, &graph).unwrap();
        std::fs::write(root.join("services/venues/src/.lib.rs.swp"), "x").unwrap();
        std::fs::write(root.join("target/release/venues"), "x").unwrap();
        std::fs::write(root.join("services/venues/src/lib.rs"), "// two\n").unwrap();
        let batch = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an event within 5 s")
            .unwrap();
        assert_eq!(batch, [PathBuf::from("services/venues/src/lib.rs")]);
        std::fs::write(root.join("db_config.yaml"), "x").unwrap();
        let batch = tokio::time::timeout(Duration::from_secs(5), rx.recv())
            .await
            .expect("an event within 5 s")
            .unwrap();
        assert_eq!(batch, [PathBuf::from("db_config.yaml")]);
    }
}
