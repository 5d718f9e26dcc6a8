//! The service's operations and rules: accounts and sessions, profiles, permissions. No HTTP,
//! no SQL: validation happens here (through [`crate::model`]), storage in [`crate::store`].

use std::sync::Arc;

use chefcito::api::{Session, UserData, UserKind};
use chefcito::db::{Db, DbError};
use chefcito::outbox::Outbox;
use chefcito::permissions::{Permissions, UserType, VersionedPermissions};

use crate::model::{
    self, Credentials, Email, Password, Profile, ProfileUpdate, Registration, Rejected,
};
use crate::passwords;
use crate::store::{self, Applied, NewSession, Rotation};
use crate::throttle::Throttle;
use crate::tokens::{self, IdClaims, Keys};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error("EMAIL_EXISTS : The email address is already in use by another account")]
    EmailExists,
    /// One text for a wrong e-mail and a wrong password: no account enumeration.
    #[error("INVALID_LOGIN_CREDENTIALS : Wrong e-mail or password")]
    InvalidCredentials,
    #[error("INVALID_REFRESH_TOKEN : Sign in again")]
    InvalidRefreshToken,
    #[error(
        "TOKEN_REUSED : This refresh token was already used; the session is revoked, sign in again"
    )]
    RefreshTokenReused,
    #[error("User not found")]
    UserNotFound,
    /// Too many failed sign-ins for this account or from this address; try again in `0` s.
    #[error("TOO_MANY_ATTEMPTS_TRY_LATER : Too many failed sign-ins; try again in {0} seconds")]
    TooManyAttempts(i64),
    #[error(transparent)]
    Store(#[from] DbError),
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Unix time in seconds; a trait so that tests can move time forward.
pub trait Clock: Send + Sync {
    fn now(&self) -> i64;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> i64 {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64)
    }
}

/// Token lifetimes and the claims every ID token carries.
#[derive(Debug, Clone)]
pub struct TokenSettings {
    pub issuer: String,
    pub audience: String,
    pub id_ttl_secs: i64,
    pub refresh_ttl_secs: i64,
}

/// The users service: its store, its key and its settings.
pub struct Users {
    db: Db,
    keys: Keys,
    settings: TokenSettings,
    clock: Arc<dyn Clock>,
    throttle: Throttle,
    outbox: Outbox,
}

impl std::fmt::Debug for Users {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Users")
            .field("db", &self.db)
            .field("keys", &self.keys)
            .field("settings", &self.settings)
            .finish()
    }
}

impl Users {
    pub fn new(
        db: Db,
        keys: Keys,
        settings: TokenSettings,
        clock: Arc<dyn Clock>,
        outbox: Outbox,
    ) -> Users {
        Users {
            db,
            keys,
            settings,
            clock,
            throttle: Throttle::default(),
            outbox,
        }
    }

