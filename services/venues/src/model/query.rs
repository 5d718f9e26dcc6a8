//! The query strings of `GET /venues` and `GET /venues/near`, and their validated forms.

use std::collections::BTreeSet;

use serde::Deserialize;

use super::geo::Point;
use super::venue::Problem;
use super::vocabulary::{Tag, TagKind};
use super::{Invalid, Rejected};

/// Largest page: the portal asks `limit=100000` (client contract H8).
pub const MAX_LIMIT: u32 = 100_000;
/// Page size when `limit` is not given.
pub const DEFAULT_LIMIT: u32 = 10;

/// `GET /venues` as it arrives. Numbers are read as text so that a bad one gets a message
/// naming it; the tag lists come under both spellings (the gateway's singular and the
/// original service's plural).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub characteristics: Vec<String>,
    #[serde(default)]
    pub characteristic: Vec<String>,
    #[serde(default)]
    pub features: Vec<String>,
    #[serde(default)]
    pub feature: Vec<String>,
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub start: Option<String>,
    // Declared by the original, never implemented: present means 400 (original V2).
    #[serde(default)]
    location: Vec<String>,
    #[serde(default)]
    capacity: Vec<String>,
    #[serde(default)]
    logo: Vec<String>,
    #[serde(default)]
    pictures: Vec<String>,
    #[serde(default)]
    slots: Vec<String>,
    #[serde(default)]
    vacations: Vec<String>,
    #[serde(default, rename = "reservationLeadTime")]
    reservation_lead_time: Vec<String>,
    #[serde(default)]
    menu: Vec<String>,
}

/// What `GET /venues` asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum ListFilter {
    /// One venue by id; every other filter and the paging are ignored (as the original).
    Id(String),
    Search(Search),
}

/// Venues matching every given condition, ordered by id, one page of them.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Search {
    /// Exact, case-sensitive.
    pub name: Option<String>,
    /// The venue has all of these (duplicates removed).
    pub characteristics: Vec<Tag>,
    pub features: Vec<Tag>,
    pub limit: u32,
    pub start: u64,
}

fn limit(raw: Option<&str>) -> Result<Option<u32>, Invalid> {
    raw.map(|text| {
        text.trim()
            .parse::<u32>()
            .ok()
            .filter(|n| *n <= MAX_LIMIT)
            .ok_or_else(|| Invalid::Limit(text.to_string()))
    })
    .transpose()
}

fn start(raw: Option<&str>) -> Result<u64, Invalid> {
    raw.map_or(Ok(0), |text| {
        text.trim()
            .parse::<u64>()
            .ok()
            // SQLite's OFFSET is a signed 64-bit number.
            .filter(|n| i64::try_from(*n).is_ok())
            .ok_or_else(|| Invalid::Start(text.to_string()))
    })
}

fn tag_set(kind: TagKind, lists: [&[String]; 2]) -> Result<Vec<Tag>, Invalid> {
    let mut set = BTreeSet::new();
    for raw in lists.into_iter().flatten() {
        set.insert(Tag::parse(kind, raw)?);
    }
    Ok(set.into_iter().collect())
}

impl ListQuery {
    pub fn parse(self) -> Result<ListFilter, Problem> {
        let unsupported = [
            &self.location,
            &self.capacity,
            &self.logo,
            &self.pictures,
            &self.slots,
            &self.vacations,
            &self.reservation_lead_time,
            &self.menu,
        ];
        if unsupported.iter().any(|values| !values.is_empty()) {
            return Err(Rejected::UnsupportedQuery.into());
        }
        // Checked even for a lookup by id: a malformed query is refused whatever it asks.
        let search = Search {
            characteristics: tag_set(
                TagKind::Characteristic,
                [&self.characteristics, &self.characteristic],
            )?,
            features: tag_set(TagKind::Feature, [&self.features, &self.feature])?,
            limit: limit(self.limit.as_deref())?.unwrap_or(DEFAULT_LIMIT),
            start: start(self.start.as_deref())?,
            name: self.name,
        };
        Ok(match self.id {
            Some(id) if !id.is_empty() => ListFilter::Id(id),
            _ => ListFilter::Search(search),
        })
    }
}

/// `GET /venues/near` as it arrives.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct NearQuery {
    /// Latitude then longitude, as a repeated key.
    #[serde(default)]
    pub location: Vec<String>,
    #[serde(default)]
    pub limit: Option<String>,
    #[serde(default)]
    pub max_distance: Option<String>,
}

/// What `GET /venues/near` asks for.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NearFilter {
    pub origin: Point,
    /// At most this many venues (all when `None`).
    pub limit: Option<u32>,
    /// Only venues at most this many metres away (whole metres, as shown).
    pub max_distance: Option<f64>,
}

