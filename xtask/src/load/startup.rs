//! Time from a service's process start to its first answer: each release binary (what the
//! images hold) is started on the loopback with an empty data directory, and `/health` is
//! asked every millisecond until it answers 200.
//!
//! Measured outside the containers: the engine's own start-up (namespaces, mounts) is not the
//! service's, and it is what `cargo xtask bench-platform` times.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::secrets::Secrets;
use crate::services::Service;

/// Longest a service may take before the measurement gives up.
const GIVE_UP: Duration = Duration::from_secs(10);

/// Whether a plain `GET /health` on `addr` answers 200.
fn healthy(addr: SocketAddr) -> bool {
    let Ok(mut stream) = TcpStream::connect_timeout(&addr, Duration::from_millis(50)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream
        .write_all(b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut head = [0u8; 12];
    stream.read_exact(&mut head).is_ok() && &head[9..12] == b"200"
}

/// Starts `service`'s release binary and returns the time to its first 200 on `/health`.
pub fn first_answer(service: &Service, secrets: &Secrets) -> Result<Duration> {
    let binary = crate::paths::release_binary(service.name);
    if !binary.exists() {
        bail!("{} is missing: run `cargo xtask build`", binary.display());
    }
    let data = tempfile_dir(service.name)?;
    let port = TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    // Dependencies point at the discard port: start-up must not wait for them.
    let mut env = service.environment("127.0.0.1", &data.display().to_string(), secrets, |_| {
        "127.0.0.1".into()
    });
    for (key, value) in env.iter_mut() {
        if key.ends_with("_URL") {
            *value = "http://127.0.0.1:9".into();
        }
    }
    env.insert("BIND".into(), addr.to_string());
    env.insert("LOG".into(), "warn".into());
    let started = Instant::now();
    let mut child = std::process::Command::new(&binary)
        .env_clear()
        .envs(&env)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .with_context(|| format!("starting {}", binary.display()))?;
    let outcome = loop {
        if healthy(addr) {
            break Ok(started.elapsed());
        }
        if let Ok(Some(status)) = child.try_wait() {
            break Err(anyhow::anyhow!(
                "{} exited at start: {status}",
                service.name
            ));
        }
        if started.elapsed() > GIVE_UP {
            break Err(anyhow::anyhow!(
                "{} did not answer /health within {GIVE_UP:?}",
                service.name
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&data);
    outcome
}

/// A fresh, empty data directory under the target directory.
fn tempfile_dir(service: &str) -> Result<std::path::PathBuf> {
    let dir = crate::paths::target_dir()
        .join("bench")
        .join(format!("startup-{service}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    Ok(dir)
}
