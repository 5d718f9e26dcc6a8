//! The datetime formats of the wire contract (spec §2, hazard H6).
//!
//! Input: ISO-8601 with `T` or a space, an optional fraction, and `Z`, an offset or nothing
//! (nothing means UTC). Clients send `YYYY-MM-DDTHH:mm:ss.SSSZ`.
//!
//! Output, as the original (pydantic) printed it:
//! * [`naive`]: `YYYY-MM-DDTHH:MM:SS[.ffffff]` in UTC — venue slots/vacations, stats turns,
//!   opinions;
//! * [`shifted`]: the same, shifted by a display offset — reservation listings (default −3 h);
//! * [`with_z`]: `YYYY-MM-DDTHH:MM:SS[.ffffff]Z` — summaries.
//!
//! The fraction is printed only when it is not zero, with microsecond precision.
//! The `serde_*` modules plug these into `#[serde(with = "...")]`.

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime, Timelike, Utc};

/// A datetime that could not be read; the message says what was expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid datetime {0:?}: expected ISO-8601 such as 2024-05-01T20:00:00.000Z")]
pub struct ParseError(pub String);

/// Parses every form the contract accepts into UTC.
pub fn parse(input: &str) -> Result<DateTime<Utc>, ParseError> {
    let s = input.trim();
    let err = || ParseError(input.to_string());
    if s.len() < 10 || !s.is_ascii() {
        return Err(err());
    }
    // Normalise the date/time separator so that one set of formats covers both.
    let mut text = s.to_string();
    if text.as_bytes().get(10) == Some(&b' ') {
        text.replace_range(10..11, "T");
    }
    if let Some(stripped) = text.strip_suffix(['Z', 'z']) {
        return parse_naive(stripped).map(|n| n.and_utc()).ok_or_else(err);
    }
    if let Some(fixed) = parse_with_offset(&text) {
        return Ok(fixed.with_timezone(&Utc));
    }
    parse_naive(&text).map(|n| n.and_utc()).ok_or_else(err)
}

fn parse_naive(s: &str) -> Option<NaiveDateTime> {
    ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M"]
        .iter()
        .find_map(|f| NaiveDateTime::parse_from_str(s, f).ok())
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d")
                .ok()
                .and_then(|d| d.and_hms_opt(0, 0, 0))
        })
}

fn parse_with_offset(s: &str) -> Option<DateTime<FixedOffset>> {
    // `%z` accepts `+03:00` and `+0300`; a bare `+03` gets its minutes added.
    let bytes = s.as_bytes();
    let normalised;
    let s = if bytes.len() > 3
        && matches!(bytes[bytes.len() - 3], b'+' | b'-')
        && bytes[bytes.len() - 2..].iter().all(u8::is_ascii_digit)
    {
        normalised = format!("{s}:00");
        normalised.as_str()
    } else {
        s
    };
    ["%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z"]
        .iter()
        .find_map(|f| DateTime::parse_from_str(s, f).ok())
}

fn fraction(dt: &NaiveDateTime) -> String {
    let micros = dt.nanosecond() / 1_000 % 1_000_000;
    if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    }
}

