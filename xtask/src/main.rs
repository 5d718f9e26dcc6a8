//! `cargo xtask`: the Chefcito developer platform.
use clap::Parser;

#[derive(Parser)]
#[command(name = "cargo xtask", about = "The Chefcito developer platform")]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
