//! SQLite: the schema and every query. Each function is one transaction.
//!
//! Tables:
//! * `venues`: one row per venue. Lists are JSON text columns; datetimes inside them are
//!   naive UTC text, as the wire writes them. `lat`/`lon` hold where the venue is, parsed from
//!   `location` when it is written (the default point when it does not parse), so that no
//!   query parses text. `seq` is a stable integer key for the two side tables; `created_at`
//!   (Unix milliseconds) orders the promotions fallback.
//! * `venue_tags`: each distinct characteristic and feature of each venue, keyed by
//!   `(kind, tag, venue)`, so that a contain-all filter reads only the index entries of the
//!   requested tags.
//! * `venue_points`: an R*Tree of the venues' positions, so that a search within a radius
//!   reads only the venues inside a bounding box.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use chefcito::db::{Db, DbError, Derived, Version};
use chrono::{DateTime, Utc};
use rusqlite::types::Value;
use rusqlite::{Connection, OptionalExtension, Row, params, params_from_iter};

use crate::model::geo::{Area, HALF_CIRCUMFERENCE_M, whole_metres};
use crate::model::query::Search;
use crate::model::{NearFilter, Point, Tag, TagKind, Venue, VenueData, VenueStatus};

/// Applied in order at start-up; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[r#"
CREATE TABLE venues (
    seq             INTEGER PRIMARY KEY,
    id              TEXT NOT NULL UNIQUE,
    name            TEXT NOT NULL,
    location        TEXT NOT NULL,
    lat             REAL NOT NULL,
    lon             REAL NOT NULL,
    capacity        INTEGER NOT NULL,
    logo            TEXT NOT NULL,
    pictures        TEXT NOT NULL,
    slots           TEXT NOT NULL,
    characteristics TEXT NOT NULL,
    features        TEXT NOT NULL,
    vacations       TEXT NOT NULL,
    lead_time       INTEGER NOT NULL,
    menu            TEXT NOT NULL,
    status          TEXT NOT NULL
                    CHECK (status IN ('Available', 'Occupied', 'Closed', 'Unconfirmed')),
    created_at      INTEGER NOT NULL
);
CREATE INDEX venues_name ON venues (name);
CREATE INDEX venues_newest ON venues (status, created_at, seq);

CREATE TABLE venue_tags (
    kind  TEXT NOT NULL CHECK (kind IN ('characteristic', 'feature')),
    tag   TEXT NOT NULL,
    venue INTEGER NOT NULL REFERENCES venues (seq) ON DELETE CASCADE,
    PRIMARY KEY (kind, tag, venue)
) WITHOUT ROWID;
CREATE INDEX venue_tags_venue ON venue_tags (venue);

CREATE VIRTUAL TABLE venue_points USING rtree (seq, min_lat, max_lat, min_lon, max_lon);
"#];

/// Opens (creating if needed) a venues database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Db, DbError> {
    Db::open(path, MIGRATIONS)
}

const COLUMNS: &str = "id, name, location, capacity, logo, pictures, slots, characteristics, \
                       features, vacations, lead_time, menu, status";

fn corrupt(column: usize, message: String) -> rusqlite::Error {
    rusqlite::Error::FromSqlConversionFailure(column, rusqlite::types::Type::Text, message.into())
}

fn json_list(row: &Row<'_>, column: usize) -> rusqlite::Result<Vec<String>> {
    let text: String = row.get(column)?;
    serde_json::from_str(&text).map_err(|e| corrupt(column, format!("bad JSON list: {e}")))
}

fn datetimes(row: &Row<'_>, column: usize) -> rusqlite::Result<Vec<DateTime<Utc>>> {
    json_list(row, column)?
        .iter()
        .map(|t| chefcito::time::parse(t).map_err(|e| corrupt(column, e.to_string())))
        .collect()
}

fn tags(row: &Row<'_>, column: usize, kind: TagKind) -> rusqlite::Result<Vec<Tag>> {
    let words = json_list(row, column)?;
    Tag::parse_all(kind, &words).map_err(|e| corrupt(column, e.to_string()))
}

