//! From changed files to the work to do: a pure function of the paths, the crate graph and
//! the services being watched.
//!
//! | a change to | does |
//! |---|---|
//! | a file of a member crate (`services/chefcito/src/…`) | rebuilds every watched service built from that crate |
//! | its `tests/`, `benches/`, `examples/` | nothing: they are not in a service's binary |
//! | `Cargo.toml` or `Cargo.lock` at the root | rebuilds every watched service |
//! | `containerfiles/<svc>/…` | rebuilds that image only (the binary is the same) |
//! | `db_config.yaml` | applies the permission table to the running users service |
//! | anything else, `target/`, `.git/`, editor files | nothing |

use std::collections::BTreeSet;
use std::path::{Component, Path};

use super::graph::Graph;

/// What one batch of changes asks for. Service names are those of the watched set.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Services to compile again, then repackage and replace.
    pub rebuild: BTreeSet<&'static str>,
    /// Services whose image alone changed (their CONTAINERFILE), not in `rebuild`.
    pub images: BTreeSet<&'static str>,
    /// `db_config.yaml` changed: apply it to users.
    pub permissions: bool,
    /// A manifest changed: the crate graph must be read again.
    pub manifests: bool,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.rebuild.is_empty() && self.images.is_empty() && !self.permissions
    }

    /// Every service that gets a new image.
    pub fn replaced(&self) -> BTreeSet<&'static str> {
        self.rebuild.union(&self.images).copied().collect()
    }

    /// Both plans' work (a save that arrives before the previous one was built).
    pub fn merge(&mut self, other: Plan) {
        self.rebuild.extend(other.rebuild);
        self.images.extend(other.images);
        self.images.retain(|s| !self.rebuild.contains(s));
        self.permissions |= other.permissions;
        self.manifests |= other.manifests;
    }

    /// Rebuilds all of `watched` (the first build, or after a manifest change).
    pub fn all(watched: &[&'static str]) -> Plan {
        Plan {
            rebuild: watched.iter().copied().collect(),
            ..Plan::default()
        }
    }
}

/// Files nobody means as a change: editor swap, backup and lock files, and the probe file
/// vim writes to test a directory (`4913`).
pub fn is_editor_file(name: &str) -> bool {
    name.ends_with(".swp")
        || name.ends_with(".swo")
        || name.ends_with(".swx")
        || name.ends_with('~')
        || name.starts_with(".#")
        || name == "4913"
}

/// Whether a path (relative to the workspace root) can matter at all: not under `target/`
/// or `.git/`, not an editor file. The watcher drops the others before they reach [`plan`].
pub fn is_relevant(path: &Path) -> bool {
    let mut components = path.components();
    let Some(Component::Normal(first)) = components.next() else {
        return false;
    };
    if first == "target" || first == ".git" {
        return false;
    }
    if path.components().any(|c| c.as_os_str() == ".git") {
        return false;
    }
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| !is_editor_file(n))
}

