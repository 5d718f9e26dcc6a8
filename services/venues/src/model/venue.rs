//! The venue, its status, and the create/update bodies with the rules that turn them into
//! stored values (original §2.3).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize, Serializer};

use super::vocabulary::{Tag, TagKind};
use super::{Invalid, Rejected, check_text};

/// Longest venue id: ids are owners' uids (Firebase's are 28 characters) or UUIDs.
pub const MAX_ID_CHARS: usize = chefcito::api::MAX_ID_CHARS;
pub const MAX_NAME_CHARS: usize = 200;
pub const MAX_LOCATION_CHARS: usize = 256;
/// `logo`, `menu` and each picture: storage URLs with their access tokens.
pub const MAX_URL_CHARS: usize = 2048;
pub const MAX_PICTURES: usize = 30;
/// A week of half-hour slots.
pub const MAX_SLOTS: usize = 7 * 48;
/// A year of days off.
pub const MAX_VACATIONS: usize = 366;
pub const MAX_CAPACITY: i64 = 100_000;
/// In days (the portal's unit; the original never said).
pub const MAX_LEAD_TIME: i64 = 365;

/// Path segments next to `/venues/{id}`: a venue with such an id could not be read back.
const RESERVED_IDS: [&str; 2] = ["near", "promotions"];

/// Informational only: nothing filters on it and reservations ignore it (original V4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VenueStatus {
    Available,
    Occupied,
    Closed,
    Unconfirmed,
}

impl VenueStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            VenueStatus::Available => "Available",
            VenueStatus::Occupied => "Occupied",
            VenueStatus::Closed => "Closed",
            VenueStatus::Unconfirmed => "Unconfirmed",
        }
    }

    pub fn parse(text: &str) -> Option<VenueStatus> {
        [
            VenueStatus::Available,
            VenueStatus::Occupied,
            VenueStatus::Closed,
            VenueStatus::Unconfirmed,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }
}

/// On the wire a status is an object: `{"status": "Available"}`.
impl Serialize for VenueStatus {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wrapped {
            status: &'static str,
        }
        Wrapped {
            status: self.as_str(),
        }
        .serialize(s)
    }
}

/// Everything a venue holds besides its id and status, valid by construction.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueData {
    pub name: String,
    /// By convention `"<lat>,<lon>"`, but any text is kept (existing rows hold addresses).
    pub location: String,
    /// 0 means unlimited.
    pub capacity: i64,
    pub logo: String,
    pub pictures: Vec<String>,
    #[serde(with = "chefcito::time::serde_naive::vec")]
    pub slots: Vec<DateTime<Utc>>,
    pub characteristics: Vec<Tag>,
    pub features: Vec<Tag>,
    #[serde(with = "chefcito::time::serde_naive::vec")]
    pub vacations: Vec<DateTime<Utc>>,
    #[serde(rename = "reservationLeadTime")]
    pub reservation_lead_time: i64,
    pub menu: String,
}

/// A stored venue, as every caller reads it (the key order is the original's).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Venue {
    pub id: String,
    #[serde(flatten)]
    pub data: VenueData,
    pub status: VenueStatus,
}

/// The data fields of both bodies; absent and `null` mean the same (none given).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Fields {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub location: Option<String>,
    #[serde(default)]
    pub capacity: Option<i64>,
    #[serde(default)]
    pub logo: Option<String>,
    #[serde(default)]
    pub pictures: Option<Vec<String>>,
    #[serde(default)]
    pub slots: Option<Vec<String>>,
    #[serde(default)]
    pub characteristics: Option<Vec<String>>,
    #[serde(default)]
    pub features: Option<Vec<String>>,
    #[serde(default)]
    pub vacations: Option<Vec<String>>,
    #[serde(default, rename = "reservationLeadTime")]
    pub reservation_lead_time: Option<i64>,
    #[serde(default)]
    pub menu: Option<String>,
}

/// `POST /venues`: the venue's fields and its `id` (`""` = make one up). Extra keys such as
/// the portal's `status` are ignored (client contract H13).
#[derive(Debug, Clone, Deserialize)]
pub struct VenueCreate {
    pub id: String,
    #[serde(flatten)]
    pub fields: Fields,
}

