//! The SQLite handle every stateful service uses.
//!
//! * One file per service, WAL mode, foreign keys on, a busy timeout.
//! * Migrations are plain SQL strings applied at start-up, tracked with `PRAGMA user_version`.
//! * **Acknowledged means durable.** `synchronous=FULL`: a write is answered only once its
//!   commit reached stable storage.
//! * **Group commit.** One writer thread owns the only writing connection (SQLite allows one
//!   writer at a time anyway). It takes every write waiting for it, runs each closure alone in
//!   its own SAVEPOINT inside one IMMEDIATE transaction (a closure's error rolls back only its
//!   own work), commits once — one fsync for the whole group — and then answers them all. A
//!   closure still runs alone on the writer, so check-then-insert stays atomic.
//! * A pool of read-only connections reads while the writer writes (WAL: a read never waits
//!   for a write).
//! * **Reads run on the caller's thread.** A read is a prepared statement (every store
//!   prepares through the connection's statement cache) on pages already in memory: a few
//!   microseconds, less than waking a blocking-pool thread and being woken back, which was a
//!   quarter of the venues service's CPU under load (futex wake-ups and context switches).
//!   Reads are bounded by their `LIMIT`; the JSON of a large page costs the async worker more
//!   than the read itself anyway.
//! * **Cancel-safe.** A read awaits nothing while it holds a connection: it cannot be
//!   abandoned halfway, and the connection goes back to the pool when the closure ends, panics
//!   included. A write is a message to the writer thread. A caller that goes away (client
//!   gone, timeout, `select!`) can never leave a pool short. No lock is held while a closure
//!   runs, so a panicking closure poisons nothing.
//!
//! Measured with `cargo bench -p chefcito --bench db` on the 2-core dev machine, 64 concurrent
//! one-row writes until all are acknowledged: one commit per write at FULL 14.3 ms, group
//! commit at FULL 0.47 ms (~30× faster, and durable), group commit at NORMAL 0.22 ms (not
//! durable; not used). Earlier figures for the reader pool: 64 reads racing 16 writes take
//! 4.60 ms with one reader connection and 2.92 ms with the default four.
//!
//! * **Versions.** The writer counts its commits (a seqlock: odd while a commit is under way).
//!   [`Db::read_versioned`] tells a read which committed version its snapshot holds, so that a
//!   store can keep what it derived from the data (a sorted list of ids, a count) for exactly
//!   as long as the data is unchanged, and never serve it one commit late.
//!
//! **Measured in production too** ([`crate::metrics`], label `db`): every write from
//! submission to acknowledgement (`sqlite_write_seconds`), every group commit
//! (`sqlite_commit_seconds`, `sqlite_write_group_size`, `sqlite_commit_failures_total`) and
//! every read (`sqlite_read_seconds`). The series are registered when the store opens, so the
//! writer thread and each call only touch atomics.

use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::Instant;

use rusqlite::{Connection, OpenFlags, Transaction, TransactionBehavior};
use tokio::sync::oneshot;

use crate::metrics::DbMetrics;

pub mod derived;
pub use derived::Derived;

/// A failure of the store itself (not of a business rule).
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("sqlite: {0}")]
    Sqlite(#[from] rusqlite::Error),
    #[error("cannot create the data directory {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "database {path} has schema version {found}, newer than this binary knows ({known}); upgrade the service"
    )]
    TooNew {
        path: PathBuf,
        found: usize,
        known: usize,
    },
}

/// Read-only connections opened at start. Reads borrow one for the time of the closure, on
/// the caller's thread, so no more than the runtime's worker threads are ever in use; the
/// pool opens another if it ever runs dry.
pub const DEFAULT_READERS: usize = 4;

/// Prepared statements kept per connection.
const STATEMENT_CACHE: usize = 64;

/// Most writes committed together; a longer queue is served by the next group.
const MAX_GROUP: usize = 256;

/// SQLite's `synchronous` setting of the writer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Synchronous {
    /// Every commit reaches stable storage before it is acknowledged (the only setting a
    /// service uses).
    Full,
    /// Commits may be lost on power loss. For benchmarks that show what durability costs.
    Normal,
}

/// How a [`Db`] is opened; services use [`Db::open`], benchmarks compare the settings.
#[derive(Debug, Clone, Copy)]
pub struct DbOptions {
    pub readers: usize,
    pub synchronous: Synchronous,
    /// Commit several waiting writes together; off means one commit per write.
    pub group_commit: bool,
}

