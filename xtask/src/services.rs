//! The one table of services that every command reads.
//!
//! A new service is one more row here (plus its `containerfiles/<svc>/CONTAINERFILE`): `build`
//! compiles and packages it, `up` starts it after its dependencies, `run --native` spawns it,
//! `status` and `logs` show it.
//!
//! Environment: every service gets `BIND`, `DATA_DIR` and `INTERNAL_TOKEN`; a service that
//! calls another gets `<DEP>_URL` for each entry of `depends_on` and `reaches` (the network
//! alias in the cluster, the loopback in native mode). No service gets a signing key: users keeps its own
//! on its volume.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Result, bail};
use chefcito::config::ports;

/// One row of the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Service {
    /// Crate, binary, image (`chefcito-<name>`) and network alias.
    pub name: &'static str,
    /// The port it listens on, inside the cluster and on the loopback in native mode.
    pub port: u16,
    /// Keeps data in `/data`: gets a named volume that outlives `down`.
    pub stateful: bool,
    /// Services it calls and needs up; `up` starts them first and waits until they are healthy.
    pub depends_on: &'static [&'static str],
    /// Services it calls without waiting for them (outbox consumers, optional lookups): it
    /// gets their URL, and copes while they are down. Breaks what would be start-up cycles.
    pub reaches: &'static [&'static str],
    /// Published to the host (only the gateway: everything else is internal).
    pub public: bool,
    /// Extra fixed environment.
    pub env: &'static [(&'static str, &'static str)],
}

/// Every service, in no particular order (commands sort by dependencies).
pub const SERVICES: &[Service] = &[
    Service {
        name: "users",
        port: ports::USERS,
        stateful: true,
        depends_on: &[],
        reaches: &["communications"],
        public: false,
        env: &[],
    },
    Service {
        name: "venues",
        port: ports::VENUES,
        stateful: true,
        depends_on: &[],
        reaches: &[],
        public: false,
        env: &[],
    },
    Service {
        name: "points",
        port: ports::POINTS,
        stateful: true,
        depends_on: &[],
        reaches: &[],
        public: false,
        env: &[],
    },
    Service {
        name: "stats",
        port: ports::STATS,
        stateful: true,
        depends_on: &[],
        reaches: &[],
        public: false,
        env: &[],
    },
    Service {
        name: "summaries",
        port: ports::SUMMARIES,
        stateful: true,
        depends_on: &[],
        reaches: &["opinions"],
        public: false,
        env: &[],
    },
    Service {
        name: "communications",
        port: ports::COMMUNICATIONS,
        stateful: true,
        depends_on: &["venues"],
        reaches: &[],
        public: false,
        env: &[],
    },
    Service {
        name: "reservations",
        port: ports::RESERVATIONS,
        stateful: true,
        depends_on: &["users", "venues"],
        reaches: &["points", "stats", "communications", "opinions"],
        public: false,
        env: &[],
    },
    Service {
        name: "opinions",
        port: ports::OPINIONS,
        stateful: true,
        depends_on: &["reservations"],
        reaches: &["points", "communications", "summaries"],
        public: false,
        env: &[],
    },
    Service {
        name: "gateway",
        port: ports::GATEWAY,
        stateful: false,
        depends_on: &[
            "users",
            "venues",
            "reservations",
            "points",
            "opinions",
            "summaries",
            "stats",
        ],
        reaches: &[],
        public: true,
        env: &[],
    },
];

/// The row of `name`, or an error listing the known names.
pub fn get(name: &str) -> Result<&'static Service> {
    match SERVICES.iter().find(|s| s.name == name) {
        Some(s) => Ok(s),
        None => bail!(
            "unknown service `{name}`: the services are {}",
            SERVICES
                .iter()
                .map(|s| s.name)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// The services named (all when `names` is empty) plus everything they depend on, as
/// start-up levels: each level depends only on earlier ones, so a level starts in parallel.
pub fn levels(names: &[String]) -> Result<Vec<Vec<&'static Service>>> {
    levels_of(SERVICES, names)
}

/// The services named (all when empty), without their dependencies, in table order.
pub fn selected(names: &[String]) -> Result<Vec<&'static Service>> {
    if names.is_empty() {
        return Ok(SERVICES.iter().collect());
    }
    let wanted = names
        .iter()
        .map(|n| get(n).map(|s| s.name))
        .collect::<Result<BTreeSet<_>>>()?;
    Ok(SERVICES
        .iter()
        .filter(|s| wanted.contains(s.name))
        .collect())
}