/// `PUT /venues/{id}`: any subset of the fields, and the three status flags.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct VenueUpdate {
    #[serde(flatten)]
    pub fields: Fields,
    #[serde(default)]
    pub open: Option<bool>,
    #[serde(default)]
    pub close: Option<bool>,
    #[serde(default)]
    pub occupy: Option<bool>,
}

/// Why a body was refused: malformed (422) or against a rule (400).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum Problem {
    #[error(transparent)]
    Invalid(#[from] Invalid),
    #[error(transparent)]
    Rejected(#[from] Rejected),
}

/// Validated fields; `None` means not given.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Edits {
    pub name: Option<String>,
    pub location: Option<String>,
    pub capacity: Option<i64>,
    pub logo: Option<String>,
    pub pictures: Option<Vec<String>>,
    pub slots: Option<Vec<DateTime<Utc>>>,
    pub characteristics: Option<Vec<Tag>>,
    pub features: Option<Vec<Tag>>,
    pub vacations: Option<Vec<DateTime<Utc>>>,
    pub reservation_lead_time: Option<i64>,
    pub menu: Option<String>,
}

fn text(field: &'static str, value: Option<String>, max: usize) -> Result<Option<String>, Problem> {
    if let Some(v) = &value {
        check_text(field, v, max)?;
    }
    Ok(value)
}

fn number(field: &'static str, value: Option<i64>, max: i64) -> Result<Option<i64>, Problem> {
    match value {
        Some(v) if v < 0 => Err(Rejected::Negative { field }.into()),
        Some(v) if v > max => Err(Rejected::TooLarge { field, max }.into()),
        v => Ok(v),
    }
}

fn count<T>(field: &'static str, list: &Option<Vec<T>>, max: usize) -> Result<(), Problem> {
    match list {
        Some(l) if l.len() > max => Err(Rejected::TooMany { field, max }.into()),
        _ => Ok(()),
    }
}

fn datetimes(
    field: &'static str,
    raw: Option<Vec<String>>,
    max: usize,
) -> Result<Option<Vec<DateTime<Utc>>>, Problem> {
    count(field, &raw, max)?;
    raw.map(|list| {
        list.into_iter()
            .map(|value| {
                chefcito::time::parse(&value)
                    .map_err(|e| Problem::Invalid(Invalid::Datetime { field, value: e.0 }))
            })
            .collect()
    })
    .transpose()
}

fn tags(kind: TagKind, raw: Option<Vec<String>>) -> Result<Option<Vec<Tag>>, Problem> {
    let field = match kind {
        TagKind::Characteristic => "characteristics",
        TagKind::Feature => "features",
    };
    // Unknown words first: that is the original's (and the clients') error.
    let parsed = raw.map(|r| Tag::parse_all(kind, &r)).transpose()?;
    count(field, &parsed, kind.size())?;
    Ok(parsed)
}

impl Fields {
    /// Checks every given field; nothing is dropped here (see [`Edits::truthy`]).
    pub fn parse(self) -> Result<Edits, Problem> {
        let pictures = self.pictures;
        count("pictures", &pictures, MAX_PICTURES)?;
        for picture in pictures.iter().flatten() {
            check_text("pictures", picture, MAX_URL_CHARS)?;
        }
        Ok(Edits {
            characteristics: tags(TagKind::Characteristic, self.characteristics)?,
            features: tags(TagKind::Feature, self.features)?,
            slots: datetimes("slots", self.slots, MAX_SLOTS)?,
            vacations: datetimes("vacations", self.vacations, MAX_VACATIONS)?,
            name: text("name", self.name, MAX_NAME_CHARS)?,
            location: text("location", self.location, MAX_LOCATION_CHARS)?,
            capacity: number("capacity", self.capacity, MAX_CAPACITY)?,
            logo: text("logo", self.logo, MAX_URL_CHARS)?,
            pictures,
            reservation_lead_time: number(
                "reservationLeadTime",
                self.reservation_lead_time,
                MAX_LEAD_TIME,
            )?,
            menu: text("menu", self.menu, MAX_URL_CHARS)?,
        })
    }
}

