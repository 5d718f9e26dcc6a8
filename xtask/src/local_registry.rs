//! A throw-away container registry on the loopback, for the tests of `cargo xtask push`: the
//! distribution registry of Debian's `docker-registry` package, started on 127.0.0.1 on a
//! free port with its storage in a directory of its own under `target/`, and stopped (its
//! storage deleted) when dropped.
//!
//! The engine allows plain HTTP for registries on 127.0.0.0/8 (its default
//! `insecure-registries`), so no certificate is needed. Nothing here is for production:
//! production pushes go to the registry named by `--registry`.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use xshell::{Shell, cmd};

/// The Debian package, and the binary it installs.
pub const DEBIAN_PACKAGE: &str = "docker-registry";
pub const PROGRAM: &str = "docker-registry";

/// The registry binary: on the `PATH`, or where the Debian package puts it.
pub fn program() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(PROGRAM))
            .find(|p| p.is_file())
    });
    on_path.or_else(|| {
        let debian = Path::new("/usr/bin").join(PROGRAM);
        debian.is_file().then_some(debian)
    })
}

/// `docker-registry --version`, when installed.
pub fn version(sh: &Shell) -> Option<String> {
    let program = program()?;
    let out = cmd!(sh, "{program} --version")
        .quiet()
        .ignore_stderr()
        .read()
        .ok()?;
    // `/usr/bin/docker-registry github.com/docker/distribution 2.8.2+ds1`: the last word.
    out.split_whitespace().last().map(String::from)
}

/// Installs the Debian package (root, apt).
pub fn install(sh: &Shell) -> Result<()> {
    crate::apt::install(sh, DEBIAN_PACKAGE)
}

/// A running registry; stopped, and its storage deleted, on drop.
#[derive(Debug)]
pub struct LocalRegistry {
    child: Child,
    dir: PathBuf,
    /// `127.0.0.1:<port>`: the host part of image names pushed to it.
    pub address: String,
}

impl LocalRegistry {
    /// Starts a registry on a free loopback port and waits until it answers `GET /v2/`.
    pub async fn start() -> Result<LocalRegistry> {
        LocalRegistry::start_with(None).await
    }

    /// The same, accepting only `user` (basic authentication) whose password has the bcrypt
    /// hash `bcrypt` (`$2b$…`, as in an htpasswd file).
    pub async fn start_with_user(user: &str, bcrypt: &str) -> Result<LocalRegistry> {
        LocalRegistry::start_with(Some(format!("{user}:{bcrypt}\n"))).await
    }

    async fn start_with(htpasswd: Option<String>) -> Result<LocalRegistry> {
        let Some(program) = program() else {
            bail!(
                "docker-registry is not installed: run `cargo xtask install` (Debian package {DEBIAN_PACKAGE})"
            );
        };
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("finding a free port")?
            .port();
        let address = format!("127.0.0.1:{port}");
        let dir = crate::paths::target_dir()
            .join("tools/registries")
            .join(format!("{}-{port}", std::process::id()));
        std::fs::create_dir_all(dir.join("data"))
            .with_context(|| format!("creating {}", dir.display()))?;
        let mut yaml = config_yaml(&address, &dir.join("data"));
        if let Some(lines) = htpasswd {
            let file = dir.join("htpasswd");
            std::fs::write(&file, lines)?;
            yaml.push_str(&format!(
                "auth:\n  htpasswd:\n    realm: chefcito-test\n    path: {}\n",
                file.display()
            ));
        }
        let config = dir.join("config.yml");
        std::fs::write(&config, yaml).with_context(|| format!("writing {}", config.display()))?;
        let log = std::fs::File::create(dir.join("registry.log"))?;
        // A clean environment: the registry reads every REGISTRY_* variable as configuration,
        // and REGISTRY_USERNAME / REGISTRY_PASSWORD are push's credentials.
        let child = Command::new(&program)
            .arg("serve")
            .arg(&config)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()
            .with_context(|| format!("starting {}", program.display()))?;
        let mut registry = LocalRegistry {
            child,
            dir,
            address,
        };
        registry.wait_ready(Duration::from_secs(15)).await?;
        Ok(registry)
    }

    async fn wait_ready(&mut self, timeout: Duration) -> Result<()> {
        let url = format!("http://{}/v2/", self.address);
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(2))
            .build()?;
        let started = Instant::now();
        loop {
            // 401: it answers, and wants a user.
            if let Ok(answer) = http.get(&url).send().await
                && (answer.status().is_success() || answer.status().as_u16() == 401)
            {
                return Ok(());
            }
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "docker-registry exited ({status}) before answering on {}:\n{}",
                    self.address,
                    self.log()
                );
            }
            if started.elapsed() > timeout {
                bail!(
                    "docker-registry does not answer on {url} after {} s:\n{}",
                    timeout.as_secs(),
                    self.log()
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// What the registry printed so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("registry.log")).unwrap_or_default()
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The registry's configuration: loopback only, filesystem storage, no authentication (unless
/// an `auth:` section is appended).
fn config_yaml(address: &str, storage: &Path) -> String {
    format!(
        "version: 0.1\nlog:\n  level: warn\nstorage:\n  filesystem:\n    rootdirectory: {}\n  delete:\n    enabled: true\nhttp:\n  addr: {address}\n",
        storage.display()
    )
}
