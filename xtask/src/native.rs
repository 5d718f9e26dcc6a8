//! Native mode: the services as local processes, for machines without a Docker Engine.
//!
//! Debug builds (`cargo build`, quick and shared with the tests), each process with the
//! cluster's environment except that it listens on `127.0.0.1:<port>` and reaches its
//! dependencies there too, data in `target/chefcito-native/<project>/<svc>/`, secrets in
//! `target/chefcito-native/<project>/secrets.json`. Started in dependency order and gated on each
//! service's `/health`; the output is merged with coloured prefixes; Ctrl-C (or one service
//! dying) stops them all.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::signal::unix::{Signal, SignalKind, signal};

use crate::paths;
use crate::progress::print_line;
use crate::secrets::Secrets;
use crate::services::{self, Service};

/// The environment of `service` in native mode.
pub fn environment(
    service: &Service,
    project: &str,
    gateway_port: u16,
    secrets: &Secrets,
) -> BTreeMap<String, String> {
    let data = paths::native_dir(project).join(service.name);
    let mut env = service.environment("127.0.0.1", &data.display().to_string(), secrets, |_| {
        "127.0.0.1".into()
    });
    if service.public {
        env.insert("BIND".into(), format!("127.0.0.1:{gateway_port}"));
    }
    env
}

pub async fn run(
    names: &[String],
    project: &str,
    gateway_port: u16,
    timeout: Duration,
) -> Result<()> {
    let mut signals = StopSignals::install()?;
    let levels = services::levels(names)?;
    let all: Vec<&'static Service> = levels.iter().flatten().copied().collect();
    // As `up`: the repository's permission file, validated before anything starts, applied
    // once users answers.
    let permissions_file = crate::permissions::shipped();
    let table = match all.iter().find(|s| s.name == "users") {
        Some(users) => Some((users.port, crate::permissions::read(&permissions_file)?)),
        None => None,
    };
    let packages: Vec<String> = all
        .iter()
        .flat_map(|s| ["-p".to_string(), s.name.to_string()])
        .collect();
    let build = tokio::task::spawn_blocking(move || -> Result<()> {
        let sh = crate::cargo::shell()?;
        crate::cargo::cmd(&sh, &["build", "--locked"])
            .args(&packages)
            .run()
            .map_err(|e| anyhow::anyhow!("{e}: fix the compile errors above and run again"))
    });
    tokio::select! {
        built = build => built??,
        _ = signals.recv() => return Ok(()),
    }
    let secrets = Secrets::load_or_create(&paths::native_dir(project))?;
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut children: Vec<(&'static Service, Child)> = Vec::new();
    // `None`: stopped during start-up, which is a normal end.
    let started = tokio::select! {
        started = start_all(&levels, paths::debug_binary, project, gateway_port, &secrets, width, timeout, &mut children) => Some(started),
        _ = signals.recv() => None,
    };
    match started {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            stop(&mut children).await;
            return Err(e);
        }
        None => {
            stop(&mut children).await;
            return Ok(());
        }
    }
    if let Some((port, table)) = table {
        let url = format!("http://127.0.0.1:{port}");
        match crate::permissions::apply(&url, secrets.internal_token(), &table).await {
            Ok(outcome) => println!("\n{}", outcome.summary(&permissions_file)),
            Err(e) => {
                stop(&mut children).await;
                return Err(e.context(format!("applying {}", permissions_file.display())));
            }
        }
    }
    println!(
        "\nall services are up; gateway: http://127.0.0.1:{gateway_port}  (Ctrl-C stops them all)"
    );
    let outcome = watch(&mut children, &mut signals).await;
    stop(&mut children).await;
    outcome
}