/// The work `changed` (paths relative to the workspace root) asks for, among `watched`.
pub fn plan(changed: &[impl AsRef<Path>], graph: &Graph, watched: &[&'static str]) -> Plan {
    let watched_named = |name: &str| watched.iter().copied().find(|s| *s == name);
    let mut plan = Plan::default();
    for path in changed {
        let path = path.as_ref();
        if !is_relevant(path) {
            continue;
        }
        let at_root = path.components().count() == 1;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if name == "Cargo.toml" {
            plan.manifests = true;
        }
        if at_root {
            match name {
                "Cargo.toml" | "Cargo.lock" => plan.rebuild.extend(watched.iter().copied()),
                "db_config.yaml" => plan.permissions = true,
                _ => {}
            }
            continue;
        }
        if let Ok(rest) = path.strip_prefix("containerfiles") {
            if let Some(Component::Normal(svc)) = rest.components().next()
                && let Some(s) = svc.to_str().and_then(watched_named)
            {
                plan.images.insert(s);
            }
            continue;
        }
        let Some(owner) = graph.owner(path) else {
            continue;
        };
        let inside = path.strip_prefix(&owner.dir).unwrap_or(path);
        let only_for_tests = matches!(
            inside.components().next(),
            Some(Component::Normal(d)) if d == "tests" || d == "benches" || d == "examples"
        );
        if only_for_tests {
            continue;
        }
        for dependent in graph.dependents(&owner.name) {
            if let Some(s) = watched_named(&dependent) {
                plan.rebuild.insert(s);
            }
        }
    }
    plan.images.retain(|s| !plan.rebuild.contains(s));
    plan
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::watch::graph::Crate;

    fn member(name: &str, deps: &[&str]) -> Crate {
        Crate {
            name: name.into(),
            dir: Path::new("services").join(name),
            deps: deps.iter().map(|d| d.to_string()).collect(),
        }
    }

    /// The shape of the real workspace, plus `tool` (xtask: a member, no service) and a
    /// made-up `front` service built from `venues` (a crate dependency).
    fn graph() -> Graph {
        Graph {
            crates: vec![
                member("chefcito", &[]),
                member("users", &["chefcito"]),
                member("venues", &["chefcito"]),
                member("points", &["chefcito"]),
                member("front", &["venues"]),
                member("gateway", &["chefcito"]),
                Crate {
                    name: "tool".into(),
                    dir: "xtask".into(),
                    deps: ["chefcito".to_string()].into(),
                },
            ],
        }
    }

    const WATCHED: &[&str] = &["users", "venues", "points", "front", "gateway"];

    fn plan_of(paths: &[&str]) -> Plan {
        plan(paths, &graph(), WATCHED)
    }

    fn set(names: &[&'static str]) -> BTreeSet<&'static str> {
        names.iter().copied().collect()
    }

    #[test]
    fn the_shared_crate_rebuilds_every_service() {
        let p = plan_of(&["services/chefcito/src/db.rs"]);
        assert_eq!(p.rebuild, set(WATCHED));
        assert!(p.images.is_empty() && !p.permissions);
    }

    #[test]
    fn a_service_rebuilds_itself_and_its_crate_dependents_only() {
        assert_eq!(
            plan_of(&["services/venues/src/http.rs"]).rebuild,
            set(&["front", "venues"])
        );
        assert_eq!(
            plan_of(&["services/points/src/lib.rs"]).rebuild,
            set(&["points"])
        );
        // A manifest of a member: that crate, and the graph is read again.
        let p = plan_of(&["services/users/Cargo.toml"]);
        assert_eq!(p.rebuild, set(&["users"]));
        assert!(p.manifests);
    }

    #[test]
    fn only_watched_services_are_rebuilt() {
        let p = plan(&["services/chefcito/src/db.rs"], &graph(), &["venues"]);
        assert_eq!(p.rebuild, set(&["venues"]));
        let p = plan(&["services/users/src/lib.rs"], &graph(), &["venues"]);
        assert!(p.is_empty(), "{p:?}");
    }

    #[test]
    fn tests_benches_and_examples_are_not_in_a_binary() {
        for path in [
            "services/venues/tests/system.rs",
            "services/chefcito/benches/db.rs",
            "services/venues/examples/x.rs",
        ] {
            assert!(plan_of(&[path]).is_empty(), "{path}");
        }
        // …but a module named `tests` inside src is.
        assert_eq!(
            plan_of(&["services/venues/src/tests/mod.rs"]).rebuild,
            set(&["front", "venues"])
        );
    }

    #[test]
    fn root_manifests_rebuild_everything() {
        for path in ["Cargo.toml", "Cargo.lock"] {
            assert_eq!(plan_of(&[path]).rebuild, set(WATCHED), "{path}");
        }
        assert!(plan_of(&["Cargo.toml"]).manifests);
        assert!(!plan_of(&["Cargo.lock"]).manifests);
    }

    #[test]
    fn permissions_reload_without_a_build() {
        let p = plan_of(&["db_config.yaml"]);
        assert!(p.permissions);
        assert!(p.rebuild.is_empty() && p.images.is_empty());
        // Only the root's file is the cluster's table.
        assert!(plan_of(&["docs/db_config.yaml"]).is_empty());
    }

    #[test]
    fn a_containerfile_rebuilds_its_image_only() {
        let p = plan_of(&["containerfiles/venues/CONTAINERFILE"]);
        assert_eq!(p.images, set(&["venues"]));
        assert!(p.rebuild.is_empty());
        // An unwatched or unknown service's containerfile changes nothing.
        assert!(
            plan(
                &["containerfiles/users/CONTAINERFILE"],
                &graph(),
                &["venues"]
            )
            .is_empty()
        );
        assert!(plan_of(&["containerfiles/ghost/CONTAINERFILE"]).is_empty());
        // When the binary is rebuilt anyway, the image is in `rebuild`, not twice.
        let p = plan_of(&[
            "containerfiles/venues/CONTAINERFILE",
            "services/venues/src/lib.rs",
        ]);
        assert_eq!(p.images, set(&[]));
        assert_eq!(p.replaced(), set(&["front", "venues"]));
    }

    #[test]
    fn noise_is_ignored() {
        for path in [
            "target/release/venues",
            "target/x86_64-unknown-linux-gnu/release/deps/venues.d",
            ".git/index",
            "services/venues/.git/HEAD",
            "services/venues/src/.http.rs.swp",
            "services/venues/src/http.rs~",
            "services/venues/src/.#http.rs",
            "services/venues/src/4913",
            "README.md",
            "docs/decisions.md",
            "xtask/src/main.rs",
            ".github/workflows/ci.yml",
        ] {
            assert!(plan_of(&[path]).is_empty(), "{path}");
        }
        assert!(!is_relevant(Path::new("")));
        assert!(is_relevant(Path::new("services/venues/src/http.rs")));
    }

    #[test]
    fn merged_plans_keep_all_the_work() {
        let mut p = plan_of(&["containerfiles/points/CONTAINERFILE"]);
        p.merge(plan_of(&["db_config.yaml"]));
        p.merge(plan_of(&["services/venues/src/http.rs"]));
        assert_eq!(p.rebuild, set(&["front", "venues"]));
        assert_eq!(p.images, set(&["points"]));
        assert!(p.permissions);
        p.merge(plan_of(&["services/points/src/lib.rs"]));
        assert_eq!(p.images, set(&[]), "now rebuilt with its binary");
        assert_eq!(Plan::all(&["a", "b"]).rebuild, set(&["a", "b"]));
    }
}
