//! The `opinions` map of listings: `{reservation id: Opinion}` for the reservations on the
//! page (R11 fixed: only opinions about these very reservations), fetched with ONE call per
//! listing (`POST /opinions/batch`). When the opinions service fails, the listing still
//! answers, with an empty map and a warning: the bookings matter more than their reviews.

use chefcito::client::Downstream;
use serde_json::{Map, Value, json};

use crate::model::Reservation;

/// Where listings get opinions from.
#[derive(Debug, Clone)]
pub struct Opinions(Downstream);

impl Opinions {
    pub fn new(opinions: Downstream) -> Opinions {
        Opinions(opinions)
    }

    /// The opinions of the reservations on `page`, by reservation id.
    pub async fn for_page(&self, page: &[Reservation]) -> Map<String, Value> {
        if page.is_empty() {
            return Map::new();
        }
        let ids: Vec<&str> = page.iter().map(|r| r.id.as_str()).collect();
        match self
            .0
            .post::<_, Map<String, Value>>(&["opinions", "batch"], &json!({"reservations": ids}))
            .await
        {
            Ok(mut found) => {
                // Only what was asked for, whatever the service answers.
                found.retain(|id, _| ids.contains(&id.as_str()));
                found
            }
            Err(e) => {
                tracing::warn!(error = %e.description, "opinions unavailable: listing without them");
                Map::new()
            }
        }
    }
}
