//! `cargo xtask push --registry HOST[/PREFIX] [--tag TAG] [SERVICE…]`: copies the images that
//! `cargo xtask build` made to a registry, through the engine (bollard), with a progress line
//! per image and the pushed manifest digests at the end.
//!
//! The local image `chefcito-<svc>:<local tag>` (default: the current commit's short sha, the
//! tag `build` gives it) is tagged `<registry>/<svc>:<tag>` and `<registry>/<svc>:latest`, and
//! both are pushed. CI passes the full commit sha as `--tag`, so the manifests can name an
//! image that the next commit does not overwrite; `--no-latest` leaves `latest` where it is
//! (pushing an older build, or a pull request's).
//!
//! Credentials come from the environment, never from a flag (a flag ends up in shell history
//! and process listings): `REGISTRY_USERNAME` / `REGISTRY_PASSWORD`, or the original project's
//! secret names `GATEWAY_REGISTRY_USERNAME` / `GATEWAY_REGISTRY_PASSWORD`. Without them the push
//! is anonymous, which a registry on the loopback accepts. The engine does not read the docker
//! CLI's `~/.docker/config.json`: a `docker login` does not help here.
//!
//! The registry-prefixed tags stay on the local images after the push (like the docker CLI
//! leaves them); `cargo xtask clean` removes them.

use std::time::Instant;

use anyhow::{Context, Result, bail};
use bollard::auth::DockerCredentials;
use bollard::query_parameters::{PushImageOptions, TagImageOptions};
use futures_util::StreamExt;
use indicatif::{MultiProgress, ProgressBar};

use crate::commands::build;
use crate::engine::{self, Engine};
use crate::progress;
use crate::services;
use crate::util::{human_bytes, table};

#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Where to push: a registry host (with its port, if any) and an optional path prefix, e.g.
    /// `chefcitoacr.azurecr.io/staging` or `127.0.0.1:5000`. Images go to
    /// `<registry>/<svc>:<tag>`. The host must contain a `.` or a `:` or be `localhost`
    /// (otherwise the engine would read it as a Docker Hub account).
    #[arg(long, value_name = "HOST[/PREFIX]")]
    pub registry: String,
    /// The tag in the registry (default: the local tag). CI passes the full commit sha.
    #[arg(long)]
    pub tag: Option<String>,
    /// Which local images to push: `chefcito-<svc>:<LOCAL_TAG>` (default: the current commit's
    /// short sha, as `cargo xtask build` tags its images).
    #[arg(long)]
    pub local_tag: Option<String>,
    /// Do not also tag and push `<registry>/<svc>:latest` (pushing an older build, or one that
    /// should not become the registry's `latest`).
    #[arg(long)]
    pub no_latest: bool,
    /// Push images built from a work tree with uncommitted changes (tagged `<sha>-dirty`);
    /// refused by default, since no commit describes what is in them.
    #[arg(long)]
    pub allow_dirty: bool,
    /// Services to push (default: every service in xtask/src/services.rs).
    pub services: Vec<String>,
}

/// Environment variables holding the registry's user name and password, in order of
/// preference: ours, then the original project's GitHub secret names.
pub const CREDENTIAL_VARS: [(&str, &str); 2] = [
    ("REGISTRY_USERNAME", "REGISTRY_PASSWORD"),
    ("GATEWAY_REGISTRY_USERNAME", "GATEWAY_REGISTRY_PASSWORD"),
];

/// A registry and the path prefix images go under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Registry {
    /// `host[:port]`, what credentials are for.
    pub host: String,
    /// `staging`, `team/production`, or empty.
    pub prefix: String,
}

impl Registry {
    /// Parses `HOST[:PORT][/PREFIX]`, refusing what the engine would read differently.
    pub fn parse(text: &str) -> Result<Registry> {
        let text = text.trim().trim_end_matches('/');
        if text.contains("://") {
            bail!(
                "--registry {text}: give the host without a scheme, e.g. `chefcitoacr.azurecr.io/staging` (the engine picks https, or http for a registry on 127.0.0.0/8)"
            );
        }
        let (host, prefix) = text.split_once('/').unwrap_or((text, ""));
        let host_ok = !host.is_empty()
            && (host.contains('.') || host.contains(':') || host == "localhost")
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b));
        if !host_ok {
            bail!(
                "--registry {text}: `{host}` is not a registry host: it needs a `.` or a `:` (e.g. `chefcitoacr.azurecr.io`, `127.0.0.1:5000`) or to be `localhost`; a bare name would push to Docker Hub"
            );
        }
        if !prefix.is_empty() && !prefix.split('/').all(path_component_ok) {
            bail!(
                "--registry {text}: the path `{prefix}` must be lower-case letters and digits, separated by `/`, `.`, `_` or `-`"
            );
        }
        Ok(Registry {
            host: host.to_string(),
            prefix: prefix.to_string(),
        })
    }

    /// `<host>/<prefix>/<svc>`: the repository of a service.
    pub fn repository(&self, service: &str) -> String {
        if self.prefix.is_empty() {
            format!("{}/{service}", self.host)
        } else {
            format!("{}/{}/{service}", self.host, self.prefix)
        }
    }
}