impl Edits {
    /// The original's update rule: `0`, `""` and `[]` mean "no change", like an absent field.
    pub fn truthy(self) -> Edits {
        let text = |v: Option<String>| v.filter(|s| !s.is_empty());
        let number = |v: Option<i64>| v.filter(|n| *n != 0);
        fn list<T>(v: Option<Vec<T>>) -> Option<Vec<T>> {
            v.filter(|l| !l.is_empty())
        }
        Edits {
            name: text(self.name),
            location: text(self.location),
            capacity: number(self.capacity),
            logo: text(self.logo),
            pictures: list(self.pictures),
            slots: list(self.slots),
            characteristics: list(self.characteristics),
            features: list(self.features),
            vacations: list(self.vacations),
            reservation_lead_time: number(self.reservation_lead_time),
            menu: text(self.menu),
        }
    }

    pub fn is_empty(&self) -> bool {
        *self == Edits::default()
    }
}

/// A venue about to be created: `id` is `None` when one must be made up.
#[derive(Debug, Clone, PartialEq)]
pub struct NewVenue {
    pub id: Option<String>,
    pub data: VenueData,
}

impl NewVenue {
    pub fn parse(body: VenueCreate) -> Result<NewVenue, Problem> {
        let id = match body.id.as_str() {
            "" => None,
            raw => Some(parse_id(raw)?),
        };
        if body.fields.name.is_none() {
            return Err(Problem::Invalid(Invalid::MissingName));
        }
        let e = body.fields.parse()?;
        Ok(NewVenue {
            id,
            data: VenueData {
                name: e.name.unwrap_or_default(),
                location: e.location.unwrap_or_default(),
                capacity: e.capacity.unwrap_or_default(),
                logo: e.logo.unwrap_or_default(),
                pictures: e.pictures.unwrap_or_default(),
                slots: e.slots.unwrap_or_default(),
                characteristics: e.characteristics.unwrap_or_default(),
                features: e.features.unwrap_or_default(),
                vacations: e.vacations.unwrap_or_default(),
                reservation_lead_time: e.reservation_lead_time.unwrap_or_default(),
                menu: e.menu.unwrap_or_default(),
            },
        })
    }
}

/// A venue id given by a caller: it becomes a path segment (`/venues/{id}`).
pub fn parse_id(raw: &str) -> Result<String, Rejected> {
    let ok = chefcito::api::is_valid_id(raw) && !RESERVED_IDS.contains(&raw);
    ok.then(|| raw.to_string()).ok_or(Rejected::Id)
}

/// What an update does, decided before the venue is read (original §2.3): the first true
/// flag of `close`, `open`, `occupy` sets the status and ignores every field; otherwise the
/// truthy fields replace the stored ones.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    Close,
    Open,
    Occupy,
    /// Boxed: the flags carry nothing, and the edits are large.
    Edit(Box<Edits>),
}

impl Change {
    /// Every field is checked even when a flag makes them moot, as the original validated
    /// the whole body first.
    pub fn parse(body: VenueUpdate) -> Result<Change, Problem> {
        let edits = body.fields.parse()?;
        let flag = |f: Option<bool>| f.unwrap_or(false);
        Ok(if flag(body.close) {
            Change::Close
        } else if flag(body.open) {
            Change::Open
        } else if flag(body.occupy) {
            Change::Occupy
        } else {
            Change::Edit(Box::new(edits.truthy()))
        })
    }
}

impl Venue {
    /// A new venue is `Available`.
    pub fn new(id: String, data: VenueData) -> Venue {
        Venue {
            id,
            data,
            status: VenueStatus::Available,
        }
    }

    /// Applies `change`. Any field given makes the venue `Unconfirmed` (even when the value
    /// is the stored one) until an explicit `open`; an update without fields or flags
    /// changes nothing.
    pub fn apply(&mut self, change: Change) {
        let edits = match change {
            Change::Close => return self.status = VenueStatus::Closed,
            Change::Open => return self.status = VenueStatus::Available,
            Change::Occupy => return self.status = VenueStatus::Occupied,
            Change::Edit(edits) => *edits,
        };
        if edits.is_empty() {
            return;
        }
        let d = &mut self.data;
        fn set<T>(slot: &mut T, value: Option<T>) {
            if let Some(v) = value {
                *slot = v;
            }
        }
        set(&mut d.name, edits.name);
        set(&mut d.location, edits.location);
        set(&mut d.capacity, edits.capacity);
        set(&mut d.logo, edits.logo);
        set(&mut d.pictures, edits.pictures);
        set(&mut d.slots, edits.slots);
        set(&mut d.characteristics, edits.characteristics);
        set(&mut d.features, edits.features);
        set(&mut d.vacations, edits.vacations);
        set(&mut d.reservation_lead_time, edits.reservation_lead_time);
        set(&mut d.menu, edits.menu);
        self.status = VenueStatus::Unconfirmed;
    }
}

