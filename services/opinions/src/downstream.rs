//! The one service read on the request path: reservations (does the reservation exist, whose
//! is it, where, and did the diner show up).

use chefcito::ApiError;
use chefcito::client::Downstream;
use serde::Deserialize;

use crate::model::{ReservationId, Uid};

/// The status that allows an opinion.
pub const ASSISTED: &str = "Assisted";

/// What an opinion needs to know about its reservation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReservationInfo {
    pub id: String,
    /// The diner's bare uid.
    pub user: String,
    pub venue: String,
    /// As the reservations service spells it (`Assisted`, `Uncomfirmed`, …).
    pub status: String,
}

/// The part of a reservations listing this service reads; the rest is ignored.
#[derive(Debug, Deserialize)]
struct ListingWire {
    result: Vec<ReservationWire>,
}

#[derive(Debug, Deserialize)]
struct ReservationWire {
    id: String,
    user: UserWire,
    venue: String,
    status: StatusWire,
}

#[derive(Debug, Deserialize)]
struct UserWire {
    id: String,
}

#[derive(Debug, Deserialize)]
struct StatusWire {
    status: String,
}

/// The reservations service.
#[derive(Debug, Clone)]
pub struct Reservations(pub Downstream);

impl Reservations {
    /// `GET /reservations?id=<id>&caller=user/<uid>`: the reservation when it exists and the
    /// caller may see it (its diner or its venue), `None` otherwise (the listing does not
    /// tell the two apart, on purpose).
    pub async fn find(
        &self,
        id: &ReservationId,
        caller: &Uid,
    ) -> Result<Option<ReservationInfo>, ApiError> {
        let query = [
            ("id", id.as_str().to_string()),
            ("caller", caller.as_caller()),
        ];
        let listing = match self
            .0
            .get_query::<_, ListingWire>(&["reservations"], &query)
            .await
        {
            Ok(listing) => listing,
            // Any 4xx means we asked wrongly: our fault, not the caller's.
            Err(e) if e.status.is_client_error() => {
                tracing::error!(status = %e.status, description = %e.description, "reservation lookup refused");
                return Err(ApiError::bad_gateway(
                    "The reservations service refused the reservation lookup",
                ));
            }
            Err(e) => return Err(e),
        };
        // Matched by id, not taken as "the first row": a listing that ignored the filter
        // must not lend another reservation's status to this one.
        Ok(listing
            .result
            .into_iter()
            .find(|r| r.id == id.as_str())
            .map(|r| ReservationInfo {
                id: r.id,
                user: r.user.id,
                venue: r.venue,
                status: r.status.status,
            }))
    }
}
