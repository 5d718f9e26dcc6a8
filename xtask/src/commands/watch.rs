//! `cargo xtask watch [SERVICE…] [--native]`: brings the cluster up, then rebuilds and
//! replaces only what each save affects (see [`crate::watch`]).

use anyhow::{Context, Result};
use tokio::signal::unix::{SignalKind, signal};

use crate::commands::up;
use crate::paths;
use crate::watch::{self, Options, graph::Graph};

#[derive(Debug, Clone, clap::Args)]
#[group(skip)] // `up::Args` is flattened in: two groups named `Args` would clash.
pub struct Args {
    #[command(flatten)]
    pub up: up::Args,
    /// Run the services as local processes (debug builds, data under
    /// target/chefcito-native/) instead of containers; they stop with the watch.
    #[arg(long)]
    pub native: bool,
}

pub async fn run(args: &Args) -> Result<()> {
    let root = paths::root();
    // Ctrl-C and SIGTERM stop the watch, not the process: the cluster is left as it is.
    let mut interrupt = signal(SignalKind::interrupt()).context("installing the Ctrl-C handler")?;
    let mut terminate =
        signal(SignalKind::terminate()).context("installing the SIGTERM handler")?;
    let stop = async move {
        tokio::select! { _ = interrupt.recv() => {}, _ = terminate.recv() => {} }
        println!();
    };
    let graph = Graph::load(&root)?;
    let (_watcher, changes) = watch::events::watch(&root, &graph)?;
    let options = Options {
        root,
        target_dir: paths::target_dir(),
        up: args.up.options(),
        native: args.native,
    };
    watch::run(options, changes, stop, None).await
}
