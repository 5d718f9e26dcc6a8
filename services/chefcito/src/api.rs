//! Wire types shared by a caller and a callee, so that neither writes them twice. With the
//! `openapi` feature the client-facing ones are `utoipa::ToSchema` too, so that a published
//! document describes these very types.

use serde::{Deserialize, Serialize};

pub use crate::permissions::UserType;

/// A user's profile as every client reads it (`localid` in lower case, `phone_number`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserData {
    pub localid: String,
    pub email: String,
    pub name: String,
    pub phone_number: String,
}

/// A user's registration state, as the gateway needs it on every request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UserKind {
    pub localid: String,
    /// `anonymous` when the user has a valid identity but never registered a profile.
    pub user_type: UserType,
}

/// A user's points, as the points service answers them (E2's `points`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema), schema(as = Points))]
pub struct PointsView {
    pub user: String,
    pub total: i64,
    /// One of the five levels (`Novato` to start with).
    pub level: String,
}

impl PointsView {
    /// What a user without any points history has.
    pub fn starting(user: &str) -> PointsView {
        PointsView {
            user: user.to_string(),
            total: 0,
            level: "Novato".to_string(),
        }
    }
}

/// What the auth endpoints answer, in Firebase's shape (the gateway passes it through).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub id_token: String,
    pub refresh_token: String,
    /// Seconds, as a string (`"3600"`), as Firebase writes it.
    pub expires_in: String,
    pub local_id: String,
    pub email: String,
}

/// E-mail and password: the body of sign-up and sign-in, from the client through the gateway
/// to the users service (Firebase's extra keys such as `returnSecureToken` are ignored).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Credentials {
    pub email: String,
    pub password: String,
}

/// A refresh token: the body of refresh and sign-out. Firebase's token endpoint spells it
/// `refresh_token`, so both spellings are read.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RefreshRequest {
    #[serde(rename = "refreshToken", alias = "refresh_token")]
    pub refresh_token: String,
}

/// A profile registration as the users service takes it; the gateway fills `localid` and
/// `email` from the verified token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NewUser {
    pub localid: String,
    /// An external provider's token may carry no e-mail (phone sign-in): null is stored as `""`.
    pub email: Option<String>,
    pub user_type: String,
    pub name: String,
    pub phone_number: String,
}

/// E3's body, passed on as is: both keys must be present (the mobile app always sends both,
/// H13); `null` or `""` keeps the stored value.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ProfileUpdate {
    // `deserialize_with` makes serde require the key even though the type is an `Option`.
    #[serde(deserialize_with = "Option::deserialize")]
    pub name: Option<String>,
    #[serde(deserialize_with = "Option::deserialize")]
    pub phone: Option<String>,
}

/// Many users at once (listings enrich their rows with one call, never one per row).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UsersBatch {
    pub localids: Vec<String>,
}

/// Longest id any service accepts, in characters (an external identity provider's subject may
/// be longer than a Firebase uid's 28).
pub const MAX_ID_CHARS: usize = 128;

/// The rule every service applies to an id that ends up in a URL path or another service's
/// key (a uid, a venue id, a reservation id): 1 to [`MAX_ID_CHARS`] characters, no `/`, no
/// whitespace, no control character. An empty id is refused: as a filter it would mean "no
/// filter". Each service keeps its own error for a broken id.
pub fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && !id
            .chars()
            .any(|c| c == '/' || c.is_whitespace() || c.is_control())
}

/// The rule for an id another service wrote that is only stored and compared, never put in a
/// path (an event's, a reservation's in an event): 1 to [`MAX_ID_CHARS`] characters without
/// whitespace or control characters. A `/` is allowed: a producer's ids may hold one.
pub fn is_valid_reference(id: &str) -> bool {
    !id.is_empty()
        && id.chars().count() <= MAX_ID_CHARS
        && !id.chars().any(|c| c.is_whitespace() || c.is_control())
}

/// Such an id as it arrives on the wire: text or a JSON number (a producer's ids may be either),
/// kept as text.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum RawId {
    Text(String),
    Number(u64),
}

impl RawId {
    /// The id as text, if it follows [`is_valid_reference`].
    pub fn into_checked(self) -> Option<String> {
        let text = match self {
            RawId::Text(text) => text,
            RawId::Number(n) => n.to_string(),
        };
        is_valid_reference(&text).then_some(text)
    }
}

/// Every characteristic (kind of food) a venue may have, in the original's order. The clients
/// ship the same list and compare it byte for byte, accents and case included, so it must
/// never be "normalised".
pub const CHARACTERISTICS: [&str; 31] = [
    "Arepas",
    "Cafeteria",
    "Carnes",
    "Comida Armenia",
    "Comida China",
    "Comida Japonesa",
    "Comida Mexicana",
    "Comida Vegana",
    "Comida Vegetariana",
    "Empanadas",
    "Hamburguesas",
    "Helados",
    "Licuado y jugos",
    "Lomitos",
    "Milanesas",
    "Panaderia",
    "Panchos",
    "Pasta",
    "Pescado y mariscos",
    "Picadas",
    "Pizzas",
    "Poke",
    "Pollo",
    "Postres",
    "Saludable",
    "Sushi",
    "Sándwiches",
    "Tartas",
    "Tortillas",
    "Woks",
    "Wraps",
];

/// Every feature (amenity) a venue may have, in the original's order (byte for byte, as
/// [`CHARACTERISTICS`]).
pub const FEATURES: [&str; 8] = [
    "Estacionamiento",
    "Wifi",
    "Mascotas",
    "Aire libre",
    "Veggie",
    "Movilidad reducida",
    "Musica en vivo",
    "Area fumadores",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_bounded_in_characters_and_path_safe() {
        assert!(is_valid_id("uC4M1ItQEgYLoeb1taxY3co6XED2"));
        assert!(is_valid_id(&"x".repeat(MAX_ID_CHARS)));
        assert!(is_valid_id(&"é".repeat(MAX_ID_CHARS)));
        let long = "x".repeat(MAX_ID_CHARS + 1);
        for bad in [
            "", "user/u1", "a b", "a\tb", "\n", "a\u{0}b", "a\u{85}b", &long,
        ] {
            assert!(!is_valid_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn references_may_hold_a_slash_and_be_numbers() {
        assert!(is_valid_reference("res/1"));
        for bad in ["", "a b", "a\nb", &"x".repeat(MAX_ID_CHARS + 1)] {
            assert!(!is_valid_reference(bad), "{bad:?}");
        }
        let number: RawId = serde_json::from_str("42").unwrap();
        assert_eq!(number.into_checked().as_deref(), Some("42"));
        let text: RawId = serde_json::from_str("\"0b7e-41\"").unwrap();
        assert_eq!(text.into_checked().as_deref(), Some("0b7e-41"));
        assert_eq!(RawId::Text(" ".into()).into_checked(), None);
        assert!(serde_json::from_str::<RawId>("-1").is_err());
        assert!(serde_json::from_str::<RawId>("1.5").is_err());
    }

    #[test]
    fn vocabularies_are_the_originals() {
        assert!(CHARACTERISTICS.contains(&"Sándwiches"));
        let mut sorted = CHARACTERISTICS;
        sorted.sort_unstable();
        assert_eq!(sorted, CHARACTERISTICS, "the original list is alphabetical");
        assert_eq!(FEATURES[0], "Estacionamiento");
    }
}
