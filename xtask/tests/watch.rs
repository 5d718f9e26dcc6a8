//! `cargo xtask watch` on a scratch copy of the workspace (never the real one, which people
//! edit meanwhile): against the real engine, and in native mode. Ignored by default: they
//! need the engine (native: the services' fixed ports) and compile the copy's own crates
//! (minutes the first time); `cargo xtask test --e2e` runs them. Their projects
//! (`watch-test-<pid>`, `watch-native-<pid>`), containers, volumes, images and data are
//! removed at the end, even when they fail.

use std::collections::BTreeSet;
use std::panic::AssertUnwindSafe;
use std::path::Path;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use tokio::sync::{mpsc, oneshot};
use xtask::cluster::{self, UpOptions};
use xtask::engine::{self, Engine};
use xtask::secrets::Secrets;
use xtask::watch::{self, Report, graph::Graph, scratch};

/// The next report that is not `Permissions`, within `limit`.
async fn next(reports: &mut mpsc::UnboundedReceiver<Report>, limit: Duration) -> Report {
    loop {
        let report = tokio::time::timeout(limit, reports.recv())
            .await
            .unwrap_or_else(|_| panic!("watch reported nothing within {limit:?}"))
            .expect("watch stopped");
        if !matches!(report, Report::Permissions { .. }) {
            return report;
        }
    }
}

async fn container_id(engine: &Engine, project: &str, service: &str) -> String {
    engine
        .docker
        .inspect_container(
            &engine::container_name(project, service),
            None::<bollard::query_parameters::InspectContainerOptions>,
        )
        .await
        .unwrap()
        .id
        .unwrap()
}

fn save(copy: &Path, original: &str, answer: &str) {
    let text = scratch::with_probe(original, answer).unwrap();
    std::fs::write(copy.join(scratch::PROBE_FILE), text).unwrap();
}

/// Polls the probe until it answers `expected` (the new code serves), within `limit`.
async fn until_probe(url: &str, token: &str, expected: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        if let Ok((200, body)) = scratch::probe(url, token).await
            && body == expected
        {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "the probe never answered {expected}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Docker; compiles a copy of the workspace: cargo xtask test --e2e"]
async fn a_save_replaces_only_its_service_and_a_broken_save_changes_nothing() {
    let engine = Engine::connect().await.expect("a Docker Engine");
    let project = format!("watch-test-{}", std::process::id());
    let copy = scratch::dir("test");
    scratch::sync(&xtask::paths::root(), &copy).unwrap();
    let original = std::fs::read_to_string(copy.join(scratch::PROBE_FILE)).unwrap();

    let mut up = UpOptions::ephemeral(&project);
    up.services = vec!["venues".into(), "points".into()];
    up.image_prefix = project.clone();
    let options = watch::Options {
        root: copy.clone(),
        target_dir: xtask::paths::target_dir(),
        up,
        native: false,
    };
    let graph = Graph::load(&copy).unwrap();
    let (watcher, changes) = watch::events::watch(&copy, &graph).unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let watching = tokio::spawn(watch::run(
        options,
        changes,
        async move {
            let _ = stop_rx.await;
        },
        Some(reports_tx),
    ));

    let scenario = AssertUnwindSafe(async {
        // The first cycle compiles the copy's crates (minutes on a fresh target directory).
        let Report::Ready { containers } = next(&mut reports, Duration::from_secs(1500)).await
        else {
            panic!("expected the cluster to come up")
        };
        assert_eq!(
            containers.keys().copied().collect::<BTreeSet<_>>(),
            BTreeSet::from(["points", "venues"])
        );
        let (venues_0, points) = (containers["venues"].clone(), containers["points"].clone());
        let token = Secrets::load(&xtask::paths::cluster_dir(&project))
            .unwrap()
            .unwrap()
            .internal_token()
            .to_string();

        // A one-line handler change: only venues is rebuilt and replaced.
        save(&copy, &original, "\"one\"");
        let report = next(&mut reports, Duration::from_secs(600)).await;
        let Report::Replaced { containers, .. } = report else {
            panic!("expected venues to be replaced, got {report:?}")
        };
        assert_eq!(containers.keys().copied().collect::<Vec<_>>(), ["venues"]);
        let venues_1 = containers["venues"].clone();
        assert_ne!(venues_1, venues_0);
        assert_eq!(container_id(&engine, &project, "points").await, points);
        let url = scratch::service_url(&engine, &project, "venues")
            .await
            .unwrap();
        assert_eq!(
            scratch::probe(&url, &token).await.unwrap(),
            (200, "one".to_string())
        );

        // A broken save: the errors are reported, the old container keeps serving.
        save(&copy, &original, "\"one\" + 1");
        let report = next(&mut reports, Duration::from_secs(600)).await;
        let Report::BuildFailed { errors } = report else {
            panic!("expected the build to fail, got {report:?}")
        };
        assert!(
            errors
                .iter()
                .any(|e| e.contains(scratch::PROBE_FILE) && e.contains("error")),
            "{errors:?}"
        );
        assert_eq!(container_id(&engine, &project, "venues").await, venues_1);
        assert_eq!(
            scratch::probe(&url, &token).await.unwrap(),
            (200, "one".to_string())
        );

        // The fix brings the new code up, and only there.
        let saved = Instant::now();
        save(&copy, &original, "\"two\"");
        let report = next(&mut reports, Duration::from_secs(600)).await;
        let Report::Replaced { containers, .. } = report else {
            panic!("expected venues to be replaced, got {report:?}")
        };
        assert_eq!(containers.keys().copied().collect::<Vec<_>>(), ["venues"]);
        assert_ne!(containers["venues"], venues_1);
        let url = scratch::service_url(&engine, &project, "venues")
            .await
            .unwrap();
        until_probe(&url, &token, "two", Duration::from_secs(30)).await;
        println!(
            "save to serving (broken build before it): {:.1} s",
            saved.elapsed().as_secs_f64()
        );
        assert_eq!(container_id(&engine, &project, "points").await, points);
    })
    .catch_unwind()
    .await;

    let _ = stop_tx.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(30), watching).await;
    drop(watcher);
    // The copy goes back to the real code for the next run.
    let _ = std::fs::write(copy.join(scratch::PROBE_FILE), &original);
    let cleanup = cluster::down(&engine, &project, true).await;
    scratch::remove_images(&engine, &project).await;
    if let Err(panic) = scenario {
        std::panic::resume_unwind(panic);
    }
    stopped
        .expect("watch stops when asked")
        .unwrap()
        .expect("watch ends without error");
    cleanup.expect("down --volumes");
}

