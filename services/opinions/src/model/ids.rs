//! Identities: the diner writing an opinion, the venue it is about, the reservation it reviews.

use super::Rejected;

/// Longest id accepted (an external provider's subject may be longer than a Firebase uid).
pub const MAX_ID_LEN: usize = chefcito::api::MAX_ID_CHARS;

/// Ids end up in URL queries and in other services' keys. An empty id is refused: as a
/// reservations filter it would mean "no filter".
pub use chefcito::api::is_valid_id;

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident, $rejection:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            pub fn parse(raw: &str) -> Result<$name, Rejected> {
                is_valid_id(raw)
                    .then(|| $name(raw.to_string()))
                    .ok_or($rejection)
            }

            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
    };
}

id_type!(
    /// A bare uid, as the gateway takes it from the verified token (never `user/<uid>`).
    Uid,
    Rejected::InvalidUser
);
id_type!(
    /// A venue id (its owner's uid, or a UUID for venues created directly).
    VenueId,
    Rejected::InvalidVenue
);
id_type!(
    /// A reservation id, as the reservations service issued it.
    ReservationId,
    Rejected::InvalidReservation
);

impl Uid {
    /// How the reservations service names this user (`user/<uid>`).
    pub fn as_caller(&self) -> String {
        format!("user/{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bounded_and_clean() {
        assert_eq!(Uid::parse("diner").unwrap().as_caller(), "user/diner");
        assert!(VenueId::parse(&"v".repeat(MAX_ID_LEN)).is_ok());
        let long = "x".repeat(MAX_ID_LEN + 1);
        for bad in ["", "user/diner", "a b", "a\u{7}", "\n", long.as_str()] {
            assert_eq!(Uid::parse(bad), Err(Rejected::InvalidUser), "{bad:?}");
            assert_eq!(VenueId::parse(bad), Err(Rejected::InvalidVenue), "{bad:?}");
            assert_eq!(
                ReservationId::parse(bad),
                Err(Rejected::InvalidReservation),
                "{bad:?}"
            );
        }
    }
}
