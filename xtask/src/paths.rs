//! Where things are: the workspace, the target directory and xtask's own state in it.

use std::path::{Path, PathBuf};

/// The workspace root (xtask lives one level below it).
pub fn root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Cargo's target directory, honouring `CARGO_TARGET_DIR` like cargo does.
pub fn target_dir() -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) => root().join(dir),
        None => root().join("target"),
    }
}

/// The target triple images are built for (also the binaries' directory under `target/`).
pub const IMAGE_TARGET: &str = "x86_64-unknown-linux-gnu";

/// The static release binary of a service, as `build` leaves it.
pub fn release_binary(service: &str) -> PathBuf {
    target_dir()
        .join(IMAGE_TARGET)
        .join("release")
        .join(service)
}

/// The debug binary of a service, as native mode runs it.
pub fn debug_binary(service: &str) -> PathBuf {
    target_dir().join("debug").join(service)
}

/// State kept for a cluster between commands (its secrets): `target/chefcito/<project>/`.
pub fn cluster_dir(project: &str) -> PathBuf {
    target_dir().join("chefcito").join(project)
}

/// Native mode's state for a project: data directories and secrets,
/// `target/chefcito-native/<project>/`.
pub fn native_dir(project: &str) -> PathBuf {
    target_dir().join("chefcito-native").join(project)
}

/// `containerfiles/<svc>/CONTAINERFILE`.
pub fn containerfile(service: &str) -> PathBuf {
    root()
        .join("containerfiles")
        .join(service)
        .join("CONTAINERFILE")
}