/// Native mode: the changed service's process is restarted with the new code, the others
/// keep their process.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "compiles a copy of the workspace and uses the services' fixed ports: cargo xtask test --e2e"]
async fn native_mode_restarts_only_the_changed_process() {
    let project = format!("watch-native-{}", std::process::id());
    let copy = scratch::dir("native");
    scratch::sync(&xtask::paths::root(), &copy).unwrap();
    let original = std::fs::read_to_string(copy.join(scratch::PROBE_FILE)).unwrap();
    let mut up = UpOptions::ephemeral(&project);
    up.services = vec!["venues".into(), "points".into()];
    let options = watch::Options {
        root: copy.clone(),
        target_dir: xtask::paths::target_dir(),
        up,
        native: true,
    };
    let graph = Graph::load(&copy).unwrap();
    let (watcher, changes) = watch::events::watch(&copy, &graph).unwrap();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let (reports_tx, mut reports) = mpsc::unbounded_channel();
    let watching = tokio::spawn(watch::run(
        options,
        changes,
        async move {
            let _ = stop_rx.await;
        },
        Some(reports_tx),
    ));
    let venues = format!(
        "http://127.0.0.1:{}",
        xtask::services::get("venues").unwrap().port
    );
    let scenario = AssertUnwindSafe(async {
        let Report::Ready { containers: pids } =
            next(&mut reports, Duration::from_secs(1500)).await
        else {
            panic!("expected the services to start")
        };
        let token = Secrets::load(&xtask::paths::native_dir(&project))
            .unwrap()
            .unwrap()
            .internal_token()
            .to_string();
        save(&copy, &original, "\"native\"");
        let report = next(&mut reports, Duration::from_secs(600)).await;
        let Report::Replaced { containers, .. } = report else {
            panic!("expected venues to be restarted, got {report:?}")
        };
        assert_eq!(containers.keys().copied().collect::<Vec<_>>(), ["venues"]);
        assert_ne!(containers["venues"], pids["venues"]);
        until_probe(&venues, &token, "native", Duration::from_secs(30)).await;
    })
    .catch_unwind()
    .await;
    let _ = stop_tx.send(());
    let stopped = tokio::time::timeout(Duration::from_secs(30), watching).await;
    drop(watcher);
    let _ = std::fs::write(copy.join(scratch::PROBE_FILE), &original);
    let listening = scratch::probe(&venues, "").await.is_ok();
    let _ = std::fs::remove_dir_all(xtask::paths::native_dir(&project));
    if let Err(panic) = scenario {
        std::panic::resume_unwind(panic);
    }
    stopped
        .expect("watch stops when asked")
        .unwrap()
        .expect("watch ends without error");
    assert!(!listening, "venues still answers after the watch stopped");
}