/// One component of a repository path, as the distribution spec allows it.
fn path_component_ok(part: &str) -> bool {
    let bytes = part.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    bytes.first().is_some_and(alnum)
        && bytes.last().is_some_and(alnum)
        && bytes.iter().all(|b| alnum(b) || b"._-".contains(b))
}

/// Refuses tags the engine would refuse (or read as something else).
pub fn check_tag(tag: &str) -> Result<()> {
    let bytes = tag.as_bytes();
    let ok = !bytes.is_empty()
        && bytes.len() <= 128
        && bytes
            .first()
            .is_some_and(|b| b.is_ascii_alphanumeric() || *b == b'_')
        && bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(b));
    if ok {
        Ok(())
    } else {
        bail!(
            "invalid tag `{tag}`: up to 128 letters, digits, `_`, `.` or `-`, not starting with `.` or `-`"
        )
    }
}

/// Registry credentials from `lookup` (the environment): `None` for an anonymous push.
pub fn credentials_from(
    lookup: impl Fn(&str) -> Option<String>,
    host: &str,
) -> Result<Option<DockerCredentials>> {
    let get = |name: &str| lookup(name).filter(|v| !v.is_empty());
    for (user_var, password_var) in CREDENTIAL_VARS {
        match (get(user_var), get(password_var)) {
            (Some(username), Some(password)) => {
                return Ok(Some(DockerCredentials {
                    username: Some(username),
                    password: Some(password),
                    serveraddress: Some(host.to_string()),
                    ..Default::default()
                }));
            }
            (None, None) => continue,
            _ => bail!(
                "only one of {user_var} and {password_var} is set: set both (the registry's user name and password or token), or neither for an anonymous push"
            ),
        }
    }
    Ok(None)
}

/// What one service's push did.
#[derive(Debug, Clone)]
pub struct Pushed {
    pub service: String,
    /// Every `<repository>:<tag>` pushed.
    pub references: Vec<String>,
    /// The manifest digest the registry answered (`sha256:…`).
    pub digest: String,
    pub size: u64,
}

pub async fn run(args: &Args) -> Result<Vec<Pushed>> {
    let registry = Registry::parse(&args.registry)?;
    let selected = services::selected(&args.services)?;
    let local_tag = match &args.local_tag {
        Some(t) => t.clone(),
        None => {
            let tag = build::version_tag();
            if tag.ends_with("-dirty") && !args.allow_dirty {
                bail!(
                    "the work tree has uncommitted changes, so the current build is `{tag}`, which no commit describes: commit, run `cargo xtask build` and push again (or pass --allow-dirty)"
                );
            }
            tag
        }
    };
    check_tag(&local_tag)?;
    let tag = args.tag.clone().unwrap_or_else(|| local_tag.clone());
    check_tag(&tag)?;
    let mut tags = vec![tag.clone()];
    if !args.no_latest && tag != "latest" {
        tags.push("latest".into());
    }
    let credentials = credentials_from(|k| std::env::var(k).ok(), &registry.host)?;
    let engine = Engine::connect().await?;

    // Every image must be there before anything is pushed: half a release is worse than none.
    let mut sources = Vec::new();
    let mut missing = Vec::new();
    for s in &selected {
        let source = format!("{}:{local_tag}", engine::image_repo(s.name));
        match engine.docker.inspect_image(&source).await {
            Ok(image) => sources.push((*s, source, image.size.unwrap_or(0).max(0) as u64)),
            Err(e) if engine::is_not_found(&e) => missing.push(source),
            Err(e) => return Err(e).with_context(|| format!("inspecting {source}")),
        }
    }
    if !missing.is_empty() {
        let names: Vec<&str> = selected.iter().map(|s| s.name).collect();
        bail!(
            "no local image {}: run `cargo xtask build {}` first{}",
            missing.join(", "),
            names.join(" "),
            if args.local_tag.is_some() {
                ""
            } else {
                " (push takes the images of the current commit)"
            }
        );
    }

    let width = sources
        .iter()
        .map(|(s, ..)| s.name.len())
        .max()
        .unwrap_or(0);
    let multi = MultiProgress::new();
    let jobs = sources.iter().map(|(s, source, size)| {
        let bar = progress::line(&multi, s.name, width);
        let repository = registry.repository(s.name);
        let (engine, tags, credentials, host) = (&engine, &tags, &credentials, &registry.host);
        async move {
            let started = Instant::now();
            let result = push_image(
                engine,
                source,
                &repository,
                tags,
                credentials.clone(),
                host,
                &bar,
            )
            .await;
            match &result {
                Ok(digest) => progress::finish(
                    &bar,
                    true,
                    format!(
                        "{repository}:{}  {digest}  {:.1}s",
                        tags.join(","),
                        started.elapsed().as_secs_f64()
                    ),
                ),
                Err(_) => progress::finish(&bar, false, format!("{repository}: failed")),
            }
            result.map(|digest| Pushed {
                service: s.name.to_string(),
                references: tags.iter().map(|t| format!("{repository}:{t}")).collect(),
                digest,
                size: *size,
            })
        }
    });
    let results = futures_util::future::join_all(jobs).await;
    let mut pushed = Vec::new();
    let mut errors = Vec::new();
    for r in results {
        match r {
            Ok(p) => pushed.push(p),
            Err(e) => errors.push(format!("{e:#}")),
        }
    }
    if !pushed.is_empty() {
        let rows: Vec<Vec<String>> = pushed
            .iter()
            .map(|p| {
                vec![
                    p.service.clone(),
                    p.references.join(" "),
                    p.digest.clone(),
                    human_bytes(p.size),
                ]
            })
            .collect();
        println!("{}", table(&["SERVICE", "PUSHED", "DIGEST", "SIZE"], &rows));
    }
    if !errors.is_empty() {
        bail!("push failed:\n{}", errors.join("\n"));
    }
    Ok(pushed)
}

