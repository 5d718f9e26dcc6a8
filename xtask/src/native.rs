//! Native mode: the services as local processes, for machines without a Docker Engine.
//!
//! Debug builds (`cargo build`, quick and shared with the tests), each process with the
//! cluster's environment except that it listens on `127.0.0.1:<port>` and reaches its
//! dependencies there too, data in `target/chefcito-native/<svc>/`, secrets in
//! `target/chefcito-native/secrets.json`. Started in dependency order and gated on each
//! service's `/health`; the output is merged with coloured prefixes; Ctrl-C (or one service
//! dying) stops them all.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use crate::commands::logs::print_line;
use crate::paths;
use crate::secrets::Secrets;
use crate::services::{self, Service};

/// The environment of `service` in native mode.
pub fn environment(
    service: &Service,
    gateway_port: u16,
    secrets: &Secrets,
) -> BTreeMap<String, String> {
    let data = paths::native_dir().join(service.name);
    let mut env = service.environment("127.0.0.1", &data.display().to_string(), secrets, |_| {
        "127.0.0.1".into()
    });
    if service.public {
        env.insert("BIND".into(), format!("127.0.0.1:{gateway_port}"));
    }
    env
}

pub async fn run(names: &[String], gateway_port: u16, timeout: Duration) -> Result<()> {
    let levels = services::levels(names)?;
    let all: Vec<&'static Service> = levels.iter().flatten().copied().collect();
    let packages: Vec<String> = all
        .iter()
        .flat_map(|s| ["-p".to_string(), s.name.to_string()])
        .collect();
    tokio::task::spawn_blocking(move || -> Result<()> {
        let sh = crate::cargo::shell()?;
        crate::cargo::cmd(&sh, &["build", "--locked"])
            .args(&packages)
            .run()
            .map_err(|e| anyhow::anyhow!("{e}: fix the compile errors above and run again"))
    })
    .await??;
    let secrets = Secrets::load_or_create(&paths::native_dir())?;
    let width = all.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let mut children: Vec<(&'static Service, Child)> = Vec::new();
    let started = start_all(
        &levels,
        gateway_port,
        &secrets,
        width,
        timeout,
        &mut children,
    )
    .await;
    if let Err(e) = started {
        stop(&mut children).await;
        return Err(e);
    }
    println!(
        "\nall services are up; gateway: http://127.0.0.1:{gateway_port}  (Ctrl-C stops them all)"
    );
    let outcome = watch(&mut children).await;
    stop(&mut children).await;
    outcome
}

async fn start_all(
    levels: &[Vec<&'static Service>],
    gateway_port: u16,
    secrets: &Secrets,
    width: usize,
    timeout: Duration,
    children: &mut Vec<(&'static Service, Child)>,
) -> Result<()> {
    for level in levels {
        for s in level {
            let env = environment(s, gateway_port, secrets);
            std::fs::create_dir_all(&env["DATA_DIR"])
                .with_context(|| format!("creating {}", env["DATA_DIR"]))?;
            let binary = paths::debug_binary(s.name);
            let mut child = Command::new(&binary)
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
            children.push((s, child));
        }
        for s in level {
            let port = if s.public { gateway_port } else { s.port };
            wait_healthy(
                s,
                SocketAddr::from(([127, 0, 0, 1], port)),
                timeout,
                children,
            )
            .await?;
        }
    }
    Ok(())
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

async fn wait_healthy(
    s: &Service,
    addr: SocketAddr,
    timeout: Duration,
    children: &mut [(&'static Service, Child)],
) -> Result<()> {
    let started = Instant::now();
    loop {
        if tokio::task::spawn_blocking(move || chefcito::service::healthcheck(addr))
            .await?
            .is_ok()
        {
            return Ok(());
        }
        if let Some((_, child)) = children.iter_mut().find(|(c, _)| c.name == s.name)
            && let Some(status) = child.try_wait()?
        {
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

/// Ctrl-C, or SIGTERM (a process killed by a signal it does not handle would leave its
/// children running).
async fn interrupted() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! { _ = tokio::signal::ctrl_c() => {}, _ = term => {} }
}

/// Until Ctrl-C, SIGTERM or one service exits.
async fn watch(children: &mut [(&'static Service, Child)]) -> Result<()> {
    let mut tick = tokio::time::interval(Duration::from_millis(250));
    let stop = interrupted();
    tokio::pin!(stop);
    loop {
        tokio::select! {
            _ = &mut stop => {
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

/// SIGTERM (through `kill`, since this crate forbids `unsafe`), five seconds' grace, then
/// SIGKILL; dependents first.
async fn stop(children: &mut Vec<(&'static Service, Child)>) {
    while let Some((_, mut child)) = children.pop() {
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_wiring() {
        let secrets = Secrets::generate().unwrap();
        let gw = environment(services::get("gateway").unwrap(), 9000, &secrets);
        assert_eq!(gw["BIND"], "127.0.0.1:9000");
        assert_eq!(gw["USERS_URL"], "http://127.0.0.1:8001");
        let users = environment(services::get("users").unwrap(), 9000, &secrets);
        assert_eq!(users["BIND"], "127.0.0.1:8001");
        assert!(users["DATA_DIR"].ends_with("target/chefcito-native/users"));
        assert_eq!(users["INTERNAL_TOKEN"], gw["INTERNAL_TOKEN"]);
    }
}
