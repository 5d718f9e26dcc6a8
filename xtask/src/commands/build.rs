//! `cargo xtask build [SERVICE…]`: static release binaries, then one image per service.
//!
//! One `cargo build --release --locked --target x86_64-unknown-linux-gnu -p …` for all the
//! selected services, with `+crt-static` set through the target-specific RUSTFLAGS variable
//! of that command only (a global RUSTFLAGS or `.cargo/config.toml` would also apply to
//! proc-macros and build scripts, which cannot be static). Then, per service and in
//! parallel, [`crate::image::build`]. Images are tagged `chefcito-<svc>:latest` and
//! `chefcito-<svc>:<git short sha>[-dirty]`.

use anyhow::{Result, bail};
use indicatif::MultiProgress;
use xshell::cmd;

use crate::engine::{self, Engine};
use crate::image::{self, Image};
use crate::paths;
use crate::progress;
use crate::services::{self, Service};
use crate::util::human_bytes;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Args {
    /// Services to build (default: every service in xtask/src/services.rs).
    pub services: Vec<String>,
    /// Rebuild the images even when neither the binary nor the CONTAINERFILE changed.
    #[arg(long)]
    pub force: bool,
    /// Skip `cargo build` and package the binaries already in target/ (quick image
    /// iterations).
    #[arg(long)]
    pub no_cargo: bool,
}

pub async fn run(args: &Args) -> Result<Vec<(&'static Service, Image)>> {
    let selected = services::selected(&args.services)?;
    // Before minutes of compiling: is there an engine, and are the CONTAINERFILEs valid?
    let engine = Engine::connect().await?;
    let mut containerfiles = Vec::new();
    for s in &selected {
        containerfiles.push(read_containerfile(s)?);
    }
    if !args.no_cargo {
        let names: Vec<&'static str> = selected.iter().map(|s| s.name).collect();
        tokio::task::spawn_blocking(move || cargo_build_static(&names)).await??;
    }
    let version = version_tag();
    let width = selected.iter().map(|s| s.name.len()).max().unwrap_or(0);
    let multi = MultiProgress::new();
    let jobs = selected
        .iter()
        .zip(containerfiles)
        .map(|(s, containerfile)| {
            let bar = progress::line(&multi, s.name, width);
            let request = image::Request {
                service: s,
                repo: engine::image_repo(s.name),
                version: version.clone(),
                binary: paths::release_binary(s.name),
                containerfile,
                force: args.force,
            };
            let engine = &engine;
            let version = &version;
            async move {
                let result = image::build(engine, &request, &bar).await;
                match &result {
                    Ok(img) => {
                        let what = if img.rebuilt { "built" } else { "unchanged" };
                        let too_big = img.size > image::MAX_SIZE;
                        progress::finish(
                            &bar,
                            !too_big,
                            format!(
                                "{}:{version}  {}  {what} in {:.1}s{}",
                                request.repo,
                                human_bytes(img.size),
                                img.elapsed.as_secs_f64(),
                                if too_big {
                                    "  (larger than the 25 MB limit)"
                                } else {
                                    ""
                                }
                            ),
                        );
                    }
                    Err(_) => progress::finish(&bar, false, "failed".into()),
                }
                result.map(|img| (*s, img))
            }
        });
    let results = futures_util::future::join_all(jobs).await;
    let mut built = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(pair) => built.push(pair),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    for (s, img) in &built {
        if img.size > image::MAX_SIZE {
            errors.push(format!(
                "image chefcito-{} is {} (limit {}): check what the binary links in (`cargo bloat`), and that release builds are stripped",
                s.name,
                human_bytes(img.size),
                human_bytes(image::MAX_SIZE)
            ));
        }
    }
    if !errors.is_empty() {
        bail!("build failed:\n{}", errors.join("\n"));
    }
    Ok(built)
}

/// The service's CONTAINERFILE, validated.
pub fn read_containerfile(s: &Service) -> Result<String> {
    let path = paths::containerfile(s.name);
    let text = std::fs::read_to_string(&path).map_err(|e| {
        anyhow::anyhow!(
            "cannot read {}: {e}: every service needs one",
            path.display()
        )
    })?;
    crate::containerfile::validate(s, &text)?;
    Ok(text)
}

/// The variable and flags that make the image target's binaries static (for that target
/// only: build scripts and proc-macros cannot be static).
pub const STATIC_FLAGS: (&str, &str) = (
    "CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS",
    "-C target-feature=+crt-static",
);

/// The one release build of the selected services, static for the image target.
pub fn cargo_build_static(services: &[&str]) -> Result<()> {
    let sh = crate::cargo::shell()?;
    let _flags = sh.push_env(STATIC_FLAGS.0, STATIC_FLAGS.1);
    let packages: Vec<String> = services
        .iter()
        .flat_map(|s| ["-p".to_string(), s.to_string()])
        .collect();
    let target = paths::IMAGE_TARGET;
    crate::cargo::cmd(&sh, &["build", "--release", "--locked", "--target", target])
        .args(&packages)
        .run()
        .map_err(|e| {
            anyhow::anyhow!("{e}: fix the compile errors above, then run `cargo xtask build` again")
        })?;
    for s in services {
        crate::elf::check_static(&paths::release_binary(s))?;
    }
    Ok(())
}

/// `<git short sha>`, with `-dirty` when the work tree has uncommitted changes; `dev` outside
/// git.
pub fn version_tag() -> String {
    let Ok(sh) = crate::cargo::shell() else {
        return "dev".into();
    };
    let Ok(sha) = cmd!(sh, "git rev-parse --short HEAD")
        .quiet()
        .ignore_stderr()
        .read()
    else {
        return "dev".into();
    };
    let dirty = cmd!(sh, "git status --porcelain --untracked-files=no")
        .quiet()
        .ignore_stderr()
        .read()
        .map(|s| !s.trim().is_empty())
        .unwrap_or(false);
    if dirty { format!("{sha}-dirty") } else { sha }
}
