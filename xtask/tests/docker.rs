//! The platform against the real Docker Engine. Ignored by default: they need the engine and
//! the images (`cargo xtask build`); `cargo xtask test --e2e` runs them. Each test works in a
//! project of its own (`t-<name>-<pid>`) and removes it, volumes included, even when it fails.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::time::Duration;

use futures_util::FutureExt;
use serde_json::{Value, json};
use xtask::cluster::{self, Action, UpOptions};
use xtask::commands::{ProjectArg, load_db};
use xtask::engine::{self, Engine};
use xtask::{image, paths, services};

/// Runs `body` with a fresh project name, then removes the project whatever happened.
async fn in_project<F, Fut>(name: &str, body: F)
where
    F: FnOnce(Engine, String) -> Fut,
    Fut: Future<Output = ()>,
{
    let engine = Engine::connect().await.expect("a Docker Engine");
    let project = format!("t-{name}-{}", std::process::id());
    let outcome = AssertUnwindSafe(body(engine.clone(), project.clone()))
        .catch_unwind()
        .await;
    let cleanup = cluster::down(&engine, &project, true).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
    cleanup.expect("down --volumes");
    assert!(
        engine
            .project_containers(&project)
            .await
            .unwrap()
            .is_empty()
    );
}

fn up_args(project: &str) -> UpOptions {
    UpOptions::ephemeral(project)
}

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .unwrap()
}

/// POSTs JSON (with a bearer token when given) and decodes the 2xx answer.
async fn post_ok(url: String, token: Option<&str>, body: Value) -> Value {
    let mut request = client().post(url).json(&body);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let answer = request.send().await.unwrap().error_for_status().unwrap();
    answer.json().await.unwrap()
}

/// Signs up and registers a restaurant through the gateway; returns its uid.
async fn register(gateway: &str, email: &str) -> String {
    let credentials = json!({"email": email, "password": "correct horse"});
    let auth = post_ok(format!("{gateway}/auth/signup"), None, credentials).await;
    let token = auth["idToken"].as_str().unwrap();
    let profile = json!({"user_type": "restaurant", "name": "La Esquina", "number": "1122334455"});
    let user = post_ok(format!("{gateway}/users"), Some(token), profile).await;
    user["localid"].as_str().unwrap().to_string()
}

