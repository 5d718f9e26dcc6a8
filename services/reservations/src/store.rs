//! SQLite: the schema and every query. Each function is one transaction; every status change
//! writes its event to the outbox inside that same transaction.
//!
//! Times are stored as microseconds since the Unix epoch (UTC), so that ordering, ranges and
//! the seating-window sum are integer comparisons on an index.

use std::collections::{BTreeSet, HashMap};
use std::path::Path;

use chefcito::db::{Db, DbError};
use chefcito::outbox::Outbox;
use chrono::{DateTime, Duration, Utc};
use rusqlite::types::{Type, Value};
use rusqlite::{Connection, OptionalExtension, params, params_from_iter};

use crate::events::{STATUS_TOPIC, StatusChanged};
use crate::model::{Reservation, Status, UserRef, VenueId};
use crate::transition::{Actor, Change};

/// Applied in order at start-up; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE reservations (
    id         TEXT PRIMARY KEY,
    "user"     TEXT NOT NULL,
    venue      TEXT NOT NULL,
    time       INTEGER NOT NULL,
    people     INTEGER NOT NULL CHECK (people >= 1),
    status     TEXT NOT NULL
               CHECK (status IN ('Uncomfirmed', 'Accepted', 'Canceled', 'Assisted', 'Expired')),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
);
-- Venue listings and the seating-window sum.
CREATE INDEX reservations_venue_time ON reservations (venue, time);
-- Diner listings.
CREATE INDEX reservations_user_time ON reservations ("user", time);
-- Visit counts per (diner, venue) in listings.
CREATE INDEX reservations_user_venue_status ON reservations ("user", venue, status);
-- Expiry looks at Accepted reservations only.
CREATE INDEX reservations_accepted_time ON reservations (time) WHERE status = 'Accepted';
"#,
    chefcito::outbox::MIGRATION,
];

/// Opens (creating if needed) a reservations database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Db, DbError> {
    Db::open(path, MIGRATIONS)
}

/// Most reservations one expiry transaction handles, so that a backlog never holds the
/// writer for long; callers repeat while a batch comes back full.
pub const EXPIRY_BATCH: usize = 500;

/// The capacity rule a write enforces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seating {
    /// Seats of the venue (always > 0: unlimited venues have no `Seating`).
    pub capacity: i64,
    /// Two reservations share seats when their times are less than this apart.
    pub window: Duration,
}

/// How a write ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Written<T> {
    Done(T),
    NotFound,
    /// The seating rule refused it; `free` seats were left in the window.
    Full {
        free: i64,
    },
}

/// Listing filters, ANDed. `None` and empty lists filter nothing.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    pub id: Option<String>,
    /// Only the reservations of this user and of this user's venue.
    pub party: Option<UserRef>,
    pub user: Option<String>,
    pub venue: Option<String>,
    pub statuses: Vec<Status>,
    pub from_time: Option<DateTime<Utc>>,
    pub to_time: Option<DateTime<Utc>>,
    pub from_people: Option<i64>,
    pub to_people: Option<i64>,
}

/// One listing page, read in one transaction.
#[derive(Debug, Clone, Default)]
pub struct Page {
    pub rows: Vec<Reservation>,
    /// Rows matching the filter, all pages.
    pub total: i64,
    /// Per (`user/<uid>`, venue) of the page: that diner's visits to that venue.
    pub visits: HashMap<(String, String), Visits>,
}

/// How a diner's past reservations at a venue ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Visits {
    pub assisted: i64,
    pub expired: i64,
}

const COLUMNS: &str = r#"id, "user", venue, time, people, status"#;

fn micros(t: &DateTime<Utc>) -> i64 {
    t.timestamp_micros()
}

fn corrupt(column: usize, what: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, Type::Text, what.into())
}

/// A stored row; anything that does not parse is a store failure (logged, 500), never
/// guessed (R20).
fn row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Reservation> {
    let user: String = r.get(1)?;
    let venue: String = r.get(2)?;
    let time: i64 = r.get(3)?;
    let status: String = r.get(5)?;
    Ok(Reservation {
        id: r.get(0)?,
        user: UserRef::parse(&user).map_err(|_| corrupt(1, format!("bad user {user:?}")))?,
        venue: VenueId::parse(&venue).map_err(|_| corrupt(2, format!("bad venue {venue:?}")))?,
        time: DateTime::from_timestamp_micros(time)
            .ok_or_else(|| corrupt(3, format!("bad time {time}")))?,
        people: r.get(4)?,
        status: Status::parse(&status)
            .ok_or_else(|| corrupt(5, format!("unknown status {status:?}")))?,
    })
}

fn get_in(conn: &Connection, id: &str) -> rusqlite::Result<Option<Reservation>> {
    conn.prepare_cached(&format!("SELECT {COLUMNS} FROM reservations WHERE id = ?1"))?
        .query_row([id], row)
        .optional()
}