impl DbOptions {
    /// What every service runs with: durable, grouped, [`DEFAULT_READERS`] readers.
    pub const DURABLE: DbOptions = DbOptions {
        readers: DEFAULT_READERS,
        synchronous: Synchronous::Full,
        group_commit: true,
    };
}

/// A cloneable handle to one SQLite database.
#[derive(Clone)]
pub struct Db {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("path", &self.inner.path)
            .finish()
    }
}

struct Inner {
    path: PathBuf,
    /// Jobs for the writer thread; the thread ends when the last handle is dropped.
    writer: mpsc::Sender<Job>,
    readers: Arc<ReaderPool>,
    metrics: DbMetrics,
    commits: Arc<Commits>,
}

/// How many commits the writer made, twice over: odd while one is under way, so that a
/// reader can tell whether its snapshot began between two commits ([`Db::read_versioned`]).
#[derive(Default)]
struct Commits(AtomicU64);

impl Commits {
    /// Around a commit: odd before, even after, whatever its outcome.
    fn around<T>(&self, commit: impl FnOnce() -> T) -> T {
        self.0.fetch_add(1, Ordering::SeqCst);
        let outcome = commit();
        self.0.fetch_add(1, Ordering::SeqCst);
        outcome
    }

    fn now(&self) -> u64 {
        self.0.load(Ordering::SeqCst)
    }
}

/// The committed state of a database a read saw: equal versions, equal data (within one
/// [`Db`]; it starts again at zero when the service restarts).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Version(u64);

impl Version {
    /// Twice the commits made since the database was opened.
    pub fn get(self) -> u64 {
        self.0
    }
}

/// Idle read-only connections. The lock is held only to push or pop.
struct ReaderPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
}

impl ReaderPool {
    fn open_reader(path: &Path) -> rusqlite::Result<Connection> {
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY
                | OpenFlags::SQLITE_OPEN_NO_MUTEX
                | OpenFlags::SQLITE_OPEN_URI,
        )?;
        configure(&conn, Synchronous::Full)?;
        Ok(conn)
    }

    /// An idle connection; a fresh one if the pool is somehow empty (it never should be while
    /// a permit is held, but a store must heal rather than panic).
    fn take(self: &Arc<Self>) -> rusqlite::Result<Lent> {
        let idle = self
            .idle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .pop();
        let conn = match idle {
            Some(conn) => conn,
            None => Self::open_reader(&self.path)?,
        };
        Ok(Lent {
            conn: Some(conn),
            pool: self.clone(),
        })
    }
}

/// A lent reader: back to the pool when dropped, whether the closure returned or panicked.
struct Lent {
    conn: Option<Connection>,
    pool: Arc<ReaderPool>,
}

impl Drop for Lent {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            self.pool
                .idle
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(conn);
        }
    }
}

/// A write for the writer thread: runs the caller's closure on the open transaction and says
/// whether to keep its work, plus how to answer once the group's commit is known.
type Job = Box<dyn FnOnce(&Transaction) -> Staged + Send>;

struct Staged {
    keep: bool,
    answer: Reply,
}

/// Answers a write's caller; called with the group commit's outcome (`None`: committed).
type Reply = Box<dyn FnOnce(Option<&rusqlite::Error>) + Send>;

type Answer<T, E> = std::thread::Result<Result<T, E>>;

fn configure(conn: &Connection, synchronous: Synchronous) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    // Stores prepare every statement through this cache: parsing and planning the SQL cost
    // more than running a point lookup. Searches build a few dozen shapes at most.
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.pragma_update(None, "foreign_keys", true)?;
    let mode = match synchronous {
        Synchronous::Full => "FULL",
        Synchronous::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", mode)?;
    Ok(())
}

/// Applies the migrations that `conn` has not seen yet, each in its own transaction.
pub fn migrate(conn: &mut Connection, path: &Path, migrations: &[&str]) -> Result<(), DbError> {
    let current: usize =
        conn.pragma_query_value(None, "user_version", |r| r.get::<_, i64>(0))? as usize;
    if current > migrations.len() {
        return Err(DbError::TooNew {
            path: path.to_path_buf(),
            found: current,
            known: migrations.len(),
        });
    }
    for (index, sql) in migrations.iter().enumerate().skip(current) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", (index + 1) as i64)?;
        tx.commit()?;
    }
    Ok(())
}

