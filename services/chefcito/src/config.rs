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

/// `INTERNAL_TOKEN`: anything but empty or blank (fails closed: an empty token would let in a
/// request with an empty header).
fn internal_token(value: &str) -> Result<Secret, String> {
    if value.trim().is_empty() {
        return Err("the internal token must not be empty: unset INTERNAL_TOKEN or give it a value (the cluster generates one)".into());
    }
    Ok(Secret::new(value))
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
    /// internal service answers 401 to calls without it; the cluster generates one. Every
    /// service, the gateway too, serves `/metrics` only to callers presenting it (as
    /// `Authorization: Bearer <token>`).
    /// An empty value is refused at start: it would match a request with an empty header.
    #[arg(long, env = "INTERNAL_TOKEN", hide_env_values = true, value_parser = internal_token)]
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

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        serve: ServeArgs,
    }

    #[test]
    fn an_empty_internal_token_is_refused_not_taken_as_a_token() {
        for empty in ["", "  "] {
            let e = Cli::try_parse_from(["svc", "--internal-token", empty]).unwrap_err();
            assert!(e.to_string().contains("must not be empty"), "{e}");
        }
        let cli = Cli::try_parse_from(["svc", "--internal-token", "s3cret"]).unwrap();
        assert_eq!(cli.serve.internal_token, Some(Secret::new("s3cret")));
    }
}
