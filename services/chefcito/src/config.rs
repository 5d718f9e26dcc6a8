//! Configuration shared by every service binary.
//!
//! Each service reads one `Config` struct from the environment with clap's `env` attributes
//! (so `--help` documents every variable and its default) and flattens [`ServeArgs`] into it.

use std::net::SocketAddr;
use std::path::PathBuf;

/// A secret value: never printed by `Debug` or `Display`, so it cannot end up in a log line.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The value itself, for the one place that must send or compare it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl std::str::FromStr for Secret {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Secret(s.to_string()))
    }
}

/// Options every service binary has.
#[derive(Debug, Clone, clap::Args)]
pub struct ServeArgs {
    /// Address and port to listen on.
    #[arg(long, env = "BIND")]
    pub bind: Option<SocketAddr>,
    /// Directory holding the service's SQLite database and keys.
    #[arg(long, env = "DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,
    /// Shared secret that internal calls carry in `x-chefcito-internal-token`. When set, an
    /// internal service answers 401 to calls without it; the cluster generates one.
    #[arg(long, env = "INTERNAL_TOKEN", hide_env_values = true)]
    pub internal_token: Option<Secret>,
    /// Log filter, e.g. `info` or `users=debug,tower_http=info`.
    #[arg(long, env = "LOG", default_value = "info")]
    pub log: String,
    /// Log format: `text` or `json`.
    #[arg(long, env = "LOG_FORMAT", default_value = "text")]
    pub log_format: String,
}

impl ServeArgs {
    /// The bind address, or the service's default port on all interfaces.
    pub fn addr(&self, default_port: u16) -> SocketAddr {
        self.bind
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], default_port)))
    }
}

/// Default ports, one per service, so that every service can run side by side on one host
/// without configuration (native mode) and the cluster can use the same numbers.
pub mod ports {
    pub const GATEWAY: u16 = 8000;
    pub const USERS: u16 = 8001;
    pub const RESERVATIONS: u16 = 8002;
    pub const VENUES: u16 = 8003;
    pub const OPINIONS: u16 = 8004;
    pub const SUMMARIES: u16 = 8005;
    pub const STATS: u16 = 8006;
    pub const POINTS: u16 = 8007;
    pub const COMMUNICATIONS: u16 = 8008;
}