/// Reads a venue from [`COLUMNS`] starting at `at`.
fn venue_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Venue> {
    let status: String = row.get(at + 12)?;
    Ok(Venue {
        id: row.get(at)?,
        data: VenueData {
            name: row.get(at + 1)?,
            location: row.get(at + 2)?,
            capacity: row.get(at + 3)?,
            logo: row.get(at + 4)?,
            pictures: json_list(row, at + 5)?,
            slots: datetimes(row, at + 6)?,
            characteristics: tags(row, at + 7, TagKind::Characteristic)?,
            features: tags(row, at + 8, TagKind::Feature)?,
            vacations: datetimes(row, at + 9)?,
            reservation_lead_time: row.get(at + 10)?,
            menu: row.get(at + 11)?,
        },
        status: VenueStatus::parse(&status)
            .ok_or_else(|| corrupt(at + 12, format!("unknown status {status:?}")))?,
    })
}

fn venue(row: &Row<'_>) -> rusqlite::Result<Venue> {
    venue_at(row, 0)
}

fn to_json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("lists of strings always serialise")
}

fn naive_list(list: &[DateTime<Utc>]) -> String {
    to_json(&list.iter().map(chefcito::time::naive).collect::<Vec<_>>())
}

/// The column values of a venue, in [`COLUMNS`] order after `id`, plus `lat` and `lon`.
fn data_values(v: &Venue) -> [Value; 14] {
    let d = &v.data;
    let point = Point::of_location(&d.location);
    [
        Value::Text(d.name.clone()),
        Value::Text(d.location.clone()),
        Value::Integer(d.capacity),
        Value::Text(d.logo.clone()),
        Value::Text(to_json(&d.pictures)),
        Value::Text(naive_list(&d.slots)),
        Value::Text(to_json(&d.characteristics)),
        Value::Text(to_json(&d.features)),
        Value::Text(naive_list(&d.vacations)),
        Value::Integer(d.reservation_lead_time),
        Value::Text(d.menu.clone()),
        Value::Text(v.status.as_str().to_string()),
        Value::Real(point.lat()),
        Value::Real(point.lon()),
    ]
}

/// Rewrites the side tables of venue `seq` from `v`.
fn index(conn: &Connection, seq: i64, v: &Venue, replace: bool) -> rusqlite::Result<()> {
    if replace {
        conn.execute("DELETE FROM venue_tags WHERE venue = ?1", [seq])?;
        conn.execute("DELETE FROM venue_points WHERE seq = ?1", [seq])?;
    }
    let mut insert = conn.prepare_cached(
        "INSERT OR IGNORE INTO venue_tags (kind, tag, venue) VALUES (?1, ?2, ?3)",
    )?;
    for (kind, list) in [
        (TagKind::Characteristic, &v.data.characteristics),
        (TagKind::Feature, &v.data.features),
    ] {
        for tag in list {
            insert.execute(params![kind.as_str(), tag.as_str(), seq])?;
        }
    }
    let point = Point::of_location(&v.data.location);
    conn.execute(
        "INSERT INTO venue_points (seq, min_lat, max_lat, min_lon, max_lon) VALUES (?1, ?2, ?2, ?3, ?3)",
        params![seq, point.lat(), point.lon()],
    )?;
    Ok(())
}

/// Stores a new venue; `None` when its id is taken (nothing is written then).
pub async fn create(db: &Db, v: Venue, created_at_ms: i64) -> Result<Option<Venue>, DbError> {
    db.write(move |tx| {
        let mut values = vec![Value::Text(v.id.clone())];
        values.extend(data_values(&v));
        values.push(Value::Integer(created_at_ms));
        let inserted = tx.execute(
            "INSERT INTO venues (id, name, location, capacity, logo, pictures, slots,
                                 characteristics, features, vacations, lead_time, menu, status,
                                 lat, lon, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16)
             ON CONFLICT (id) DO NOTHING",
            params_from_iter(values),
        )?;
        if inserted == 0 {
            return Ok(None);
        }
        index(tx, tx.last_insert_rowid(), &v, false)?;
        Ok(Some(v))
    })
    .await
}