/// [`levels`] over any table, so that the ordering is testable on made-up tables.
pub fn levels_of<'t>(table: &'t [Service], names: &[String]) -> Result<Vec<Vec<&'t Service>>> {
    let find = |name: &str| -> Result<&'t Service> {
        match table.iter().find(|s| s.name == name) {
            Some(s) => Ok(s),
            None => bail!(
                "unknown service `{name}`: the services are {}",
                table.iter().map(|s| s.name).collect::<Vec<_>>().join(", ")
            ),
        }
    };
    // The closure of the selection under `depends_on`.
    let mut wanted: BTreeMap<&str, &'t Service> = BTreeMap::new();
    let mut todo: Vec<&'t Service> = if names.is_empty() {
        table.iter().collect()
    } else {
        names.iter().map(|n| find(n)).collect::<Result<_>>()?
    };
    while let Some(s) = todo.pop() {
        if wanted.insert(s.name, s).is_none() {
            for dep in s.depends_on {
                todo.push(find(dep)?);
            }
        }
    }
    let mut levels: Vec<Vec<&'t Service>> = Vec::new();
    let mut placed: BTreeSet<&str> = BTreeSet::new();
    while placed.len() < wanted.len() {
        let level: Vec<&'t Service> = wanted
            .values()
            .filter(|s| !placed.contains(s.name))
            .filter(|s| s.depends_on.iter().all(|d| placed.contains(d)))
            .copied()
            .collect();
        if level.is_empty() {
            let stuck: Vec<&str> = wanted
                .keys()
                .filter(|n| !placed.contains(*n))
                .copied()
                .collect();
            bail!(
                "dependency cycle among {}: fix `depends_on` in xtask/src/services.rs",
                stuck.join(", ")
            );
        }
        placed.extend(level.iter().map(|s| s.name));
        levels.push(level);
    }
    Ok(levels)
}