fn format_naive(dt: &NaiveDateTime) -> String {
    format!("{}{}", dt.format("%Y-%m-%dT%H:%M:%S"), fraction(dt))
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]`, naive UTC.
pub fn naive(dt: &DateTime<Utc>) -> String {
    format_naive(&dt.naive_utc())
}

/// Naive wall-clock time shifted by `offset` (e.g. −3 h for reservation listings).
pub fn shifted(dt: &DateTime<Utc>, offset: Duration) -> String {
    format_naive(&(dt.naive_utc() + offset))
}

/// `YYYY-MM-DDTHH:MM:SS[.ffffff]Z`.
pub fn with_z(dt: &DateTime<Utc>) -> String {
    format!("{}Z", naive(dt))
}

macro_rules! serde_format {
    ($module:ident, $format:path, $doc:literal) => {
        #[doc = $doc]
        pub mod $module {
            use chrono::{DateTime, Utc};
            use serde::{Deserialize, Deserializer, Serializer};

            pub fn serialize<S: Serializer>(dt: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&$format(dt))
            }

            pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
                let text = String::deserialize(d)?;
                super::parse(&text).map_err(serde::de::Error::custom)
            }

            /// The same for a list.
            pub mod vec {
                use super::*;
                use serde::ser::SerializeSeq;

                pub fn serialize<S: Serializer>(
                    list: &[DateTime<Utc>],
                    s: S,
                ) -> Result<S::Ok, S::Error> {
                    let mut seq = s.serialize_seq(Some(list.len()))?;
                    for dt in list {
                        seq.serialize_element(&$format(dt))?;
                    }
                    seq.end()
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(
                    d: D,
                ) -> Result<Vec<DateTime<Utc>>, D::Error> {
                    let texts = Vec::<String>::deserialize(d)?;
                    texts
                        .iter()
                        .map(|t| super::super::parse(t).map_err(serde::de::Error::custom))
                        .collect()
                }
            }

            /// The same for an optional value.
            pub mod option {
                use super::*;

                pub fn serialize<S: Serializer>(
                    dt: &Option<DateTime<Utc>>,
                    s: S,
                ) -> Result<S::Ok, S::Error> {
                    match dt {
                        Some(dt) => s.serialize_str(&$format(dt)),
                        None => s.serialize_none(),
                    }
                }

                pub fn deserialize<'de, D: Deserializer<'de>>(
                    d: D,
                ) -> Result<Option<DateTime<Utc>>, D::Error> {
                    Option::<String>::deserialize(d)?
                        .map(|t| super::super::parse(&t).map_err(serde::de::Error::custom))
                        .transpose()
                }
            }
        }
    };
}

serde_format!(
    serde_naive,
    crate::time::naive,
    "Serde with naive UTC output; any accepted input."
);
serde_format!(
    serde_z,
    crate::time::with_z,
    "Serde with `Z` output; any accepted input."
);

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32, s: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, s).unwrap()
    }

    #[test]
    fn parses_client_form_with_millis_and_z() {
        let dt = parse("2024-05-01T20:00:00.123Z").unwrap();
        assert_eq!(dt, utc(2024, 5, 1, 20, 0, 0) + Duration::milliseconds(123));
    }

    #[test]
    fn parses_space_separator() {
        assert_eq!(
            parse("2024-05-01 20:00:00").unwrap(),
            utc(2024, 5, 1, 20, 0, 0)
        );
    }

    #[test]
    fn naive_input_means_utc() {
        assert_eq!(
            parse("2024-05-01T20:00:00").unwrap(),
            utc(2024, 5, 1, 20, 0, 0)
        );
    }

    #[test]
    fn parses_fraction_without_zone() {
        let dt = parse("2024-05-01T20:00:00.5").unwrap();
        assert_eq!(dt, utc(2024, 5, 1, 20, 0, 0) + Duration::milliseconds(500));
    }

    #[test]
    fn parses_offsets_in_every_spelling() {
        let expected = utc(2024, 5, 1, 23, 0, 0);
        for text in [
            "2024-05-01T20:00:00-03:00",
            "2024-05-01 20:00:00-03:00",
            "2024-05-01T20:00:00-0300",
            "2024-05-01T20:00:00-03",
            "2024-05-01T20:00:00.000-03:00",
        ] {
            assert_eq!(parse(text).unwrap(), expected, "{text}");
        }
        assert_eq!(
            parse("2024-05-01T20:00:00+02:00").unwrap(),
            utc(2024, 5, 1, 18, 0, 0)
        );
    }

    #[test]
    fn parses_minutes_precision_and_plain_dates() {
        assert_eq!(
            parse("2024-05-01T20:00").unwrap(),
            utc(2024, 5, 1, 20, 0, 0)
        );
        assert_eq!(parse("2024-05-01").unwrap(), utc(2024, 5, 1, 0, 0, 0));
    }

    #[test]
    fn rejects_garbage() {
        for text in [
            "",
            "tomorrow",
            "2024-13-01T00:00:00Z",
            "2024-05-01T25:00:00",
            "2024-05-01X20:00:00",
            "ñ2024-05-01",
        ] {
            assert!(parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn prints_naive_without_zero_fraction() {
        assert_eq!(naive(&utc(2024, 5, 1, 20, 0, 0)), "2024-05-01T20:00:00");
    }

    #[test]
    fn prints_microseconds_when_present() {
        let dt = utc(2024, 5, 1, 20, 0, 0) + Duration::milliseconds(123);
        assert_eq!(naive(&dt), "2024-05-01T20:00:00.123000");
        assert_eq!(with_z(&dt), "2024-05-01T20:00:00.123000Z");
    }

    #[test]
    fn prints_with_z() {
        assert_eq!(with_z(&utc(2024, 5, 1, 20, 0, 0)), "2024-05-01T20:00:00Z");
    }

    #[test]
    fn prints_shifted_display_time() {
        assert_eq!(
            shifted(&utc(2024, 5, 1, 1, 30, 0), Duration::hours(-3)),
            "2024-04-30T22:30:00"
        );
    }

    #[test]
    fn serde_helpers_round_trip() {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct S {
            #[serde(with = "serde_naive")]
            at: DateTime<Utc>,
            #[serde(with = "serde_naive::vec")]
            slots: Vec<DateTime<Utc>>,
            #[serde(with = "serde_z::option", default)]
            maybe: Option<DateTime<Utc>>,
        }
        let s: S = serde_json::from_str(r#"{"at":"2024-05-01T20:00:00.000Z","slots":["2024-05-01 10:00:00-03:00"],"maybe":"2024-05-01T00:00:00"}"#).unwrap();
        let out = serde_json::to_value(&s).unwrap();
        assert_eq!(out["at"], "2024-05-01T20:00:00");
        assert_eq!(out["slots"][0], "2024-05-01T13:00:00");
        assert_eq!(out["maybe"], "2024-05-01T00:00:00Z");
        assert!(serde_json::from_str::<S>(r#"{"at":"nope","slots":[]}"#).is_err());
    }
}