pub async fn get(db: &Db, id: &str) -> Result<Option<Venue>, DbError> {
    let id = id.to_string();
    db.read(move |conn| {
        conn.prepare_cached(&format!("SELECT {COLUMNS} FROM venues WHERE id = ?1"))?
            .query_row([id], venue)
            .optional()
            .map_err(DbError::from)
    })
    .await
}

/// Reads venue `id`, lets `change` modify it and writes it back, in one transaction (two
/// concurrent updates cannot lose each other's fields). `None` when there is no such venue.
pub async fn update<F>(db: &Db, id: &str, change: F) -> Result<Option<Venue>, DbError>
where
    F: FnOnce(&mut Venue) + Send + 'static,
{
    let id = id.to_string();
    db.write(move |tx| {
        let found = tx
            .prepare_cached(&format!("SELECT seq, {COLUMNS} FROM venues WHERE id = ?1"))?
            .query_row([&id], |r| Ok((r.get::<_, i64>(0)?, venue_at(r, 1)?)))
            .optional()?;
        let Some((seq, mut v)) = found else {
            return Ok(None);
        };
        change(&mut v);
        let mut values = data_values(&v).to_vec();
        values.push(Value::Integer(seq));
        tx.execute(
            "UPDATE venues SET name = ?1, location = ?2, capacity = ?3, logo = ?4, pictures = ?5,
                    slots = ?6, characteristics = ?7, features = ?8, vacations = ?9,
                    lead_time = ?10, menu = ?11, status = ?12, lat = ?13, lon = ?14
             WHERE seq = ?15",
            params_from_iter(values),
        )?;
        index(tx, seq, &v, true)?;
        Ok(Some(v))
    })
    .await
}

/// Deletes venue `id` and its index rows; `false` when there was none.
pub async fn delete(db: &Db, id: &str) -> Result<bool, DbError> {
    let id = id.to_string();
    db.write(move |tx| {
        let seq: Option<i64> = tx
            .prepare_cached("SELECT seq FROM venues WHERE id = ?1")?
            .query_row([&id], |r| r.get(0))
            .optional()?;
        let Some(seq) = seq else {
            return Ok(false);
        };
        tx.execute("DELETE FROM venue_tags WHERE venue = ?1", [seq])?;
        tx.execute("DELETE FROM venue_points WHERE seq = ?1", [seq])?;
        tx.execute("DELETE FROM venues WHERE seq = ?1", [seq])?;
        Ok(true)
    })
    .await
}

/// What a search matches, without its page: the key of a [`Listing`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
struct Filter {
    name: Option<String>,
    characteristics: Vec<Tag>,
    features: Vec<Tag>,
}

impl Filter {
    fn of(search: &Search) -> Filter {
        Filter {
            name: search.name.clone(),
            characteristics: search.characteristics.clone(),
            features: search.features.clone(),
        }
    }
}

/// The venues a [`Filter`] matches, as `seq`s in id order, cut into a page and counted; or
/// too many to keep, and then a page comes from SQL as it would without listings.
#[derive(Debug, Clone)]
enum Listing {
    Kept(Arc<[i64]>),
    TooLong,
}

/// Listings kept while the venues are unchanged ([`Derived`]: the first read after a commit
/// lists again). A page at any start then costs a slice and a read of `limit` rows, where
/// SQL would count every match and step over `start` of them: at 100,000 venues a page at a
/// random start went from 7,078 to 883 req/s that way.
#[derive(Debug)]
pub struct Listings {
    kept: Derived<Filter, Listing>,
    /// Longest listing kept; a longer one is [`Listing::TooLong`].
    longest: usize,
}

/// Up to a million venues per listing (8 MB), two million `seq`s kept in all: the whole
/// catalogue of 100,000 venues and every tag's list take a sixth of that.
const LONGEST_LISTING: usize = 1_000_000;
const MAX_LISTED: usize = 2_000_000;

impl Listings {
    pub fn new() -> Arc<Listings> {
        Listings::bounded(LONGEST_LISTING, MAX_LISTED)
    }

