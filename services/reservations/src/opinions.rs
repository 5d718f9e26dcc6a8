//! The `opinions` map of listings: `{reservation id: Opinion}` for the reservations on the
//! page (R11).
//!
//! SEAM: the opinions service does not exist yet, so the map is always empty. When it lands,
//! this is the one place to change: one call such as opinions `POST /opinions/batch`
//! `{"reservations": [ids]}` (or `GET /opinions?reservation=` repeated), keeping only the
//! opinions whose `reservation` is on the page, and degrading to an empty map (with a warning)
//! when the opinions service fails, as the users enrichment does.

use serde_json::{Map, Value};

use crate::model::Reservation;

/// Where listings get opinions from.
#[derive(Debug, Clone, Default)]
pub struct Opinions;

impl Opinions {
    /// The opinions of the reservations on `page`, by reservation id.
    pub async fn for_page(&self, page: &[Reservation]) -> Map<String, Value> {
        let _ = page;
        Map::new()
    }
}
