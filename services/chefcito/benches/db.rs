//! Why the store is one writer plus a pool of readers.
//!
//! * `mixed`: 64 concurrent point reads while 16 writes run, with 1 reader connection (every
//!   read queues behind the others) and with the default pool.
//! * `write`: a write through the long-lived writer connection versus opening a connection
//!   per write (what the original did with its NullPool).
//! * `commit`: 64 concurrent one-row writes, each acknowledged only once durable
//!   (`synchronous=FULL`) with one commit per write, the same with group commit (what every
//!   service runs), and group commit at `synchronous=NORMAL` (not durable: what it would buy).
//!
//! Run with `cargo bench -p chefcito --bench db`.

use chefcito::db::{DEFAULT_READERS, Db, DbOptions, Synchronous};
use criterion::{Criterion, criterion_group, criterion_main};

const MIGRATIONS: &[&str] =
    &["CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, n INTEGER NOT NULL);"];

fn seeded(readers: usize) -> (tempfile::TempDir, Db) {
    let dir = tempfile::tempdir().unwrap();
    let db = Db::open_with_readers(dir.path().join("bench.db"), MIGRATIONS, readers).unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(db.write(|tx| {
        let mut stmt = tx.prepare("INSERT INTO items (name, n) VALUES (?1, ?2)")?;
        for i in 0..10_000 {
            stmt.execute(rusqlite::params![format!("item-{i}"), i])?;
        }
        Ok::<_, rusqlite::Error>(())
    }))
    .unwrap();
    (dir, db)
}

async fn mixed_load(db: &Db) {
    let mut tasks = Vec::new();
    for i in 0..64i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.read(move |c| {
                c.query_row(
                    "SELECT sum(n) FROM items WHERE id BETWEEN ?1 AND ?1 + 200",
                    [i * 100],
                    |r| r.get::<_, i64>(0),
                )
            })
            .await
            .unwrap();
        }));
    }
    for i in 0..16i64 {
        let db = db.clone();
        tasks.push(tokio::spawn(async move {
            db.write(move |tx| {
                tx.execute("UPDATE items SET n = n + 1 WHERE id = ?1", [i + 1])
                    .map(|_| ())
            })
            .await
            .unwrap();
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
}

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut group = c.benchmark_group("mixed");
    for readers in [1, DEFAULT_READERS] {
        let (_dir, db) = seeded(readers);
        group.bench_function(format!("{readers}_readers"), |b| {
            b.to_async(&rt).iter(|| mixed_load(&db))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("write");
    let (dir, db) = seeded(1);
    group.bench_function("pooled_writer", |b| {
        b.to_async(&rt).iter(|| async {
            db.write(|tx| {
                tx.execute("UPDATE items SET n = n + 1 WHERE id = 1", [])
                    .map(|_| ())
            })
            .await
            .unwrap()
        })
    });
    let path = dir.path().join("bench.db");
    group.bench_function("connection_per_write", |b| {
        b.iter(|| {
            let conn = rusqlite::Connection::open(&path).unwrap();
            conn.busy_timeout(std::time::Duration::from_secs(5))
                .unwrap();
            conn.execute("UPDATE items SET n = n + 1 WHERE id = 1", [])
                .unwrap();
        })
    });
    group.finish();

    let mut group = c.benchmark_group("commit");
    group.sample_size(20);
    let settings = [
        ("full_commit_per_write", Synchronous::Full, false),
        ("full_group_commit", Synchronous::Full, true),
        ("normal_group_commit", Synchronous::Normal, true),
    ];
    for (name, synchronous, group_commit) in settings {
        let dir = tempfile::tempdir().unwrap();
        let options = DbOptions {
            readers: 1,
            synchronous,
            group_commit,
        };
        let db = Db::open_with(dir.path().join("commit.db"), MIGRATIONS, options).unwrap();
        group.bench_function(name, |b| {
            b.to_async(&rt).iter(|| concurrent_inserts(&db, 64))
        });
    }
    group.finish();
}

/// `n` one-row inserts at once; returns when every one is acknowledged.
async fn concurrent_inserts(db: &Db, n: i64) {
    let writes: Vec<_> = (0..n)
        .map(|i| {
            let db = db.clone();
            tokio::spawn(async move {
                db.write(move |tx| {
                    tx.execute("INSERT INTO items (name, n) VALUES ('row', ?1)", [i])
                        .map(|_| ())
                })
                .await
                .unwrap()
            })
        })
        .collect();
    for write in writes {
        write.await.unwrap();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