    fn bounded(longest: usize, total: usize) -> Arc<Listings> {
        Arc::new(Listings {
            kept: Derived::new(total),
            longest,
        })
    }

    fn get(
        &self,
        tx: &Connection,
        version: Option<Version>,
        filter: &Filter,
    ) -> rusqlite::Result<Listing> {
        self.kept.get_or_compute(
            version,
            filter,
            |listing| match listing {
                Listing::Kept(seqs) => seqs.len().max(1),
                Listing::TooLong => 1,
            },
            || self.list(tx, &search_filter(filter)),
        )
    }

    /// Every match of a `WHERE` clause, in id order (reading one more than it keeps).
    fn list(
        &self,
        tx: &Connection,
        (filter, values): &(String, Vec<Value>),
    ) -> rusqlite::Result<Listing> {
        let mut values = values.clone();
        values.push(Value::Integer(
            i64::try_from(self.longest).unwrap_or(i64::MAX - 1) + 1,
        ));
        let seqs: Vec<i64> = tx
            .prepare_cached(&format!(
                "SELECT seq FROM venues {filter} ORDER BY id LIMIT ?"
            ))?
            .query_map(params_from_iter(values), |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        Ok(if seqs.len() > self.longest {
            Listing::TooLong
        } else {
            Listing::Kept(seqs.into())
        })
    }

    /// How many venues match `filter`.
    fn count(
        &self,
        tx: &Connection,
        version: Option<Version>,
        filter: &Filter,
    ) -> rusqlite::Result<u64> {
        match self.get(tx, version, filter)? {
            Listing::Kept(seqs) => Ok(seqs.len() as u64),
            Listing::TooLong => count_matches(tx, &search_filter(filter)),
        }
    }
}

fn count_matches(
    tx: &Connection,
    (filter, values): &(String, Vec<Value>),
) -> rusqlite::Result<u64> {
    let total: i64 = tx
        .prepare_cached(&format!("SELECT count(*) FROM venues {filter}"))?
        .query_row(params_from_iter(values.iter()), |r| r.get(0))?;
    Ok(total.max(0) as u64)
}

/// One page of the venues matching `search`, ordered by id, and how many match in all.
pub async fn search(
    db: &Db,
    listings: &Arc<Listings>,
    search: Search,
) -> Result<(Vec<Venue>, u64), DbError> {
    let listings = listings.clone();
    db.read_versioned(move |tx, version| {
        let filter = Filter::of(&search);
        let start = usize::try_from(search.start).unwrap_or(usize::MAX);
        let limit = search.limit as usize;
        match listings.get(tx, version, &filter)? {
            Listing::Kept(seqs) => {
                let start = start.min(seqs.len());
                let page = &seqs[start..start.saturating_add(limit).min(seqs.len())];
                let mut rows = by_seq(tx, page)?;
                let page = page.iter().filter_map(|seq| rows.remove(seq)).collect();
                Ok((page, seqs.len() as u64))
            }
            Listing::TooLong => {
                let sql = search_filter(&filter);
                let total = count_matches(tx, &sql)?;
                let (filter, mut values) = sql;
                values.push(Value::Integer(limit as i64));
                values.push(Value::Integer(i64::try_from(start).unwrap_or(i64::MAX)));
                let page = tx
                    .prepare_cached(&format!(
                        "SELECT {COLUMNS} FROM venues {filter} ORDER BY id LIMIT ? OFFSET ?"
                    ))?
                    .query_map(params_from_iter(values), venue)?
                    .collect::<rusqlite::Result<Vec<_>>>()?;
                Ok((page, total))
            }
        }
    })
    .await
}

/// The `WHERE` clause of a search and its parameters. Only placeholders are spliced in,
/// never caller text.
fn search_filter(search: &Filter) -> (String, Vec<Value>) {
    let mut conditions = Vec::new();
    let mut values = Vec::new();
    if let Some(name) = &search.name {
        conditions.push("name = ?");
        values.push(Value::Text(name.clone()));
    }
    for (kind, wanted) in [
        (TagKind::Characteristic, &search.characteristics),
        (TagKind::Feature, &search.features),
    ] {
        if wanted.is_empty() {
            continue;
        }
        // `wanted` holds distinct tags and so does venue_tags: having them all means
        // matching as many rows as were asked for.
        conditions.push(
            "seq IN (SELECT venue FROM venue_tags
                     WHERE kind = ? AND tag IN (SELECT value FROM json_each(?))
                     GROUP BY venue HAVING count(*) = ?)",
        );
        values.push(Value::Text(kind.as_str().to_string()));
        values.push(Value::Text(to_json(wanted)));
        values.push(Value::Integer(wanted.len() as i64));
    }
    let filter = if conditions.is_empty() {
        String::new()
    } else {
        format!("WHERE {}", conditions.join(" AND "))
    };
    (filter, values)
}

