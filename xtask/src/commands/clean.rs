//! `cargo xtask clean [--keep N] [--dry-run] [SERVICE…]`: removes the image tags that builds
//! and pushes pile up, and the images nothing names any more.
//!
//! Every `build` of a new commit adds a `chefcito-<svc>:<sha>` tag, and every `push` a
//! `<registry>/<svc>:<tag>` one. Per service, `clean`:
//!
//! * keeps the newest `--keep` images (by creation time, with all their tags), the image
//!   `chefcito-<svc>:latest` names, and every image a container uses (any project, running or
//!   not: `up` may need it again);
//! * removes the `chefcito-<svc>:*` tags of the other images;
//! * removes the registry-prefixed tags made by `push` (`<host>/…/<svc>:<tag>`) from every image
//!   not in use: they are only needed for the push itself, the registry keeps the image, and
//!   `push` makes them again;
//! * deletes the untagged (dangling) images of the service.
//!
//! The unit is the image, not the tag: an unchanged image carries the sha of every commit it
//! was built for, and those tags go together. Only images labelled `chefcito.service=<svc>` (as
//! `build` labels them) are looked at, and of their tags only the two forms above: an image
//! someone else tagged, or one without the label, is never touched. Nothing is forced: the
//! engine refuses to delete an image a container uses, and such a refusal is reported, not
//! fatal. An image is deleted by the engine when its last tag goes; the space it took is what
//! `clean` reports as reclaimed.

use std::collections::HashSet;

use anyhow::{Context, Result};
use bollard::query_parameters::{ListContainersOptions, ListImagesOptions, RemoveImageOptions};
use chrono::{DateTime, FixedOffset};

use crate::engine::{self, Engine};
use crate::services;
use crate::util::human_bytes;

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// How many of each service's newest images to keep, with all their tags (the image
    /// `latest` names and images used by containers are kept as well).
    #[arg(long, default_value_t = 3, value_name = "N")]
    pub keep: usize,
    /// Only print what would be removed.
    #[arg(long)]
    pub dry_run: bool,
    /// Services whose images to clean (default: every service in xtask/src/services.rs).
    pub services: Vec<String>,
}

/// The images of one service: labelled `chefcito.service=<service>`, tagged `<repo>:…`.
#[derive(Debug, Clone)]
pub struct Scope {
    pub service: String,
    pub repo: String,
}

impl Scope {
    pub fn of_service(service: &str) -> Scope {
        Scope {
            service: service.to_string(),
            repo: engine::image_repo(service),
        }
    }

    /// `chefcito-<svc>:<tag>`.
    fn is_local(&self, tag: &str) -> bool {
        repository_of(tag) == self.repo
    }

    /// `<host>/…/<svc>:<tag>`, as `push` makes them.
    fn is_pushed(&self, tag: &str) -> bool {
        let repository = repository_of(tag);
        repository.contains('/') && repository.rsplit('/').next() == Some(self.service.as_str())
    }
}

/// `repo` of `repo:tag` (a registry port is part of the repository, never the tag).
pub fn repository_of(reference: &str) -> &str {
    match reference.rsplit_once(':') {
        Some((repository, tag)) if !tag.contains('/') => repository,
        _ => reference,
    }
}

/// An image of the service, as the engine lists it.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub id: String,
    pub created: DateTime<FixedOffset>,
    pub tags: Vec<String>,
    pub size: u64,
}

/// Why a tag goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reason {
    /// A `chefcito-<svc>` tag of an image older than the newest N.
    Old,
    /// A registry-prefixed tag made by `push`.
    Pushed,
}

/// What `clean` does for one service.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Plan {
    /// Tags to remove, in order.
    pub untag: Vec<(String, Reason)>,
    /// Untagged images to delete, by id.
    pub delete: Vec<String>,
    /// Images that lose every tag, which the engine then deletes (what a dry run reports).
    pub freed: Vec<String>,
}