/// People already seated within the window around `time` at `venue`, `except` one reservation
/// (the one being edited).
fn booked(
    conn: &Connection,
    venue: &VenueId,
    time: &DateTime<Utc>,
    window: Duration,
    except: &str,
) -> rusqlite::Result<i64> {
    conn.prepare_cached(
        "SELECT coalesce(sum(people), 0) FROM reservations
         WHERE venue = ?1 AND time > ?2 AND time < ?3 AND id <> ?4
           AND status IN ('Uncomfirmed', 'Accepted')",
    )?
    .query_row(
        params![
            venue.as_str(),
            micros(&(*time - window)),
            micros(&(*time + window)),
            except
        ],
        |r| r.get(0),
    )
}

/// `Some(free seats)` when `people` more do not fit.
fn refuse_if_full(
    conn: &Connection,
    seating: Option<Seating>,
    r: &Reservation,
) -> rusqlite::Result<Option<i64>> {
    let Some(seating) = seating else {
        return Ok(None);
    };
    let taken = booked(conn, &r.venue, &r.time, seating.window, &r.id)?;
    Ok((taken + r.people > seating.capacity).then(|| (seating.capacity - taken).max(0)))
}

fn announce(
    outbox: &Outbox,
    tx: &rusqlite::Transaction<'_>,
    r: &Reservation,
    from: Option<Status>,
    by: Actor,
    at: DateTime<Utc>,
) -> rusqlite::Result<()> {
    outbox
        .enqueue(tx, STATUS_TOPIC, &StatusChanged::new(r, from, by, at))
        .map(drop)
}

macro_rules! insert_sql {
    ($tail:literal) => {
        concat!(
            r#"INSERT INTO reservations (id, "user", venue, time, people, status, created_at, updated_at)
               VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7)"#,
            $tail
        )
    };
}

/// A new row; a known id is a constraint error.
const INSERT: &str = insert_sql!("");
/// A new row, unless its id is known (then nothing is written).
const INSERT_UNLESS_KNOWN: &str = insert_sql!(" ON CONFLICT (id) DO NOTHING");

/// Writes `r` with [`INSERT`] or [`INSERT_UNLESS_KNOWN`]; the rows written (0 or 1).
fn insert_row(
    tx: &Connection,
    r: &Reservation,
    at: DateTime<Utc>,
    sql: &'static str,
) -> rusqlite::Result<usize> {
    tx.prepare_cached(sql)?.execute(params![
        r.id,
        r.user.as_str(),
        r.venue.as_str(),
        micros(&r.time),
        r.people,
        r.status.as_str(),
        micros(&at)
    ])
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Reservation>, DbError> {
    let id = id.to_string();
    db.read(move |conn| get_in(conn, &id).map_err(DbError::from))
        .await
}

/// Stores a new reservation (and its creation event) if the seating rule lets it in.
pub async fn insert(
    db: &Db,
    outbox: &Outbox,
    r: Reservation,
    seating: Option<Seating>,
    at: DateTime<Utc>,
) -> Result<Written<Reservation>, DbError> {
    let outbox = outbox.clone();
    db.write(move |tx| {
        if let Some(free) = refuse_if_full(tx, seating, &r)? {
            return Ok(Written::Full { free });
        }
        insert_row(tx, &r, at, INSERT)?;
        announce(&outbox, tx, &r, None, Actor::Owner, at)?;
        Ok(Written::Done(r))
    })
    .await
}

/// Stores reservations that are history, without events; ids already stored are left as
/// they are. How many were written.
pub async fn import(
    db: &Db,
    reservations: Vec<Reservation>,
    at: DateTime<Utc>,
) -> Result<usize, DbError> {
    db.write(move |tx| {
        let mut written = 0;
        for r in &reservations {
            written += insert_row(tx, r, at, INSERT_UNLESS_KNOWN)?;
        }
        Ok(written)
    })
    .await
}

/// Reads the reservation, lets `decide` compute the change from what is stored now, enforces
/// the seating rule when the change needs more room (a new time or more people), writes it and,
/// when the status moved, its event. All in one write transaction: concurrent updates are
/// serialised, each seeing the previous one's result (R22).
pub async fn update<E, F>(
    db: &Db,
    outbox: &Outbox,
    id: &str,
    seating: Option<Seating>,
    at: DateTime<Utc>,
    decide: F,
) -> Result<Written<Reservation>, E>
where
    E: From<rusqlite::Error> + Send + 'static,
    F: FnOnce(&Reservation) -> Result<Change, E> + Send + 'static,
{
    let (outbox, id) = (outbox.clone(), id.to_string());
    db.write(move |tx| {
        let Some(current) = get_in(tx, &id)? else {
            return Ok(Written::NotFound);
        };
        let change = decide(&current)?;
        let next = Reservation {
            status: change.status,
            time: change.time,
            people: change.people,
            ..current.clone()
        };
        let needs_room = next.time != current.time || next.people > current.people;
        if next.status.holds_seats()
            && needs_room
            && let Some(free) = refuse_if_full(tx, seating, &next)?
        {
            return Ok(Written::Full { free });
        }
        // The status guard cannot miss while one writer runs read and write together; if
        // it ever does, nothing is announced and the caller gets a 500, never a double event.
        let changed = tx.execute(
            "UPDATE reservations SET status = ?2, time = ?3, people = ?4, updated_at = ?5
             WHERE id = ?1 AND status = ?6",
            params![
                next.id,
                next.status.as_str(),
                micros(&next.time),
                next.people,
                micros(&at),
                current.status.as_str()
            ],
        )?;
        if changed != 1 {
            return Err(rusqlite::Error::StatementChangedRows(changed).into());
        }
        if next.status != current.status {
            announce(&outbox, tx, &next, Some(current.status), change.by, at)?;
        }
        Ok(Written::Done(next))
    })
    .await
}

/// Deletes the reservation if `allow` accepts the caller. A hard delete: no event.
pub async fn delete<E, F>(db: &Db, id: &str, allow: F) -> Result<Written<()>, E>
where
    E: From<rusqlite::Error> + Send + 'static,
    F: FnOnce(&Reservation) -> Result<(), E> + Send + 'static,
{
    let id = id.to_string();
    db.write(move |tx| {
        let Some(current) = get_in(tx, &id)? else {
            return Ok(Written::NotFound);
        };
        allow(&current)?;
        tx.execute("DELETE FROM reservations WHERE id = ?1", [&id])?;
        Ok(Written::Done(()))
    })
    .await
}

/// Whether any Accepted reservation within `scope` is at or before `cutoff` (a read, so that
/// listings take the writer only when there is something to expire).
pub async fn any_stale(db: &Db, scope: Filter, cutoff: DateTime<Utc>) -> Result<bool, DbError> {
    db.read(move |conn| {
        let (clause, mut values) = conditions(&scope, false);
        values.push(Value::Integer(micros(&cutoff)));
        conn.prepare_cached(&format!(
            "SELECT EXISTS (SELECT 1 FROM reservations
                 WHERE {clause} AND status = 'Accepted' AND time <= ?)"
        ))?
        .query_row(params_from_iter(values), |r| r.get(0))
        .map_err(DbError::from)
    })
    .await
}

