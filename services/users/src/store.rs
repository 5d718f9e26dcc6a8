//! SQLite: the schema and every query. Each function is one transaction.
//!
//! Tables: `accounts` (e-mail + password hash, the embedded identity provider),
//! `refresh_families`/`refresh_tokens` (sign-in sessions and their rotating tokens, stored as
//! hashes), `users`/`users_data` (profiles, the original's tables), `permissions` and
//! `permissions_meta` (the table `db_config.yaml` describes and its version).
//!
//! `cargo xtask load-db` calls [`open`] and [`replace_permissions`] directly on the file.

use std::path::Path;

use chefcito::db::{Db, DbError};
use chefcito::outbox::Outbox;
use chefcito::permissions::{Diff, Permissions, UserType, VersionedPermissions};
use rusqlite::{Connection, OptionalExtension, params};
use serde::{Deserialize, Serialize};

use crate::model::Profile;

/// Applied in order at start-up; never edit one that has shipped, append a new one.
pub const MIGRATIONS: &[&str] = &[
    r#"
CREATE TABLE accounts (
    uid           TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    created_at    INTEGER NOT NULL
);
CREATE TABLE refresh_families (
    family     TEXT PRIMARY KEY,
    uid        TEXT NOT NULL REFERENCES accounts (uid),
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE TABLE refresh_tokens (
    hash       TEXT PRIMARY KEY,
    family     TEXT NOT NULL REFERENCES refresh_families (family),
    expires_at INTEGER NOT NULL,
    used_at    INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_expiry ON refresh_tokens (expires_at);

-- The original's profile tables. `users.email` is deliberately not unique: one person may
-- reach us through several identity providers.
CREATE TABLE users (
    uid       TEXT PRIMARY KEY,
    email     TEXT NOT NULL,
    user_type TEXT NOT NULL CHECK (user_type IN ('client', 'restaurant'))
);
CREATE TABLE users_data (
    uid          TEXT PRIMARY KEY REFERENCES users (uid),
    name         TEXT NOT NULL,
    phone_number TEXT NOT NULL
);

CREATE TABLE permissions (
    endpoint  TEXT NOT NULL,
    user_type TEXT NOT NULL CHECK (user_type IN ('anonymous', 'client', 'restaurant')),
    PRIMARY KEY (endpoint, user_type)
) WITHOUT ROWID;
-- Version 0 means "never loaded".
CREATE TABLE permissions_meta (
    id         INTEGER PRIMARY KEY CHECK (id = 1),
    version    INTEGER NOT NULL,
    updated_at INTEGER
);
INSERT INTO permissions_meta (id, version) VALUES (1, 0);
"#,
    // An entry allowing nobody (`allowed: []`) is stored as one `nobody` row, so that it is kept
    // (and keeps refusing) instead of vanishing and letting its `param` sibling decide.
    r#"
CREATE TABLE permissions_new (
    endpoint  TEXT NOT NULL,
    user_type TEXT NOT NULL CHECK (user_type IN ('anonymous', 'client', 'restaurant', 'nobody')),
    PRIMARY KEY (endpoint, user_type)
) WITHOUT ROWID;
INSERT INTO permissions_new (endpoint, user_type) SELECT endpoint, user_type FROM permissions;
DROP TABLE permissions;
ALTER TABLE permissions_new RENAME TO permissions;
"#,
    // Phone numbers reach the communications service through the transactional outbox.
    chefcito::outbox::MIGRATION,
];

/// Opens (creating if needed) a users database and brings its schema up to date.
pub fn open(path: &Path) -> Result<Db, DbError> {
    Db::open(path, MIGRATIONS)
}

fn user_type_of(text: String) -> rusqlite::Result<UserType> {
    UserType::parse(&text).ok_or_else(|| {
        rusqlite::Error::FromSqlConversionFailure(
            0,
            rusqlite::types::Type::Text,
            format!("unknown user type {text:?}").into(),
        )
    })
}

// ---------------------------------------------------------------------------------------------
// Accounts and sessions

/// A stored account.
#[derive(Debug, Clone)]
pub struct Account {
    pub uid: String,
    pub email: String,
    pub password_hash: String,
}

/// The first refresh token of a new sign-in session.
#[derive(Debug, Clone)]
pub struct NewSession {
    pub family: String,
    pub token_hash: String,
    pub expires_at: i64,
    pub now: i64,
}

fn start_session(conn: &Connection, uid: &str, s: &NewSession) -> rusqlite::Result<()> {
    // Expired tokens are useless (presenting one is refused either way): trim them here, on a
    // path that is taken often but not on every request.
    conn.execute("DELETE FROM refresh_tokens WHERE expires_at < ?1", [s.now])?;
    conn.execute(
        "INSERT INTO refresh_families (family, uid, created_at) VALUES (?1, ?2, ?3)",
        params![s.family, uid, s.now],
    )?;
    conn.execute(
        "INSERT INTO refresh_tokens (hash, family, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
        params![s.token_hash, s.family, s.expires_at, s.now],
    )?;
    Ok(())
}

/// Creates the account and its first session; `false` when the e-mail is taken.
pub async fn create_account(
    db: &Db,
    account: Account,
    session: NewSession,
) -> Result<bool, DbError> {
    db.write(move |tx| {
        let taken: bool = tx
            .prepare_cached("SELECT EXISTS (SELECT 1 FROM accounts WHERE email = ?1)")?
            .query_row([&account.email], |r| r.get(0))?;
        if taken {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO accounts (uid, email, password_hash, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![
                account.uid,
                account.email,
                account.password_hash,
                session.now
            ],
        )?;
        start_session(tx, &account.uid, &session)?;
        Ok(true)
    })
    .await
}

pub async fn account_by_email(db: &Db, email: &str) -> Result<Option<Account>, DbError> {
    let email = email.to_string();
    db.read(move |conn| {
        conn.prepare_cached("SELECT uid, email, password_hash FROM accounts WHERE email = ?1")?
            .query_row([email], |r| {
                Ok(Account {
                    uid: r.get(0)?,
                    email: r.get(1)?,
                    password_hash: r.get(2)?,
                })
            })
            .optional()
            .map_err(DbError::from)
    })
    .await
}

/// Starts a session for an existing account (sign-in).
pub async fn add_session(db: &Db, uid: &str, session: NewSession) -> Result<(), DbError> {
    let uid = uid.to_string();
    db.write(move |tx| start_session(tx, &uid, &session).map_err(DbError::from))
        .await
}

/// What presenting a refresh token led to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rotation {
    /// The token was valid: it is now used and `next` replaces it.
    Rotated {
        uid: String,
        email: String,
    },
    Unknown,
    Expired,
    /// Its session was signed out or revoked.
    Revoked,
    /// It was rotated moments ago (within [`REUSE_GRACE_SECS`]): a concurrent refresh from
    /// another tab of the same client, not a stolen copy. Refused, session kept.
    Superseded,
    /// It had been used already, longer ago: someone else holds a copy, so the whole session
    /// is revoked.
    Reused,
}

/// How long after its rotation a refresh token may be presented again without being taken
/// for a stolen copy. Two tabs refreshing at once would otherwise sign the user out.
pub const REUSE_GRACE_SECS: i64 = 10;

/// Checks the presented token and, if valid, marks it used and stores its successor, all in
/// one write transaction: of two concurrent refreshes with the same token exactly one rotates,
/// the other sees it used.
pub async fn rotate(
    db: &Db,
    presented_hash: String,
    next_hash: String,
    next_expires_at: i64,
    now: i64,
) -> Result<Rotation, DbError> {
    db.write(move |tx| {
        let row = tx
            .prepare_cached("SELECT t.family, t.expires_at, t.used_at, f.revoked_at, a.uid, a.email
                 FROM refresh_tokens t
                 JOIN refresh_families f ON f.family = t.family
                 JOIN accounts a ON a.uid = f.uid
                 WHERE t.hash = ?1")?
            .query_row(
                [&presented_hash],
                |r| {
                    Ok((
                        r.get::<_, String>(0)?,
                        r.get::<_, i64>(1)?,
                        r.get::<_, Option<i64>>(2)?,
                        r.get::<_, Option<i64>>(3)?,
                        r.get::<_, String>(4)?,
                        r.get::<_, String>(5)?,
                    ))
                },
            )
            .optional()?;
        let Some((family, expires_at, used_at, revoked_at, uid, email)) = row else {
            return Ok(Rotation::Unknown);
        };
        if revoked_at.is_some() {
            return Ok(Rotation::Revoked);
        }
        if let Some(used_at) = used_at {
            if now - used_at <= REUSE_GRACE_SECS {
                return Ok(Rotation::Superseded);
            }
            revoke(tx, &family, now)?;
            return Ok(Rotation::Reused);
        }
        if expires_at <= now {
            return Ok(Rotation::Expired);
        }
        tx.execute(
            "UPDATE refresh_tokens SET used_at = ?2 WHERE hash = ?1",
            params![presented_hash, now],
        )?;
        tx.execute(
            "INSERT INTO refresh_tokens (hash, family, expires_at, created_at) VALUES (?1, ?2, ?3, ?4)",
            params![next_hash, family, next_expires_at, now],
        )?;
        Ok(Rotation::Rotated { uid, email })
    })
    .await
}

fn revoke(conn: &Connection, family: &str, now: i64) -> rusqlite::Result<()> {
    conn.execute(
        "UPDATE refresh_families SET revoked_at = ?2 WHERE family = ?1 AND revoked_at IS NULL",
        params![family, now],
    )
    .map(drop)
}

/// Revokes the session the token belongs to; `false` if the token is unknown.
pub async fn revoke_session(db: &Db, token_hash: String, now: i64) -> Result<bool, DbError> {
    db.write(move |tx| {
        let family: Option<String> = tx
            .prepare_cached("SELECT family FROM refresh_tokens WHERE hash = ?1")?
            .query_row([&token_hash], |r| r.get(0))
            .optional()?;
        match family {
            Some(family) => revoke(tx, &family, now).map(|()| true),
            None => Ok(false),
        }
        .map_err(DbError::from)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Profiles

/// The topic of a user's phone number change (consumer: communications).
pub const PHONE_TOPIC: &str = "user.phone";

/// Tells the communications service about a phone number, in the same transaction as the
/// profile change: a registration never waits for (or fails with) that service.
fn phone_changed(
    tx: &rusqlite::Transaction,
    outbox: &Outbox,
    uid: &str,
    phone: &str,
) -> rusqlite::Result<()> {
    let at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    outbox
        .enqueue(
            tx,
            PHONE_TOPIC,
            &serde_json::json!({"user": uid, "phone": phone, "at": at}),
        )
        .map(|_| ())
}

/// A profile from `uid, email, user_type, name, phone_number`.
fn profile_row(r: &rusqlite::Row) -> rusqlite::Result<Profile> {
    Ok(Profile {
        uid: r.get(0)?,
        email: r.get(1)?,
        user_type: user_type_of(r.get(2)?)?,
        name: r.get(3)?,
        phone_number: r.get(4)?,
    })
}

fn load_profile(conn: &Connection, uid: &str) -> rusqlite::Result<Option<Profile>> {
    // LEFT JOIN: a `users` row without data reads as empty name and phone, as the original did.
    conn.prepare_cached(
        "SELECT u.uid, u.email, u.user_type, coalesce(d.name, ''), coalesce(d.phone_number, '')
         FROM users u LEFT JOIN users_data d ON d.uid = u.uid
         WHERE u.uid = ?1",
    )?
    .query_row([uid], profile_row)
    .optional()
}

/// Registers `profile` unless its uid is registered already; either way answers the stored
/// profile and whether it was created now. Both rows are written in one transaction.
pub async fn register(
    db: &Db,
    outbox: &Outbox,
    profile: Profile,
) -> Result<(Profile, bool), DbError> {
    let outbox = outbox.clone();
    db.write(move |tx| {
        let created = tx.execute(
            "INSERT INTO users (uid, email, user_type) VALUES (?1, ?2, ?3) ON CONFLICT (uid) DO NOTHING",
            params![profile.uid, profile.email, profile.user_type.as_str()],
        )? == 1;
        if created {
            tx.execute(
                "INSERT INTO users_data (uid, name, phone_number) VALUES (?1, ?2, ?3)",
                params![profile.uid, profile.name, profile.phone_number],
            )?;
            phone_changed(tx, &outbox, &profile.uid, &profile.phone_number)?;
        }
        let stored = load_profile(tx, &profile.uid)?
            .ok_or(rusqlite::Error::QueryReturnedNoRows)?;
        Ok((stored, created))
    })
    .await
}

pub async fn profile(db: &Db, uid: &str) -> Result<Option<Profile>, DbError> {
    let uid = uid.to_string();
    db.read(move |conn| load_profile(conn, &uid).map_err(DbError::from))
        .await
}

/// The registered profiles among `uids`, in the order asked, each once.
pub async fn profiles(db: &Db, uids: Vec<String>) -> Result<Vec<Profile>, DbError> {
    let ids = serde_json::to_string(&uids).unwrap_or_else(|_| "[]".into());
    db.read(move |conn| {
        let mut stmt = conn.prepare_cached(
            "SELECT u.uid, u.email, u.user_type, coalesce(d.name, ''), coalesce(d.phone_number, '')
             FROM (SELECT value AS uid, min(key) AS position FROM json_each(?1) GROUP BY value) asked
             JOIN users u ON u.uid = asked.uid
             LEFT JOIN users_data d ON d.uid = u.uid
             ORDER BY asked.position",
        )?;
        let rows = stmt.query_map([ids], profile_row)?;
        rows.collect::<rusqlite::Result<Vec<_>>>()
            .map_err(DbError::from)
    })
    .await
}

/// The registered type of `uid`, `None` when not registered.
pub async fn user_type(db: &Db, uid: &str) -> Result<Option<UserType>, DbError> {
    let uid = uid.to_string();
    db.read(move |conn| {
        conn.prepare_cached("SELECT user_type FROM users WHERE uid = ?1")?
            .query_row([uid], |r| user_type_of(r.get(0)?))
            .optional()
            .map_err(DbError::from)
    })
    .await
}

/// Sets the given fields (`None` keeps the stored value); `None` when not registered.
pub async fn update_profile(
    db: &Db,
    outbox: &Outbox,
    uid: &str,
    name: Option<String>,
    phone_number: Option<String>,
) -> Result<Option<Profile>, DbError> {
    let uid = uid.to_string();
    let outbox = outbox.clone();
    db.write(move |tx| {
        let Some(before) = load_profile(tx, &uid)? else {
            return Ok(None);
        };
        if let Some(phone) = phone_number.as_ref().filter(|p| **p != before.phone_number) {
            phone_changed(tx, &outbox, &uid, phone)?;
        }
        tx.execute(
            "INSERT INTO users_data (uid, name, phone_number) VALUES (?1, '', '')
             ON CONFLICT (uid) DO NOTHING",
            [&uid],
        )?;
        tx.execute(
            "UPDATE users_data SET name = coalesce(?2, name), phone_number = coalesce(?3, phone_number)
             WHERE uid = ?1",
            params![uid, name, phone_number],
        )?;
        load_profile(tx, &uid).map_err(DbError::from)
    })
    .await
}

// ---------------------------------------------------------------------------------------------
// Permissions

/// The outcome of [`replace_permissions`], also the body of `PUT /permissions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    pub version: i64,
    pub diff: Diff,
}

fn version(conn: &Connection) -> rusqlite::Result<i64> {
    conn.prepare_cached("SELECT version FROM permissions_meta WHERE id = 1")?
        .query_row([], |r| r.get(0))
}

fn load_permissions(conn: &Connection) -> rusqlite::Result<Permissions> {
    let mut statement = conn.prepare_cached("SELECT endpoint, user_type FROM permissions")?;
    let rows = statement
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, String>(1)?)))?
        .collect::<rusqlite::Result<Vec<_>>>()?;
    Ok(Permissions::from_rows(rows))
}

/// The table and its version, read together (one read transaction).
pub async fn permissions(db: &Db) -> Result<VersionedPermissions, DbError> {
    db.read(|conn| {
        let tx = conn.unchecked_transaction()?;
        let result = VersionedPermissions {
            version: version(&tx)?,
            permissions: load_permissions(&tx)?,
        };
        tx.finish()?;
        Ok(result)
    })
    .await
}

/// Version of the permission table; 0 when it has never been loaded.
pub async fn permissions_version(db: &Db) -> Result<i64, DbError> {
    db.read(|conn| version(conn).map_err(DbError::from)).await
}

/// Replaces the whole permission table with `p` in one transaction. The version grows by one
/// when the rows change and stays put when they do not, so readers can cache by version.
pub async fn replace_permissions(db: &Db, p: &Permissions) -> Result<Applied, DbError> {
    let new = p.clone();
    db.write(move |tx| {
        let current = version(tx)?;
        let diff = load_permissions(tx)?.diff(&new);
        if diff.added.is_empty() && diff.removed.is_empty() {
            return Ok(Applied { version: current, diff });
        }
        tx.execute("DELETE FROM permissions", [])?;
        let mut insert =
            tx.prepare_cached("INSERT INTO permissions (endpoint, user_type) VALUES (?1, ?2)")?;
        for (endpoint, user_type) in new.rows() {
            insert.execute(params![endpoint, user_type])?;
        }
        tx.execute(
            "UPDATE permissions_meta SET version = version + 1, updated_at = unixepoch() WHERE id = 1",
            [],
        )?;
        Ok(Applied {
            version: current + 1,
            diff,
        })
    })
    .await
}