/// Tags `source` as `<repository>:<tag>` for each tag and pushes them; returns the manifest
/// digest the registry answered for the first tag.
pub async fn push_image(
    engine: &Engine,
    source: &str,
    repository: &str,
    tags: &[String],
    credentials: Option<DockerCredentials>,
    host: &str,
    bar: &ProgressBar,
) -> Result<String> {
    let mut first_digest = None;
    for tag in tags {
        let reference = format!("{repository}:{tag}");
        engine
            .docker
            .tag_image(
                source,
                Some(TagImageOptions {
                    repo: Some(repository.to_string()),
                    tag: Some(tag.clone()),
                }),
            )
            .await
            .with_context(|| format!("tagging {source} as {reference}"))?;
        bar.set_message(format!("pushing {reference}"));
        let options = PushImageOptions {
            tag: Some(tag.clone()),
            ..Default::default()
        };
        let mut stream = engine
            .docker
            .push_image(repository, Some(options), credentials.clone());
        let mut digest = None;
        while let Some(item) = stream.next().await {
            // bollard turns the stream's `error` into `DockerStreamError`; an item that still
            // carries an `errorDetail` is the same failure.
            let error = match item {
                Ok(info) => {
                    let status = info.status.unwrap_or_default();
                    if let Some(d) = digest_of(&status) {
                        digest = Some(d);
                    }
                    let detail = info.progress_detail.unwrap_or_default();
                    match (detail.current, detail.total) {
                        (Some(current), Some(total)) if total > 0 => bar.set_message(format!(
                            "{reference}: {status} {} / {}",
                            human_bytes(current.max(0) as u64),
                            human_bytes(total as u64)
                        )),
                        _ if !status.is_empty() => {
                            bar.set_message(format!("{reference}: {status}"))
                        }
                        _ => {}
                    }
                    info.error.or(info.error_detail.and_then(|d| d.message))
                }
                Err(bollard::errors::Error::DockerStreamError { error }) => Some(error),
                Err(e) => {
                    return Err(e).with_context(|| {
                        format!("the engine refused to push {reference}: is {source} still there?")
                    });
                }
            };
            if let Some(error) = error {
                bail!("pushing {reference} failed: {}", explain(&error, host));
            }
        }
        let digest = match digest {
            Some(d) => d,
            None => repo_digest(engine, source, repository)
                .await
                .with_context(|| format!("the engine pushed {reference} but reported no digest"))?,
        };
        first_digest.get_or_insert(digest);
    }
    first_digest.context("nothing to push: no tag given")
}

/// The digest in a push status line: `<tag>: digest: sha256:<hex> size: <n>`.
pub fn digest_of(status: &str) -> Option<String> {
    let rest = &status[status.find("digest: ")? + "digest: ".len()..];
    let digest = rest.split_whitespace().next()?;
    let hex = digest.strip_prefix("sha256:")?;
    (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit())).then(|| digest.to_string())
}

/// The digest the engine recorded for `repository` on the image (`RepoDigests`).
async fn repo_digest(engine: &Engine, image: &str, repository: &str) -> Result<String> {
    let inspect = engine.docker.inspect_image(image).await?;
    let prefix = format!("{repository}@");
    inspect
        .repo_digests
        .unwrap_or_default()
        .iter()
        .find_map(|d| d.strip_prefix(&prefix).map(String::from))
        .context("no RepoDigests entry for the repository")
}

