//! The permission table, kept fresh from the users service, and the check every routed
//! request goes through.
//!
//! The table is read with `GET /permissions` and its `ETag`, so an unchanged table costs a
//! 304 and no parsing. A background task re-reads it every `PERMISSIONS_REFRESH_SECS`: a
//! `cargo xtask load-db` is enforced within seconds by every gateway replica, no restart.

use std::sync::{Arc, RwLock, Weak};
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chefcito::ApiError;
use chefcito::client::{Downstream, decode};
use chefcito::permissions::{Table, UserType, VersionedPermissions};
use reqwest::{Method, StatusCode};

use crate::auth::{Credential, Verified};

/// The last table read, shared by every request.
#[derive(Debug)]
pub struct PermissionStore {
    users: Downstream,
    current: RwLock<Option<Loaded>>,
}

#[derive(Debug, Clone)]
struct Loaded {
    table: Arc<Table>,
    etag: Option<String>,
    version: i64,
}

impl PermissionStore {
    pub fn new(users: Downstream) -> PermissionStore {
        PermissionStore {
            users,
            current: RwLock::new(None),
        }
    }

    /// The table in force, `None` until it has been read once.
    pub fn table(&self) -> Option<Arc<Table>> {
        self.current
            .read()
            .unwrap()
            .as_ref()
            .map(|l| l.table.clone())
    }

    /// The version of the table in force.
    pub fn version(&self) -> Option<i64> {
        self.current.read().unwrap().as_ref().map(|l| l.version)
    }

    /// Reads the table from the users service; returns whether it changed.
    pub async fn refresh(&self) -> Result<bool, ApiError> {
        let url = self.users.url(&["permissions"]);
        let etag = self
            .current
            .read()
            .unwrap()
            .as_ref()
            .and_then(|l| l.etag.clone());
        let headers: Vec<(&str, &str)> =
            etag.iter().map(|e| ("if-none-match", e.as_str())).collect();
        let raw = self
            .users
            .raw::<()>(Method::GET, &["permissions"], None, &headers)
            .await?;
        if raw.status == StatusCode::NOT_MODIFIED {
            return Ok(false);
        }
        let etag = raw
            .headers
            .get(reqwest::header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let read: VersionedPermissions = decode(&url, raw)?;
        let table = Table::new(&read.permissions);
        tracing::info!(
            version = read.version,
            entries = table.len(),
            "permission table loaded"
        );
        *self.current.write().unwrap() = Some(Loaded {
            table: Arc::new(table),
            etag,
            version: read.version,
        });
        Ok(true)
    }
}

/// Re-reads the table every `period` for as long as the store is in use (the task ends once
/// the router holding it is dropped). A failing users service is logged when it starts and
/// stops failing, not on every attempt; the last table stays in force meanwhile.
pub fn spawn_refresher(store: &Arc<PermissionStore>, period: Duration) {
    let store: Weak<PermissionStore> = Arc::downgrade(store);
    tokio::spawn(async move {
        let mut failing = false;
        loop {
            tokio::time::sleep(period).await;
            let Some(store) = store.upgrade() else { break };
            match store.refresh().await {
                Ok(_) if failing => {
                    failing = false;
                    tracing::info!("permission table reachable again");
                }
                Ok(_) => {}
                Err(e) if !failing => {
                    failing = true;
                    let state = if store.table().is_some() {
                        "keeping the last table"
                    } else {
                        "guarded routes answer 503 until it loads"
                    };
                    tracing::warn!(error = %e.description, "cannot refresh the permission table; {state}; retrying every {}s", period.as_secs());
                }
                Err(_) => {}
            }
        }
    });
}

/// Where a caller stands with respect to the table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Standing {
    /// No token at all.
    Anonymous,
    /// A valid token of a user who has not registered with `POST /users`.
    Unregistered,
    Registered(UserType),
}

impl Standing {
    fn user_type(self) -> UserType {
        match self {
            Standing::Anonymous | Standing::Unregistered => UserType::Anonymous,
            Standing::Registered(t) => t,
        }
    }
}

/// The decision for `path`: the refusal says what the caller can do about it.
pub fn check(table: &Table, path: &str, standing: Standing) -> Result<(), ApiError> {
    if table.allows(path, standing.user_type()) {
        return Ok(());
    }
    Err(match standing {
        Standing::Anonymous => ApiError::unauthorized("Authentication required"),
        Standing::Unregistered => ApiError::forbidden(
            "Forbidden: register your profile with POST /users before calling this endpoint",
        ),
        Standing::Registered(_) => ApiError::forbidden("Forbidden"),
    })
}

/// Middleware on every routed request (a `route_layer`, so unknown paths stay 404).
pub async fn guard(State(state): State<crate::State>, req: Request, next: Next) -> Response {
    match admit(&state, req).await {
        Ok(req) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

async fn admit(state: &crate::State, mut req: Request) -> Result<Request, ApiError> {
    let table = state
        .permissions
        .table()
        .ok_or_else(|| ApiError::unavailable("Permissions are not loaded yet"))?;
    let path = req.uri().path();
    // Who is calling does not matter on an open path: no token work at all.
    if table.open_to_all(path) {
        return Ok(req);
    }
    let claims = state
        .identity
        .verify(&Credential::from_headers(req.headers()))
        .await?;
    let standing = match &claims {
        None => Standing::Anonymous,
        Some(claims) => match state.identity.user_type(&claims.sub).await? {
            UserType::Anonymous => Standing::Unregistered,
            t => Standing::Registered(t),
        },
    };
    check(&table, path, standing)?;
    req.extensions_mut().insert(Verified(claims));
    Ok(req)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chefcito::permissions::Permissions;

    fn table() -> Table {
        Table::new(
            &Permissions::from_yaml(
                "endpoints:\n  - name: /venue\n    allowed: [restaurant]\n  - name: /venues/param\n    allowed: [anonymous]\n",
            )
            .unwrap(),
        )
    }

    #[test]
    fn refusals_say_what_to_do() {
        let t = table();
        assert_eq!(
            check(&t, "/venue", Standing::Anonymous).unwrap_err().status,
            401
        );
        let unregistered = check(&t, "/venue", Standing::Unregistered).unwrap_err();
        assert_eq!(unregistered.status, 403);
        assert!(unregistered.description.contains("POST /users"));
        let client = check(&t, "/venue", Standing::Registered(UserType::Client)).unwrap_err();
        assert_eq!(
            (client.status.as_u16(), client.description.as_str()),
            (403, "Forbidden")
        );
        assert!(check(&t, "/venue", Standing::Registered(UserType::Restaurant)).is_ok());
        assert!(check(&t, "/venues/abc", Standing::Unregistered).is_ok());
    }

    #[test]
    fn open_paths_need_no_identity() {
        let t = table();
        assert!(t.open_to_all("/venues/abc"));
        assert!(!t.open_to_all("/venue"));
        assert!(!t.open_to_all("/nowhere"));
    }
}
