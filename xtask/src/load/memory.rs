//! Resident memory of the cluster's services, read from `/proc/<pid>/status` of each
//! container's process (the engine gives the host pid; the kernel's numbers are what counts,
//! not the cgroup's, which include the page cache of the SQLite files).

use std::collections::BTreeMap;

use serde::Serialize;

use crate::engine::{self, Engine};
use crate::services;

/// One process's memory, in KiB.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Rss {
    /// Resident now (`VmRSS`).
    pub now_kib: u64,
    /// The most it ever was (`VmHWM`, the high-water mark).
    pub peak_kib: u64,
}

/// `VmRSS` and `VmHWM` of a `/proc/<pid>/status` text.
pub fn parse_status(status: &str) -> Option<Rss> {
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line[name.len()..]
            .trim()
            .trim_end_matches("kB")
            .trim()
            .parse()
            .ok()
    };
    Some(Rss {
        now_kib: field("VmRSS:")?,
        peak_kib: field("VmHWM:")?,
    })
}

/// The memory of a process of this machine.
pub fn of_pid(pid: i64) -> Option<Rss> {
    parse_status(&std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?)
}

/// The host pid of every running service of `project`, by name.
pub async fn pids(engine: &Engine, project: &str) -> BTreeMap<String, i64> {
    let mut out = BTreeMap::new();
    for s in services::SERVICES {
        let name = engine::container_name(project, s.name);
        let Ok(c) = engine
            .docker
            .inspect_container(
                &name,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
        else {
            continue;
        };
        if let Some(pid) = c.state.and_then(|st| st.pid).filter(|&p| p > 0) {
            out.insert(s.name.to_string(), pid);
        }
    }
    out
}

/// The memory of each of these processes, by name (the ones gone are left out).
pub fn of_pids(pids: &BTreeMap<String, i64>) -> BTreeMap<String, Rss> {
    pids.iter()
        .filter_map(|(name, &pid)| Some((name.clone(), of_pid(pid)?)))
        .collect()
}

/// KiB as MiB with one decimal.
pub fn mib(kib: u64) -> String {
    format!("{:.1}", kib as f64 / 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_status() {
        let status =
            "Name:\tgateway\nVmPeak:\t  100 kB\nVmHWM:\t   30720 kB\nVmRSS:\t   10240 kB\n";
        assert_eq!(
            parse_status(status),
            Some(Rss {
                now_kib: 10240,
                peak_kib: 30720
            })
        );
        assert_eq!(parse_status("Name: x\n"), None);
        assert_eq!(mib(10240), "10.0");
    }

    #[test]
    fn reads_this_process() {
        let me = of_pid(std::process::id() as i64).expect("our own /proc status");
        assert!(me.now_kib > 0 && me.peak_kib >= me.now_kib);
    }
}