impl Service {
    /// The environment this service runs with. `host_of` says how to reach a dependency
    /// (its network alias in the cluster, `127.0.0.1` natively); `bind_ip` is where to listen.
    pub fn environment(
        &self,
        bind_ip: &str,
        data_dir: &str,
        secrets: &crate::secrets::Secrets,
        host_of: impl Fn(&Service) -> String,
    ) -> BTreeMap<String, String> {
        let mut env = BTreeMap::new();
        env.insert("BIND".into(), format!("{bind_ip}:{}", self.port));
        env.insert("DATA_DIR".into(), data_dir.into());
        env.insert("INTERNAL_TOKEN".into(), secrets.internal_token().into());
        for dep in self.depends_on.iter().chain(self.reaches) {
            // The table is validated by `levels`, so a dependency always exists.
            if let Ok(dep) = get(dep) {
                env.insert(
                    format!("{}_URL", dep.name.to_uppercase()),
                    format!("http://{}:{}", host_of(dep), dep.port),
                );
            }
        }
        for (k, v) in self.env {
            env.insert((*k).into(), (*v).into());
        }
        env
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn svc(name: &'static str, depends_on: &'static [&'static str]) -> Service {
        Service {
            name,
            port: 1,
            stateful: false,
            depends_on,
            reaches: &[],
            public: false,
            env: &[],
        }
    }

    fn names(levels: &[Vec<&Service>]) -> Vec<Vec<&'static str>> {
        levels
            .iter()
            .map(|l| l.iter().map(|s| s.name).collect())
            .collect()
    }

    #[test]
    fn no_service_is_given_a_signing_key() {
        let secrets = crate::secrets::Secrets::generate().unwrap();
        for s in SERVICES {
            let env = s.environment("0.0.0.0", "/data", &secrets, |d| d.name.to_string());
            assert!(!env.contains_key("SIGNING_KEY"), "{}", s.name);
            assert_eq!(env["INTERNAL_TOKEN"], secrets.internal_token());
        }
    }

    #[test]
    fn the_real_table_is_consistent() {
        let all = levels(&[]).unwrap();
        assert_eq!(
            names(&all),
            [
                vec!["points", "stats", "summaries", "users", "venues"],
                vec!["communications", "reservations"],
                vec!["opinions"],
                vec!["gateway"]
            ]
        );
        for s in SERVICES {
            for other in s.depends_on.iter().chain(s.reaches) {
                assert!(get(other).is_ok(), "{} reaches unknown {other}", s.name);
            }
        }
        let ports: BTreeSet<u16> = SERVICES.iter().map(|s| s.port).collect();
        assert_eq!(ports.len(), SERVICES.len(), "two services share a port");
        assert_eq!(
            SERVICES.iter().filter(|s| s.public).count(),
            1,
            "exactly one public service"
        );
    }

    #[test]
    fn dependencies_come_first_and_levels_run_in_parallel() {
        let table = [
            svc("gw", &["a", "b"]),
            svc("a", &["root"]),
            svc("b", &["root"]),
            svc("root", &[]),
            svc("lone", &[]),
        ];
        let all = levels_of(&table, &[]).unwrap();
        assert_eq!(
            names(&all),
            [vec!["lone", "root"], vec!["a", "b"], vec!["gw"]]
        );
        let some = levels_of(&table, &["a".into()]).unwrap();
        assert_eq!(names(&some), [vec!["root"], vec!["a"]]);
    }

    #[test]
    fn cycles_and_unknown_names_are_errors() {
        let table = [svc("a", &["b"]), svc("b", &["a"])];
        let e = levels_of(&table, &[]).unwrap_err().to_string();
        assert!(e.contains("cycle among a, b"), "{e}");
        let e = levels_of(&table, &["nope".into()]).unwrap_err().to_string();
        assert!(e.contains("unknown service `nope`"), "{e}");
    }

    /// Tidy check: a service crate that ships a binary must be in the table (and so get an
    /// image, a container and a place in native mode).
    #[test]
    fn every_service_binary_is_in_the_table() {
        let dir = crate::paths::root().join("services");
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            if path.join("src/main.rs").exists() {
                assert!(
                    get(&name).is_ok(),
                    "services/{name} has a binary but no row in xtask/src/services.rs: add one \
                     (port from chefcito::config::ports, stateful, depends_on) and \
                     containerfiles/{name}/CONTAINERFILE"
                );
            }
        }
    }

    /// Tidy check: every internal service proves, in its own tests, that its `app()` refuses a
    /// call without the internal token (`chefcito::testing::assert_internal`).
    #[test]
    fn every_internal_service_tests_that_it_refuses_calls_without_the_token() {
        for s in SERVICES.iter().filter(|s| !s.public) {
            let tests = crate::paths::root()
                .join("services")
                .join(s.name)
                .join("tests");
            let mut found = false;
            let mut stack = vec![tests];
            while let Some(dir) = stack.pop() {
                for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        stack.push(path);
                    } else if std::fs::read_to_string(&path).is_ok_and(|text| {
                        text.contains("fn refuses_calls_without_the_internal_token")
                            && text.contains("assert_internal")
                    }) {
                        found = true;
                    }
                }
            }
            assert!(
                found,
                "services/{}/tests has no `refuses_calls_without_the_internal_token` test calling \
                 chefcito::testing::assert_internal",
                s.name
            );
        }
    }

    #[test]
    fn selection_keeps_table_order_without_dependencies() {
        let s = selected(&["gateway".into()]).unwrap();
        assert_eq!(s.iter().map(|s| s.name).collect::<Vec<_>>(), ["gateway"]);
        assert_eq!(selected(&[]).unwrap().len(), SERVICES.len());
    }
}
