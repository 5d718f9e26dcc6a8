//! The transactional outbox against real SQLite files and real consumers on 127.0.0.1.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chefcito::client::{Client, Downstream};
use chefcito::config::Secret;
use chefcito::db::Db;
use chefcito::outbox::{
    Delivery, EVENT_ID_HEADER, INBOX_MIGRATION, MIGRATION, Outbox, Route, first_delivery,
};
use serde::{Deserialize, Serialize};

const TOKEN: &str = "outbox-test-token";
const PRODUCER_MIGRATIONS: &[&str] = &["CREATE TABLE things (n INTEGER NOT NULL);", MIGRATION];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct Thing {
    n: u32,
}

/// One request a consumer received.
#[derive(Debug, Clone)]
struct Seen {
    at: Instant,
    id: String,
    n: u32,
    /// `Some(first)` when the consumer applied it (2xx), `None` when it answered an error.
    applied: Option<bool>,
    token: Option<String>,
    header_id: Option<String>,
}

/// A consumer service: answers the scripted errors first, then applies each event once
/// through its inbox.
#[derive(Clone)]
struct Consumer {
    db: Db,
    script: Arc<Mutex<VecDeque<StatusCode>>>,
    /// Answers to give after applying an event, as if the answer were lost on the way back.
    lost_answers: Arc<Mutex<VecDeque<StatusCode>>>,
    seen: Arc<Mutex<Vec<Seen>>>,
}

impl Consumer {
    fn new(dir: &std::path::Path, name: &str, script: &[StatusCode]) -> Consumer {
        Consumer {
            db: Db::open(dir.join(format!("{name}.db")), &[INBOX_MIGRATION]).unwrap(),
            script: Arc::new(Mutex::new(script.iter().copied().collect())),
            lost_answers: Arc::default(),
            seen: Arc::new(Mutex::new(Vec::new())),
        }
    }

    fn router(&self) -> Router {
        Router::new()
            .route("/inbox/events", post(receive))
            .with_state(self.clone())
    }

    fn seen(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }

    /// The events applied (first deliveries), in the order they were applied.
    fn applied(&self) -> Vec<Seen> {
        self.seen()
            .into_iter()
            .filter(|s| s.applied == Some(true))
            .collect()
    }
}

async fn receive(
    State(consumer): State<Consumer>,
    headers: HeaderMap,
    axum::Json(delivery): axum::Json<Delivery<Thing>>,
) -> Response {
    let header = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
    };
    let mut seen = Seen {
        at: Instant::now(),
        id: delivery.id.clone(),
        n: delivery.payload.n,
        applied: None,
        token: header(chefcito::INTERNAL_TOKEN_HEADER),
        header_id: header(EVENT_ID_HEADER),
    };
    let scripted = consumer.script.lock().unwrap().pop_front();
    let response = match scripted {
        Some(status) => (
            status,
            axum::Json(serde_json::json!({"description": format!("scripted {status}"), "endpoint": "/inbox/events"})),
        )
            .into_response(),
        None => {
            let id = delivery.id.clone();
            let first = consumer
                .db
                .write(move |tx| first_delivery(tx, &id))
                .await
                .unwrap();
            seen.applied = Some(first);
            match consumer.lost_answers.lock().unwrap().pop_front() {
                Some(status) => status.into_response(),
                None => StatusCode::NO_CONTENT.into_response(),
            }
        }
    };
    consumer.seen.lock().unwrap().push(seen);
    response
}

async fn serve_on(listener: tokio::net::TcpListener, router: Router) -> SocketAddr {
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}

async fn serve(router: Router) -> SocketAddr {
    serve_on(
        tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap(),
        router,
    )
    .await
}

fn target(addr: SocketAddr) -> Downstream {
    Downstream::new(
        Client::new(Some(Secret::new(TOKEN))),
        &format!("http://{addr}"),
    )
    .unwrap()
}

fn route(topic: &'static str, consumer: &'static str, addr: SocketAddr) -> Route {
    Route {
        topic,
        consumer,
        target: target(addr),
        path: "/inbox/events",
    }
}

