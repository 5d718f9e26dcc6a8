//! SQLite: the schema and every query. Each function is one transaction; an opinion and its
//! `opinion.created` event are written in the same one.
//!
//! Dates are stored as microseconds since the Unix epoch (UTC), so that ordering and ranges
//! are integer comparisons on an index.

use std::path::Path;

use chefcito::db::{Db, DbError};
use chefcito::outbox::Outbox;
use chrono::{DateTime, Utc};
use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::events::{OPINION_TOPIC, OpinionCreated};
use crate::model::{Opinion, OpinionText, ReservationId, Uid, VenueId};

/// Applied in order at start-up; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE opinions (
    seq         INTEGER PRIMARY KEY,
    id          TEXT NOT NULL UNIQUE,
    -- One opinion per reservation (spec §4); also the index of the reservation filter and
    -- of batch lookups.
    reservation TEXT NOT NULL UNIQUE,
    venue       TEXT NOT NULL,
    "user"      TEXT NOT NULL,
    opinion     TEXT NOT NULL,
    date        INTEGER NOT NULL
);
-- A venue's opinions, newest first (the original's only access path).
CREATE INDEX opinions_venue_date ON opinions (venue, date, seq);
-- Date ranges over every venue.
CREATE INDEX opinions_date ON opinions (date, seq);
"#,
    chefcito::outbox::MIGRATION,
];

/// Opens (creating if needed) an opinions database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Db, DbError> {
    Db::open(path, MIGRATIONS)
}

/// How an insert ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written {
    Done(Opinion),
    /// The reservation already has an opinion; nothing was written.
    Duplicate,
}

/// Listing filters, ANDed; `None` filters nothing. Both date bounds are inclusive.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub venue: Option<String>,
    pub reservation: Option<String>,
    pub from_date: Option<DateTime<Utc>>,
    pub to_date: Option<DateTime<Utc>>,
}

const COLUMNS: &str = r#"id, reservation, venue, "user", opinion, date"#;

/// Newest first; among opinions of the same instant, the last written first, so that paging
/// is stable.
const ORDER: &str = "ORDER BY date DESC, seq DESC";

fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn corrupt(column: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, what.into())
}

/// A stored row; anything that does not parse is a store failure (logged, 500), never guessed.
fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Opinion> {
    let reservation: String = r.get(1)?;
    let venue: String = r.get(2)?;
    let user: String = r.get(3)?;
    let text: String = r.get(4)?;
    let date: i64 = r.get(5)?;
    Ok(Opinion {
        id: r.get(0)?,
        reservation: ReservationId::parse(&reservation)
            .map_err(|_| corrupt(1, format!("bad reservation {reservation:?}")))?,
        venue: VenueId::parse(&venue).map_err(|_| corrupt(2, format!("bad venue {venue:?}")))?,
        user: Uid::parse(&user).map_err(|_| corrupt(3, format!("bad user {user:?}")))?,
        text: OpinionText::stored(text),
        date: DateTime::from_timestamp_micros(date)
            .ok_or_else(|| corrupt(5, format!("bad date {date}")))?,
    })
}

/// Stores `opinion` and its event, unless its reservation already has one. The check and
/// the insert run alone on the single writer, so concurrent attempts for one reservation
/// store exactly one (the unique index backs this up).
pub async fn insert(db: &Db, outbox: &Outbox, opinion: Opinion) -> Result<Written, DbError> {
    let outbox = outbox.clone();
    db.write(move |tx| {
        let taken = tx
            .prepare_cached("SELECT 1 FROM opinions WHERE reservation = ?1")?
            .query_row([opinion.reservation.as_str()], |_| Ok(()))
            .optional()?
            .is_some();
        if taken {
            return Ok(Written::Duplicate);
        }
        tx.execute(
            &format!("INSERT INTO opinions ({COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6)"),
            params![
                opinion.id,
                opinion.reservation.as_str(),
                opinion.venue.as_str(),
                opinion.user.as_str(),
                opinion.text.as_str(),
                micros(&opinion.date)
            ],
        )?;
        outbox.enqueue(
            tx,
            OPINION_TOPIC,
            &OpinionCreated::new(&opinion, opinion.date),
        )?;
        Ok(Written::Done(opinion))
    })
    .await
}

/// One page of matches, newest first, and the count of every match, read in one transaction.
pub async fn list(
    db: &Db,
    filter: Filter,
    limit: i64,
    start: i64,
) -> Result<(Vec<Opinion>, i64), DbError> {
    db.read(move |conn| {
        let tx = conn.unchecked_transaction()?;
        let (condition, mut args) = where_clause(&filter);
        let total: i64 = tx
            .prepare_cached(&format!("SELECT count(*) FROM opinions {condition}"))?
            .query_row(params_from_iter(args.iter()), |r| r.get(0))?;
        args.push(Value::Integer(limit));
        args.push(Value::Integer(start));
        let rows = page(&tx, &condition, &args)?;
        Ok((rows, total))
    })
    .await
}

fn page(conn: &Connection, condition: &str, args: &[Value]) -> rusqlite::Result<Vec<Opinion>> {
    let n = args.len();
    let mut stmt = conn.prepare_cached(&format!(
        "SELECT {COLUMNS} FROM opinions {condition} {ORDER} LIMIT ?{} OFFSET ?{n}",
        n - 1
    ))?;
    let rows = stmt.query_map(params_from_iter(args.iter()), row)?;
    rows.collect()
}

fn where_clause(filter: &Filter) -> (String, Vec<Value>) {
    let mut terms = Vec::new();
    let mut args = Vec::new();
    let mut term = |sql: &str, value: Value| {
        args.push(value);
        terms.push(format!("{sql} ?{}", args.len()));
    };
    if let Some(venue) = &filter.venue {
        term("venue =", Value::Text(venue.clone()));
    }
    if let Some(reservation) = &filter.reservation {
        term("reservation =", Value::Text(reservation.clone()));
    }
    if let Some(from) = &filter.from_date {
        term("date >=", Value::Integer(micros(from)));
    }
    if let Some(to) = &filter.to_date {
        term("date <=", Value::Integer(micros(to)));
    }
    if terms.is_empty() {
        (String::new(), args)
    } else {
        (format!("WHERE {}", terms.join(" AND ")), args)
    }
}

/// The opinions of these reservations (those that have one), in one query.
pub async fn of_reservations(db: &Db, ids: Vec<String>) -> Result<Vec<Opinion>, DbError> {
    // One JSON array parameter instead of one placeholder per id.
    let ids = serde_json::to_string(&ids)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(Box::new(e)))?;
    db.read(move |conn| {
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM opinions
             WHERE reservation IN (SELECT value FROM json_each(?1))"
        ))?;
        let rows = stmt.query_map([ids], row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(DbError::from)
    })
    .await
}
