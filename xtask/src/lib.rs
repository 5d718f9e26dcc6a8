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
//! | `watch [SERVICE…] [--native]` | `run`, then rebuilds and replaces only what each save affects |
//! | `status` / `logs [-f]` | the cluster at a glance / merged, prefixed, coloured output |
//! | `install [--check]` | checks toolchain and engine, fetches crates |
//! | `load-db --from-file F` | validates a permissions file and loads it into users |
//! | `test [--e2e]` | fmt, clippy, every test; with `--e2e` (or `CI=true`) the Docker and journey tests |
//! | `bench-platform` | times up, no-op up, no-op build and down, and `watch`'s save to serving |
//! | `push --registry HOST[/PREFIX]` | tags the current build's images `<registry>/<svc>:<tag>` and `:latest`, pushes them, prints the digests |
//! | `clean [--keep N]` | removes old `chefcito-<svc>:<sha>` tags (keeps the newest N, `latest`, what containers use) and push's registry tags |
//! | `services` | the service names, one per line (for scripts and the deploy workflow) |
//! | `seed [--venues N] [--reservations M]` | demo data through the public API of a running cluster |
//! | `bench [WORKLOAD…]` | throughput, latency and memory under `wrk` on a seeded, isolated cluster |
//!
//! The table of services is [`services::SERVICES`]; everything else reads it. Objects on the
//! engine are labelled `chefcito.project=<project>` and nothing without that label is ever
//! touched. Cluster secrets: see [`secrets`].

pub mod actionlint;
pub mod apt;
pub mod cargo;
pub mod cluster;
pub mod commands;
pub mod containerfile;
pub mod context;
pub mod elf;
pub mod engine;
pub mod fuzz;
pub mod image;
pub mod kubectl;
pub mod load;
pub mod local_registry;
pub mod native;
pub mod paths;
pub mod permissions;
pub mod progress;
pub mod pytool;
pub mod secrets;
pub mod services;
pub mod util;
pub mod watch;

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
    /// Bring the cluster up, then rebuild and replace only what each saved file affects.
    ///
    /// A change under services/chefcito rebuilds every service; under services/<svc>, that
    /// service and the crates built from it; a CONTAINERFILE, its image; db_config.yaml is
    /// applied to users without a build. Only the affected containers are replaced (gated on
    /// health; the others keep running and keep their data), and the merged logs stream in
    /// between. A failed build changes nothing that runs and prints its errors once; a save
    /// during a build restarts it. Ctrl-C stops watching and leaves the cluster running.
    /// --native: local processes (debug builds), restarted one by one.
    Watch(commands::watch::Args),
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
    /// Time `up`, a no-op `up`, a no-op `build` and `down` on an isolated cluster, then
    /// `watch`'s save to serving on a scratch copy of the workspace.
    BenchPlatform(bench::Args),
    /// Fill a running cluster with demo data through its public API.
    ///
    /// Restaurants (one venue each, spread over Buenos Aires with random characteristics and
    /// features), diners (one per 100 bookings), and bookings spread over the venues and the
    /// next four weeks. Targets --project's Docker cluster or --url. The accounts and their
    /// tokens are written to target/chefcito/<project>/seed.json.
    Seed(seed::Args),
    /// Benchmark the gateway with wrk on a fresh, seeded cluster; prints and saves the table.
    ///
    /// Builds the images, brings up an isolated cluster (--project, default `bench`, fresh
    /// volumes; the gateway published on the project network's host address, which the
    /// kernel forwards: --loopback uses 127.0.0.1 and the engine's proxy, as `up` does), times
    /// each service's first answer, seeds 1,000 venues and 10,000 reservations, waits for the
    /// cluster to be idle before each workload, then runs it for --duration seconds after a
    /// --warmup, with --connections
    /// connections: venue-by-id, venues-page, search, near-me, book, venue-reservations and
    /// sign-in (argon2id, reported apart). Prints requests/s, p50/p99/p99.9, errors and the
    /// target per workload, and each service's RSS idle, at its peak and after; writes the same
    /// JSON to target/bench/. Needs wrk (`cargo xtask install`). --native runs the same
    /// release binaries as local processes instead of containers; --scale repeats the reads at
    /// 100,000 venues and 1,000,000 reservations; --url measures a running gateway instead;
    /// --keep leaves the cluster up.
    Bench(bench_load::Args),
    /// Push the current build's images to a registry: `<registry>/<svc>:<tag>` and `:latest`.
    ///
    /// Tags each local image chefcito-<svc>:<local tag> (default: the current commit's short
    /// sha, as `build` tags it; a `-dirty` build is refused unless --allow-dirty) as
    /// <registry>/<svc>:<tag> (default tag: the local one; CI passes the full commit sha) and
    /// <registry>/<svc>:latest (unless --no-latest), and pushes both through the engine, one
    /// progress line per image. Every image must exist first (`cargo xtask build`). Credentials
    /// from REGISTRY_USERNAME / REGISTRY_PASSWORD, or GATEWAY_REGISTRY_USERNAME /
    /// GATEWAY_REGISTRY_PASSWORD; none: an anonymous push (a registry on 127.0.0.1). Prints the
    /// manifest digest of each pushed image.
    Push(push::Args),
    /// Remove old image tags: keep each service's newest --keep images, `latest` and what
    /// containers use.
    ///
    /// Only images labelled chefcito.service=<svc> are looked at: their chefcito-<svc>:<sha>
    /// tags beyond the newest --keep images (default 3; the image `latest` names and images
    /// used by any container are always kept) are removed, so are the <registry>/…/<svc>:<tag>
    /// tags `push` made (the registry has the image) and the service's untagged images. The
    /// engine deletes an image once its last tag goes; prints each removal and the space
    /// reclaimed. --dry-run only prints.
    Clean(clean::Args),
    /// Print the service names, one per line (what `build` and `push` work on).
    Services(service_list::Args),
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
        Command::Watch(a) => commands::watch::run(&a).await,
        Command::Status(a) => status::run(&a).await,
        Command::Logs(a) => logs::run(&a).await,
        Command::Install(a) => install::run(&a).await,
        Command::LoadDb(a) => load_db::run(&a).await.map(drop),
        Command::Test(a) => test::run(&a).await,
        Command::BenchPlatform(a) => bench::run(&a).await,
        Command::Seed(a) => seed::run(&a).await,
        Command::Bench(a) => bench_load::run(&a).await,
        Command::Push(a) => push::run(&a).await.map(drop),
        Command::Clean(a) => clean::run(&a).await,
        Command::Services(a) => service_list::run(&a),
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
            "cargo xtask watch venues --native --project two",
            "cargo xtask watch --ephemeral-ports",
            "cargo xtask up gateway --project two --ephemeral-ports --env gateway:LOG=debug",
            "cargo xtask down --volumes --project two",
            "cargo xtask load-db --from-file db_config.yaml --url http://127.0.0.1:8001",
            "cargo xtask logs users -f",
            "cargo xtask build users --force",
            "cargo xtask push --registry chefcitoacr.azurecr.io/staging --tag 0123abc points",
            "cargo xtask push --registry 127.0.0.1:5000 --local-tag 0123abc --no-latest",
            "cargo xtask clean --keep 1 --dry-run users",
            "cargo xtask services",
            "cargo xtask bench venue-by-id book --duration 5 --keep",
            "cargo xtask bench --url http://127.0.0.1:8000 --connections 8",
            "cargo xtask seed --venues 10 --reservations 0 --project two",
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