/// Inserts a thing and its event in one write, then wakes the dispatcher.
async fn produce(db: &Db, outbox: &Outbox, topic: &'static str, n: u32) -> String {
    let o = outbox.clone();
    let id = db
        .write(move |tx| {
            tx.execute("INSERT INTO things (n) VALUES (?1)", [n])?;
            o.enqueue(tx, topic, &Thing { n })
        })
        .await
        .unwrap();
    outbox.notify();
    id
}

async fn count(db: &Db, table: &'static str) -> i64 {
    db.read(move |c| c.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| r.get(0)))
        .await
        .unwrap()
}

/// Polls `check` until it holds, failing the test after 5 s.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(5);
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn an_event_enqueued_in_a_write_that_fails_is_not_stored() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("p.db"), PRODUCER_MIGRATIONS).unwrap();
    let outbox = Outbox::new(vec![route(
        "thing.created",
        "c",
        "127.0.0.1:9".parse().unwrap(),
    )]);

    #[derive(Debug)]
    enum Failure {
        Rule,
        Sql,
    }
    impl From<rusqlite::Error> for Failure {
        fn from(_: rusqlite::Error) -> Self {
            Failure::Sql
        }
    }
    let o = outbox.clone();
    let result = db
        .write(move |tx| {
            tx.execute("INSERT INTO things (n) VALUES (1)", [])?;
            o.enqueue(tx, "thing.created", &Thing { n: 1 })?;
            Err::<(), _>(Failure::Rule)
        })
        .await;
    assert!(matches!(result, Err(Failure::Rule)));
    assert_eq!(count(&db, "things").await, 0);
    assert_eq!(count(&db, "outbox_events").await, 0);
    assert_eq!(count(&db, "outbox_deliveries").await, 0);
    assert!(outbox.backlog(&db).await.unwrap().is_empty());

    // The same write succeeding stores the event and its delivery.
    produce(&db, &outbox, "thing.created", 2).await;
    assert_eq!(count(&db, "outbox_events").await, 1);
    assert_eq!(outbox.backlog(&db).await.unwrap(), [("c".to_string(), 1)]);
}

