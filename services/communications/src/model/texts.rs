//! The Spanish texts of the original, byte for byte (spec §5.4; the status texts of
//! original-venues-reservations-points §2.4), typos included (`modeficacion`, `a sido`,
//! `a expirado`, `Tenes`: Q20).

use super::Status;

/// To the diner, when a reservation is created.
pub fn created_to_diner(date: &str) -> String {
    format!("Tu reserva para el dia {date} fue creada con exito!")
}

/// To the venue, when a reservation is created.
pub fn created_to_venue(date: &str) -> String {
    format!("Crearon una nueva reserva para el dia {date}, podes verla agregada en la web!")
}

/// To the venue, when a reservation changes.
pub fn changed_to_venue(reservation: &str, date: &str) -> String {
    format!(
        "Tienes una modeficacion en la reserva ({reservation}): del dia {date}!\nPodes ver las modificaciones de la reserva en la web"
    )
}

/// To the diner, when a reservation changes.
pub fn changed_to_diner(venue_name: &str, status: Status) -> String {
    format!(
        "Tienes un cambio de estado en tu reserva en {venue_name}!\n{}",
        status_text(status)
    )
}

/// To the venue, when a diner reviews a visit.
pub const OPINION_TO_VENUE: &str =
    "Tenes una nueva opinion en tu local!\nPodes revisarla en nuestra web";

/// What a diner reads about each status.
pub fn status_text(status: Status) -> &'static str {
    match status {
        Status::Uncomfirmed => "La reserva aun no esta confirmada",
        Status::Accepted => "La reserva fue aceptada por el local!",
        Status::Canceled => "Tu reserva a sido cancelada.",
        Status::Assisted => {
            "Esperamos que disfrutes tu experiencia ! No te olvides de dejar una reseña luego."
        }
        Status::Expired => "Tu reserva a expirado!",
    }
}

/// Stands for the venue's name when the venues service no longer knows the venue.
pub const UNKNOWN_VENUE_NAME: &str = "el local";