/// Starts `levels` in order, each level's services once the previous level answers, from
/// the binaries `binary` names; the started ones are in `children` even when one fails.
/// Shared with `bench --native` (release binaries).
#[allow(clippy::too_many_arguments)]
pub(crate) async fn start_all(
    levels: &[Vec<&'static Service>],
    binary: impl Fn(&str) -> std::path::PathBuf,
    project: &str,
    gateway_port: u16,
    secrets: &Secrets,
    width: usize,
    timeout: Duration,
    children: &mut Vec<(&'static Service, Child)>,
) -> Result<()> {
    for level in levels {
        for s in level {
            let child = spawn(
                s,
                &binary(s.name),
                environment(s, project, gateway_port, secrets),
                width,
            )?;
            children.push((s, child));
        }
        for s in level {
            let port = if s.public { gateway_port } else { s.port };
            let Some((_, child)) = children.iter_mut().find(|(c, _)| c.name == s.name) else {
                continue;
            };
            wait_healthy(s, SocketAddr::from(([127, 0, 0, 1], port)), timeout, child).await?;
        }
    }
    Ok(())
}

/// Starts `binary` as `s` with `env` (creating its data directory), its output merged into
/// ours with the service's prefix. Shared with `watch --native`.
pub(crate) fn spawn(
    s: &Service,
    binary: &Path,
    env: BTreeMap<String, String>,
    width: usize,
) -> Result<Child> {
    std::fs::create_dir_all(&env["DATA_DIR"])
        .with_context(|| format!("creating {}", env["DATA_DIR"]))?;
    let mut child = Command::new(binary)
        .envs(&env)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let index = services::SERVICES
        .iter()
        .position(|x| x.name == s.name)
        .unwrap_or(0);
    if let Some(out) = child.stdout.take() {
        tokio::spawn(pump(BufReader::new(out), index, s.name, width));
    }
    if let Some(err) = child.stderr.take() {
        tokio::spawn(pump(BufReader::new(err), index, s.name, width));
    }
    Ok(child)
}

async fn pump<R: tokio::io::AsyncRead + Unpin>(
    reader: BufReader<R>,
    index: usize,
    name: &'static str,
    width: usize,
) {
    let mut lines = reader.lines();
    while let Ok(Some(line)) = lines.next_line().await {
        print_line(index, name, width, &line);
    }
}

/// Until `s`, started as `child`, answers `/health` on `addr`; an error when it exits first or
/// stays silent past `timeout`.
pub(crate) async fn wait_healthy(
    s: &Service,
    addr: SocketAddr,
    timeout: Duration,
    child: &mut Child,
) -> Result<()> {
    let started = Instant::now();
    loop {
        if tokio::task::spawn_blocking(move || chefcito::probe::healthcheck(addr))
            .await?
            .is_ok()
        {
            return Ok(());
        }
        if let Some(status) = child.try_wait()? {
            bail!(
                "{} exited ({status}) before answering /health on {addr}: see its lines above (a port in use? set --port for the gateway)",
                s.name
            );
        }
        if started.elapsed() > timeout {
            bail!(
                "{} does not answer /health on {addr} after {} s: see its lines above",
                s.name,
                timeout.as_secs()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ctrl-C or SIGTERM. Registered before anything starts: a signal xtask does not handle
/// would kill it on the spot and leave its services running, and a stop asked for during
/// start-up must not be lost.
struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
}

impl StopSignals {
    fn install() -> Result<StopSignals> {
        Ok(StopSignals {
            interrupt: signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?,
            terminate: signal(SignalKind::terminate()).context("installing the SIGTERM handler")?,
        })
    }

    async fn recv(&mut self) {
        tokio::select! { _ = self.interrupt.recv() => {}, _ = self.terminate.recv() => {} }
    }
}

/// Until Ctrl-C, SIGTERM or one service exits.
async fn watch(
    children: &mut [(&'static Service, Child)],
    signals: &mut StopSignals,
) -> Result<()> {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    loop {
        tokio::select! {
            _ = signals.recv() => {
                println!("\nstopping…");
                return Ok(());
            }
            _ = tick.tick() => {
                for (s, child) in children.iter_mut() {
                    if let Some(status) = child.try_wait()? {
                        bail!("{} stopped ({status}): stopping the others; see its lines above", s.name);
                    }
                }
            }
        }
    }
}

/// Dependents first (the reverse of the start order).
pub(crate) async fn stop(children: &mut Vec<(&'static Service, Child)>) {
    while let Some((_, child)) = children.pop() {
        stop_child(child).await;
    }
}

/// SIGTERM (through `kill`, since this crate forbids `unsafe`: the service shuts down
/// gracefully), five seconds' grace, then SIGKILL. Shared with `watch --native`.
pub(crate) async fn stop_child(mut child: Child) {
    if let Some(pid) = child.id() {
        let _ = std::process::Command::new("kill")
            .args(["-TERM", &pid.to_string()])
            .status();
    }
    if tokio::time::timeout(Duration::from_secs(5), child.wait())
        .await
        .is_err()
    {
        let _ = child.kill().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_wiring() {
        let secrets = Secrets::generate().unwrap();
        let gw = environment(services::get("gateway").unwrap(), "p", 9000, &secrets);
        assert_eq!(gw["BIND"], "127.0.0.1:9000");
        assert_eq!(gw["USERS_URL"], "http://127.0.0.1:8001");
        let users = environment(services::get("users").unwrap(), "p", 9000, &secrets);
        assert_eq!(users["BIND"], "127.0.0.1:8001");
        assert!(users["DATA_DIR"].ends_with("target/chefcito-native/p/users"));
        assert_eq!(users["INTERNAL_TOKEN"], gw["INTERNAL_TOKEN"]);
    }
}
