//! Waiting for the cluster to settle before each measurement. Writes leave work behind them
//! (outbox deliveries to stats, points and communications, messages to send), and a workload
//! measured meanwhile shares the two cores with it: venue-by-id measured right after seeding
//! 10,000 bookings gave 3,000 req/s, and 7,000 a minute later on the same cluster.
//!
//! Settled means the services together used less than [`QUIET_SHARE`] of one core over a
//! second, read from the kernel's CPU time of each container's process
//! (`/proc/<pid>/stat`).

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// Below this share of one core, the cluster is idle (health probes and timers).
pub const QUIET_SHARE: f64 = 0.05;

/// How long to wait at most after the regular seeding; past it the measurement goes ahead
/// and says so.
pub const PATIENCE: Duration = Duration::from_secs(180);

/// The same after `--scale` grew the data: a million bookings leave a million outbox
/// deliveries (stats, points, communications) to work through first, about ten minutes.
pub const SCALE_PATIENCE: Duration = Duration::from_secs(30 * 60);

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS_PER_SECOND: f64 = 100.0;

/// `utime + stime` (in clock ticks) of a `/proc/<pid>/stat` text. The command name may hold
/// spaces and parentheses: fields are counted from its closing parenthesis.
pub fn parse_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // After the name: state is field 3 of the line, utime 14 and stime 15.
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn ticks(pids: &BTreeMap<String, i64>) -> u64 {
    pids.values()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/stat")).ok())
        .filter_map(|stat| parse_ticks(&stat))
        .sum()
}

/// Waits until the processes in `pids` are idle; the time it took, or `Err` with the last
/// share of a core they used when `patience` ran out.
pub async fn settle(pids: &BTreeMap<String, i64>, patience: Duration) -> Result<Duration, f64> {
    let started = Instant::now();
    loop {
        let (before, at) = (ticks(pids), Instant::now());
        tokio::time::sleep(Duration::from_secs(1)).await;
        let used = ticks(pids).saturating_sub(before) as f64 / TICKS_PER_SECOND;
        let share = used / at.elapsed().as_secs_f64();
        if share < QUIET_SHARE {
            return Ok(started.elapsed());
        }
        if started.elapsed() >= patience {
            return Err(share);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_cpu_time_after_the_command_name() {
        let stat = "4242 (sqlite (writer) x) S 1 4242 4242 0 -1 4194560 1279 0 0 0 731 269 0 0 20 0 9 0 1234 351108 2429 18446744073709551615";
        assert_eq!(parse_ticks(stat), Some(731 + 269));
        assert_eq!(parse_ticks("4242 (gateway) S 1"), None);
        assert_eq!(parse_ticks("no parenthesis"), None);
    }

    #[tokio::test]
    async fn this_process_settles_when_idle() {
        let me = BTreeMap::from([("me".to_string(), i64::from(std::process::id()))]);
        // Busy for a while: the kernel counts CPU time in ticks of 10 ms.
        let busy = Instant::now();
        let mut x = 0u64;
        while ticks(&me) < 3 && busy.elapsed() < Duration::from_secs(5) {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(7));
        }
        assert!(ticks(&me) >= 3, "busy work shows as CPU time");
        assert!(
            settle(&me, PATIENCE).await.is_ok(),
            "an idle process is quiet"
        );
    }
}
