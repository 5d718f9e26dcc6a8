//! Extractors whose rejections are clean 4xx envelopes instead of axum's plain-text ones.
//!
//! * [`Json`] reads the body whatever its content type (curl users forget the header; the
//!   real clients always send it) and answers 422 with the reason when it does not fit, 413
//!   when it is over the body limit.
//! * [`Query`] reads repeated keys into lists and ignores empty pairs, so hand-made query
//!   strings such as `?&status=Accepted&limit=20` work (hazard H8).
//! * [`Path`] answers 422 for a path segment of the wrong type.
//! * [`lenient_i64`] reads an integer field that a JSON Schema integer may spell `3.0`.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::ApiError;

/// JSON body in, JSON body out.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = bytes::Bytes::from_request(req, state)
            .await
            .map_err(|rejection| {
                if rejection.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
                    ApiError::new(rejection.status(), "Request body is too large")
                } else {
                    ApiError::bad_request(format!(
                        "Could not read the request body: {}",
                        rejection.body_text()
                    ))
                }
            })?;
        parse_json(&bytes).map(Json)
    }
}

/// Parses a JSON body, turning every failure into a 422 that names the problem.
pub fn parse_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::unprocessable(
            "Request body is empty: a JSON object is expected",
        ));
    }
    // serde reads a struct from a JSON array too (`[null, null]` fills the fields in order),
    // so a body the documentation calls an object would be accepted in a form it forbids.
    // (Only for well-formed JSON: broken JSON keeps its own, more useful, message.)
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{')
        && serde_json::from_slice::<serde::de::IgnoredAny>(bytes).is_ok()
    {
        return Err(ApiError::unprocessable(
            "Invalid request body: the body must be a JSON object",
        ));
    }
    serde_json::from_slice(bytes).map_err(|e| {
        let kind = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Eof => {
                "Malformed JSON"
            }
            _ => "Invalid request body",
        };
        ApiError::unprocessable(format!("{kind}: {e}")).with_detail(
            serde_json::json!([{ "msg": e.to_string(), "line": e.line(), "column": e.column() }]),
        )
    })
}

impl<T: Serialize> IntoResponse for Json<T> {
    fn into_response(self) -> Response {
        axum::Json(self.0).into_response()
    }
}

/// Integer fields of request bodies. JSON Schema (and so the OpenAPI document) counts `3.0` as
/// the integer 3, and generic clients send it so; a fraction or a value out of range is still
/// refused. Use with `#[serde(deserialize_with = "chefcito::extract::lenient_i64::deserialize")]`
/// (or `lenient_i64::option::deserialize` for an `Option<i64>`, with `default`).
pub mod lenient_i64 {
    use serde::de::{self, Deserializer, Visitor};

    struct Whole;

    impl Visitor<'_> for Whole {
        type Value = i64;

        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("an integer")
        }

        fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
            Ok(v)
        }

        fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
            i64::try_from(v).map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
        }

        fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
            // 2^63 is exactly representable; every whole f64 below it converts without loss.
            const LIMIT: f64 = 9_223_372_036_854_775_808.0;
            if v.is_finite() && v.fract() == 0.0 && (-LIMIT..LIMIT).contains(&v) {
                Ok(v as i64)
            } else {
                Err(E::invalid_value(de::Unexpected::Float(v), &self))
            }
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
        d.deserialize_any(Whole)
    }

    /// The same for an optional field; `null` reads as `None`.
    pub mod option {
        use serde::{Deserialize, Deserializer};

        #[derive(Deserialize)]
        struct Lenient(#[serde(deserialize_with = "super::deserialize")] i64);

        pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
            Ok(Option::<Lenient>::deserialize(d)?.map(|Lenient(v)| v))
        }
    }
}

/// Query string into a struct; lists come from repeated keys.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parse_query(parts.uri.query().unwrap_or("")).map(Query)
    }
}

/// Parses a query string leniently (empty pairs skipped, repeated keys kept).
pub fn parse_query<T: DeserializeOwned>(query: &str) -> Result<T, ApiError> {
    serde_html_form::from_str(query)
        .map_err(|e| ApiError::unprocessable(format!("Invalid query string: {e}")))
}