/// The error a caller gets when its write was not run (the writer could not begin a
/// transaction, or has stopped with the process); the cause is in the log.
fn write_not_done() -> rusqlite::Error {
    rusqlite::Error::SqliteFailure(
        rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_IOERR),
        Some("the write could not be run".into()),
    )
}

/// The writer thread: waits for a write, gathers every write waiting behind it, runs them in
/// one transaction and commits once.
fn writer_loop(
    mut conn: Connection,
    jobs: mpsc::Receiver<Job>,
    group_commit: bool,
    metrics: DbMetrics,
    commits: Arc<Commits>,
) {
    let limit = if group_commit { MAX_GROUP } else { 1 };
    while let Ok(first) = jobs.recv() {
        let mut group = vec![first];
        while group.len() < limit {
            match jobs.try_recv() {
                Ok(job) => group.push(job),
                Err(_) => break,
            }
        }
        run_group(&mut conn, group, &metrics, &commits);
    }
}

fn run_group(conn: &mut Connection, group: Vec<Job>, metrics: &DbMetrics, commits: &Commits) {
    metrics.group_size.record(group.len() as f64);
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => {
            tracing::error!(error = %e, "cannot begin a write transaction");
            metrics.commit_failures.increment(1);
            // The closures never ran; their callers get the error.
            for job in group {
                fail_unrun(job, &e);
            }
            return;
        }
    };
    let mut answers = Vec::with_capacity(group.len());
    let mut broken: Option<rusqlite::Error> = None;
    for job in group {
        if let Some(e) = &broken {
            fail_unrun(job, e);
            continue;
        }
        if let Err(e) = tx.execute_batch("SAVEPOINT chefcito_write") {
            fail_unrun(job, &e);
            broken = Some(e);
            continue;
        }
        let staged = job(&tx);
        let end = if staged.keep {
            "RELEASE chefcito_write"
        } else {
            "ROLLBACK TO chefcito_write; RELEASE chefcito_write"
        };
        if let Err(e) = tx.execute_batch(end) {
            broken = Some(e);
        }
        answers.push(staged.answer);
    }
    let outcome = match broken {
        Some(e) => {
            let _ = tx.rollback();
            Err(e)
        }
        None => {
            let started = Instant::now();
            let committed = commits.around(|| tx.commit());
            metrics.commit.record(started.elapsed());
            committed
        }
    };
    if let Err(e) = &outcome {
        tracing::error!(error = %e, "a group of writes failed to commit");
        metrics.commit_failures.increment(1);
    }
    for answer in answers {
        answer(outcome.as_ref().err());
    }
}

/// A job that never got to run (its group could not begin): dropping it closes its answer
/// channel, and its caller gets [`write_not_done`]; the cause is logged here.
fn fail_unrun(job: Job, e: &rusqlite::Error) {
    tracing::warn!(error = %e, "write not run");
    drop(job);
}

impl Db {
    /// Opens (creating it and its directory if needed) the database at `path` and applies
    /// `migrations`. Called once at start-up; it blocks.
    pub fn open(path: impl AsRef<Path>, migrations: &[&str]) -> Result<Db, DbError> {
        Db::open_with(path, migrations, DbOptions::DURABLE)
    }

    /// [`Db::open`] with a chosen number of read-only connections (at least one).
    pub fn open_with_readers(
        path: impl AsRef<Path>,
        migrations: &[&str],
        readers: usize,
    ) -> Result<Db, DbError> {
        Db::open_with(
            path,
            migrations,
            DbOptions {
                readers,
                ..DbOptions::DURABLE
            },
        )
    }

