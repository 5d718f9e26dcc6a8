//! The service's operations: create, read, update and delete venues, search them by tags,
//! by distance, and pick the promoted ones. No HTTP, no SQL: validation happens in
//! [`crate::model`], storage in [`crate::store`].

use std::sync::Arc;

use chefcito::db::{Db, DbError};

use crate::model::{
    Change, Invalid, ListFilter, ListQuery, NearPage, NearQuery, NewVenue, Problem, Rejected,
    Venue, VenueCreate, VenueDistance, VenuePage, VenueUpdate,
};
use crate::store::{self, Listings};

/// How many venues the promotions fall back to when none is configured or found.
pub const FALLBACK_PROMOTIONS: u32 = 3;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error("Venue does not exist")]
    NotFound,
    #[error("Venue already exists")]
    Exists,
    #[error(transparent)]
    Store(#[from] DbError),
}

impl From<Problem> for Error {
    fn from(p: Problem) -> Self {
        match p {
            Problem::Invalid(e) => Error::Invalid(e),
            Problem::Rejected(e) => Error::Rejected(e),
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The venues service: its store and the configured promotions.
#[derive(Debug)]
pub struct Venues {
    db: Db,
    listings: Arc<Listings>,
    promoted: Vec<String>,
}

impl Venues {
    /// `promoted`: venue ids shown by [`Venues::promotions`], in this order.
    pub fn new(db: Db, promoted: Vec<String>) -> Venues {
        Venues {
            db,
            listings: Listings::new(),
            promoted,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Creates a venue, `Available`; an empty id gets a fresh UUID.
    pub async fn create(&self, body: VenueCreate) -> Result<Venue> {
        let new = NewVenue::parse(body)?;
        let id = new.id.unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let venue = Venue::new(id, new.data);
        let created = store::create(&self.db, venue, now_ms())
            .await?
            .ok_or(Error::Exists)?;
        tracing::info!(venue = %created.id, "venue created");
        Ok(created)
    }

    pub async fn get(&self, id: &str) -> Result<Venue> {
        store::get(&self.db, id).await?.ok_or(Error::NotFound)
    }

    /// Applies an update with the original's rules (see [`Change`]).
    pub async fn update(&self, id: &str, body: VenueUpdate) -> Result<Venue> {
        let change = Change::parse(body)?;
        store::update(&self.db, id, move |venue| venue.apply(change))
            .await?
            .ok_or(Error::NotFound)
    }

    /// Deleting an unknown venue is not an error: the caller wanted it gone and it is.
    pub async fn delete(&self, id: &str) -> Result<()> {
        if store::delete(&self.db, id).await? {
            tracing::info!(venue = %id, "venue deleted");
        }
        Ok(())
    }

    pub async fn list(&self, query: ListQuery) -> Result<VenuePage> {
        match query.parse()? {
            ListFilter::Id(id) => {
                let result: Vec<Venue> = store::get(&self.db, &id).await?.into_iter().collect();
                let total = result.len() as u64;
                Ok(VenuePage { result, total })
            }
            ListFilter::Search(search) => {
                let (result, total) = store::search(&self.db, &self.listings, search).await?;
                Ok(VenuePage { result, total })
            }
        }
    }

    pub async fn near(&self, query: NearQuery) -> Result<NearPage> {
        let filter = query.parse()?;
        let (ranked, total) = store::nearest(&self.db, &self.listings, filter).await?;
        let result = ranked
            .into_iter()
            .map(|(venue, distance)| VenueDistance { venue, distance })
            .collect();
        Ok(NearPage { result, total })
    }

    /// The configured venues that exist, in the configured order; when there are none, the
    /// newest venues that are `Available`.
    pub async fn promotions(&self) -> Result<VenuePage> {
        let mut result = if self.promoted.is_empty() {
            Vec::new()
        } else {
            store::by_ids(&self.db, self.promoted.clone()).await?
        };
        if result.is_empty() {
            result = store::newest_available(&self.db, FALLBACK_PROMOTIONS).await?;
        }
        let total = result.len() as u64;
        Ok(VenuePage { result, total })
    }
}

/// Creation time for the promotions fallback; a clock before 1970 just reads as 0.
fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// Reads `PROMOTED_VENUES`: comma-separated ids, spaces around them ignored, order kept.
pub fn parse_promoted(raw: &str) -> Vec<String> {
    raw.split(',')
        .map(str::trim)
        .filter(|id| !id.is_empty())
        .map(str::to_string)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn promoted_ids_are_read_leniently() {
        assert_eq!(parse_promoted(""), Vec::<String>::new());
        assert_eq!(parse_promoted(" a , b,,a "), ["a", "b", "a"]);
    }
}
