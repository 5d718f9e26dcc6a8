//! SQLite: the schema and every query. Each function is one transaction.
//!
//! Tables:
//! * `phones`: one number per user (the original's `numbers` table, created by migration
//!   here: Q15), E.164 or `''`;
//! * `messages`: every message an event or a direct call asked for, with its state. It is
//!   the embedded messenger's outbox and the sender's work queue at once: a `pending` row is
//!   what the sender delivers next;
//! * `inbox` (chefcito's [`INBOX_MIGRATION`](chefcito::outbox::INBOX_MIGRATION)): the ids of
//!   the events already consumed, written in the same transaction as their messages.
//!
//! Times are Unix milliseconds.

use std::path::Path;

use chefcito::db::{Db, DbError};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, Transaction, params, params_from_iter};

use crate::model::{MessagePage, MessageStatus, MessageView, Phone, UserId};

/// Applied in order at start-up; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[SCHEMA, chefcito::outbox::INBOX_MIGRATION];

const SCHEMA: &str = r#"
CREATE TABLE phones (
    uid        TEXT PRIMARY KEY,
    phone      TEXT NOT NULL,
    updated_at INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    recipient       TEXT NOT NULL,
    phone           TEXT NOT NULL,
    body            TEXT NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'sent', 'failed', 'skipped')),
    trigger         TEXT NOT NULL,
    event_id        TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    created_at      INTEGER NOT NULL,
    finished_at     INTEGER,
    provider_id     TEXT,
    last_error      TEXT
);
-- The sender's queue: pending rows by due time.
CREATE INDEX messages_due ON messages (next_attempt_at, id) WHERE status = 'pending';
CREATE INDEX messages_recipient ON messages (recipient, id);
CREATE INDEX messages_phone ON messages (phone, id);
CREATE INDEX messages_finished ON messages (finished_at) WHERE finished_at IS NOT NULL;
"#;

/// Longest error text kept per message (it comes from the provider).
const MAX_ERROR_CHARS: usize = 500;

/// Opens (creating if needed) the database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Db, DbError> {
    Db::open(path, MIGRATIONS)
}

fn load_phone(conn: &Connection, uid: &str) -> rusqlite::Result<Option<Phone>> {
    conn.prepare_cached("SELECT phone FROM phones WHERE uid = ?1")?
        .query_row([uid], |r| r.get::<_, String>(0))
        .optional()
        .map(|p| p.map(Phone::from_stored))
}

/// The stored number of `uid`; `None` when it never had one stored.
pub async fn phone(db: &Db, uid: &UserId) -> Result<Option<Phone>, DbError> {
    let uid = uid.as_str().to_string();
    db.read(move |conn| load_phone(conn, &uid).map_err(DbError::from))
        .await
}

fn upsert_phone(tx: &Transaction, uid: &UserId, phone: &Phone, now: i64) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO phones (uid, phone, updated_at) VALUES (?1, ?2, ?3)
         ON CONFLICT (uid) DO UPDATE SET phone = excluded.phone, updated_at = excluded.updated_at",
    )?
    .execute(params![uid.as_str(), phone.as_str(), now])?;
    Ok(())
}

/// Stores `phone` as the number of `uid` (insert or replace).
pub async fn set_phone(db: &Db, uid: UserId, phone: Phone, now: i64) -> Result<(), DbError> {
    db.write(move |tx| upsert_phone(tx, &uid, &phone, now).map_err(DbError::from))
        .await
}

/// Whether the event id has been consumed already (a read, to answer redeliveries before any
/// downstream call).
pub async fn seen(db: &Db, event_id: &str) -> Result<bool, DbError> {
    let id = event_id.to_string();
    db.read(move |conn| {
        conn.prepare_cached("SELECT EXISTS (SELECT 1 FROM inbox WHERE event_id = ?1)")?
            .query_row([id], |r| r.get(0))
            .map_err(DbError::from)
    })
    .await
}

/// A message to create.
#[derive(Debug, Clone)]
pub struct NewMessage {
    pub to: UserId,
    pub body: String,
    pub trigger: String,
}

/// What an event does to the store.
#[derive(Debug, Clone)]
pub enum Effect {
    Messages(Vec<NewMessage>),
    Phone { user: UserId, phone: Phone },
}

/// What [`consume`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Consumed {
    /// Applied; the ids of the messages created (possibly none).
    Applied { messages: Vec<i64>, pending: usize },
    /// The event id had been consumed before: nothing changed.
    Duplicate,
}

