//! One image: CONTAINERFILE checked, binary checked static, context packed in memory, sent to
//! the engine's classic builder, tagged. Skipped when the image tagged `latest` was built
//! from the very same context (its `chefcito.context-sha256` label).

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};
use bollard::query_parameters::{BuildImageOptions, RemoveImageOptions, TagImageOptions};
use futures_util::StreamExt;
use indicatif::ProgressBar;

use crate::engine::{self, Engine};
use crate::services::Service;

/// Images larger than this are reported as a failure (one static binary should never be).
// 25 MB: the gateway embeds Swagger UI's assets (~5 MB, served offline at /docs) on top of
// the 8–14 MB every service binary weighs.
pub const MAX_SIZE: u64 = 25_000_000;

/// What to build.
#[derive(Debug, Clone)]
pub struct Request {
    pub service: &'static Service,
    /// Repository, e.g. `chefcito-users`; tagged `:latest` and `:<version>`.
    pub repo: String,
    pub version: String,
    pub binary: PathBuf,
    /// The CONTAINERFILE's text (validated again here).
    pub containerfile: String,
    /// Rebuild even when the context did not change.
    pub force: bool,
}

/// What was done.
#[derive(Debug, Clone)]
pub struct Image {
    pub id: String,
    pub size: u64,
    pub rebuilt: bool,
    pub tags: Vec<String>,
    pub binary_sha256: String,
    pub elapsed: Duration,
}

/// Builds (or keeps) the image of `request`, reporting on `bar`.
pub async fn build(engine: &Engine, request: &Request, bar: &ProgressBar) -> Result<Image> {
    let started = Instant::now();
    let name = request.service.name;
    let containerfile = &request.containerfile;
    crate::containerfile::validate(request.service, containerfile)?;
    bar.set_message("checking the binary");
    let binary = std::fs::read(&request.binary).with_context(|| {
        format!(
            "cannot read {}: run `cargo xtask build {name}`",
            request.binary.display()
        )
    })?;
    crate::elf::check_static(&request.binary)?;
    let context = crate::context::pack(name, containerfile, &binary)?;
    let binary_sha256 = crate::util::sha256_hex(&binary);
    let latest = format!("{}:latest", request.repo);
    let previous = match engine.docker.inspect_image(&latest).await {
        Ok(image) => Some(image),
        Err(e) if engine::is_not_found(&e) => None,
        Err(e) => return Err(e).context("inspecting the current image"),
    };
    let unchanged = previous.as_ref().is_some_and(|p| {
        p.config
            .as_ref()
            .and_then(|c| c.labels.as_ref())
            .and_then(|l| l.get(engine::CONTEXT_SHA))
            == Some(&context.sha256)
    });
    let rebuilt = request.force || !unchanged;
    if rebuilt {
        bar.set_message("building");
        send(engine, request, &latest, context, &binary_sha256, bar).await?;
    }
    let (repo, tag) = (request.repo.clone(), request.version.clone());
    engine
        .docker
        .tag_image(
            &latest,
            Some(TagImageOptions {
                repo: Some(repo),
                tag: Some(tag),
            }),
        )
        .await
        .context("tagging the image")?;
    let image = engine
        .docker
        .inspect_image(&latest)
        .await
        .context("inspecting the new image")?;
    let id = image.id.unwrap_or_default();
    if let Some(old) = previous.and_then(|p| p.id).filter(|old| *old != id) {
        forget_if_untagged(engine, &old).await;
    }
    Ok(Image {
        id,
        size: image.size.unwrap_or_default().max(0) as u64,
        rebuilt,
        tags: image.repo_tags.unwrap_or_default(),
        binary_sha256,
        elapsed: started.elapsed(),
    })
}

/// Runs the engine build. Its errors arrive inside the 200 stream (`error`, `errorDetail`):
/// they fail the build with the builder's last lines for context.
async fn send(
    engine: &Engine,
    request: &Request,
    tag: &str,
    context: crate::context::Context,
    binary_sha256: &str,
    bar: &ProgressBar,
) -> Result<()> {
    let labels = HashMap::from([
        (
            engine::SERVICE.to_string(),
            request.service.name.to_string(),
        ),
        (engine::BINARY_SHA.to_string(), binary_sha256.to_string()),
        (engine::CONTEXT_SHA.to_string(), context.sha256.clone()),
    ]);
    let options = BuildImageOptions {
        dockerfile: crate::context::CONTAINERFILE.to_string(),
        t: Some(tag.to_string()),
        rm: true,
        forcerm: true,
        labels: Some(labels),
        ..Default::default()
    };
    let body = bollard::body_full(context.tar.into());
    let mut stream = engine.docker.build_image(options, None, Some(body));
    let mut lines: Vec<String> = Vec::new();
    while let Some(item) = stream.next().await {
        // bollard turns an `error` field of the stream into `DockerStreamError` itself; an
        // item that still carries one is handled the same way.
        let error = match item {
            Ok(info) => {
                let text = info.stream.as_deref().map(str::trim).unwrap_or_default();
                if !text.is_empty() {
                    bar.set_message(text.lines().last().unwrap_or_default().to_string());
                    lines.extend(text.lines().map(String::from));
                }
                info.error.or(info.error_detail.and_then(|d| d.message))
            }
            Err(bollard::errors::Error::DockerStreamError { error }) => Some(error),
            Err(e) => return Err(e).with_context(|| format!("the engine refused to build {tag}")),
        };
        if let Some(error) = error {
            let tail: Vec<&str> = lines
                .iter()
                .rev()
                .take(8)
                .rev()
                .map(String::as_str)
                .collect();
            bail!(
                "the engine failed to build {tag}: {error}\n  builder output:\n    {}\n  fix {} and run `cargo xtask build {}` again",
                tail.join("\n    "),
                crate::paths::containerfile(request.service.name).display(),
                request.service.name
            );
        }
    }
    Ok(())
}

/// A replaced image that no tag names any more is only clutter: remove it, unless a
/// container still uses it (the engine refuses, which is fine).
async fn forget_if_untagged(engine: &Engine, id: &str) {
    if let Ok(old) = engine.docker.inspect_image(id).await
        && old.repo_tags.unwrap_or_default().is_empty()
    {
        let _ = engine
            .docker
            .remove_image(id, None::<RemoveImageOptions>, None)
            .await;
    }
}