/// `{"result": [Venue], "total": n}`: a page of venues and how many there are in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenuePage {
    pub result: Vec<Venue>,
    pub total: u64,
}

/// A venue and how far it is, in whole metres.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueDistance {
    pub venue: Venue,
    pub distance: i64,
}

/// `{"result": [{"venue", "distance"}], "total": n}`, nearest first.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NearPage {
    pub result: Vec<VenueDistance>,
    pub total: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn update(body: serde_json::Value) -> Change {
        Change::parse(serde_json::from_value(body).unwrap()).unwrap()
    }

    fn venue() -> Venue {
        let body: VenueCreate = serde_json::from_value(json!({
            "id": "v1", "name": "Old", "location": "-34.6,-58.4", "capacity": 10,
            "characteristics": ["Pizzas"], "pictures": ["a"]
        }))
        .unwrap();
        let new = NewVenue::parse(body).unwrap();
        Venue::new(new.id.unwrap(), new.data)
    }

    #[test]
    fn a_new_venue_is_available_and_serialises_like_the_original() {
        let v = venue();
        assert_eq!(v.status, VenueStatus::Available);
        let text = serde_json::to_string(&v).unwrap();
        let wire: serde_json::Value = serde_json::from_str(&text).unwrap();
        let mut keys: Vec<_> = wire.as_object().unwrap().keys().cloned().collect();
        // The text's key order, not the (sorted) map's.
        keys.sort_by_key(|k| text.find(&format!("\"{k}\":")).unwrap());
        assert_eq!(
            keys,
            [
                "id",
                "name",
                "location",
                "capacity",
                "logo",
                "pictures",
                "slots",
                "characteristics",
                "features",
                "vacations",
                "reservationLeadTime",
                "menu",
                "status"
            ]
        );
        assert_eq!(wire["status"], json!({"status": "Available"}));
    }

    #[test]
    fn flags_win_over_fields_in_order() {
        let mut v = venue();
        v.apply(update(json!({"close": true, "open": true, "name": "New"})));
        assert_eq!(
            (v.status, v.data.name.as_str()),
            (VenueStatus::Closed, "Old")
        );
        v.apply(update(json!({"open": true, "occupy": true})));
        assert_eq!(v.status, VenueStatus::Available);
        v.apply(update(json!({"occupy": true, "capacity": 99})));
        assert_eq!((v.status, v.data.capacity), (VenueStatus::Occupied, 10));
    }

    #[test]
    fn falsy_fields_change_nothing() {
        let mut v = venue();
        let before = v.clone();
        v.apply(update(json!({
            "name": "", "capacity": 0, "pictures": [], "characteristics": [],
            "reservationLeadTime": 0, "menu": null, "open": false
        })));
        assert_eq!(v, before, "nothing truthy: status unchanged too");
        v.apply(update(json!({"name": "New", "pictures": []})));
        assert_eq!(v.data.name, "New");
        assert_eq!(v.data.pictures, ["a"]);
        assert_eq!(v.status, VenueStatus::Unconfirmed);
    }

    #[test]
    fn fields_are_checked_even_behind_a_flag() {
        let body: VenueUpdate =
            serde_json::from_value(json!({"close": true, "features": ["Sushi"]})).unwrap();
        assert_eq!(
            Change::parse(body),
            Err(Problem::Invalid(Invalid::Feature("Sushi".into())))
        );
        let body: VenueUpdate = serde_json::from_value(json!({"capacity": -1})).unwrap();
        assert_eq!(
            Change::parse(body),
            Err(Problem::Rejected(Rejected::Negative { field: "capacity" }))
        );
    }

    #[test]
    fn ids_are_checked() {
        assert_eq!(parse_id("uC4M1ItQEgYLoeb1taxY3co6XED2").unwrap().len(), 28);
        for bad in [
            "a/b",
            "a b",
            "near",
            "promotions",
            &"x".repeat(MAX_ID_CHARS + 1),
        ] {
            assert_eq!(parse_id(bad), Err(Rejected::Id), "{bad:?}");
        }
    }
}
