//! The opinions service, read off the request path when a summary is generated.

use chefcito::ApiError;
use chefcito::client::Downstream;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::engine::Opinion;
use crate::model::VenueId;

/// The opinions service (`OPINIONS_URL`).
#[derive(Debug, Clone)]
pub struct Opinions(pub Downstream);

#[derive(Serialize)]
struct Query<'a> {
    venue: &'a str,
    limit: u32,
    start: u32,
}

/// `{"result": [...], "total": n}`; only what an engine needs is read.
#[derive(Deserialize)]
struct Page {
    result: Vec<Item>,
}

#[derive(Deserialize)]
struct Item {
    opinion: String,
    #[serde(with = "chefcito::time::serde_naive")]
    date: DateTime<Utc>,
    #[serde(default)]
    venue: Option<String>,
}

impl Opinions {
    /// The newest `limit` opinions of `venue`, newest first:
    /// `GET /opinions?venue=<v>&limit=<n>&start=0`. Opinions without text are left out.
    pub async fn newest(&self, venue: &VenueId, limit: u32) -> Result<Vec<Opinion>, ApiError> {
        let query = Query {
            venue: venue.as_str(),
            limit,
            start: 0,
        };
        let page: Page = self.0.get_query(&["opinions"], &query).await?;
        Ok(page
            .result
            .into_iter()
            // The service filters by venue; an item of another venue would be its bug, and
            // must not leak into this venue's summary.
            .filter(|item| item.venue.as_deref().is_none_or(|v| v == venue.as_str()))
            .filter(|item| !item.opinion.trim().is_empty())
            .map(|item| Opinion {
                text: item.opinion,
                date: item.date,
            })
            .collect())
    }
}