/// Applies an event once: the inbox row and its messages (or the new number) land together
/// or not at all.
pub async fn consume(
    db: &Db,
    event_id: String,
    effect: Effect,
    now: i64,
) -> Result<Consumed, DbError> {
    db.write(move |tx| {
        if !chefcito::outbox::first_delivery(tx, &event_id)? {
            return Ok(Consumed::Duplicate);
        }
        match effect {
            Effect::Phone { user, phone } => {
                upsert_phone(tx, &user, &phone, now)?;
                Ok(Consumed::Applied {
                    messages: Vec::new(),
                    pending: 0,
                })
            }
            Effect::Messages(messages) => {
                let mut ids = Vec::with_capacity(messages.len());
                let mut pending = 0;
                for m in &messages {
                    let (id, status) = insert_message(tx, m, Some(&event_id), now)?;
                    ids.push(id);
                    pending += usize::from(status == MessageStatus::Pending);
                }
                Ok(Consumed::Applied {
                    messages: ids,
                    pending,
                })
            }
        }
    })
    .await
}

/// Inserts a message for the recipient's number as stored now: pending when there is one,
/// skipped (finished at once) when there is none.
fn insert_message(
    tx: &Transaction,
    m: &NewMessage,
    event_id: Option<&str>,
    now: i64,
) -> rusqlite::Result<(i64, MessageStatus)> {
    let phone = load_phone(tx, m.to.as_str())?.unwrap_or_else(Phone::none);
    let (status, finished) = if phone.is_none() {
        (MessageStatus::Skipped, Some(now))
    } else {
        (MessageStatus::Pending, None)
    };
    tx.prepare_cached(
        "INSERT INTO messages (recipient, phone, body, status, trigger, event_id,
                               next_attempt_at, created_at, finished_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7, ?8)",
    )?
    .execute(params![
        m.to.as_str(),
        phone.as_str(),
        m.body,
        status.as_str(),
        m.trigger,
        event_id,
        now,
        finished
    ])?;
    Ok((tx.last_insert_rowid(), status))
}

/// Creates one message outside any event (`POST /messages`); returns it as stored.
pub async fn enqueue(db: &Db, message: NewMessage, now: i64) -> Result<MessageView, DbError> {
    db.write(move |tx| {
        let (id, _) = insert_message(tx, &message, None, now)?;
        get_in(tx, id)?.ok_or(DbError::Sqlite(rusqlite::Error::QueryReturnedNoRows))
    })
    .await
}

const COLUMNS: &str = "id, recipient, phone, body, status, trigger, event_id, attempts, \
                       created_at, finished_at, provider_id, last_error";

fn view(r: &Row) -> rusqlite::Result<MessageView> {
    let status: String = r.get(4)?;
    let status = MessageStatus::parse(&status).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            4,
            rusqlite::types::Type::Text,
            format!("unknown message status {status:?}").into(),
        )
    })?;
    Ok(MessageView {
        id: r.get(0)?,
        to: r.get(1)?,
        phone: r.get(2)?,
        body: r.get(3)?,
        status,
        trigger: r.get(5)?,
        event: r.get(6)?,
        attempts: r.get(7)?,
        created_at: wire_time(r.get(8)?),
        finished_at: r.get::<_, Option<i64>>(9)?.map(wire_time),
        provider_id: r.get(10)?,
        error: r.get(11)?,
    })
}

fn wire_time(ms: i64) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|t| chefcito::time::with_z(&t))
        .unwrap_or_default()
}

fn get_in(conn: &Connection, id: i64) -> rusqlite::Result<Option<MessageView>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM messages WHERE id = ?1"))?
        .query_row([id], view)
        .optional()
}

/// Which messages a listing wants.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Messages to this uid, or (when set) to this number.
    pub recipient: Option<String>,
    pub phone: Option<String>,
    pub status: Option<MessageStatus>,
    pub limit: u32,
}