    pub fn outbox(&self) -> &Outbox {
        &self.outbox
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    pub fn keys(&self) -> &Keys {
        &self.keys
    }

    // --- accounts and sessions ---------------------------------------------------------------

    pub async fn sign_up(&self, credentials: &Credentials) -> Result<Session> {
        let email = Email::parse(&credentials.email)?;
        let password = Password::parse(&credentials.password)?;
        model::check_guessable(&password, &email)?;
        let password_hash = passwords::hash(&password).await?;
        let uid = model::new_uid();
        let (refresh_token, session) = self.new_session();
        let account = store::Account {
            uid: uid.clone(),
            email: email.as_str().to_string(),
            password_hash,
        };
        if !store::create_account(&self.db, account, session).await? {
            return Err(Error::EmailExists);
        }
        tracing::info!(uid = %uid, "account created");
        self.session(uid, email.as_str().to_string(), refresh_token)
    }

    /// Signs in; `client` is the caller's address (from the gateway), for throttling.
    pub async fn sign_in(
        &self,
        credentials: &Credentials,
        client: Option<&str>,
    ) -> Result<Session> {
        let email = Email::parse(&credentials.email)?;
        if credentials.password.is_empty() {
            return Err(Rejected::MissingPassword.into());
        }
        let now = self.clock.now();
        self.throttle
            .check(email.as_str(), client, now)
            .map_err(Error::TooManyAttempts)?;
        let account = store::account_by_email(&self.db, email.as_str()).await?;
        // Verified even when the account does not exist (against a decoy), so that both
        // failures take the same time. An over-long password cannot match: it is compared
        // with the decoy, so that it takes the same time too.
        let too_long = credentials.password.chars().count() > model::MAX_PASSWORD_CHARS;
        let stored = account
            .as_ref()
            .filter(|_| !too_long)
            .map(|a| a.password_hash.clone());
        let password = if too_long {
            ""
        } else {
            credentials.password.as_str()
        };
        let matches = passwords::verify(password, stored).await?;
        let Some(account) = account.filter(|_| matches && !too_long) else {
            self.throttle.failed(email.as_str(), client, now);
            return Err(Error::InvalidCredentials);
        };
        self.throttle.succeeded(email.as_str());
        let (refresh_token, session) = self.new_session();
        store::add_session(&self.db, &account.uid, session).await?;
        self.session(account.uid, account.email, refresh_token)
    }

    /// Exchanges a refresh token for a new ID token and a new refresh token.
    pub async fn refresh(&self, refresh_token: &str) -> Result<Session> {
        let next = tokens::new_refresh_token();
        let now = self.clock.now();
        let rotation = store::rotate(
            &self.db,
            tokens::refresh_token_hash(refresh_token),
            tokens::refresh_token_hash(&next),
            now + self.settings.refresh_ttl_secs,
            now,
        )
        .await?;
        match rotation {
            Rotation::Rotated { uid, email } => self.session(uid, email, next),
            Rotation::Reused => {
                tracing::warn!("a used refresh token was presented again: session revoked");
                Err(Error::RefreshTokenReused)
            }
            Rotation::Unknown | Rotation::Expired | Rotation::Revoked | Rotation::Superseded => {
                Err(Error::InvalidRefreshToken)
            }
        }
    }

    /// Ends the session the token belongs to; unknown tokens are fine (signing out twice is
    /// not an error).
    pub async fn sign_out(&self, refresh_token: &str) -> Result<()> {
        let hash = tokens::refresh_token_hash(refresh_token);
        store::revoke_session(&self.db, hash, self.clock.now()).await?;
        Ok(())
    }

    fn new_session(&self) -> (String, NewSession) {
        let token = tokens::new_refresh_token();
        let now = self.clock.now();
        let session = NewSession {
            family: uuid::Uuid::new_v4().to_string(),
            token_hash: tokens::refresh_token_hash(&token),
            expires_at: now + self.settings.refresh_ttl_secs,
            now,
        };
        (token, session)
    }

    fn session(&self, uid: String, email: String, refresh_token: String) -> Result<Session> {
        let now = self.clock.now();
        let id_token = self.keys.sign(&IdClaims {
            sub: uid.clone(),
            email: email.clone(),
            iss: self.settings.issuer.clone(),
            aud: self.settings.audience.clone(),
            iat: now,
            exp: now + self.settings.id_ttl_secs,
        })?;
        Ok(Session {
            id_token,
            refresh_token,
            expires_in: self.settings.id_ttl_secs.to_string(),
            local_id: uid,
            email,
        })
    }

    // --- profiles ----------------------------------------------------------------------------

    /// Registers a profile. An uid registered already answers the stored profile unchanged:
    /// the real apps re-register on every Google sign-in and must get a 2xx (hazard H1).
    pub async fn register(&self, registration: Registration) -> Result<UserData> {
        let profile = Profile {
            uid: model::parse_uid(&registration.localid)?,
            user_type: model::parse_registrable_type(&registration.user_type)?,
            email: model::parse_profile_email(&registration.email.unwrap_or_default())?,
            name: model::parse_name(&registration.name)?,
            phone_number: model::parse_phone(&registration.phone_number)?,
        };
        // The phone number reaches the communications service through the outbox, written
        // in the same transaction (the original called it after committing, and a failure
        // left users half-registered).
        let (stored, created) = store::register(&self.db, &self.outbox, profile).await?;
        if created {
            self.outbox.notify();
        }
        if created {
            tracing::info!(uid = %stored.uid, user_type = %stored.user_type, "user registered");
        }
        Ok(stored.into())
    }

    pub async fn user(&self, uid: &str) -> Result<UserData> {
        store::profile(&self.db, uid)
            .await?
            .map(UserData::from)
            .ok_or(Error::UserNotFound)
    }

    /// The registered users among `uids`, in one read (listings enrich their rows with it).
    pub async fn users(&self, uids: Vec<String>) -> Result<Vec<UserData>> {
        if uids.len() > model::MAX_BATCH {
            return Err(Rejected::BatchTooLarge.into());
        }
        Ok(store::profiles(&self.db, uids)
            .await?
            .into_iter()
            .map(UserData::from)
            .collect())
    }

    /// Updates name and phone; a null or empty value keeps what is stored.
    pub async fn update(&self, uid: &str, update: ProfileUpdate) -> Result<UserData> {
        let keep_if_empty = |v: Option<String>| v.filter(|s| !s.is_empty());
        let name = keep_if_empty(update.name)
            .map(|n| model::parse_name(&n))
            .transpose()?;
        let phone = keep_if_empty(update.phone)
            .map(|p| model::parse_phone(&p))
            .transpose()?;
        let phone_given = phone.is_some();
        let updated = store::update_profile(&self.db, &self.outbox, uid, name, phone).await;
        if phone_given {
            self.outbox.notify();
        }
        updated?.map(UserData::from).ok_or(Error::UserNotFound)
    }

    /// The registered type, `anonymous` for a uid that never registered.
    pub async fn kind(&self, uid: &str) -> Result<UserKind> {
        let user_type = store::user_type(&self.db, uid)
            .await?
            .unwrap_or(UserType::Anonymous);
        Ok(UserKind {
            localid: uid.to_string(),
            user_type,
        })
    }

    // --- permissions -------------------------------------------------------------------------

    pub async fn permissions(&self) -> Result<VersionedPermissions> {
        Ok(store::permissions(&self.db).await?)
    }

    pub async fn replace_permissions(&self, permissions: &Permissions) -> Result<Applied> {
        check_endpoints(permissions)?;
        let applied = store::replace_permissions(&self.db, permissions).await?;
        tracing::info!(
            version = applied.version,
            added = applied.diff.added.len(),
            removed = applied.diff.removed.len(),
            "permissions replaced"
        );
        Ok(applied)
    }

    /// Loads `defaults` if the table has never been loaded; `None` when it had been.
    pub async fn seed_permissions(&self, defaults: &Permissions) -> Result<Option<Applied>> {
        if store::permissions_version(&self.db).await? != 0 {
            return Ok(None);
        }
        self.replace_permissions(defaults).await.map(Some)
    }
}

/// A JSON body has to pass the bar the YAML loader sets.
fn check_endpoints(permissions: &Permissions) -> Result<(), Rejected> {
    let problems: Vec<String> = permissions
        .endpoints
        .keys()
        .filter(|name| !chefcito::permissions::is_valid_endpoint(name))
        .map(|name| format!("`{name}` must be a path starting with `/`, without query or spaces"))
        .collect();
    if problems.is_empty() {
        Ok(())
    } else {
        Err(Rejected::InvalidPermissions(problems))
    }
}
