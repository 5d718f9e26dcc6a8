//! SQLite: the schema and every query. Each function is one transaction.
//!
//! Tables:
//! * `points`: one balance per user (the original's table): running total, which may be
//!   negative, and the moment of its last change;
//! * `inbox` (chefcito's [`INBOX_MIGRATION`](chefcito::outbox::INBOX_MIGRATION)): the ids of
//!   the events already consumed, so that a redelivery changes nothing;
//! * `ledger`: every change with its reason, event and reservation. Decay taken at a change is
//!   written as a `decay` row, so the ledger of a user always sums to the stored total.

use std::path::Path;

use chefcito::db::{Db, DbError};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::model::{Award, Decay, Id, Reason, Stored};

/// Applied in order at start-up; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[SCHEMA, chefcito::outbox::INBOX_MIGRATION];

const SCHEMA: &str = r#"
CREATE TABLE points (
    uid          TEXT PRIMARY KEY,
    total        INTEGER NOT NULL,
    last_updated INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE ledger (
    id          INTEGER PRIMARY KEY,
    uid         TEXT NOT NULL,
    delta       INTEGER NOT NULL,
    reason      TEXT NOT NULL
                CHECK (reason IN ('check-in', 'opinion', 'owner-cancel', 'expiry', 'manual', 'decay')),
    event_id    TEXT,
    reservation TEXT,
    at          INTEGER NOT NULL
);
CREATE INDEX ledger_uid ON ledger (uid, id);
-- A reservation ends once (attended, cancelled by its owner or expired) and earns its first
-- opinion once: whatever event ids a producer mints, each counts a single time.
CREATE UNIQUE INDEX ledger_visit ON ledger (reservation)
    WHERE reason IN ('check-in', 'owner-cancel', 'expiry');
CREATE UNIQUE INDEX ledger_opinion ON ledger (reservation) WHERE reason = 'opinion';
"#;

/// Opens (creating if needed) a points database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Db, DbError> {
    Db::open(path, MIGRATIONS)
}

fn load(conn: &Connection, uid: &str) -> rusqlite::Result<Option<Stored>> {
    conn.prepare_cached("SELECT total, last_updated FROM points WHERE uid = ?1")?
        .query_row([uid], |r| {
            Ok(Stored {
                total: r.get(0)?,
                last_updated: r.get(1)?,
            })
        })
        .optional()
}

/// The stored balance of `uid`, `None` when it never had one.
pub async fn balance(db: &Db, uid: &str) -> Result<Option<Stored>, DbError> {
    let uid = uid.to_string();
    db.read(move |conn| load(conn, &uid).map_err(DbError::from))
        .await
}

/// The stored balances of `uids`, in their order, read in one transaction.
pub async fn balances(db: &Db, uids: Vec<String>) -> Result<Vec<Option<Stored>>, DbError> {
    db.read(move |conn| {
        let tx = conn.unchecked_transaction()?;
        let found = uids
            .iter()
            .map(|uid| load(&tx, uid))
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.finish()?;
        Ok(found)
    })
    .await
}

/// One thing to record: an event (by id, for idempotency) and/or a change of a balance.
#[derive(Debug, Clone)]
pub struct Entry {
    /// `None` for direct calls, which are not idempotent.
    pub event: Option<Id>,
    /// `None` (or a zero delta) when the event is worth nothing: it is only marked as seen.
    pub award: Option<Award>,
    pub now: i64,
}

/// What [`record`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Recorded {
    /// The balance changed; its new stored total.
    Applied { total: i64 },
    /// The event id had been recorded before: nothing changed.
    Duplicate,
    /// The reservation had already counted for this reason (another event id): nothing
    /// changed but the event is marked as seen.
    AlreadyCounted,
    /// Nothing to change; the event (if any) is marked as seen.
    NoChange,
}

/// Records `entry` in one transaction: the inbox row, the ledger rows and the new balance all
/// land, or none does.
pub async fn record(db: &Db, entry: Entry, decay: Decay) -> Result<Recorded, DbError> {
    db.write(move |tx| record_in(tx, &entry, decay).map_err(DbError::from))
        .await
}

fn record_in(tx: &Transaction, entry: &Entry, decay: Decay) -> rusqlite::Result<Recorded> {
    let now = entry.now;
    let event = entry.event.as_ref().map(Id::as_str);
    if let Some(event) = event
        && !chefcito::outbox::first_delivery(tx, event)?
    {
        return Ok(Recorded::Duplicate);
    }
    let Some(award) = entry.award.as_ref().filter(|a| a.delta != 0) else {
        return Ok(Recorded::NoChange);
    };
    let uid = award.user.as_str();
    let ledger = |delta: i64, reason: Reason, reservation: Option<&str>| {
        tx.execute(
            "INSERT INTO ledger (uid, delta, reason, event_id, reservation, at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING",
            params![uid, delta, reason.as_str(), event, reservation, now],
        )
    };
    let reservation = award.reservation.as_ref().map(Id::as_str);
    if ledger(award.delta, award.reason, reservation)? == 0 {
        return Ok(Recorded::AlreadyCounted);
    }
    // The transaction is IMMEDIATE (it holds SQLite's write lock from its first statement),
    // so no other writer, in this process or another, changes the row between this read and
    // the upsert below: concurrent changes queue up instead of overwriting each other.
    let effective = match load(tx, uid)? {
        Some(stored) => {
            let effective = decay.effective(stored, now);
            if effective != stored.total {
                ledger(effective.saturating_sub(stored.total), Reason::Decay, None)?;
            }
            effective
        }
        None => 0,
    };
    let total = effective.saturating_add(award.delta);
    tx.execute(
        "INSERT INTO points (uid, total, last_updated) VALUES (?1, ?2, ?3)
         ON CONFLICT (uid) DO UPDATE SET total = excluded.total, last_updated = excluded.last_updated",
        params![uid, total, now],
    )?;
    Ok(Recorded::Applied { total })
}