#[tokio::test]
async fn a_failing_consumer_gets_the_event_once_after_retries_with_growing_backoff() {
    let dir = tempfile::tempdir().unwrap();
    let fail = StatusCode::INTERNAL_SERVER_ERROR;
    let consumer = Consumer::new(dir.path(), "c", &[fail, fail, fail]);
    let addr = serve(consumer.router()).await;
    let db = Db::open(dir.path().join("p.db"), PRODUCER_MIGRATIONS).unwrap();
    let outbox = Outbox::new(vec![route("thing.created", "c", addr)])
        .with_backoff(Duration::from_millis(100), Duration::from_secs(10));
    // Both events wait before the dispatcher starts: the second must not overtake the first
    // while the first is being retried.
    let id = produce(&db, &outbox, "thing.created", 7).await;
    let next = produce(&db, &outbox, "thing.created", 8).await;
    let _dispatcher = outbox.spawn_dispatcher(db.clone());

    eventually("both deliveries", async || consumer.applied().len() == 2).await;
    // Nothing more arrives once delivered.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let seen = consumer.seen();
    assert_eq!(
        seen.iter()
            .map(|s| (s.id.clone(), s.n, s.applied))
            .collect::<Vec<_>>(),
        [
            (id.clone(), 7, None),
            (id.clone(), 7, None),
            (id.clone(), 7, None),
            (id.clone(), 7, Some(true)),
            (next.clone(), 8, Some(true)),
        ],
        "three failures, one success, then the next event"
    );
    for s in &seen {
        assert_eq!(s.header_id.as_deref(), Some(s.id.as_str()));
        assert_eq!(s.token.as_deref(), Some(TOKEN));
    }
    // Equal jitter on a 100 ms base: waits in [50,100], [100,200], [200,400] ms.
    let gaps: Vec<Duration> = seen[..4].windows(2).map(|w| w[1].at - w[0].at).collect();
    assert!(gaps[0] >= Duration::from_millis(45), "{gaps:?}");
    assert!(gaps[2] >= Duration::from_millis(195), "{gaps:?}");
    assert!(gaps[2] > gaps[0], "back-off must grow: {gaps:?}");

    let rows: Vec<(i64, Option<i64>, Option<String>)> = db
        .read(|c| {
            let mut stmt = c.prepare(
                "SELECT attempts, delivered_at, last_error FROM outbox_deliveries ORDER BY event_seq",
            )?;
            let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))?;
            rows.collect::<rusqlite::Result<Vec<_>>>()
        })
        .await
        .unwrap();
    assert_eq!(rows.len(), 2);
    let (attempts, delivered, last_error) = &rows[0];
    assert_eq!(*attempts, 4);
    assert!(delivered.is_some());
    assert!(
        last_error.as_deref().is_some_and(|e| e.contains("500")),
        "{last_error:?}"
    );
    assert_eq!((rows[1].0, rows[1].1.is_some()), (1, true));
    assert!(outbox.backlog(&db).await.unwrap().is_empty());
    assert!(outbox.parked(&db).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_redelivery_after_a_lost_answer_is_absorbed_by_the_consumer_inbox() {
    let dir = tempfile::tempdir().unwrap();
    let consumer = Consumer::new(dir.path(), "c", &[]);
    consumer
        .lost_answers
        .lock()
        .unwrap()
        .push_back(StatusCode::BAD_GATEWAY);
    let addr = serve(consumer.router()).await;
    let db = Db::open(dir.path().join("p.db"), PRODUCER_MIGRATIONS).unwrap();
    let outbox = Outbox::new(vec![route("thing.created", "c", addr)])
        .with_backoff(Duration::from_millis(20), Duration::from_millis(50));
    let _dispatcher = outbox.spawn_dispatcher(db.clone());

    let id = produce(&db, &outbox, "thing.created", 1).await;
    eventually("the redelivery", async || consumer.seen().len() == 2).await;
    eventually("an empty backlog", async || {
        outbox.backlog(&db).await.unwrap().is_empty()
    })
    .await;
    let seen = consumer.seen();
    assert_eq!(
        seen.iter()
            .map(|s| (s.id.clone(), s.applied))
            .collect::<Vec<_>>(),
        [(id.clone(), Some(true)), (id, Some(false))],
        "applied once, the redelivery recognised"
    );
    assert_eq!(consumer.applied().len(), 1);
}

#[tokio::test]
async fn events_enqueued_while_the_consumer_is_down_survive_a_restart_and_arrive_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("p.db");
    // A port with nobody listening: connections are refused.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let routes = || vec![route("thing.created", "c", port)];

    let db = Db::open(&path, PRODUCER_MIGRATIONS).unwrap();
    let outbox =
        Outbox::new(routes()).with_backoff(Duration::from_millis(50), Duration::from_millis(200));
    let dispatcher = outbox.spawn_dispatcher(db.clone());
    let mut ids = Vec::new();
    for n in 0..5 {
        ids.push(produce(&db, &outbox, "thing.created", n).await);
    }
    eventually("a refused attempt", async || {
        db.read(|c| {
            c.query_row("SELECT max(attempts) FROM outbox_deliveries", [], |r| {
                r.get::<_, i64>(0)
            })
        })
        .await
        .unwrap()
            >= 2
    })
    .await;
    assert_eq!(outbox.backlog(&db).await.unwrap(), [("c".to_string(), 5)]);
    // The "crash": the dispatcher, the outbox and the database handle all go.
    drop(dispatcher);
    drop(outbox);
    drop(db);

    let db = Db::open(&path, PRODUCER_MIGRATIONS).unwrap();
    let outbox =
        Outbox::new(routes()).with_backoff(Duration::from_millis(50), Duration::from_millis(200));
    let _dispatcher = outbox.spawn_dispatcher(db.clone());
    let consumer = Consumer::new(dir.path(), "c", &[]);
    let listener = tokio::net::TcpListener::bind(port).await.unwrap();
    serve_on(listener, consumer.router()).await;

    eventually("every event", async || consumer.applied().len() == 5).await;
    eventually("an empty backlog", async || {
        outbox.backlog(&db).await.unwrap().is_empty()
    })
    .await;
    let applied = consumer.applied();
    assert_eq!(
        applied.iter().map(|s| s.n).collect::<Vec<_>>(),
        [0, 1, 2, 3, 4]
    );
    assert_eq!(
        applied.iter().map(|s| s.id.clone()).collect::<Vec<_>>(),
        ids
    );
    assert!(
        consumer.seen().iter().all(|s| s.applied == Some(true)),
        "no redelivery was needed: {:?}",
        consumer.seen()
    );
}