    /// [`Db::open`] with explicit options (benchmarks).
    pub fn open_with(
        path: impl AsRef<Path>,
        migrations: &[&str],
        options: DbOptions,
    ) -> Result<Db, DbError> {
        let readers_count = options.readers.max(1);
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| DbError::Io {
                path: dir.to_path_buf(),
                source,
            })?;
        }
        let mut writer = Connection::open(&path)?;
        writer.pragma_update(None, "journal_mode", "WAL")?;
        configure(&writer, options.synchronous)?;
        migrate(&mut writer, &path, migrations)?;
        let idle = (0..readers_count)
            .map(|_| ReaderPool::open_reader(&path))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let (jobs, queue) = mpsc::channel::<Job>();
        let group_commit = options.group_commit;
        let metrics = DbMetrics::of(&path);
        let writer_metrics = metrics.clone();
        let commits = Arc::new(Commits::default());
        let writer_commits = commits.clone();
        std::thread::Builder::new()
            .name("sqlite-writer".into())
            .spawn(move || writer_loop(writer, queue, group_commit, writer_metrics, writer_commits))
            .map_err(|source| DbError::Io {
                path: path.clone(),
                source,
            })?;
        Ok(Db {
            inner: Arc::new(Inner {
                readers: Arc::new(ReaderPool {
                    path: path.clone(),
                    idle: Mutex::new(idle),
                }),
                path,
                writer: jobs,
                metrics,
                commits,
            }),
        })
    }

    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` alone on the writer, inside the current group's transaction; answers once the
    /// group committed (durably). `f`'s error undoes only `f`'s own work. If the caller goes
    /// away, the write still completes or not as a whole; only the answer is lost.
    pub async fn write<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
        F: FnOnce(&Transaction) -> Result<T, E> + Send + 'static,
    {
        let (reply, answer) = oneshot::channel::<Answer<T, E>>();
        let job: Job = Box::new(move |tx| match catch_unwind(AssertUnwindSafe(|| f(tx))) {
            Ok(Ok(value)) => Staged {
                keep: true,
                answer: Box::new(move |committed| {
                    let result = match committed {
                        None => Ok(value),
                        Some(e) => Err(E::from(clone_error(e))),
                    };
                    let _ = reply.send(Ok(result));
                }),
            },
            Ok(Err(e)) => Staged {
                keep: false,
                answer: Box::new(move |_| {
                    let _ = reply.send(Ok(Err(e)));
                }),
            },
            Err(panic) => Staged {
                keep: false,
                answer: Box::new(move |_| {
                    let _ = reply.send(Err(panic));
                }),
            },
        });
        let submitted = Instant::now();
        if self.inner.writer.send(job).is_err() {
            return Err(E::from(write_not_done()));
        }
        let answer = answer.await;
        self.inner.metrics.write.record(submitted.elapsed());
        match answer {
            Ok(Ok(result)) => result,
            // A panic inside a store closure is a bug; re-raise it where the caller can see it.
            Ok(Err(panic)) => resume_unwind(panic),
            Err(_) => Err(E::from(write_not_done())),
        }
    }

    /// Runs `f` on a read-only connection, right here on the calling thread (see the module
    /// docs: a read is a few microseconds, less than handing it to another thread). The
    /// connection goes back to the pool when `f` ends, panics included; `f` cannot be
    /// cancelled halfway, since nothing is awaited.
    pub async fn read<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
        F: FnOnce(&Connection) -> Result<T, E> + Send + 'static,
    {
        let started = Instant::now();
        let lent = self.inner.readers.take()?;
        let outcome = f(lent
            .conn
            .as_ref()
            .expect("a lent reader holds its connection"));
        drop(lent);
        self.inner.metrics.read.record(started.elapsed());
        outcome
    }

    /// [`Db::read`] inside one read transaction, told which committed [`Version`] of the
    /// database that transaction sees; `None` when a commit went through while it began (it
    /// sees a consistent state, only not a known one). Reading the version first, then
    /// starting the snapshot, then reading it again: the same even count both times means no
    /// commit began or ended in between.
    pub async fn read_versioned<T, E, F>(&self, f: F) -> Result<T, E>
    where
        T: Send + 'static,
        E: From<rusqlite::Error> + Send + 'static,
        F: FnOnce(&Transaction, Option<Version>) -> Result<T, E> + Send + 'static,
    {
        let commits = self.inner.commits.clone();
        self.read(move |conn| {
            let before = commits.now();
            let tx = conn.unchecked_transaction()?;
            // A deferred transaction takes its snapshot at its first read of the file.
            tx.query_row("PRAGMA user_version", [], |_| Ok(()))?;
            let version =
                (before.is_multiple_of(2) && commits.now() == before).then_some(Version(before));
            let outcome = f(&tx, version)?;
            tx.finish()?;
            Ok(outcome)
        })
        .await
    }

    /// Readiness: the database answers a trivial query.
    pub async fn ping(&self) -> bool {
        self.read(|c| c.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
            .await
            .is_ok()
    }
}

/// rusqlite errors are not `Clone`; a failed commit is reported to every write of the group.
fn clone_error(e: &rusqlite::Error) -> rusqlite::Error {
    match e {
        rusqlite::Error::SqliteFailure(code, message) => {
            rusqlite::Error::SqliteFailure(*code, message.clone())
        }
        other => rusqlite::Error::SqliteFailure(
            rusqlite::ffi::Error::new(rusqlite::ffi::SQLITE_ERROR),
            Some(other.to_string()),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MIGRATIONS: &[&str] = &[
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT NOT NULL);",
        "ALTER TABLE t ADD COLUMN extra TEXT;",
    ];

    #[tokio::test]
    async fn migrates_once_and_keeps_data_across_reopen() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/store.db");
        let db = Db::open(&path, MIGRATIONS).unwrap();
        db.write(|tx| {
            tx.execute("INSERT INTO t (v, extra) VALUES ('a', 'x')", [])
                .map(|_| ())
        })
        .await
        .unwrap();
        drop(db);
        let db = Db::open(&path, MIGRATIONS).unwrap();
        let n: i64 = db
            .read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(n, 1);
        let mode: String = db
            .read(|c| c.query_row("PRAGMA journal_mode", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(mode, "wal");
    }

    #[tokio::test]
    async fn refuses_a_database_from_a_newer_binary() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        Db::open(&path, MIGRATIONS).unwrap();
        let err = Db::open(&path, &MIGRATIONS[..1]).unwrap_err();
        assert!(
            matches!(
                err,
                DbError::TooNew {
                    found: 2,
                    known: 1,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn failed_write_rolls_back() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db"), MIGRATIONS).unwrap();
        let result: Result<(), rusqlite::Error> = db
            .write(|tx| {
                tx.execute("INSERT INTO t (v) VALUES ('a')", [])?;
                tx.execute("INSERT INTO t (v) VALUES (NULL)", [])?; // NOT NULL violation
                Ok(())
            })
            .await;
        assert!(result.is_err());
        let n: i64 = db
            .read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(n, 0);
    }

    #[tokio::test]
    async fn concurrent_writes_all_land_and_readers_are_read_only() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db"), MIGRATIONS).unwrap();
        let tasks: Vec<_> = (0..50)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |tx| {
                        tx.execute("INSERT INTO t (v) VALUES (?1)", [i.to_string()])
                            .map(|_| ())
                    })
                    .await
                })
            })
            .collect();
        for t in tasks {
            t.await.unwrap().unwrap();
        }
        let n: i64 = db
            .read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(n, 50);
        let denied: Result<usize, rusqlite::Error> =
            db.read(|c| c.execute("DELETE FROM t", [])).await;
        assert!(denied.is_err());
        assert!(db.ping().await);
    }

    async fn count(db: &Db) -> i64 {
        db.read(|c| c.query_row("SELECT count(*) FROM t", [], |r| r.get::<_, i64>(0)))
            .await
            .unwrap()
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cancelled_and_panicking_reads_leave_the_pool_whole() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open_with_readers(dir.path().join("s.db"), MIGRATIONS, 2).unwrap();
        // Thousands of reads abandoned mid-flight: permits and connections must all come back.
        for round in 0..2_000u32 {
            let slow = db.read(move |c| {
                c.query_row(
                    "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < ?1) SELECT count(*) FROM n",
                    [i64::from(round % 50) * 10],
                    |r| r.get::<_, i64>(0),
                )
            });
            let _ = tokio::time::timeout(std::time::Duration::from_micros(1), slow).await;
        }
        // Read closures that panic: each panic reaches its caller, and the connection returns.
        for _ in 0..10 {
            let db = db.clone();
            let outcome = tokio::spawn(async move {
                db.read(|_c| -> Result<(), rusqlite::Error> { panic!("a bug in a read") })
                    .await
            })
            .await;
            assert!(outcome.unwrap_err().is_panic());
        }
        let burst: Vec<_> = (0..64)
            .map(|_| {
                let db = db.clone();
                tokio::spawn(async move { db.ping().await })
            })
            .collect();
        for read in burst {
            assert!(read.await.unwrap(), "every read after the storm succeeds");
        }
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_failing_write_in_a_group_undoes_only_its_own_work() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db"), MIGRATIONS).unwrap();
        let tasks: Vec<_> = (0..100)
            .map(|i| {
                let db = db.clone();
                tokio::spawn(async move {
                    db.write(move |tx| {
                        tx.execute("INSERT INTO t (v) VALUES (?1)", [format!("row {i}")])?;
                        if i % 3 == 0 {
                            // Half-done work, then a broken rule: only this closure's row goes.
                            tx.execute("INSERT INTO t (v) VALUES (NULL)", [])?;
                        }
                        Ok::<_, rusqlite::Error>(i)
                    })
                    .await
                })
            })
            .collect();
        let mut ok = 0;
        for task in tasks {
            if let Ok(i) = task.await.unwrap() {
                assert_ne!(i % 3, 0);
                ok += 1;
            }
        }
        assert_eq!(ok, 66);
        assert_eq!(count(&db).await, 66);
        let failed: i64 = db
            .read(|c| {
                c.query_row(
                    "SELECT count(*) FROM t WHERE CAST(substr(v, 5) AS INTEGER) % 3 = 0",
                    [],
                    |r| r.get(0),
                )
            })
            .await
            .unwrap();
        assert_eq!(failed, 0, "no row of a failed closure survives");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_write_reaches_its_caller_and_the_writer_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db"), MIGRATIONS).unwrap();
        let panicking = {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(|tx| -> Result<(), rusqlite::Error> {
                    tx.execute("INSERT INTO t (v) VALUES ('lost')", [])?;
                    panic!("a bug in a write")
                })
                .await
            })
        };
        assert!(panicking.await.unwrap_err().is_panic());
        db.write(|tx| {
            tx.execute("INSERT INTO t (v) VALUES ('kept')", [])
                .map(|_| ())
        })
        .await
        .unwrap();
        assert_eq!(count(&db).await, 1);
    }

    #[tokio::test]
    async fn writes_are_durable_and_a_cancelled_write_is_whole_or_absent() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db"), MIGRATIONS).unwrap();
        let level: i64 = db
            .write(|tx| tx.query_row("PRAGMA synchronous", [], |r| r.get(0)))
            .await
            .unwrap();
        assert_eq!(level, 2, "synchronous=FULL on the writer");
        for i in 0..200 {
            let write = db.write(move |tx| {
                tx.execute("INSERT INTO t (v, extra) VALUES (?1, 'a')", [i.to_string()])?;
                tx.execute("UPDATE t SET extra = 'b' WHERE v = ?1", [i.to_string()])
                    .map(|_| ())
            });
            let _ = tokio::time::timeout(std::time::Duration::from_micros(1), write).await;
        }
        db.write(|tx| tx.query_row("SELECT 1", [], |r| r.get::<_, i64>(0)))
            .await
            .unwrap();
        let half_done: i64 = db
            .read(|c| {
                c.query_row("SELECT count(*) FROM t WHERE extra != 'b'", [], |r| {
                    r.get(0)
                })
            })
            .await
            .unwrap();
        assert_eq!(half_done, 0);
    }

    async fn seen(db: &Db) -> (Option<Version>, i64) {
        db.read_versioned(|tx, version| {
            let n: i64 = tx.query_row("SELECT count(*) FROM t", [], |r| r.get(0))?;
            Ok::<_, rusqlite::Error>((version, n))
        })
        .await
        .unwrap()
    }

    /// Equal versions mean equal data, even with writes racing the reads; a write moves the
    /// version on.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_version_names_one_committed_state() {
        let dir = tempfile::tempdir().unwrap();
        let db = Db::open(dir.path().join("s.db"), MIGRATIONS).unwrap();
        let (first, n) = seen(&db).await;
        assert_eq!(n, 0);
        let first = first.expect("no commit under way: the version is known");
        assert_eq!(seen(&db).await.0, Some(first), "no write, same version");

        let writer = {
            let db = db.clone();
            tokio::spawn(async move {
                for i in 0..300 {
                    db.write(move |tx| {
                        tx.execute("INSERT INTO t (v, extra) VALUES (?1, 'x')", [i.to_string()])
                            .map(|_| ())
                    })
                    .await
                    .unwrap();
                }
            })
        };
        let mut counts = std::collections::HashMap::new();
        while !writer.is_finished() {
            let (version, n) = seen(&db).await;
            if let Some(version) = version {
                let earlier = *counts.entry(version).or_insert(n);
                assert_eq!(earlier, n, "two states under one version {version:?}");
            }
            tokio::task::yield_now().await;
        }
        writer.await.unwrap();
        let (last, n) = seen(&db).await;
        assert_eq!(n, 300);
        assert!(last.unwrap() > first);
        assert!(
            counts.len() > 1,
            "the reads saw the writes go by: {counts:?}"
        );
    }
}
