//! SQLite: the schema and every query. Each function is one transaction.
//!
//! Tables:
//! * `user_stats`, `venue_stats`: exact counts per user and per venue, changed only by
//!   `INSERT … ON CONFLICT DO UPDATE SET n = n + 1` upserts (no read-modify-write in Rust);
//! * `venue_days`, `venue_turns`: one row per (venue, weekday) and (venue, `"HH:MM"`) bucket of
//!   attended reservations;
//! * `counted`: the reservations already counted, with the final status they counted as; a
//!   reservation is counted once (its primary key), whatever event ids report it;
//! * `inbox` (chefcito's [`INBOX_MIGRATION`](chefcito::outbox::INBOX_MIGRATION)): the ids of
//!   the events already consumed.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use chefcito::db::{Db, DbError};
use rusqlite::{Connection, OptionalExtension, Transaction, params};

use crate::model::{Final, Finished, Id, UserCounts, VenueCounts};

/// Applied in order at start-up; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[SCHEMA, chefcito::outbox::INBOX_MIGRATION];

const SCHEMA: &str = r#"
CREATE TABLE user_stats (
    uid      TEXT PRIMARY KEY,
    total    INTEGER NOT NULL,
    canceled INTEGER NOT NULL,
    expired  INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE venue_stats (
    venue    TEXT PRIMARY KEY,
    total    INTEGER NOT NULL,
    canceled INTEGER NOT NULL,
    expired  INTEGER NOT NULL,
    people   INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE venue_days (
    venue   TEXT NOT NULL,
    weekday INTEGER NOT NULL CHECK (weekday BETWEEN 0 AND 6),
    n       INTEGER NOT NULL,
    PRIMARY KEY (venue, weekday)
) WITHOUT ROWID;

CREATE TABLE venue_turns (
    venue TEXT NOT NULL,
    turn  TEXT NOT NULL CHECK (length(turn) = 5),
    n     INTEGER NOT NULL,
    PRIMARY KEY (venue, turn)
) WITHOUT ROWID;

-- One row per counted reservation: its key alone, so that a reservation counts once and in
-- one bucket, even if events for it arrive under several ids (spec §4, Q12).
CREATE TABLE counted (
    reservation TEXT PRIMARY KEY,
    status      TEXT NOT NULL CHECK (status IN ('Canceled', 'Expired', 'Assisted')),
    uid         TEXT NOT NULL,
    venue       TEXT NOT NULL,
    event_id    TEXT,
    counted_at  INTEGER NOT NULL
) WITHOUT ROWID;
"#;

/// Opens (creating if needed) a stats database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Db, DbError> {
    Db::open(path, MIGRATIONS)
}

/// What [`record`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Recorded {
    /// The counters changed.
    Counted,
    /// The event id had been consumed before: nothing changed.
    Duplicate,
    /// The reservation had been counted before (under another event id, or as another final
    /// status, which is kept); the event is marked as seen.
    AlreadyCounted { as_status: String },
    /// Nothing to count (an open status); the event is marked as seen.
    NoChange,
}

/// Records, in one write: the event id (when there is one) and the count of `finished` (when
/// there is one). All of it lands, or none.
pub async fn record(
    db: &Db,
    event: Option<Id>,
    finished: Option<Finished>,
) -> Result<Recorded, DbError> {
    db.write(move |tx| record_in(tx, event.as_ref(), finished.as_ref()).map_err(DbError::from))
        .await
}