async fn sign_in(gateway: &str, email: &str) -> reqwest::Response {
    client()
        .post(format!("{gateway}/auth/signin"))
        .json(&json!({"email": email, "password": "correct horse"}))
        .send()
        .await
        .unwrap()
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn an_image_is_small_static_non_root_and_health_checked() {
    let engine = Engine::connect().await.unwrap();
    let users = services::get("users").unwrap();
    let repo = format!("chefcito-t{}-users", std::process::id());
    let containerfile = std::fs::read_to_string(paths::containerfile("users")).unwrap();
    let request = image::Request {
        service: users,
        repo: repo.clone(),
        version: "test".into(),
        binary: paths::release_binary("users"),
        containerfile: containerfile.clone(),
        force: false,
    };
    let bar = indicatif::ProgressBar::hidden();
    let outcome = AssertUnwindSafe(async {
        xtask::elf::check_static(&paths::release_binary("users")).unwrap();
        let built = image::build(&engine, &request, &bar).await.unwrap();
        assert!(built.rebuilt);
        assert!(built.size <= image::MAX_SIZE, "{} bytes", built.size);
        let inspect = engine
            .docker
            .inspect_image(&format!("{repo}:latest"))
            .await
            .unwrap();
        assert!(inspect.repo_tags.unwrap().contains(&format!("{repo}:test")));
        let config = inspect.config.unwrap();
        assert_eq!(config.user.as_deref(), Some("10001:10001"));
        let health = config.healthcheck.unwrap();
        assert_eq!(health.test.unwrap(), ["CMD", "/users", "healthcheck"]);
        assert_eq!(health.interval, Some(10_000_000_000));
        assert_eq!(config.entrypoint.unwrap(), ["/users"]);
        assert!(config.volumes.unwrap().contains_key("/data"));
        assert!(config.exposed_ports.unwrap().contains_key("8001/tcp"));
        let labels = config.labels.unwrap();
        assert_eq!(labels[engine::SERVICE], "users");
        let binary = std::fs::read(paths::release_binary("users")).unwrap();
        assert_eq!(labels[engine::BINARY_SHA], xtask::util::sha256_hex(&binary));
        assert_eq!(inspect.os.as_deref(), Some("linux"));
        // The same context again: nothing is built.
        let again = image::build(&engine, &request, &bar).await.unwrap();
        assert!(!again.rebuilt);
        assert_eq!(again.id, built.id);
        // A builder error arrives inside the 200 stream: it must fail the build, clearly.
        let broken = image::Request {
            containerfile: containerfile.replace(
                "COPY users /users",
                "COPY users /users\nCOPY no-such-file /x",
            ),
            force: true,
            ..request.clone()
        };
        let e = format!(
            "{:#}",
            image::build(&engine, &broken, &bar).await.unwrap_err()
        );
        assert!(
            e.contains("the engine failed to build") && e.contains("no-such-file"),
            "{e}"
        );
    })
    .catch_unwind()
    .await;
    for tag in ["latest", "test"] {
        let options = bollard::query_parameters::RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        let _ = engine
            .docker
            .remove_image(&format!("{repo}:{tag}"), Some(options), None)
            .await;
    }
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn up_starts_the_cluster_and_a_second_up_changes_nothing() {
    in_project("idem", |engine, project| async move {
        let first = cluster::up(&engine, &up_args(&project)).await.unwrap();
        assert!(
            first
                .containers
                .values()
                .all(|(_, a)| *a == Action::Created),
            "{first:?}"
        );
        let url = first.gateway_url.clone().unwrap();
        let health = client().get(format!("{url}/health")).send().await.unwrap();
        assert_eq!(health.status(), 200);
        // The gateway reaches users by its alias: a sign-up goes through both.
        register(&url, "idem@example.com").await;
        let rows = cluster::status::rows(&engine, &project).await.unwrap();
        assert!(rows.iter().all(|r| r.state == "running"), "{rows:?}");
        let gateway_row = rows.iter().find(|r| r.service == "gateway").unwrap();
        assert_eq!(gateway_row.url, url);
        assert_eq!(
            rows.iter().find(|r| r.service == "users").unwrap().url,
            "-",
            "users must not be published"
        );

        // A container of a service that left the table is an orphan: the next `up` removes it.
        let ghost = engine::container_name(&project, "ghost");
        let labels = std::collections::HashMap::from([
            (engine::PROJECT.to_string(), project.clone()),
            (engine::SERVICE.to_string(), "ghost".to_string()),
        ]);
        let body = bollard::models::ContainerCreateBody {
            image: Some(engine::image_latest("users")),
            labels: Some(labels),
            ..Default::default()
        };
        let options = bollard::query_parameters::CreateContainerOptions {
            name: Some(ghost.clone()),
            ..Default::default()
        };
        engine
            .docker
            .create_container(Some(options), body)
            .await
            .unwrap();

        let second = cluster::up(&engine, &up_args(&project)).await.unwrap();
        assert_eq!(second.orphans_removed, [ghost]);
        for (svc, (id, action)) in &second.containers {
            assert_eq!(*action, Action::Kept, "{svc}");
            assert_eq!(*id, first.containers[svc].0, "{svc} was recreated");
        }
        assert_eq!(second.gateway_url, first.gateway_url);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn a_changed_environment_recreates_only_that_container() {
    in_project("env", |engine, project| async move {
        let first = cluster::up(&engine, &up_args(&project)).await.unwrap();
        let mut args = up_args(&project);
        args.env = vec!["gateway:LOG=debug".into()];
        let second = cluster::up(&engine, &args).await.unwrap();
        assert_eq!(
            second.containers["users"],
            (first.containers["users"].0.clone(), Action::Kept)
        );
        let (gateway_id, action) = &second.containers["gateway"];
        assert_eq!(*action, Action::Recreated);
        assert_ne!(*gateway_id, first.containers["gateway"].0);
        let c = engine
            .docker
            .inspect_container(
                gateway_id,
                None::<bollard::query_parameters::InspectContainerOptions>,
            )
            .await
            .unwrap();
        assert!(
            c.config
                .unwrap()
                .env
                .unwrap()
                .contains(&"LOG=debug".to_string())
        );
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn down_keeps_the_volume_and_its_data() {
    in_project("vol", |engine, project| async move {
        let first = cluster::up(&engine, &up_args(&project)).await.unwrap();
        let uid = register(first.gateway_url.as_deref().unwrap(), "kept@example.com").await;
        let report = cluster::down(&engine, &project, false).await.unwrap();
        let mut kept = report.volumes_kept.clone();
        kept.sort();
        let mut stateful: Vec<String> = services::SERVICES
            .iter()
            .filter(|s| s.stateful)
            .map(|s| engine::volume_name(&project, s.name))
            .collect();
        stateful.sort();
        assert_eq!(kept, stateful, "one volume per stateful service, all kept");
        assert_eq!(report.containers_removed.len(), services::SERVICES.len());
        assert!(
            engine
                .project_containers(&project)
                .await
                .unwrap()
                .is_empty()
        );

        let again = cluster::up(&engine, &up_args(&project)).await.unwrap();
        let url = again.gateway_url.unwrap();
        let auth: Value = sign_in(&url, "kept@example.com")
            .await
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(auth["localId"], uid.as_str());
        let me: Value = client()
            .get(format!("{url}/users"))
            .bearer_auth(auth["idToken"].as_str().unwrap())
            .send()
            .await
            .unwrap()
            .error_for_status()
            .unwrap()
            .json()
            .await
            .unwrap();
        assert_eq!(me["data"]["name"], "La Esquina", "{me}");
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn a_service_failing_its_health_check_fails_up_with_its_logs() {
    in_project("sick", |engine, project| async move {
        let mut args = up_args(&project);
        // An address this host does not have: users cannot listen and exits.
        args.env = vec!["users:BIND=192.0.2.1:8001".into()];
        args.timeout = 30;
        let e = format!("{:#}", cluster::up(&engine, &args).await.unwrap_err());
        assert!(e.contains("users exited"), "{e}");
        assert!(
            e.contains("cannot listen on 192.0.2.1:8001"),
            "the service's own log line: {e}"
        );
        assert!(e.contains("cargo xtask logs users"), "{e}");
        // Only users' level was started: what depends on users (reservations, then opinions,
        // then the gateway) must not even have been created.
        let mut names: Vec<String> = engine
            .project_containers(&project)
            .await
            .unwrap()
            .iter()
            .filter_map(|c| engine::service_of(c).map(String::from))
            .collect();
        names.sort();
        let first_level: Vec<String> = services::levels(&[]).unwrap()[0]
            .iter()
            .map(|s| s.name.to_string())
            .collect();
        assert_eq!(names, first_level);
        assert!(!names.iter().any(|n| n == "gateway" || n == "reservations"));
    })
    .await;
}

async fn permissions_version(engine: &Engine, project: &str) -> i64 {
    let url = xtask::permissions::users_url(engine, project)
        .await
        .unwrap();
    let secrets = xtask::secrets::Secrets::load(&paths::cluster_dir(project))
        .unwrap()
        .unwrap();
    let answer: Value = client()
        .get(format!("{url}/permissions"))
        .header(chefcito::INTERNAL_TOKEN_HEADER, secrets.internal_token())
        .send()
        .await
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .await
        .unwrap();
    answer["version"].as_i64().unwrap()
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn load_db_with_an_invalid_file_changes_nothing() {
    in_project("perm", |engine, project| async move {
        let mut args = up_args(&project);
        args.services = vec!["users".into()];
        cluster::up(&engine, &args).await.unwrap();
        let before = permissions_version(&engine, &project).await;
        let dir = tempfile::tempdir().unwrap();
        let bad = dir.path().join("bad.yaml");
        std::fs::write(&bad, "endpoints:\n  - name: /users\n    allowed: [anonymous]\n  - name: /venue\n    allowed: [superuser]\n").unwrap();
        let load = |file: std::path::PathBuf| load_db::Args { from_file: file, project: ProjectArg::new(&project), url: None };
        let e = format!("{:#}", load_db::load(&load(bad)).await.unwrap_err());
        assert!(e.contains("endpoints[1] (/venue): unknown user type `superuser`"), "{e}");
        assert!(e.contains("nothing was written"), "{e}");
        assert_eq!(permissions_version(&engine, &project).await, before);

        let good = dir.path().join("good.yaml");
        std::fs::write(&good, "endpoints:\n  - name: /users\n    allowed: [client]\n").unwrap();
        let outcome = load_db::load(&load(good.clone())).await.unwrap();
        assert_eq!(outcome.version, before + 1);
        assert_eq!(outcome.diff.added, Vec::<String>::new());
        assert!(outcome.diff.removed.contains(&"/users anonymous".to_string()), "{:?}", outcome.diff);
        assert_eq!(permissions_version(&engine, &project).await, before + 1);
        // The same table again: no change, no new version.
        assert_eq!(load_db::load(&load(good)).await.unwrap().version, before + 1);
    })
    .await;
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn up_applies_db_config_whenever_it_differs_from_the_table_in_force() {
    in_project("upgrade", |engine, project| async move {
        let mut args = up_args(&project);
        args.services = vec!["users".into()];
        let first = cluster::up(&engine, &args).await.unwrap();
        let line = first.permissions.unwrap();
        assert!(line.contains("db_config.yaml"), "{line}");
        // An older table, as a cluster created before a new route had it.
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("old.yaml");
        std::fs::write(
            &old,
            "endpoints:\n  - name: /users\n    allowed: [client]\n",
        )
        .unwrap();
        let load = load_db::Args {
            from_file: old,
            project: ProjectArg::new(&project),
            url: None,
        };
        load_db::load(&load).await.unwrap();
        let stale = permissions_version(&engine, &project).await;

        let upgraded = cluster::up(&engine, &args).await.unwrap();
        let line = upgraded.permissions.unwrap();
        assert!(line.contains("applied"), "{line}");
        assert_eq!(permissions_version(&engine, &project).await, stale + 1);
        let again = cluster::up(&engine, &args).await.unwrap();
        let line = again.permissions.unwrap();
        assert!(line.contains("already in force"), "{line}");
        assert_eq!(permissions_version(&engine, &project).await, stale + 1);
    })
    .await;
}

// ---- push and clean --------------------------------------------------------------------------

/// A registry of our own on the loopback; `None` (the test is skipped) when docker-registry is
/// not installed, except in CI where it must be.
async fn local_registry() -> Option<xtask::local_registry::LocalRegistry> {
    if xtask::local_registry::program().is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "CI=true: docker-registry is missing: run `cargo xtask install` (Debian package docker-registry)"
        );
        eprintln!("skipped: docker-registry is not installed (`cargo xtask install` installs it)");
        return None;
    }
    Some(xtask::local_registry::LocalRegistry::start().await.unwrap())
}

/// Removes image references, whatever they are; for clean-ups.
async fn forget(engine: &Engine, references: &[String]) {
    for r in references {
        let options = bollard::query_parameters::RemoveImageOptions {
            force: true,
            ..Default::default()
        };
        let _ = engine.docker.remove_image(r, Some(options), None).await;
    }
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn push_sends_the_image_that_the_registry_gives_back() {
    use xtask::commands::push;
    let Some(registry) = local_registry().await else {
        return;
    };
    let engine = Engine::connect().await.unwrap();
    // points: one of the smallest images.
    let source = engine::image_latest("points");
    let source_id = engine.docker.inspect_image(&source).await.unwrap().id;
    let repository = format!("{}/test/points", registry.address);
    let tag = format!("t{}", std::process::id());
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let unreachable = format!("127.0.0.1:{closed}/test/points");
    let outcome = AssertUnwindSafe(async {
        // The command itself: the image of the given local tag goes out as :<tag> and :latest.
        let args = push::Args {
            registry: format!("{}/test", registry.address),
            tag: Some(tag.clone()),
            local_tag: Some("latest".into()),
            no_latest: false,
            allow_dirty: false,
            services: vec!["points".into()],
        };
        let pushed = push::run(&args).await.unwrap();
        assert_eq!(pushed.len(), 1);
        let digest = pushed[0].digest.clone();
        assert_eq!(
            pushed[0].references,
            [
                format!("{repository}:{tag}"),
                format!("{repository}:latest")
            ]
        );
        assert!(
            digest.starts_with("sha256:") && digest.len() == 71,
            "{digest}"
        );
        // The registry serves that very manifest under both tags.
        let http = reqwest::Client::new();
        for t in [tag.as_str(), "latest"] {
            let answer = http
                .head(format!(
                    "http://{}/v2/test/points/manifests/{t}",
                    registry.address
                ))
                .header(
                    "accept",
                    "application/vnd.docker.distribution.manifest.v2+json",
                )
                .send()
                .await
                .unwrap();
            assert_eq!(answer.status(), 200, "{t}");
            assert_eq!(answer.headers()["docker-content-digest"], digest.as_str());
        }
        // Forget the registry's name locally, then pull it back through the engine.
        let pushed_refs = [
            format!("{repository}:{tag}"),
            format!("{repository}:latest"),
        ];
        forget(&engine, &pushed_refs).await;
        assert!(
            engine
                .docker
                .inspect_image(&pushed_refs[0])
                .await
                .is_err_and(|e| engine::is_not_found(&e))
        );
        let pull = bollard::query_parameters::CreateImageOptions {
            from_image: Some(repository.clone()),
            tag: Some(tag.clone()),
            ..Default::default()
        };
        let mut stream = engine.docker.create_image(Some(pull), None, None);
        while let Some(item) = futures_util::StreamExt::next(&mut stream).await {
            item.unwrap();
        }
        let pulled = engine.docker.inspect_image(&pushed_refs[0]).await.unwrap();
        assert_eq!(pulled.id, source_id, "the pulled image is the pushed one");
        let repo_digests = pulled.repo_digests.unwrap_or_default();
        assert!(
            repo_digests.contains(&format!("{repository}@{digest}")),
            "{repo_digests:?} vs {digest}"
        );
        println!("pushed {digest}; pulled back {repo_digests:?}, image {source_id:?}");

        // A registry that is not there: a readable error that says what to check.
        let bar = indicatif::ProgressBar::hidden();
        let e = push::push_image(
            &engine,
            &source,
            &unreachable,
            std::slice::from_ref(&tag),
            None,
            &format!("127.0.0.1:{closed}"),
            &bar,
        )
        .await
        .unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("cannot reach the registry"), "{e}");
        // A registry that wants a user: refused without credentials (saying which variables to
        // set), accepted with them. The password is `correct horse` (bcrypt, cost 4).
        let guarded = xtask::local_registry::LocalRegistry::start_with_user(
            "ci",
            "$2b$04$Uy3AfrgnlglQsedarT45N.fDU5KYa1AdfLtUgI3spsArXmXH6o6g6",
        )
        .await
        .unwrap();
        let guarded_repo = format!("{}/test/points", guarded.address);
        let e = push::push_image(
            &engine,
            &source,
            &guarded_repo,
            std::slice::from_ref(&tag),
            None,
            &guarded.address,
            &bar,
        )
        .await
        .unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("REGISTRY_USERNAME"), "{e}");
        let credentials = push::credentials_from(
            |k| match k {
                "GATEWAY_REGISTRY_USERNAME" => Some("ci".into()),
                "GATEWAY_REGISTRY_PASSWORD" => Some("correct horse".into()),
                _ => None,
            },
            &guarded.address,
        )
        .unwrap();
        let with_user = push::push_image(
            &engine,
            &source,
            &guarded_repo,
            std::slice::from_ref(&tag),
            credentials,
            &guarded.address,
            &bar,
        )
        .await;
        forget(&engine, &[format!("{guarded_repo}:{tag}")]).await;
        assert_eq!(
            with_user.unwrap(),
            digest,
            "the same image, the same manifest"
        );
        drop(guarded);
        // No such local build: nothing is pushed, and the way out is named.
        let missing = push::Args {
            local_tag: Some("no-such-build".into()),
            ..args.clone()
        };
        let e = format!("{:#}", push::run(&missing).await.unwrap_err());
        assert!(
            e.contains("chefcito-points:no-such-build") && e.contains("cargo xtask build points"),
            "{e}"
        );
    })
    .catch_unwind()
    .await;
    forget(
        &engine,
        &[
            format!("{repository}:{tag}"),
            format!("{repository}:latest"),
            format!("{unreachable}:{tag}"),
        ],
    )
    .await;
    if let Err(panic) = outcome {
        eprintln!("registry log:\n{}", registry.log());
        std::panic::resume_unwind(panic);
    }
}

/// A tiny image FROM scratch holding `content`, labelled as `service`'s when given.
async fn tiny_image(
    engine: &Engine,
    reference: &str,
    service: Option<&str>,
    content: &str,
) -> String {
    let context =
        xtask::context::pack("f", "FROM scratch\nCOPY f /f\n", content.as_bytes()).unwrap();
    let labels = service
        .map(|s| std::collections::HashMap::from([(engine::SERVICE.to_string(), s.to_string())]));
    let options = bollard::query_parameters::BuildImageOptions {
        dockerfile: xtask::context::CONTAINERFILE.to_string(),
        t: Some(reference.to_string()),
        rm: true,
        labels,
        ..Default::default()
    };
    let body = bollard::body_full(context.tar.into());
    let mut stream = engine.docker.build_image(options, None, Some(body));
    while let Some(item) = futures_util::StreamExt::next(&mut stream).await {
        item.unwrap();
    }
    engine
        .docker
        .inspect_image(reference)
        .await
        .unwrap()
        .id
        .unwrap()
}

#[tokio::test]
#[ignore = "needs Docker and built images: cargo xtask test --e2e"]
async fn clean_removes_exactly_the_old_tags_of_its_own_images() {
    use xtask::commands::clean;
    let engine = Engine::connect().await.unwrap();
    let service = format!("t{}-clean", std::process::id());
    let repo = format!("chefcito-{service}");
    let pushed = format!("127.0.0.1:5999/test/{service}");
    let container = format!("{service}-user");
    // Unique contents: the builder's cache must not hand back an image of an earlier run.
    let unique = format!("{service}-{:?}", std::time::SystemTime::now());
    let mut ids = Vec::new();
    let outcome = AssertUnwindSafe(async {
        let r = |t: &str| format!("{repo}:{t}");
        // Oldest first. `dangling` loses its tag to s0 and is left untagged.
        ids.push(
            tiny_image(
                &engine,
                &r("s0"),
                Some(&service),
                &format!("{unique} dangling"),
            )
            .await,
        );
        ids.push(tiny_image(&engine, &r("s0"), Some(&service), &format!("{unique} 0")).await);
        ids.push(tiny_image(&engine, &r("s1"), Some(&service), &format!("{unique} 1")).await);
        ids.push(tiny_image(&engine, &r("s2"), Some(&service), &format!("{unique} 2")).await);
        ids.push(tiny_image(&engine, &r("s3"), Some(&service), &format!("{unique} 3")).await);
        ids.push(tiny_image(&engine, &r("s4"), Some(&service), &format!("{unique} 4")).await);
        // Same name, no label: not ours.
        ids.push(tiny_image(&engine, &r("foreign"), None, &format!("{unique} foreign")).await);
        let tag = |source: String, repo: &str, tag: &str| {
            let engine = engine.clone();
            let (repo, tag) = (repo.to_string(), tag.to_string());
            async move {
                let options = bollard::query_parameters::TagImageOptions {
                    repo: Some(repo),
                    tag: Some(tag),
                };
                engine
                    .docker
                    .tag_image(&source, Some(options))
                    .await
                    .unwrap();
            }
        };
        tag(r("s3"), &repo, "latest").await;
        tag(r("s1"), &pushed, "s1").await;
        tag(r("s4"), &pushed, "s4").await;
        // A container made from s2 (never started: the image has nothing to run).
        let body = bollard::models::ContainerCreateBody {
            image: Some(r("s2")),
            cmd: Some(vec!["/f".into()]),
            ..Default::default()
        };
        let options = bollard::query_parameters::CreateContainerOptions {
            name: Some(container.clone()),
            ..Default::default()
        };
        engine
            .docker
            .create_container(Some(options), body)
            .await
            .unwrap();

        let tags_now = || async {
            let mut all = Vec::new();
            for id in &ids {
                if let Ok(i) = engine.docker.inspect_image(id).await {
                    all.extend(i.repo_tags.unwrap_or_default());
                }
            }
            all.sort();
            all
        };
        let scope = [clean::Scope {
            service: service.clone(),
            repo: repo.clone(),
        }];
        let before = tags_now().await;
        let dry = clean::clean(&engine, &scope, 1, true, false).await.unwrap();
        assert_eq!(tags_now().await, before, "a dry run changes nothing");

        let report = clean::clean(&engine, &scope, 1, false, true).await.unwrap();
        let mut untagged = report.untagged.clone();
        untagged.sort();
        let mut expected = vec![
            format!("{pushed}:s1"),
            format!("{pushed}:s4"),
            r("s0"),
            r("s1"),
        ];
        expected.sort();
        assert_eq!(untagged, expected);
        assert_eq!(dry.untagged.len(), expected.len());
        assert_eq!(dry.deleted.len(), 3, "{dry:?}");
        assert_eq!(dry.reclaimed, report.reclaimed);
        // dangling, s0 and s1 are gone; their space is counted.
        let mut deleted = report.deleted.clone();
        deleted.sort();
        let mut gone = vec![ids[0].clone(), ids[1].clone(), ids[2].clone()];
        gone.sort();
        assert_eq!(deleted, gone);
        assert!(report.reclaimed > 0);
        assert!(report.refused.is_empty(), "{:?}", report.refused);
        // The newest (s4), the one `latest` names (s3), the one in use (s2) and the foreign one
        // keep every tag of theirs.
        let mut left = vec![r("foreign"), r("latest"), r("s2"), r("s3"), r("s4")];
        left.sort();
        assert_eq!(tags_now().await, left);
        // Nothing left to do.
        let again = clean::clean(&engine, &scope, 1, false, false)
            .await
            .unwrap();
        assert!(
            again.untagged.is_empty() && again.deleted.is_empty(),
            "{again:?}"
        );
    })
    .catch_unwind()
    .await;
    let _ = engine::remove(&engine, &container).await;
    forget(&engine, &ids).await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}