/// The venues with these ids, in the order given; unknown ids are skipped, repeated ones
/// repeated.
pub async fn by_ids(db: &Db, ids: Vec<String>) -> Result<Vec<Venue>, DbError> {
    db.read(move |conn| {
        let found: HashMap<String, Venue> = conn
            .prepare_cached(&format!(
                "SELECT {COLUMNS} FROM venues WHERE id IN (SELECT value FROM json_each(?1))"
            ))?
            .query_map([to_json(&ids)], venue)?
            .map(|v| v.map(|v| (v.id.clone(), v)))
            .collect::<rusqlite::Result<_>>()?;
        Ok(ids.iter().filter_map(|id| found.get(id).cloned()).collect())
    })
    .await
}

/// The `n` most recently created venues whose status is `Available`, newest first.
pub async fn newest_available(db: &Db, n: u32) -> Result<Vec<Venue>, DbError> {
    db.read(move |conn| {
        conn.prepare_cached(&format!(
            "SELECT {COLUMNS} FROM venues WHERE status = 'Available'
             ORDER BY created_at DESC, seq DESC LIMIT ?1"
        ))?
        .query_map([n], venue)?
        .collect::<rusqlite::Result<Vec<_>>>()
        .map_err(DbError::from)
    })
    .await
}

/// Where a venue is, without the rest of it: what ranking by distance needs.
#[derive(Debug, Clone)]
struct Candidate {
    seq: i64,
    id: String,
    km: f64,
}

/// Venues in `areas` with their distance from `origin` (each venue once).
fn candidates(
    conn: &Connection,
    origin: Point,
    areas: &[Area],
) -> rusqlite::Result<Vec<Candidate>> {
    let mut statement = conn.prepare_cached(
        "SELECT v.seq, v.id, v.lat, v.lon
         FROM venue_points p JOIN venues v ON v.seq = p.seq
         WHERE p.max_lat >= ?1 AND p.min_lat <= ?2 AND p.max_lon >= ?3 AND p.min_lon <= ?4",
    )?;
    let mut seen = HashSet::new();
    let mut found = Vec::new();
    for a in areas {
        let rows =
            statement.query_map(params![a.min_lat, a.max_lat, a.min_lon, a.max_lon], |r| {
                let (lat, lon): (f64, f64) = (r.get(2)?, r.get(3)?);
                // Stored coordinates were checked when written; the default stands in otherwise.
                let point = Point::new(lat, lon).unwrap_or(Point::DEFAULT);
                Ok(Candidate {
                    seq: r.get(0)?,
                    id: r.get(1)?,
                    km: origin.km_to(point),
                })
            })?;
        for candidate in rows {
            let candidate = candidate?;
            if seen.insert(candidate.seq) {
                found.push(candidate);
            }
        }
    }
    Ok(found)
}

/// Nearest first, equal distances by id.
fn rank(candidates: &mut [Candidate]) {
    candidates.sort_by(|a, b| a.km.total_cmp(&b.km).then_with(|| a.id.cmp(&b.id)));
}

