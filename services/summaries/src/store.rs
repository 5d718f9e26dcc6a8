//! SQLite: the schema and every query. Each function is one transaction.
//!
//! Tables:
//! * `summaries`: the current summary of each venue (one row per venue, replaced by each
//!   generation): its text, when and by which engine it was generated, how many opinions it
//!   summarised and the dates of the oldest and newest of them (its window);
//! * `venue_state`: per venue, the `opinion.created` events counted since its last summary and
//!   how its last generation attempt went (for the regeneration rules of [`crate::service`]);
//! * `inbox` (chefcito's [`INBOX_MIGRATION`](chefcito::outbox::INBOX_MIGRATION)): the ids of
//!   the events already counted, so that a redelivery counts nothing.
//!
//! Times are Unix milliseconds.

use std::path::Path;

use chefcito::db::{Db, DbError};
use chrono::{DateTime, Utc};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::model::{EventId, Outcome, VenueId};

/// Applied in order at start-up; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[SCHEMA, chefcito::outbox::INBOX_MIGRATION];

const SCHEMA: &str = r#"
CREATE TABLE summaries (
    venue        TEXT PRIMARY KEY CHECK (length(venue) BETWEEN 1 AND 128),
    text         TEXT NOT NULL CHECK (length(text) BETWEEN 1 AND 2000),
    generated_at INTEGER NOT NULL,
    engine       TEXT NOT NULL CHECK (length(engine) BETWEEN 1 AND 32),
    opinions     INTEGER NOT NULL CHECK (opinions >= 0),
    window_from  INTEGER,
    window_to    INTEGER
) WITHOUT ROWID;

CREATE TABLE venue_state (
    venue           TEXT PRIMARY KEY CHECK (length(venue) BETWEEN 1 AND 128),
    new_opinions    INTEGER NOT NULL DEFAULT 0 CHECK (new_opinions >= 0),
    last_attempt_at INTEGER,
    last_outcome    TEXT CHECK (last_outcome IN ('generated', 'too_few', 'failed')),
    seen_at_attempt INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"#;

/// Opens (creating if needed) a summaries database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Db, DbError> {
    Db::open(path, MIGRATIONS)
}

/// A stored summary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Summary {
    pub text: String,
    pub generated_at: DateTime<Utc>,
    pub engine: String,
    /// How many opinions it summarised.
    pub opinions: i64,
    /// Dates of the oldest and the newest of them.
    pub window: Option<(DateTime<Utc>, DateTime<Utc>)>,
}

/// What the regeneration rules know about a venue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct VenueState {
    /// `opinion.created` events counted since the last stored summary.
    pub new_opinions: i64,
    pub last_attempt_at: Option<DateTime<Utc>>,
    pub last_outcome: Option<Outcome>,
    /// `new_opinions` when the last attempt started: more than that means opinions arrived
    /// since.
    pub seen_at_attempt: i64,
}

/// A venue's summary (if any) and state, read together.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Current {
    pub summary: Option<Summary>,
    pub state: VenueState,
}