#[tokio::test]
async fn a_refused_event_is_parked_and_not_retried_while_other_deliveries_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let picky = Consumer::new(dir.path(), "picky", &[StatusCode::UNPROCESSABLE_ENTITY]);
    let fine = Consumer::new(dir.path(), "fine", &[]);
    let picky_addr = serve(picky.router()).await;
    let fine_addr = serve(fine.router()).await;
    let db = Db::open(dir.path().join("p.db"), PRODUCER_MIGRATIONS).unwrap();
    let outbox = Outbox::new(vec![
        route("thing.created", "picky", picky_addr),
        route("thing.created", "fine", fine_addr),
    ])
    .with_backoff(Duration::from_millis(20), Duration::from_millis(50));
    let _dispatcher = outbox.spawn_dispatcher(db.clone());

    let refused = produce(&db, &outbox, "thing.created", 1).await;
    let accepted = produce(&db, &outbox, "thing.created", 2).await;
    eventually("both deliveries to fine", async || {
        fine.applied().len() == 2
    })
    .await;
    eventually("the second delivery to picky", async || {
        picky.applied().len() == 1
    })
    .await;
    // Several back-off periods: a retried delivery would have come back by now.
    tokio::time::sleep(Duration::from_millis(300)).await;

    let picky_seen = picky.seen();
    assert_eq!(picky_seen.len(), 2, "{picky_seen:?}");
    assert_eq!(
        (picky_seen[0].id.as_str(), picky_seen[0].applied),
        (refused.as_str(), None)
    );
    assert_eq!(
        (picky_seen[1].id.as_str(), picky_seen[1].applied),
        (accepted.as_str(), Some(true))
    );
    assert_eq!(
        fine.applied().iter().map(|s| s.n).collect::<Vec<_>>(),
        [1, 2]
    );
    assert_eq!(
        outbox.parked(&db).await.unwrap(),
        [("picky".to_string(), 1)]
    );
    assert!(outbox.backlog(&db).await.unwrap().is_empty());
    let (attempts, last_error): (i64, String) = db
        .read(|c| {
            c.query_row(
                "SELECT attempts, last_error FROM outbox_deliveries WHERE parked_at IS NOT NULL",
                [],
                |r| Ok((r.get(0)?, r.get(1)?)),
            )
        })
        .await
        .unwrap();
    assert_eq!(attempts, 1);
    assert!(
        last_error.contains("422") && last_error.contains("scripted"),
        "{last_error}"
    );
}