/// Path parameters.
#[derive(Debug, Clone)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|p| Path(p.0))
            .map_err(|e| ApiError::unprocessable(format!("Invalid path: {}", e.body_text())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, Deserialize, PartialEq)]
    struct Q {
        #[serde(default)]
        status: Vec<String>,
        limit: Option<u32>,
        #[serde(default)]
        start: u32,
        from_time: Option<String>,
    }

    #[test]
    fn query_accepts_leading_ampersand_and_repeats() {
        let q: Q = parse_query("&status=Accepted&status=Uncomfirmed&limit=100000").unwrap();
        assert_eq!(q.status, ["Accepted", "Uncomfirmed"]);
        assert_eq!(q.limit, Some(100000));
        assert_eq!(q.start, 0);
    }

    #[test]
    fn query_accepts_unencoded_dates() {
        let q: Q = parse_query("from_time=2024-05-01T03:00:00.000Z&limit=1").unwrap();
        assert_eq!(q.from_time.as_deref(), Some("2024-05-01T03:00:00.000Z"));
    }

    #[test]
    fn query_rejects_wrong_types_with_422() {
        let err = parse_query::<Q>("limit=lots").unwrap_err();
        assert_eq!(err.status, 422);
    }

    #[test]
    fn json_errors_are_422_with_reason() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct B {
            name: String,
        }
        let missing = parse_json::<B>(b"{}").unwrap_err();
        assert_eq!(missing.status, 422);
        assert!(
            missing.description.contains("missing field `name`"),
            "{}",
            missing.description
        );
        let malformed = parse_json::<B>(b"{\"name\":").unwrap_err();
        assert!(malformed.description.starts_with("Malformed JSON"));
        let wrong = parse_json::<B>(b"{\"name\": 3}").unwrap_err();
        assert!(wrong.description.contains("invalid type"));
        assert_eq!(parse_json::<B>(b"  ").unwrap_err().status, 422);
    }

    #[test]
    fn json_bodies_must_be_objects() {
        #[derive(Debug, Deserialize)]
        #[allow(dead_code)]
        struct B {
            name: Option<String>,
            phone: Option<String>,
        }
        for body in [
            &b"[null, null]"[..],
            b" [\"a\", \"b\"]",
            b"null",
            b"3",
            b"\"x\"",
        ] {
            let err = parse_json::<B>(body).unwrap_err();
            assert_eq!(err.status, 422, "{}", String::from_utf8_lossy(body));
            assert!(
                err.description.contains("must be a JSON object"),
                "{}",
                err.description
            );
        }
        assert!(parse_json::<B>(b" \n{\"name\": null, \"phone\": \"1\"}").is_ok());
    }

    #[test]
    fn lenient_integers_accept_whole_floats_only() {
        #[derive(Debug, Deserialize)]
        struct N {
            #[serde(deserialize_with = "lenient_i64::deserialize")]
            n: i64,
            #[serde(default, deserialize_with = "lenient_i64::option::deserialize")]
            o: Option<i64>,
        }
        let read = |body: &str| parse_json::<N>(body.as_bytes()).map(|v| (v.n, v.o));
        assert_eq!(read(r#"{"n": 4}"#).unwrap(), (4, None));
        assert_eq!(
            read(r#"{"n": -1816286.0, "o": 2.0}"#).unwrap(),
            (-1816286, Some(2))
        );
        assert_eq!(read(r#"{"n": 1e3, "o": null}"#).unwrap(), (1000, None));
        assert_eq!(read(r#"{"n": 9223372036854775807}"#).unwrap().0, i64::MAX);
        for bad in [
            r#"{"n": 1.5}"#,
            r#"{"n": "3"}"#,
            r#"{"n": 1e300}"#,
            r#"{"n": 9223372036854775808}"#,
            r#"{"n": 1, "o": 0.25}"#,
            r#"{"n": true}"#,
        ] {
            assert_eq!(read(bad).unwrap_err().status, 422, "{bad}");
        }
    }
}
