//! The workspace's crate graph, as `watch` needs it: which member a changed file belongs to,
//! and which members are built from it (itself and everything that depends on it, directly
//! or not).
//!
//! Read from `cargo metadata --format-version 1 --no-deps`: the members, their directories,
//! and their path dependencies on one another. Dev-dependencies are left out: they are
//! compiled into tests only, never into a service's binary (the gateway's tests use every
//! service crate, its binary none).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// One workspace member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Crate {
    pub name: String,
    /// Its directory, relative to the workspace root (`services/venues`).
    pub dir: PathBuf,
    /// The members it depends on (normal and build dependencies).
    pub deps: BTreeSet<String>,
}

/// The members and their dependencies on one another.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Graph {
    pub crates: Vec<Crate>,
}

#[derive(Deserialize)]
struct Metadata {
    packages: Vec<Package>,
    workspace_members: Vec<String>,
    workspace_root: PathBuf,
}

#[derive(Deserialize)]
struct Package {
    name: String,
    id: String,
    manifest_path: PathBuf,
    dependencies: Vec<Dependency>,
}

#[derive(Deserialize)]
struct Dependency {
    /// `null` (normal), `"dev"` or `"build"`.
    kind: Option<String>,
    /// Set for path dependencies only.
    path: Option<PathBuf>,
}

