//! What the OpenAPI document states about values that the handlers' Rust types cannot say:
//! the fixed vocabularies, the shape of ids, the `location` pair of `/venues/near`. The
//! document is a contract (a generic client such as schemathesis trusts it), so each rule
//! here is one the gateway or the service behind it enforces.

use utoipa::openapi::schema::{
    ArrayBuilder, ObjectBuilder, OneOfBuilder, Schema, SchemaFormat, Type,
};
use utoipa::openapi::{KnownFormat, RefOr};
use utoipa::{PartialSchema, ToSchema};

/// The fixed vocabularies, the venues service's very lists (byte for byte: the clients compare
/// them with accents and case).
pub use chefcito::api::{CHARACTERISTICS, FEATURES};

/// Longest id, in characters.
pub use chefcito::api::MAX_ID_CHARS;

/// [`chefcito::api::is_valid_id`] as a JSON Schema pattern (the length is `minLength` and
/// `maxLength`): no slash, no whitespace, no control character.
pub const ID_PATTERN: &str = r"^[^/\s\x00-\x1f\x7f-\x9f]+$";

/// Checks an id from a path against [`ID_PATTERN`] before it is sent on: a URL parser drops
/// tabs and line breaks, so `/stats/user/%09` would otherwise reach the service as
/// `/user/` and come back as an undocumented 404. 400, as the services answer such an id.
pub fn checked_id<'a>(what: &str, raw: &'a str) -> Result<&'a str, chefcito::ApiError> {
    if chefcito::api::is_valid_id(raw) {
        Ok(raw)
    } else {
        Err(chefcito::ApiError::bad_request(format!(
            "Invalid {what}: it must be 1 to {MAX_ID_CHARS} characters, without spaces, slashes or control characters"
        )))
    }
}

fn words(list: &'static [&'static str]) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(list.iter().copied()))
        .into()
}

/// One of the 31 characteristics.
pub struct Characteristic;

impl PartialSchema for Characteristic {
    fn schema() -> RefOr<Schema> {
        words(&CHARACTERISTICS)
    }
}

impl ToSchema for Characteristic {}

/// One of the 8 features.
pub struct Feature;

impl PartialSchema for Feature {
    fn schema() -> RefOr<Schema> {
        words(&FEATURES)
    }
}

impl ToSchema for Feature {}

/// An id, as a path segment or a body field.
pub struct Id;

impl PartialSchema for Id {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .min_length(Some(1))
            .max_length(Some(MAX_ID_CHARS))
            .pattern(Some(ID_PATTERN))
            .into()
    }
}

impl ToSchema for Id {}

/// `location` of `/venues/near`: latitude then longitude, the key twice.
pub fn near_location() -> ArrayBuilder {
    let coordinate = |bound: f64| {
        ObjectBuilder::new()
            .schema_type(Type::Number)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::Double)))
            .minimum(Some(-bound))
            .maximum(Some(bound))
    };
    ArrayBuilder::new()
        .prefix_items([coordinate(90.0), coordinate(180.0)])
        .items(coordinate(180.0))
        .min_items(Some(2))
        .max_items(Some(2))
}

/// An optional datetime of a body: a `date-time` or `null`. Spelt as `oneOf` rather than
/// `type: [string, null]`, so that generic clients keep the format when they pick the string.
pub fn nullable_datetime() -> OneOfBuilder {
    OneOfBuilder::new()
        .item(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime))),
        )
        .item(ObjectBuilder::new().schema_type(Type::Null))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_documented_pattern() {
        for good in [
            "hdpvJT3S2ztShwvINEPRRPpVqTlp",
            "a",
            "ñandú-1",
            &"x".repeat(128),
        ] {
            assert_eq!(checked_id("user", good).unwrap(), good);
        }
        for bad in [
            "",
            "\t",
            "a b",
            "a/b",
            "x\u{8f}",
            "\u{a0}",
            &"x".repeat(129),
        ] {
            let err = checked_id("user", bad).unwrap_err();
            assert_eq!(err.status, 400, "{bad:?}");
        }
    }
}