/// The venues nearest to `filter.origin` with their distance in whole metres, and how many
/// qualify before `limit` is applied (all venues, or those within `max_distance`). One read
/// transaction: a venue deleted meanwhile is either wholly there or wholly absent.
pub async fn nearest(
    db: &Db,
    listings: &Arc<Listings>,
    filter: NearFilter,
) -> Result<(Vec<(Venue, i64)>, u64), DbError> {
    let listings = listings.clone();
    db.read_versioned(move |tx, version| {
        let origin = filter.origin;
        let (ranked, total) = match (filter.max_distance, filter.limit) {
            (Some(max), limit) => {
                let mut within: Vec<_> = candidates(tx, origin, &origin.areas_within(max))?
                    .into_iter()
                    .filter(|c| whole_metres(c.km) as f64 <= max)
                    .collect();
                rank(&mut within);
                let total = within.len() as u64;
                if let Some(limit) = limit {
                    within.truncate(limit as usize);
                }
                (within, total)
            }
            (None, Some(limit)) => {
                let total = listings.count(tx, version, &Filter::default())?;
                (
                    k_nearest(tx, origin, limit as usize, total as usize)?,
                    total,
                )
            }
            (None, None) => {
                let mut all = candidates(tx, origin, &[Area::WORLD])?;
                rank(&mut all);
                let total = all.len() as u64;
                (all, total)
            }
        };
        let seqs: Vec<i64> = ranked.iter().map(|c| c.seq).collect();
        let mut rows = by_seq(tx, &seqs)?;
        let venues = ranked
            .iter()
            .filter_map(|c| rows.remove(&c.seq).map(|v| (v, whole_metres(c.km))))
            .collect();
        Ok((venues, total))
    })
    .await
}

/// The radius of [`k_nearest`]'s first box.
const FIRST_RADIUS_M: f64 = 100.0;

/// The `k` venues nearest to `origin`, searching ever wider boxes: once a box's circle holds
/// `k` venues, nothing outside the box can be nearer than they are. The first box is small
/// and each next one twice as wide, so that a dense city ranks a few dozen candidates, not
/// every venue of a kilometre around (at 100,000 venues over Buenos Aires, a 1 km first box
/// held about a thousand); a sparse one only pays a few more R*Tree lookups.
fn k_nearest(
    conn: &Connection,
    origin: Point,
    k: usize,
    total: usize,
) -> rusqlite::Result<Vec<Candidate>> {
    if k == 0 || total == 0 {
        return Ok(Vec::new());
    }
    let mut radius_m = FIRST_RADIUS_M;
    loop {
        let mut found = candidates(conn, origin, &origin.areas_within(radius_m))?;
        let inside = found.iter().filter(|c| c.km * 1000.0 <= radius_m).count();
        if inside >= k || found.len() >= total || radius_m >= HALF_CIRCUMFERENCE_M {
            rank(&mut found);
            found.truncate(k);
            return Ok(found);
        }
        radius_m *= 2.0;
    }
}