/// Matching messages, newest first, and how many match in all.
pub async fn list(db: &Db, filter: Filter) -> Result<MessagePage, DbError> {
    db.read(move |conn| {
        let mut clauses = Vec::new();
        let mut values = Vec::new();
        match (&filter.recipient, &filter.phone) {
            (Some(uid), Some(phone)) => {
                clauses.push("(recipient = ? OR phone = ?)");
                values.push(Value::Text(uid.clone()));
                values.push(Value::Text(phone.clone()));
            }
            (Some(uid), None) => {
                clauses.push("recipient = ?");
                values.push(Value::Text(uid.clone()));
            }
            (None, Some(phone)) => {
                clauses.push("phone = ?");
                values.push(Value::Text(phone.clone()));
            }
            (None, None) => {}
        }
        if let Some(status) = filter.status {
            clauses.push("status = ?");
            values.push(Value::Text(status.as_str().into()));
        }
        let clause = if clauses.is_empty() {
            "1".to_string()
        } else {
            clauses.join(" AND ")
        };
        let tx = conn.unchecked_transaction()?;
        let total: i64 = tx
            .prepare_cached(&format!("SELECT count(*) FROM messages WHERE {clause}"))?
            .query_row(params_from_iter(values.iter()), |r| r.get(0))?;
        values.push(Value::Integer(i64::from(filter.limit)));
        let result = tx
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM messages WHERE {clause} ORDER BY id DESC LIMIT ?"
            ))?
            .query_map(params_from_iter(values.iter()), view)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        tx.finish()?;
        Ok(MessagePage { result, total })
    })
    .await
}

/// A pending message whose time has come.
#[derive(Debug, Clone)]
pub struct Due {
    pub id: i64,
    pub phone: String,
    pub body: String,
    pub attempts: i64,
}

/// Up to `limit` pending messages due at `now`, oldest first.
pub async fn due(db: &Db, now: i64, limit: usize) -> Result<Vec<Due>, DbError> {
    db.read(move |conn| {
        conn.prepare_cached(
            "SELECT id, phone, body, attempts FROM messages
             WHERE status = 'pending' AND next_attempt_at <= ?1
             ORDER BY next_attempt_at, id LIMIT ?2",
        )?
        .query_map(params![now, limit as i64], |r| {
            Ok(Due {
                id: r.get(0)?,
                phone: r.get(1)?,
                body: r.get(2)?,
                attempts: r.get(3)?,
            })
        })?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(DbError::from)
    })
    .await
}

/// When the next pending message is due, if any.
pub async fn next_due(db: &Db) -> Result<Option<i64>, DbError> {
    db.read(|conn| {
        conn.prepare_cached("SELECT min(next_attempt_at) FROM messages WHERE status = 'pending'")?
            .query_row([], |r| r.get(0))
            .map_err(DbError::from)
    })
    .await
}

/// The outcome of one attempt.
#[derive(Debug, Clone)]
pub enum Attempt {
    Sent { provider_id: String },
    Failed { error: String },
    Retry { at: i64, error: String },
}

/// Records an attempt on a pending message (a message already finished stays as it is).
pub async fn record_attempt(
    db: &Db,
    id: i64,
    attempts: i64,
    attempt: Attempt,
    now: i64,
) -> Result<(), DbError> {
    db.write(move |tx| {
        const PENDING: &str = "id = ?1 AND status = 'pending'";
        match attempt {
            Attempt::Sent { provider_id } => tx.execute(
                &format!(
                    "UPDATE messages SET status = 'sent', attempts = ?2, finished_at = ?3,
                     provider_id = ?4 WHERE {PENDING}"
                ),
                params![id, attempts, now, provider_id],
            ),
            Attempt::Failed { error } => tx.execute(
                &format!(
                    "UPDATE messages SET status = 'failed', attempts = ?2, finished_at = ?3,
                     last_error = ?4 WHERE {PENDING}"
                ),
                params![id, attempts, now, bounded(&error)],
            ),
            Attempt::Retry { at, error } => tx.execute(
                &format!(
                    "UPDATE messages SET attempts = ?2, next_attempt_at = ?3, last_error = ?4
                     WHERE {PENDING}"
                ),
                params![id, attempts, at, bounded(&error)],
            ),
        }?;
        Ok(())
    })
    .await
}

/// Deletes finished messages (sent, failed, skipped) that finished before `cutoff`, in chunks
/// so that the writer is never held for long. Returns how many went.
pub async fn prune(db: &Db, cutoff: i64) -> Result<usize, DbError> {
    const CHUNK: i64 = 1000;
    let mut removed = 0;
    loop {
        let n = db
            .write(move |tx| {
                tx.execute(
                    "DELETE FROM messages WHERE id IN (
                         SELECT id FROM messages WHERE finished_at IS NOT NULL AND finished_at < ?1
                         LIMIT ?2)",
                    params![cutoff, CHUNK],
                )
                .map_err(DbError::from)
            })
            .await?;
        removed += n;
        if (n as i64) < CHUNK {
            return Ok(removed);
        }
    }
}

/// Bounded and printable: the text comes from the provider.
fn bounded(error: &str) -> String {
    error
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .take(MAX_ERROR_CHARS)
        .collect()
}