#[tokio::test]
async fn every_consumer_of_a_topic_gets_each_event_and_an_unrouted_topic_stores_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let stats = Consumer::new(dir.path(), "stats", &[]);
    let points = Consumer::new(dir.path(), "points", &[]);
    let stats_addr = serve(stats.router()).await;
    let points_addr = serve(points.router()).await;
    let db = Db::open(dir.path().join("p.db"), PRODUCER_MIGRATIONS).unwrap();
    let outbox = Outbox::new(vec![
        route("thing.created", "stats", stats_addr),
        route("thing.created", "points", points_addr),
    ]);
    let _dispatcher = outbox.spawn_dispatcher(db.clone());

    let unrouted = produce(&db, &outbox, "thing.ignored", 99).await;
    assert_eq!(
        uuid::Uuid::parse_str(&unrouted).unwrap().get_version_num(),
        4
    );
    assert_eq!(count(&db, "outbox_events").await, 0);
    assert_eq!(count(&db, "outbox_deliveries").await, 0);
    assert_eq!(count(&db, "things").await, 1, "the write itself committed");

    let mut ids = Vec::new();
    for n in 0..3 {
        ids.push(produce(&db, &outbox, "thing.created", n).await);
    }
    assert_eq!(count(&db, "outbox_events").await, 3);
    assert_eq!(count(&db, "outbox_deliveries").await, 6);
    eventually("both consumers", async || {
        stats.applied().len() == 3 && points.applied().len() == 3
    })
    .await;
    for consumer in [&stats, &points] {
        let got: Vec<String> = consumer.applied().into_iter().map(|s| s.id).collect();
        assert_eq!(got, ids);
        assert_eq!(consumer.seen().len(), 3);
    }
    eventually("an empty backlog", async || {
        outbox.backlog(&db).await.unwrap().is_empty()
    })
    .await;
}

#[tokio::test]
async fn first_delivery_is_true_once_per_event_id() {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open(dir.path().join("c.db"), &[INBOX_MIGRATION]).unwrap();
    let (first, again) = db
        .write(|tx| {
            Ok::<_, rusqlite::Error>((first_delivery(tx, "e1")?, first_delivery(tx, "e1")?))
        })
        .await
        .unwrap();
    assert!(first);
    assert!(!again);
    let (later, other) = db
        .write(|tx| {
            Ok::<_, rusqlite::Error>((first_delivery(tx, "e1")?, first_delivery(tx, "e2")?))
        })
        .await
        .unwrap();
    assert!(!later, "a redelivery in a later transaction");
    assert!(other);

    // An effect that rolls back takes its inbox record with it, so the redelivery applies it.
    let failed: Result<bool, rusqlite::Error> = db
        .write(|tx| {
            assert!(first_delivery(tx, "e3")?);
            Err(rusqlite::Error::QueryReturnedNoRows)
        })
        .await;
    assert!(failed.is_err());
    let retried = db.write(|tx| first_delivery(tx, "e3")).await.unwrap();
    assert!(retried);
}

/// The committed version of the producer's database (`read_versioned`), retried while a
/// commit is under way.
async fn version(db: &Db) -> chefcito::db::Version {
    loop {
        let seen = db
            .read_versioned(|_, version| Ok::<_, rusqlite::Error>(version))
            .await
            .unwrap();
        if let Some(version) = seen {
            return version;
        }
        tokio::task::yield_now().await;
    }
}

/// The outcomes of a round of deliveries are marked in one commit, not one per delivery.
#[tokio::test]
async fn a_round_of_deliveries_is_marked_in_one_commit() {
    let dir = tempfile::tempdir().unwrap();
    let stats = Consumer::new(dir.path(), "stats", &[]);
    let addr = serve(stats.router()).await;
    let db = Db::open(dir.path().join("p.db"), PRODUCER_MIGRATIONS).unwrap();
    let outbox = Outbox::new(vec![route("thing.created", "stats", addr)]);
    let o = outbox.clone();
    db.write(move |tx| {
        for n in 0..30 {
            o.enqueue(tx, "thing.created", &Thing { n })?;
        }
        Ok::<_, rusqlite::Error>(())
    })
    .await
    .unwrap();
    let before = version(&db).await;
    let _dispatcher = outbox.spawn_dispatcher(db.clone());
    eventually("an empty backlog", async || {
        outbox.backlog(&db).await.unwrap().is_empty()
    })
    .await;
    assert_eq!(stats.applied().len(), 30);
    let after = version(&db).await;
    // A commit moves the version by two (odd while it is under way). Pruning may add one.
    let commits = (after.get() - before.get()) / 2;
    assert!(
        (1..=2).contains(&commits),
        "30 deliveries took {commits} commits"
    );
}