/// The venues with these `seq`s, by `seq`.
fn by_seq(conn: &Connection, seqs: &[i64]) -> rusqlite::Result<HashMap<i64, Venue>> {
    conn.prepare_cached(&format!(
        "SELECT seq, {COLUMNS} FROM venues WHERE seq IN (SELECT value FROM json_each(?1))"
    ))?
    .query_map([to_json(&seqs)], |r| {
        Ok((r.get::<_, i64>(0)?, venue_at(r, 1)?))
    })?
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plan(conn: &Connection, sql: &str, values: Vec<Value>) -> String {
        let mut statement = conn
            .prepare_cached(&format!("EXPLAIN QUERY PLAN {sql}"))
            .unwrap();
        statement
            .query_map(params_from_iter(values), |r| r.get::<_, String>(3))
            .unwrap()
            .map(Result::unwrap)
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The contain-all filter reads the tag index, not every venue; the radius search reads
    /// the R*Tree.
    #[test]
    fn filters_use_their_indexes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("v.db");
        drop(open(&path).unwrap());
        let conn = Connection::open(&path).unwrap();
        let search = Filter {
            characteristics: vec![Tag::parse(TagKind::Characteristic, "Pizzas").unwrap()],
            ..Filter::default()
        };
        let (filter, values) = search_filter(&search);
        let tags_plan = plan(&conn, &format!("SELECT id FROM venues {filter}"), values);
        assert!(
            tags_plan.contains("venue_tags USING PRIMARY KEY (kind=? AND tag=?)")
                || tags_plan.contains("venue_tags USING COVERING INDEX"),
            "{tags_plan}"
        );
        let near_plan = plan(
            &conn,
            "SELECT v.seq FROM venue_points p JOIN venues v ON v.seq = p.seq
             WHERE p.max_lat >= ?1 AND p.min_lat <= ?2 AND p.max_lon >= ?3 AND p.min_lon <= ?4",
            vec![Value::Real(0.0); 4],
        );
        assert!(near_plan.contains("VIRTUAL TABLE INDEX"), "{near_plan}");
        let name_plan = plan(
            &conn,
            "SELECT id FROM venues WHERE name = ?1 ORDER BY id",
            vec![Value::Text("x".into())],
        );
        assert!(name_plan.contains("venues_name"), "{name_plan}");
    }

    async fn venues(names: &[(&str, &[&str])]) -> (tempfile::TempDir, Db) {
        let dir = tempfile::tempdir().unwrap();
        let db = open(&dir.path().join("v.db")).unwrap();
        for (n, (id, tags)) in names.iter().enumerate() {
            let body: crate::model::VenueCreate = serde_json::from_value(serde_json::json!({
                "id": id, "name": "same", "location": format!("-34.6{n},-58.4"),
                "characteristics": tags,
            }))
            .unwrap();
            let new = crate::model::NewVenue::parse(body).unwrap();
            let venue = Venue::new(new.id.unwrap(), new.data);
            create(&db, venue, n as i64).await.unwrap().unwrap();
        }
        (dir, db)
    }

    /// A listing longer than the bound is not kept, and SQL answers the same pages and totals
    /// as a kept one.
    #[tokio::test]
    async fn a_listing_too_long_to_keep_answers_the_same() {
        let (_dir, db) = venues(&[
            ("e", &["Pizzas"]),
            ("b", &["Pizzas", "Sushi"]),
            ("d", &[]),
            ("a", &["Sushi"]),
            ("c", &["Pizzas"]),
        ])
        .await;
        let kept = Listings::new();
        let too_long = Listings::bounded(2, 100);
        let pizzas = vec![Tag::parse(TagKind::Characteristic, "Pizzas").unwrap()];
        let asks = [
            (None, vec![], 0, 10),
            (None, vec![], 1, 2),
            (None, vec![], 4, 10),
            (None, vec![], 9, 10),
            (None, pizzas.clone(), 1, 1),
            (Some("same".to_string()), pizzas.clone(), 0, 0),
            (Some("other".to_string()), vec![], 0, 10),
        ];
        for (name, characteristics, start, limit) in asks {
            let ask = Search {
                name,
                characteristics,
                features: vec![],
                limit,
                start,
            };
            let expected = ids_of(search(&db, &kept, ask.clone()).await.unwrap());
            let fallback = ids_of(search(&db, &too_long, ask.clone()).await.unwrap());
            assert_eq!(fallback, expected, "{ask:?}");
        }
        let all = ids_of(
            search(
                &db,
                &kept,
                Search {
                    limit: 10,
                    ..Search::default()
                },
            )
            .await
            .unwrap(),
        );
        assert_eq!(
            all,
            (
                vec!["a", "b", "c", "d", "e"]
                    .into_iter()
                    .map(String::from)
                    .collect(),
                5
            )
        );
        let near = NearFilter {
            origin: Point::DEFAULT,
            limit: Some(1),
            max_distance: None,
        };
        let (_, total) = nearest(&db, &too_long, near).await.unwrap();
        assert_eq!(total, 5);
        let (_, total) = nearest(&db, &kept, near).await.unwrap();
        assert_eq!(total, 5);
    }

    fn ids_of((page, total): (Vec<Venue>, u64)) -> (Vec<String>, u64) {
        (page.into_iter().map(|v| v.id).collect(), total)
    }
}