/// Expires up to [`EXPIRY_BATCH`] Accepted reservations within `scope` whose time is at or
/// before `cutoff`. Each goes through a compare-and-set on its status and gets its event only
/// when that changed the row, so a reservation expires once however many listings and sweeps
/// race (R8). Returns how many expired.
pub async fn expire_stale(
    db: &Db,
    outbox: &Outbox,
    scope: Filter,
    cutoff: DateTime<Utc>,
    at: DateTime<Utc>,
) -> Result<usize, DbError> {
    let outbox = outbox.clone();
    db.write(move |tx| {
        let (clause, mut values) = conditions(&scope, false);
        values.push(Value::Integer(micros(&cutoff)));
        let stale = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM reservations
                 WHERE {clause} AND status = 'Accepted' AND time <= ?
                 ORDER BY time LIMIT {EXPIRY_BATCH}"
            ))?;
            stmt.query_map(params_from_iter(values), row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let mut expired = 0;
        for mut r in stale {
            let changed = tx.execute(
                "UPDATE reservations SET status = 'Expired', updated_at = ?2
                 WHERE id = ?1 AND status = 'Accepted'",
                params![r.id, micros(&at)],
            )?;
            if changed == 1 {
                r.status = Status::Expired;
                announce(&outbox, tx, &r, Some(Status::Accepted), Actor::System, at)?;
                expired += 1;
            }
        }
        Ok(expired)
    })
    .await
}

/// A page of reservations (newest time first, ties by id), the true total, and the page's
/// visit counts: three queries in one read transaction, so that they agree.
pub async fn list(db: &Db, filter: Filter, limit: i64, start: i64) -> Result<Page, DbError> {
    db.read(move |conn| {
        let tx = conn.unchecked_transaction()?;
        let (clause, values) = conditions(&filter, true);
        let total: i64 = tx
            .prepare_cached(&format!("SELECT count(*) FROM reservations WHERE {clause}"))?
            .query_row(params_from_iter(values.iter()), |r| r.get(0))?;
        let rows = {
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT {COLUMNS} FROM reservations WHERE {clause}
                 ORDER BY time DESC, id ASC LIMIT ? OFFSET ?"
            ))?;
            let paged = values
                .iter()
                .cloned()
                .chain([Value::Integer(limit), Value::Integer(start)]);
            stmt.query_map(params_from_iter(paged), row)?
                .collect::<rusqlite::Result<Vec<_>>>()?
        };
        let visits = visits(&tx, &rows)?;
        Ok(Page {
            rows,
            total,
            visits,
        })
    })
    .await
}

