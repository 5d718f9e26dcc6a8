//! The venues service, read for one thing: a venue's name, which the diner's status message
//! names ("…tu reserva en {name}!").

use chefcito::ApiError;
use chefcito::client::Downstream;
use serde::Deserialize;

use crate::model::UserId;

/// The part of the venues service's Venue this service reads; the rest is ignored.
#[derive(Debug, Deserialize)]
struct VenueWire {
    name: String,
}

/// The venues service.
#[derive(Debug, Clone)]
pub struct Venues(pub Downstream);

impl Venues {
    /// `GET /venues/{id}`: the name, `None` when the venues service does not know the venue
    /// (deleted since the booking) or refuses the id. A failure of the service itself (5xx,
    /// unreachable) is an error, so that the event is delivered again later rather than sent
    /// without the name.
    pub async fn name(&self, venue: &UserId) -> Result<Option<String>, ApiError> {
        match self.0.get::<VenueWire>(&["venues", venue.as_str()]).await {
            Ok(v) => Ok(Some(v.name)),
            Err(e) if e.status.is_client_error() => {
                if e.status != 404 {
                    tracing::error!(status = %e.status, description = %e.description, venue = venue.as_str(), "venue lookup refused");
                }
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }
}