impl NearQuery {
    pub fn parse(self) -> Result<NearFilter, Invalid> {
        let origin = match self.location.as_slice() {
            [] => Point::DEFAULT,
            [lat, lon] => {
                let lat_value =
                    coordinate(lat, 90.0).ok_or_else(|| Invalid::Latitude(lat.clone()))?;
                let lon_value =
                    coordinate(lon, 180.0).ok_or_else(|| Invalid::Longitude(lon.clone()))?;
                // Both were range-checked just above: this cannot fail.
                Point::new(lat_value, lon_value).ok_or_else(|| Invalid::Latitude(lat.clone()))?
            }
            _ => return Err(Invalid::LocationArity),
        };
        let max_distance = self
            .max_distance
            .map(|text| {
                text.trim()
                    .parse::<f64>()
                    .ok()
                    .filter(|m| m.is_finite() && *m >= 0.0)
                    .ok_or(Invalid::MaxDistance(text))
            })
            .transpose()?;
        Ok(NearFilter {
            origin,
            limit: limit(self.limit.as_deref())?,
            max_distance,
        })
    }
}

/// A coordinate within ±`bound` degrees; surrounding spaces are allowed (Python's `float`).
fn coordinate(text: &str, bound: f64) -> Option<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|v| v.is_finite() && v.abs() <= bound)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chefcito::extract::parse_query;

    fn list(query: &str) -> Result<ListFilter, Problem> {
        parse_query::<ListQuery>(query).unwrap().parse()
    }

    fn near(query: &str) -> Result<NearFilter, Invalid> {
        parse_query::<NearQuery>(query).unwrap().parse()
    }

    #[test]
    fn list_defaults_and_spellings() {
        let ListFilter::Search(s) = list("").unwrap() else {
            panic!()
        };
        assert_eq!((s.limit, s.start), (DEFAULT_LIMIT, 0));
        let ListFilter::Search(s) =
            list("&characteristic=Pizzas&characteristics=Arepas&characteristics=Pizzas&feature=Wifi&limit=100000")
                .unwrap()
        else {
            panic!()
        };
        let names: Vec<_> = s.characteristics.iter().map(|t| t.as_str()).collect();
        assert_eq!(names, ["Arepas", "Pizzas"]);
        assert_eq!(s.features.len(), 1);
        assert_eq!(s.limit, 100_000);
        assert_eq!(
            list("id=abc&limit=5").unwrap(),
            ListFilter::Id("abc".into())
        );
        assert!(matches!(list("id=").unwrap(), ListFilter::Search(_)));
    }

    #[test]
    fn list_refusals() {
        for (query, expected) in [
            ("limit=-1", Problem::Invalid(Invalid::Limit("-1".into()))),
            (
                "limit=100001",
                Problem::Invalid(Invalid::Limit("100001".into())),
            ),
            ("limit=ten", Problem::Invalid(Invalid::Limit("ten".into()))),
            ("start=-5", Problem::Invalid(Invalid::Start("-5".into()))),
            (
                "characteristic=Sushis",
                Problem::Invalid(Invalid::Characteristic("Sushis".into())),
            ),
            (
                "features=Pizzas",
                Problem::Invalid(Invalid::Feature("Pizzas".into())),
            ),
            (
                "id=x&capacity=3",
                Problem::Rejected(Rejected::UnsupportedQuery),
            ),
            (
                "reservationLeadTime=1",
                Problem::Rejected(Rejected::UnsupportedQuery),
            ),
            ("location=", Problem::Rejected(Rejected::UnsupportedQuery)),
        ] {
            assert_eq!(list(query), Err(expected), "{query}");
        }
        // A key given twice where one value is expected is malformed, not "the last one".
        assert_eq!(
            parse_query::<ListQuery>("id=a&id=b").unwrap_err().status,
            422
        );
        assert_eq!(
            parse_query::<ListQuery>("limit=1&limit=2")
                .unwrap_err()
                .status,
            422
        );
    }

    #[test]
    fn near_parsing() {
        assert_eq!(near("").unwrap().origin, Point::DEFAULT);
        let f = near("location=-34.5&location=%20-58.4&limit=3&max_distance=1500.5").unwrap();
        assert_eq!((f.origin.lat(), f.origin.lon()), (-34.5, -58.4));
        assert_eq!((f.limit, f.max_distance), (Some(3), Some(1500.5)));
        for (query, expected) in [
            ("location=1", Invalid::LocationArity),
            ("location=1&location=2&location=3", Invalid::LocationArity),
            ("location=abc&location=2", Invalid::Latitude("abc".into())),
            ("location=1&location=x", Invalid::Longitude("x".into())),
            ("location=91&location=2", Invalid::Latitude("91".into())),
            (
                "location=1&location=-180.5",
                Invalid::Longitude("-180.5".into()),
            ),
            ("location=NaN&location=2", Invalid::Latitude("NaN".into())),
            ("max_distance=-1", Invalid::MaxDistance("-1".into())),
            ("max_distance=inf", Invalid::MaxDistance("inf".into())),
            ("limit=-2", Invalid::Limit("-2".into())),
        ] {
            assert_eq!(near(query), Err(expected), "{query}");
        }
    }
}
