//! # xtask — the Chefcito developer platform
//!
//! `cargo xtask <command>` (the alias is in `.cargo/config.toml`) replaces the original
//! `chefcito` CLI and drives the local Docker Engine through its API (bollard; never the
//! `docker` CLI):
//!
//! | command | what it does |
//! |---|---|
//! | `build [SERVICE…]` | static release binaries, then one FROM-scratch image per service |
//! | `up [SERVICE…]` | the cluster: network, volumes, containers in dependency order, gated on health |
//! | `down [--volumes]` | removes containers and network; keeps the data unless asked |
//! | `run [--native]` | `build` then `up`; local processes when there is no engine |
//! | `status` / `logs [-f]` | the cluster at a glance / merged, prefixed, coloured output |
//! | `install [--check]` | checks toolchain and engine, fetches crates |
//! | `load-db --from-file F` | validates a permissions file and loads it into users |
//! | `test [--e2e]` | fmt, clippy, every test; with `--e2e` (or `CI=true`) the Docker and journey tests |
//! | `bench-platform` | times up, no-op up, no-op build and down |
//! | `bench-load` | req/s and latency of the gateway's hot paths on a running cluster |
//!
//! The table of services is [`services::SERVICES`]; everything else reads it. Objects on the
//! engine are labelled `chefcito.project=<project>` and nothing without that label is ever
//! touched. Cluster secrets: see [`secrets`].

pub mod cargo;
pub mod cluster;
pub mod commands;
pub mod containerfile;
pub mod context;
pub mod elf;
pub mod engine;
pub mod fuzz;
pub mod image;
pub mod native;
pub mod paths;
pub mod permissions;
pub mod progress;
pub mod secrets;
pub mod services;
pub mod util;

use clap::{Parser, Subcommand};

use commands::*;

#[derive(Debug, Parser)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "The Chefcito developer platform: build images, run the cluster, load permissions, test",
    long_about = "The Chefcito developer platform.\n\nFirst time: `cargo xtask install`, then `cargo xtask run` (builds the images and starts the cluster on http://127.0.0.1:8000). Tests: `cargo xtask test` (add --e2e for the Docker and journey tests)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Compile static release binaries and build one FROM-scratch image per service.
    ///
    /// One `cargo build --release --locked --target x86_64-unknown-linux-gnu` with +crt-static,
    /// a check that each binary is static, then one image per service from an in-memory context
    /// (containerfiles/<svc>/CONTAINERFILE and the binary), tagged chefcito-<svc>:latest and
    /// :<git short sha>[-dirty]. An image whose inputs did not change is kept as it is.
    Build(build::Args),
    /// Start the cluster (or bring it up to date): network, volumes, containers gated on health.
    ///
    /// Needs the images (`cargo xtask build`). Containers start in dependency order, each level
    /// once the previous one is healthy; only the gateway is published, on 127.0.0.1:8000 by
    /// default. Running it again keeps unchanged containers, recreates changed ones and removes
    /// containers of services that no longer exist. Ends with the status table and the URL.
    Up(up::Args),
    /// Stop and remove the cluster's containers and network (volumes kept unless --volumes).
    ///
    /// The data of stateful services stays in their volumes for the next `up`; `--volumes`
    /// deletes it together with the cluster's secrets.
    Down(down::Args),
    /// Build, then up: the main command. Without a Docker Engine, runs local processes instead.
    ///
    /// Native mode (no engine, or --native): debug builds run on 127.0.0.1 with their data
    /// under target/chefcito-native/<project>/, logs merged in the terminal; Ctrl-C stops them
    /// all.
    Run(run::Args),
    /// Show each service's state, health, published URL and image.
    Status(status::Args),
    /// Show the services' logs, merged and prefixed.
    Logs(logs::Args),
    /// Prepare this machine: check toolchain, components and engine, fetch crates.
    Install(install::Args),
    /// Validate a permissions file (db_config.yaml) and load it into the users service.
    ///
    /// The whole file is checked first; any problem is listed with its entry and nothing is
    /// written. Then the running users service of --project replaces its table in one
    /// transaction (or --db writes a users database file directly). Prints the rows added and
    /// removed and the table's new version.
    LoadDb(load_db::Args),
    /// Run the checks and tests (what CI runs); --e2e adds the Docker and journey tests.
    ///
    /// cargo fmt --check, clippy -D warnings, cargo nextest run. With --e2e or CI=true also:
    /// build the images, the Docker tests of xtask, and the client journeys against an isolated
    /// cluster on ephemeral ports, removed afterwards with its volumes.
    Test(test::Args),
    /// Time `up`, a no-op `up`, a no-op `build` and `down` on an isolated cluster.
    BenchPlatform(bench::Args),
    /// Load the gateway's hot paths on a running cluster: req/s and latency percentiles.
    ///
    /// Signs up and registers --users users (not measured), then runs each scenario for
    /// --duration seconds with --concurrency workers on one keep-alive client: `health`
    /// (GET /health), `profile` (GET /users with a token), `anonymous-refused` (GET /users
    /// without one: 401) and `signin` (argon2id, at most 4 at once). Targets the published
    /// gateway of --project's Docker cluster, or --url (127.0.0.1, localhost or [::1] only).
    /// Prints requests, errors, req/s and p50/p90/p99/max per scenario; --json PATH also
    /// writes them. Fails when any answer had an unexpected status.
    BenchLoad(bench_load::Args),
    /// What CI runs: `install --check`, then `test --e2e`.
    Ci(ci::Args),
}

/// Runs a parsed command line.
pub async fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Build(a) => build::run(&a).await.map(drop),
        Command::Up(a) => up::run(&a).await.map(drop),
        Command::Down(a) => down::run(&a).await.map(drop),
        Command::Run(a) => run::run(&a).await,
        Command::Status(a) => status::run(&a).await,
        Command::Logs(a) => logs::run(&a).await,
        Command::Install(a) => install::run(&a).await,
        Command::LoadDb(a) => load_db::run(&a).await.map(drop),
        Command::Test(a) => test::run(&a).await,
        Command::BenchPlatform(a) => bench::run(&a).await,
        Command::BenchLoad(a) => bench_load::run(&a).await,
        Command::Ci(a) => ci::run(&a).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_command_line_is_well_formed() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
        for line in [
            "cargo xtask run --native --port 9000",
            "cargo xtask up gateway --project two --ephemeral-ports --env gateway:LOG=debug",
            "cargo xtask down --volumes --project two",
            "cargo xtask load-db --from-file db_config.yaml --url http://127.0.0.1:8001",
            "cargo xtask logs users -f",
            "cargo xtask build users --force",
            "cargo xtask bench-load --project bench --scenario profile --duration 5 --json r.json",
            "cargo xtask bench-load --url http://127.0.0.1:8000 --concurrency 8",
        ] {
            let words = line.split_whitespace().skip(1);
            Cli::try_parse_from(words).unwrap_or_else(|e| panic!("{line}: {e}"));
        }
        assert!(Cli::try_parse_from(["xtask", "up", "--port", "1", "--ephemeral-ports"]).is_err());
        // The database is the users service's alone: load-db talks to the running service.
        assert!(
            Cli::try_parse_from(["xtask", "load-db", "--from-file", "f", "--db", "x"]).is_err()
        );
    }
}