/// One grouped query for every (diner, venue) pair of the page (R12), however long the page:
/// the pairs travel as one JSON parameter.
fn visits(
    conn: &Connection,
    rows: &[Reservation],
) -> rusqlite::Result<HashMap<(String, String), Visits>> {
    if rows.is_empty() {
        return Ok(HashMap::new());
    }
    let pairs: BTreeSet<(&str, &str)> = rows
        .iter()
        .map(|r| (r.user.as_str(), r.venue.as_str()))
        .collect();
    let pairs = serde_json::to_string(&pairs)
        .map_err(|e| rusqlite::Error::ToSqlConversionFailure(e.into()))?;
    // CROSS JOIN keeps the pairs as the outer loop, so each pair is an index lookup.
    let mut stmt = conn.prepare_cached(
        r#"WITH pairs (u, v) AS (
               SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each(?1)
           )
           SELECT r."user", r.venue, sum(r.status = 'Assisted'), sum(r.status = 'Expired')
           FROM pairs CROSS JOIN reservations r ON r."user" = pairs.u AND r.venue = pairs.v
           WHERE r.status IN ('Assisted', 'Expired')
           GROUP BY r."user", r.venue"#,
    )?;
    stmt.query_map([pairs], |r| {
        Ok((
            (r.get(0)?, r.get(1)?),
            Visits {
                assisted: r.get(2)?,
                expired: r.get(3)?,
            },
        ))
    })?
    .collect()
}

/// The WHERE clause of `filter` and its values (`?` placeholders, in order).
fn conditions(filter: &Filter, with_statuses: bool) -> (String, Vec<Value>) {
    let mut clauses: Vec<String> = Vec::new();
    let mut values = Vec::new();
    let mut add = |clause: &str, value: Value| {
        clauses.push(clause.to_string());
        values.push(value);
    };
    if let Some(id) = &filter.id {
        add("id = ?", Value::Text(id.clone()));
    }
    if let Some(user) = &filter.user {
        add(r#""user" = ?"#, Value::Text(user.clone()));
    }
    if let Some(venue) = &filter.venue {
        add("venue = ?", Value::Text(venue.clone()));
    }
    if let Some(from) = &filter.from_time {
        add("time >= ?", Value::Integer(micros(from)));
    }
    if let Some(to) = &filter.to_time {
        add("time <= ?", Value::Integer(micros(to)));
    }
    if let Some(from) = filter.from_people {
        add("people >= ?", Value::Integer(from));
    }
    if let Some(to) = filter.to_people {
        add("people <= ?", Value::Integer(to));
    }
    if let Some(party) = &filter.party {
        // Redundant when the other filters already keep only the caller's own reservations or
        // its venue's (the diner's and the restaurant's listings): leaving the OR out lets the
        // count be answered from an index alone (18.6 ms → 0.5 ms over 17,000 reservations of
        // one venue).
        let own_venue = filter.venue.as_deref() == Some(party.uid());
        let own_bookings = filter.user.as_deref() == Some(party.as_str());
        if !(own_venue || own_bookings) {
            clauses.push(r#"("user" = ? OR venue = ?)"#.to_string());
            values.push(Value::Text(party.as_str().to_string()));
            values.push(Value::Text(party.uid().to_string()));
        }
    }
    if with_statuses && !filter.statuses.is_empty() {
        let marks = vec!["?"; filter.statuses.len()].join(", ");
        clauses.push(format!("status IN ({marks})"));
        values.extend(
            filter
                .statuses
                .iter()
                .map(|s| Value::Text(s.as_str().to_string())),
        );
    }
    if clauses.is_empty() {
        ("1 = 1".to_string(), values)
    } else {
        (clauses.join(" AND "), values)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_callers_scope_is_left_out_where_the_other_filters_imply_it() {
        let party = UserRef::parse("user/resto").unwrap();
        let venue_listing = Filter {
            party: Some(party.clone()),
            venue: Some("resto".into()),
            ..Filter::default()
        };
        let (clause, _) = conditions(&venue_listing, true);
        assert!(!clause.contains(" OR "), "{clause}");
        let own_listing = Filter {
            party: Some(party.clone()),
            user: Some("user/resto".into()),
            ..Filter::default()
        };
        assert!(!conditions(&own_listing, true).0.contains(" OR "));
        // Another venue, or no venue: the scope must stay.
        let other = Filter {
            party: Some(party),
            venue: Some("elsewhere".into()),
            ..Filter::default()
        };
        assert!(conditions(&other, true).0.contains(" OR "));
    }
}
