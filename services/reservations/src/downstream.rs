//! The two services read on the request path: venues (does it exist, is it closed, how many
//! seats) and users (names and phones for listings).

use std::collections::HashMap;

use chefcito::ApiError;
use chefcito::api::{UserData, UsersBatch};
use chefcito::client::Downstream;
use futures_util::{StreamExt, TryStreamExt, stream};
use serde::Deserialize;

use crate::model::VenueId;

/// What a reservation needs to know about its venue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VenueInfo {
    /// Seats; `None` is unlimited (a capacity of 0, absent or negative).
    pub capacity: Option<i64>,
    pub closed: bool,
}

/// The part of the venues service's Venue this service reads; the rest is ignored.
#[derive(Debug, Deserialize)]
struct VenueWire {
    #[serde(default)]
    capacity: Option<i64>,
    #[serde(default)]
    status: Option<VenueStatus>,
}

#[derive(Debug, Deserialize)]
struct VenueStatus {
    status: String,
}

/// The venues service.
#[derive(Debug, Clone)]
pub struct Venues(pub Downstream);

impl Venues {
    /// `GET /venues/{id}`: `None` when the venues service does not know it.
    pub async fn get(&self, id: &VenueId) -> Result<Option<VenueInfo>, ApiError> {
        match self.0.get::<VenueWire>(&["venues", id.as_str()]).await {
            Ok(venue) => Ok(Some(VenueInfo {
                capacity: venue.capacity.filter(|&c| c > 0),
                closed: venue.status.is_some_and(|s| s.status == "Closed"),
            })),
            Err(e) if e.status == 404 => Ok(None),
            // Any other 4xx means we asked wrongly: our fault, not the caller's.
            Err(e) if e.status.is_client_error() => {
                tracing::error!(status = %e.status, description = %e.description, "venue lookup refused");
                Err(ApiError::bad_gateway(
                    "The venues service refused the venue lookup",
                ))
            }
            Err(e) => Err(e),
        }
    }
}

/// Most uids in one users batch call: keeps each body far below the users service's body limit.
pub const USERS_BATCH_MAX: usize = 1000;

/// Batch calls in flight at once for a very long listing.
const USERS_BATCH_CONCURRENCY: usize = 4;

/// The users service.
#[derive(Debug, Clone)]
pub struct Users(pub Downstream);

impl Users {
    /// Profiles of `uids` (distinct), by uid: one `POST /users/batch` per
    /// [`USERS_BATCH_MAX`] uids, so one call for any page with fewer diners. Unregistered
    /// uids are simply absent.
    pub async fn profiles(&self, uids: &[String]) -> Result<HashMap<String, UserData>, ApiError> {
        let batches: Vec<UsersBatch> = uids
            .chunks(USERS_BATCH_MAX)
            .map(|chunk| UsersBatch {
                localids: chunk.to_vec(),
            })
            .collect();
        let calls = batches.into_iter().map(|batch| {
            let users = self.0.clone();
            async move {
                users
                    .post::<_, Vec<UserData>>(&["users", "batch"], &batch)
                    .await
            }
        });
        stream::iter(calls)
            .buffer_unordered(USERS_BATCH_CONCURRENCY)
            .try_fold(HashMap::new(), |mut found, batch| async move {
                found.extend(batch.into_iter().map(|u| (u.localid.clone(), u)));
                Ok(found)
            })
            .await
    }
}