/// Decides what goes; `in_use` holds the image ids containers were created from.
pub fn plan(scope: &Scope, images: &[Candidate], in_use: &HashSet<String>, keep: usize) -> Plan {
    let latest = format!("{}:latest", scope.repo);
    let mut ours: Vec<&Candidate> = images
        .iter()
        .filter(|i| i.tags.iter().any(|t| scope.is_local(t)))
        .collect();
    ours.sort_by(|a, b| b.created.cmp(&a.created).then_with(|| b.id.cmp(&a.id)));
    let kept: HashSet<&str> = ours
        .iter()
        .enumerate()
        .filter(|(rank, i)| *rank < keep || i.tags.contains(&latest) || in_use.contains(&i.id))
        .map(|(_, i)| i.id.as_str())
        .collect();
    let mut out = Plan::default();
    for image in images {
        if in_use.contains(&image.id) {
            continue;
        }
        let tags: Vec<&String> = image
            .tags
            .iter()
            .filter(|t| t.as_str() != "<none>:<none>")
            .collect();
        if tags.is_empty() {
            out.delete.push(image.id.clone());
            continue;
        }
        let old = !kept.contains(image.id.as_str());
        let before = out.untag.len();
        for tag in &tags {
            if scope.is_pushed(tag) {
                out.untag.push((tag.to_string(), Reason::Pushed));
            } else if old && scope.is_local(tag) {
                out.untag.push((tag.to_string(), Reason::Old));
            }
        }
        if out.untag.len() - before == tags.len() {
            out.freed.push(image.id.clone());
        }
    }
    out
}

/// What was (or, in a dry run, would be) done.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub untagged: Vec<String>,
    /// Ids of the images the engine deleted.
    pub deleted: Vec<String>,
    pub reclaimed: u64,
    /// What the engine refused (an image in use), with its answer.
    pub refused: Vec<String>,
}

pub async fn run(args: &Args) -> Result<()> {
    let selected = services::selected(&args.services)?;
    let engine = Engine::connect().await?;
    let scopes: Vec<Scope> = selected.iter().map(|s| Scope::of_service(s.name)).collect();
    let report = clean(&engine, &scopes, args.keep, args.dry_run, true).await?;
    let verb = if args.dry_run {
        "would remove"
    } else {
        "removed"
    };
    println!(
        "{verb} {} and {}, {} reclaimed{}",
        count(report.untagged.len(), "tag"),
        count(report.deleted.len(), "image"),
        human_bytes(report.reclaimed),
        if report.refused.is_empty() {
            String::new()
        } else {
            format!("; {} refused by the engine (in use)", report.refused.len())
        }
    );
    Ok(())
}

/// Cleans the images of `scopes`, printing each removal when `verbose`.
pub async fn clean(
    engine: &Engine,
    scopes: &[Scope],
    keep: usize,
    dry_run: bool,
    verbose: bool,
) -> Result<Report> {
    let in_use = images_in_use(engine).await?;
    let mut report = Report::default();
    for scope in scopes {
        let images = candidates(engine, scope).await?;
        let plan = plan(scope, &images, &in_use, keep);
        let size_of = |id: &str| images.iter().find(|i| i.id == id).map_or(0, |i| i.size);
        let steps = plan
            .untag
            .iter()
            .map(|(tag, reason)| (tag.clone(), Some(*reason)))
            .chain(plan.delete.iter().map(|id| (id.clone(), None)));
        if dry_run {
            for id in plan.delete.iter().chain(&plan.freed) {
                report.deleted.push(id.clone());
                report.reclaimed += size_of(id);
            }
        }
        for (name, reason) in steps {
            let shown = match reason {
                Some(_) => name.clone(),
                None => format!("image {}", short(&name)),
            };
            let why = match reason {
                Some(Reason::Old) => format!("older than the newest {keep}"),
                Some(Reason::Pushed) => "registry tag made by push".into(),
                None => "untagged".into(),
            };
            if dry_run {
                if verbose {
                    println!("would remove {shown} ({why})");
                }
                if reason.is_some() {
                    report.untagged.push(name);
                }
                continue;
            }
            let options = RemoveImageOptions {
                force: false,
                noprune: false,
            };
            match engine.docker.remove_image(&name, Some(options), None).await {
                Ok(items) => {
                    if reason.is_some() {
                        report.untagged.push(name.clone());
                    }
                    let deleted: Vec<String> = items
                        .into_iter()
                        .filter_map(|i| i.deleted)
                        .filter(|d| images.iter().any(|i| i.id == *d))
                        .collect();
                    if verbose {
                        println!("removed {shown} ({why})");
                    }
                    for id in deleted {
                        let size = size_of(&id);
                        if verbose {
                            println!("  deleted image {} ({})", short(&id), human_bytes(size));
                        }
                        report.reclaimed += size;
                        report.deleted.push(id);
                    }
                }
                Err(e) if engine::is_not_found(&e) => {}
                Err(bollard::errors::Error::DockerResponseServerError {
                    status_code: 409,
                    message,
                }) => {
                    if verbose {
                        println!("kept {shown}: the engine refused ({message})");
                    }
                    report.refused.push(format!("{shown}: {message}"));
                }
                Err(e) => return Err(e).with_context(|| format!("removing {name}")),
            }
        }
    }
    Ok(report)
}