fn millis(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn load(conn: &Connection, venue: &str) -> rusqlite::Result<Current> {
    let summary = conn
        .prepare_cached(
            "SELECT text, generated_at, engine, opinions, window_from, window_to
             FROM summaries WHERE venue = ?1",
        )?
        .query_row([venue], |r| {
            let window = match (r.get::<_, Option<i64>>(4)?, r.get::<_, Option<i64>>(5)?) {
                (Some(from), Some(to)) => Some((from_millis(from), from_millis(to))),
                _ => None,
            };
            Ok(Summary {
                text: r.get(0)?,
                generated_at: from_millis(r.get(1)?),
                engine: r.get(2)?,
                opinions: r.get(3)?,
                window,
            })
        })
        .optional()?;
    let state = conn
        .prepare_cached(
            "SELECT new_opinions, last_attempt_at, last_outcome, seen_at_attempt
             FROM venue_state WHERE venue = ?1",
        )?
        .query_row([venue], |r| {
            Ok(VenueState {
                new_opinions: r.get(0)?,
                last_attempt_at: r.get::<_, Option<i64>>(1)?.map(from_millis),
                last_outcome: r
                    .get::<_, Option<String>>(2)?
                    .as_deref()
                    .and_then(Outcome::parse),
                seen_at_attempt: r.get(3)?,
            })
        })
        .optional()?
        .unwrap_or_default();
    Ok(Current { summary, state })
}

/// A venue's summary and state, in one read transaction.
pub async fn current(db: &Db, venue: &VenueId) -> Result<Current, DbError> {
    let venue = venue.as_str().to_string();
    db.read(move |conn| {
        let tx = conn.unchecked_transaction()?;
        let current = load(&tx, &venue)?;
        tx.finish()?;
        Ok(current)
    })
    .await
}

fn ensure_state(tx: &Transaction, venue: &str) -> rusqlite::Result<()> {
    tx.prepare_cached(
        "INSERT INTO venue_state (venue) VALUES (?1) ON CONFLICT (venue) DO NOTHING",
    )?
    .execute([venue])?;
    Ok(())
}

/// Marks the start of a generation attempt at `now`; returns the opinions counted so far
/// (what a successful attempt will have covered).
pub async fn begin_attempt(db: &Db, venue: &VenueId, now: DateTime<Utc>) -> Result<i64, DbError> {
    let venue = venue.as_str().to_string();
    db.write(move |tx| {
        ensure_state(tx, &venue)?;
        let seen = tx
            .prepare_cached(
                "UPDATE venue_state SET last_attempt_at = ?2, seen_at_attempt = new_opinions
                 WHERE venue = ?1 RETURNING new_opinions",
            )?
            .query_row(params![venue, millis(now)], |r| r.get(0))?;
        Ok(seen)
    })
    .await
}

/// Records an attempt that stored nothing (too few opinions, or a failure).
pub async fn record_outcome(db: &Db, venue: &VenueId, outcome: Outcome) -> Result<(), DbError> {
    let venue = venue.as_str().to_string();
    db.write(move |tx| {
        ensure_state(tx, &venue)?;
        tx.prepare_cached("UPDATE venue_state SET last_outcome = ?2 WHERE venue = ?1")?
            .execute(params![venue, outcome.as_str()])?;
        Ok(())
    })
    .await
}

/// Stores `summary` as the venue's current one; the `covered` opinions counted before the
/// attempt started are no longer new (those counted meanwhile stay).
pub async fn save(db: &Db, venue: &VenueId, summary: Summary, covered: i64) -> Result<(), DbError> {
    let venue = venue.as_str().to_string();
    db.write(move |tx| {
        tx.prepare_cached(
            "INSERT INTO summaries (venue, text, generated_at, engine, opinions, window_from, window_to)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
             ON CONFLICT (venue) DO UPDATE SET text = excluded.text,
                 generated_at = excluded.generated_at, engine = excluded.engine,
                 opinions = excluded.opinions, window_from = excluded.window_from,
                 window_to = excluded.window_to",
        )?
        .execute(params![
            venue,
            summary.text,
            millis(summary.generated_at),
            summary.engine,
            summary.opinions,
            summary.window.map(|(from, _)| millis(from)),
            summary.window.map(|(_, to)| millis(to)),
        ])?;
        ensure_state(tx, &venue)?;
        tx.prepare_cached(
            "UPDATE venue_state SET new_opinions = max(new_opinions - ?2, 0),
                 last_outcome = 'generated', seen_at_attempt = 0
             WHERE venue = ?1",
        )?
        .execute(params![venue, covered])?;
        Ok(())
    })
    .await
}

/// Counts one new opinion of `venue`, once per event id: `false` for a redelivery.
pub async fn count_opinion(db: &Db, event: &EventId, venue: &VenueId) -> Result<bool, DbError> {
    let (event, venue) = (event.as_str().to_string(), venue.as_str().to_string());
    db.write(move |tx| {
        if !chefcito::outbox::first_delivery(tx, &event)? {
            return Ok(false);
        }
        ensure_state(tx, &venue)?;
        tx.prepare_cached(
            "UPDATE venue_state SET new_opinions = new_opinions + 1 WHERE venue = ?1",
        )?
        .execute([&venue])?;
        Ok(true)
    })
    .await
}