impl Graph {
    /// Runs `cargo metadata` in `root`.
    pub fn load(root: &Path) -> Result<Graph> {
        let output = std::process::Command::new(crate::cargo::program())
            .args([
                "metadata",
                "--format-version",
                "1",
                "--no-deps",
                "--offline",
            ])
            .current_dir(root)
            .output()
            .context("running cargo metadata")?;
        if !output.status.success() {
            bail!(
                "cargo metadata failed: {}",
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Graph::from_metadata(&String::from_utf8_lossy(&output.stdout))
    }

    /// Parses the JSON of `cargo metadata --format-version 1 --no-deps`.
    pub fn from_metadata(json: &str) -> Result<Graph> {
        let m: Metadata = serde_json::from_str(json).context("parsing cargo metadata")?;
        let members: BTreeSet<&str> = m.workspace_members.iter().map(String::as_str).collect();
        let packages: Vec<&Package> = m
            .packages
            .iter()
            .filter(|p| members.contains(p.id.as_str()))
            .collect();
        // Members by directory: a path dependency names the directory of another member.
        let dir_of = |p: &Package| -> PathBuf {
            let dir = p.manifest_path.parent().unwrap_or(Path::new(""));
            dir.strip_prefix(&m.workspace_root)
                .unwrap_or(dir)
                .to_path_buf()
        };
        let by_dir: BTreeMap<PathBuf, &str> = packages
            .iter()
            .map(|p| (dir_of(p), p.name.as_str()))
            .collect();
        let crates = packages
            .iter()
            .map(|p| {
                let deps = p
                    .dependencies
                    .iter()
                    .filter(|d| d.kind.as_deref() != Some("dev"))
                    .filter_map(|d| {
                        let path = d.path.as_ref()?;
                        let rel = path.strip_prefix(&m.workspace_root).unwrap_or(path);
                        // By directory, which a rename does not change; a path dependency
                        // outside the workspace is not watched.
                        by_dir.get(rel).map(|n| n.to_string())
                    })
                    .collect();
                Crate {
                    name: p.name.clone(),
                    dir: dir_of(p),
                    deps,
                }
            })
            .collect();
        Ok(Graph { crates })
    }

    /// The member a path (relative to the workspace root) belongs to: the one with the
    /// deepest directory containing it. A member at the root would own every file; the
    /// workspace has none, and the root's own files are handled apart.
    pub fn owner(&self, path: &Path) -> Option<&Crate> {
        self.crates
            .iter()
            .filter(|c| !c.dir.as_os_str().is_empty() && path.starts_with(&c.dir))
            .max_by_key(|c| c.dir.components().count())
    }

    /// `name` and every member that depends on it, directly or through others.
    pub fn dependents(&self, name: &str) -> BTreeSet<String> {
        let mut found = BTreeSet::from([name.to_string()]);
        let mut todo = vec![name.to_string()];
        while let Some(n) = todo.pop() {
            for c in &self.crates {
                if c.deps.contains(&n) && found.insert(c.name.clone()) {
                    todo.push(c.name.clone());
                }
            }
        }
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A made-up workspace: `core` ← `lib` ← `a`; `b` uses `core` through a build
    /// dependency; `c` uses `a` in its tests only; `tool` stands alone.
    fn metadata() -> String {
        let package = |name: &str, deps: &[(&str, Option<&str>)]| {
            let deps: Vec<serde_json::Value> = deps
                .iter()
                .map(|(d, kind)| {
                    serde_json::json!({
                        "name": d, "kind": kind, "rename": null,
                        "path": format!("/ws/crates/{d}"), "req": "*", "source": null
                    })
                })
                .chain(std::iter::once(serde_json::json!({
                    "name": "serde", "kind": null, "rename": null, "req": "1",
                    "source": "registry+https://github.com/rust-lang/crates.io-index"
                })))
                .collect();
            serde_json::json!({
                "name": name, "id": format!("path+file:///ws/crates/{name}#0.1.0"),
                "manifest_path": format!("/ws/crates/{name}/Cargo.toml"),
                "dependencies": deps
            })
        };
        let packages = vec![
            package("core", &[]),
            package("lib", &[("core", None)]),
            package("a", &[("lib", None)]),
            package("b", &[("core", Some("build"))]),
            package("c", &[("a", Some("dev")), ("core", None)]),
            package("tool", &[]),
        ];
        let members: Vec<String> = ["core", "lib", "a", "b", "c", "tool"]
            .iter()
            .map(|n| format!("path+file:///ws/crates/{n}#0.1.0"))
            .collect();
        serde_json::json!({
            "packages": packages, "workspace_members": members,
            "workspace_root": "/ws", "target_directory": "/ws/target", "version": 1
        })
        .to_string()
    }

    fn names(set: BTreeSet<String>) -> Vec<String> {
        set.into_iter().collect()
    }

    #[test]
    fn members_directories_and_dependencies() {
        let g = Graph::from_metadata(&metadata()).unwrap();
        assert_eq!(g.crates.len(), 6);
        let c = g.crates.iter().find(|c| c.name == "c").unwrap();
        assert_eq!(c.dir, Path::new("crates/c"));
        // The dev-dependency on `a` and the registry dependency are left out.
        assert_eq!(names(c.deps.clone()), ["core"]);
        let b = g.crates.iter().find(|c| c.name == "b").unwrap();
        assert_eq!(names(b.deps.clone()), ["core"], "build dependencies count");
    }

    #[test]
    fn dependents_are_the_reverse_closure() {
        let g = Graph::from_metadata(&metadata()).unwrap();
        assert_eq!(names(g.dependents("core")), ["a", "b", "c", "core", "lib"]);
        assert_eq!(names(g.dependents("lib")), ["a", "lib"]);
        // Tests of `c` use `a`, its binary does not.
        assert_eq!(names(g.dependents("a")), ["a"]);
        assert_eq!(names(g.dependents("tool")), ["tool"]);
        assert_eq!(names(g.dependents("unknown")), ["unknown"]);
    }

    #[test]
    fn a_file_belongs_to_the_deepest_member() {
        let mut g = Graph::from_metadata(&metadata()).unwrap();
        g.crates.push(Crate {
            name: "nested".into(),
            dir: "crates/a/nested".into(),
            deps: BTreeSet::new(),
        });
        let owner = |p: &str| g.owner(Path::new(p)).map(|c| c.name.clone());
        assert_eq!(owner("crates/a/src/lib.rs").as_deref(), Some("a"));
        assert_eq!(owner("crates/a/nested/src/x.rs").as_deref(), Some("nested"));
        assert_eq!(
            owner("crates/ab/src/lib.rs"),
            None,
            "a prefix of a name is not a parent"
        );
        assert_eq!(owner("README.md"), None);
    }

    #[test]
    fn the_real_workspace() {
        let g = Graph::load(&crate::paths::root()).unwrap();
        let every_service: Vec<&str> = crate::services::SERVICES.iter().map(|s| s.name).collect();
        let from_chefcito = g.dependents("chefcito");
        for s in &every_service {
            assert!(from_chefcito.contains(*s), "{s} is not built from chefcito");
            assert!(
                g.crates
                    .iter()
                    .any(|c| c.name == *s && c.dir == Path::new("services").join(s))
            );
        }
        // The gateway's tests use every service crate; its binary none.
        assert_eq!(names(g.dependents("venues")), ["venues"]);
    }
}