/// The images of `scope`, tagged or not.
async fn candidates(engine: &Engine, scope: &Scope) -> Result<Vec<Candidate>> {
    let filters = std::collections::HashMap::from([(
        "label".to_string(),
        vec![format!("{}={}", engine::SERVICE, scope.service)],
    )]);
    let listed = engine
        .docker
        .list_images(Some(ListImagesOptions {
            filters: Some(filters),
            ..Default::default()
        }))
        .await
        .context("listing images")?;
    let mut out = Vec::new();
    for summary in listed {
        // The list has seconds; the inspection has nanoseconds, which orders images built
        // within the same second.
        let created = match engine.docker.inspect_image(&summary.id).await {
            Ok(i) => i
                .created
                .as_deref()
                .and_then(|c| DateTime::parse_from_rfc3339(c).ok()),
            Err(e) if engine::is_not_found(&e) => continue,
            Err(e) => return Err(e).context("inspecting an image"),
        };
        let created = created
            .or_else(|| DateTime::from_timestamp(summary.created, 0).map(|t| t.fixed_offset()))
            .unwrap_or_default();
        out.push(Candidate {
            id: summary.id,
            created,
            tags: summary.repo_tags,
            size: summary.size.max(0) as u64,
        });
    }
    Ok(out)
}

/// Ids of the images that containers (of any project, in any state) were created from.
async fn images_in_use(engine: &Engine) -> Result<HashSet<String>> {
    let containers = engine
        .docker
        .list_containers(Some(ListContainersOptions {
            all: true,
            ..Default::default()
        }))
        .await
        .context("listing containers")?;
    Ok(containers.into_iter().filter_map(|c| c.image_id).collect())
}

/// `1 tag`, `2 tags`.
fn count(n: usize, what: &str) -> String {
    if n == 1 {
        format!("1 {what}")
    } else {
        format!("{n} {what}s")
    }
}

fn short(id: &str) -> &str {
    let hex = id.strip_prefix("sha256:").unwrap_or(id);
    &hex[..hex.len().min(12)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image(id: &str, second: u32, tags: &[&str]) -> Candidate {
        Candidate {
            id: id.into(),
            created: DateTime::parse_from_rfc3339(&format!("2026-01-01T00:00:{second:02}Z"))
                .unwrap(),
            tags: tags.iter().map(|t| t.to_string()).collect(),
            size: 1000,
        }
    }

    #[test]
    fn repositories_of_references() {
        assert_eq!(repository_of("chefcito-users:abc"), "chefcito-users");
        assert_eq!(
            repository_of("127.0.0.1:5000/test/users:abc"),
            "127.0.0.1:5000/test/users"
        );
        assert_eq!(
            repository_of("127.0.0.1:5000/users"),
            "127.0.0.1:5000/users"
        );
    }

    #[test]
    fn keeps_the_newest_latest_and_in_use_and_drops_pushed_tags() {
        let scope = Scope::of_service("points");
        let images = [
            image("a", 1, &["chefcito-points:a1", "r.io/staging/points:a1"]),
            image("b", 2, &["chefcito-points:b1"]),
            image("c", 3, &["chefcito-points:c1", "chefcito-points:latest"]),
            image("d", 4, &["chefcito-points:d1", "chefcito-points:d2"]),
            image("e", 5, &["chefcito-points:e1", "r.io/points:e1", "mine:x"]),
            image("u", 0, &["chefcito-points:u1", "r.io/points:u1"]),
            image("n", 0, &["<none>:<none>"]),
            image("m", 0, &[]),
            image("o", 6, &["r.io/other:z", "chefcito-pointsx:1"]),
        ];
        let in_use = HashSet::from(["u".to_string(), "m".to_string()]);
        let p = plan(&scope, &images, &in_use, 2);
        let untag: Vec<(&str, Reason)> = p.untag.iter().map(|(t, r)| (t.as_str(), *r)).collect();
        assert_eq!(
            untag,
            [
                ("chefcito-points:a1", Reason::Old),
                ("r.io/staging/points:a1", Reason::Pushed),
                ("chefcito-points:b1", Reason::Old),
                ("r.io/points:e1", Reason::Pushed),
            ]
        );
        assert_eq!(p.delete, ["n"]);
        assert_eq!(p.freed, ["a", "b"]);
        // Keeping more than there is removes only the pushed tags.
        let p = plan(&scope, &images, &in_use, 10);
        assert!(p.untag.iter().all(|(_, r)| *r == Reason::Pushed), "{p:?}");
    }
}