fn record_in(
    tx: &Transaction,
    event: Option<&Id>,
    finished: Option<&Finished>,
) -> rusqlite::Result<Recorded> {
    let event = event.map(Id::as_str);
    if let Some(event) = event
        && !chefcito::outbox::first_delivery(tx, event)?
    {
        return Ok(Recorded::Duplicate);
    }
    let Some(f) = finished else {
        return Ok(Recorded::NoChange);
    };
    let claimed = tx
        .prepare_cached(
            "INSERT INTO counted (reservation, status, uid, venue, event_id, counted_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (reservation) DO NOTHING",
        )?
        .execute(params![
            f.reservation.as_str(),
            f.outcome.as_str(),
            f.user.as_str(),
            f.venue.as_str(),
            event,
            now_ms()
        ])?;
    if claimed == 0 {
        let as_status: String = tx
            .prepare_cached("SELECT status FROM counted WHERE reservation = ?1")?
            .query_row([f.reservation.as_str()], |r| r.get(0))?;
        return Ok(Recorded::AlreadyCounted { as_status });
    }
    let canceled = i64::from(f.outcome == Final::Canceled);
    let expired = i64::from(f.outcome == Final::Expired);
    tx.prepare_cached(
        "INSERT INTO user_stats (uid, total, canceled, expired) VALUES (?1, 1, ?2, ?3)
         ON CONFLICT (uid) DO UPDATE SET total = total + 1,
             canceled = canceled + excluded.canceled, expired = expired + excluded.expired",
    )?
    .execute(params![f.user.as_str(), canceled, expired])?;
    let attended = f.outcome == Final::Assisted;
    let people = if attended { f.people } else { 0 };
    tx.prepare_cached(
        "INSERT INTO venue_stats (venue, total, canceled, expired, people) VALUES (?1, 1, ?2, ?3, ?4)
         ON CONFLICT (venue) DO UPDATE SET total = total + 1,
             canceled = canceled + excluded.canceled, expired = expired + excluded.expired,
             people = people + excluded.people",
    )?
    .execute(params![f.venue.as_str(), canceled, expired, people])?;
    if attended {
        tx.prepare_cached(
            "INSERT INTO venue_days (venue, weekday, n) VALUES (?1, ?2, 1)
             ON CONFLICT (venue, weekday) DO UPDATE SET n = n + 1",
        )?
        .execute(params![f.venue.as_str(), f.weekday()])?;
        tx.prepare_cached(
            "INSERT INTO venue_turns (venue, turn, n) VALUES (?1, ?2, 1)
             ON CONFLICT (venue, turn) DO UPDATE SET n = n + 1",
        )?
        .execute(params![f.venue.as_str(), f.turn()])?;
    }
    Ok(Recorded::Counted)
}

/// A user's counts; zeros for a user never counted.
pub async fn user(db: &Db, uid: &str) -> Result<UserCounts, DbError> {
    let uid = uid.to_string();
    db.read(move |conn| {
        let found = conn
            .prepare_cached("SELECT total, canceled, expired FROM user_stats WHERE uid = ?1")?
            .query_row([&uid], |r| {
                Ok(UserCounts {
                    total: r.get(0)?,
                    canceled: r.get(1)?,
                    expired: r.get(2)?,
                })
            })
            .optional()?;
        Ok(found.unwrap_or_default())
    })
    .await
}

/// A venue's counts and buckets, read in one transaction so that they agree with each other;
/// zeros for a venue never counted.
pub async fn venue(db: &Db, venue: &str) -> Result<VenueCounts, DbError> {
    let venue = venue.to_string();
    db.read(move |conn| {
        let tx = conn.unchecked_transaction()?;
        let counts = venue_in(&tx, &venue)?;
        tx.finish()?;
        Ok(counts)
    })
    .await
}

fn venue_in(conn: &Connection, venue: &str) -> rusqlite::Result<VenueCounts> {
    let Some(mut counts) = conn
        .prepare_cached(
            "SELECT total, canceled, expired, people FROM venue_stats WHERE venue = ?1",
        )?
        .query_row([venue], |r| {
            Ok(VenueCounts {
                total: r.get(0)?,
                canceled: r.get(1)?,
                expired: r.get(2)?,
                people: r.get(3)?,
                ..VenueCounts::default()
            })
        })
        .optional()?
    else {
        return Ok(VenueCounts::default());
    };
    let mut days = conn.prepare_cached("SELECT weekday, n FROM venue_days WHERE venue = ?1")?;
    counts.days = days
        .query_map([venue], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    let mut turns = conn.prepare_cached("SELECT turn, n FROM venue_turns WHERE venue = ?1")?;
    counts.turns = turns
        .query_map([venue], |r| Ok((r.get(0)?, r.get(1)?)))?
        .collect::<rusqlite::Result<_>>()?;
    Ok(counts)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}