/// The registry's error, with what to do about it.
pub fn explain(error: &str, host: &str) -> String {
    let lower = error.to_ascii_lowercase();
    let hint = if [
        "unauthorized",
        "authentication required",
        "denied",
        "no basic auth credentials",
        "forbidden",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        format!(
            "the registry refused the credentials: set REGISTRY_USERNAME and REGISTRY_PASSWORD (or GATEWAY_REGISTRY_USERNAME and GATEWAY_REGISTRY_PASSWORD) to a user allowed to push to {host} (Azure Container Registry: Settings » Access keys), and check the --registry path"
        )
    } else if lower.contains("server gave http response to https client") {
        format!(
            "{host} speaks plain HTTP: the engine allows that only for registries on 127.0.0.0/8 or listed in its `insecure-registries`"
        )
    } else if [
        "connection refused",
        "no such host",
        "dial tcp",
        "i/o timeout",
        "timeout",
        "network is unreachable",
        "certificate",
        "tls",
    ]
    .iter()
    .any(|w| lower.contains(w))
    {
        format!(
            "cannot reach the registry {host}: check the --registry host and port, that the registry is running, and the network between the engine and it"
        )
    } else if lower.contains("name unknown") || lower.contains("repository") {
        format!(
            "the registry {host} does not accept this repository: check the --registry path prefix and that the user may create repositories there"
        )
    } else {
        format!("check --registry ({host}) and the registry's credentials")
    };
    format!("{}: {hint}", error.trim())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registries_parse_and_name_repositories() {
        let r = Registry::parse("chefcitoacr.azurecr.io/staging/").unwrap();
        assert_eq!(r.host, "chefcitoacr.azurecr.io");
        assert_eq!(
            r.repository("points"),
            "chefcitoacr.azurecr.io/staging/points"
        );
        let local = Registry::parse("127.0.0.1:5000").unwrap();
        assert_eq!(local.repository("users"), "127.0.0.1:5000/users");
        assert_eq!(
            Registry::parse("localhost/a/b").unwrap().repository("x"),
            "localhost/a/b/x"
        );
        for bad in [
            "",
            "https://chefcitoacr.azurecr.io",
            "chefcito",
            "chefcito/staging",
            "reg.io/Staging",
            "reg.io/a//b",
            "reg.io/-a",
        ] {
            assert!(Registry::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn tags() {
        for good in ["3f2a9c1", "3f2a9c1-dirty", "latest", "v1.2.3", "_x"] {
            check_tag(good).unwrap();
        }
        for bad in ["", "-x", ".x", "a:b", "a/b", &"a".repeat(129)] {
            assert!(check_tag(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn credentials_come_from_either_pair_of_variables() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert!(credentials_from(env(&[]), "r.io").unwrap().is_none());
        let c = credentials_from(
            env(&[
                ("GATEWAY_REGISTRY_USERNAME", "acr"),
                ("GATEWAY_REGISTRY_PASSWORD", "pw"),
            ]),
            "r.io",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.username.as_deref(), Some("acr"));
        assert_eq!(c.password.as_deref(), Some("pw"));
        assert_eq!(c.serveraddress.as_deref(), Some("r.io"));
        // Ours win over the original names.
        let c = credentials_from(
            env(&[
                ("REGISTRY_USERNAME", "mine"),
                ("REGISTRY_PASSWORD", "p"),
                ("GATEWAY_REGISTRY_USERNAME", "acr"),
                ("GATEWAY_REGISTRY_PASSWORD", "pw"),
            ]),
            "r.io",
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.username.as_deref(), Some("mine"));
        let e = credentials_from(env(&[("REGISTRY_USERNAME", "mine")]), "r.io").unwrap_err();
        assert!(e.to_string().contains("REGISTRY_PASSWORD"), "{e}");
    }

    #[test]
    fn reads_the_digest_of_a_push_status_line() {
        let hex = "a".repeat(64);
        assert_eq!(
            digest_of(&format!("3f2a9c1: digest: sha256:{hex} size: 528")),
            Some(format!("sha256:{hex}"))
        );
        assert_eq!(digest_of("Pushed"), None);
        assert_eq!(digest_of("x: digest: sha256:abc size: 1"), None);
    }

    #[test]
    fn push_errors_say_what_to_do() {
        let e = explain("unauthorized: authentication required", "r.io");
        assert!(e.contains("REGISTRY_USERNAME"), "{e}");
        let e = explain(
            "Get \"https://127.0.0.1:1/v2/\": dial tcp 127.0.0.1:1: connect: connection refused",
            "127.0.0.1:1",
        );
        assert!(e.contains("cannot reach the registry 127.0.0.1:1"), "{e}");
    }
}
