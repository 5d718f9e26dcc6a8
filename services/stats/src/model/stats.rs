//! Counts as stored and the views callers read: ratios are computed here, on read, from exact
//! counts (the original stored rounded ratios back into its counts and drifted, Q11).

use std::collections::BTreeMap;

use serde::Serialize;

use super::{UserId, VenueId};

/// Python's `round(x, 2)`: the same decimal result (round half to even on the exact binary
/// value), e.g. 0.125 → 0.12, 0.375 → 0.38, 0.005 → 0.01.
pub fn round2(x: f64) -> f64 {
    format!("{x:.2}").parse().unwrap_or(0.0)
}

/// `count / total` rounded to 2 decimals; 0.0 when nothing was counted.
pub fn ratio(count: i64, total: i64) -> f64 {
    if total <= 0 {
        0.0
    } else {
        round2(count as f64 / total as f64)
    }
}

/// A user's counters: finished reservations, and how many of them were cancelled or expired.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct UserCounts {
    pub total: i64,
    pub canceled: i64,
    pub expired: i64,
}

/// A venue's counters. `days` and `turns` count attended reservations only; `people` sums
/// their parties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct VenueCounts {
    pub total: i64,
    pub canceled: i64,
    pub expired: i64,
    pub people: i64,
    /// Weekday (0 = Monday) → attended reservations.
    pub days: BTreeMap<u8, i64>,
    /// `"HH:MM"` (UTC) → attended reservations.
    pub turns: BTreeMap<String, i64>,
}

/// When a user's ratio raises an alert: strictly above the threshold, compared with the
/// rounded ratio (as the original). Over HTTP both are always 0.5.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Thresholds {
    pub expired: f64,
    pub canceled: f64,
}

impl Thresholds {
    pub const DEFAULT: Thresholds = Thresholds {
        expired: 0.5,
        canceled: 0.5,
    };
}

/// `GET /user/{u}`, the original's `UserStatData` (keys in its order).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct UserStatData {
    pub user: String,
    pub total: i64,
    pub canceled: f64,
    pub expired: f64,
    pub expired_alert: bool,
    pub canceled_alert: bool,
}

impl UserStatData {
    pub fn new(user: &UserId, counts: UserCounts, thresholds: Thresholds) -> UserStatData {
        let canceled = ratio(counts.canceled, counts.total);
        let expired = ratio(counts.expired, counts.total);
        UserStatData {
            user: user.as_str().to_string(),
            total: counts.total,
            canceled,
            expired,
            expired_alert: expired > thresholds.expired,
            canceled_alert: canceled > thresholds.canceled,
        }
    }
}

/// `GET /venue/{v}`, the original's `VenueStatData` (keys in its order). `days.means` and
/// `turns.turns` are raw counts, not shares, despite the name `means`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct VenueStatData {
    pub venue: String,
    pub total: i64,
    pub canceled: f64,
    pub expired: f64,
    /// The raw sum, printed as a float (`17.0`) as the original did.
    pub people: f64,
    pub days: Days,
    pub turns: Turns,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Days {
    /// JSON object keys `"0"`…`"6"`; only weekdays with a count appear.
    pub means: BTreeMap<u8, i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Turns {
    pub turns: BTreeMap<String, i64>,
}

impl VenueStatData {
    pub fn new(venue: &VenueId, counts: VenueCounts) -> VenueStatData {
        VenueStatData {
            venue: venue.as_str().to_string(),
            total: counts.total,
            canceled: ratio(counts.canceled, counts.total),
            expired: ratio(counts.expired, counts.total),
            people: counts.people as f64,
            days: Days { means: counts.days },
            turns: Turns {
                turns: counts.turns,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(total: i64, canceled: i64, expired: i64, t: Thresholds) -> UserStatData {
        let u = UserId::parse("SomeClient").unwrap();
        UserStatData::new(
            &u,
            UserCounts {
                total,
                canceled,
                expired,
            },
            t,
        )
    }

    fn at(expired: f64, canceled: f64) -> Thresholds {
        Thresholds { expired, canceled }
    }

    #[test]
    fn rounding_matches_python() {
        // Python: [round(x, 2) for x in (0.125, 0.375, 0.005, 0.505, 0.501, 0.015, 0.025, 0.345)]
        let cases = [
            (0.125, 0.12),
            (0.375, 0.38),
            (0.005, 0.01),
            (0.505, 0.51),
            (0.501, 0.5),
            (0.015, 0.01),
            (0.025, 0.03),
            (0.345, 0.34),
            (1.0 / 3.0, 0.33),
            (2.0 / 3.0, 0.67),
            (1.0, 1.0),
            (0.0, 0.0),
        ];
        for (x, rounded) in cases {
            assert_eq!(round2(x), rounded, "{x}");
        }
        assert_eq!(ratio(1, 3), 0.33);
        assert_eq!(ratio(1, 8), 0.12);
        assert_eq!(ratio(3, 8), 0.38);
        assert_eq!(ratio(5, 0), 0.0);
    }

    /// `test_user_stats.test_on_too_many_expired`: 5 assisted + 5 expired.
    #[test]
    fn too_many_expired() {
        assert!(user(10, 0, 5, at(0.4, 0.5)).expired_alert);
        assert!(!user(10, 0, 5, at(0.51, 0.5)).expired_alert);
        assert!(
            !user(10, 0, 5, Thresholds::DEFAULT).expired_alert,
            "0.5 is not > 0.5"
        );
    }

    /// `test_user_stats.test_on_too_many_canceled`: 5 canceled + 5 expired.
    #[test]
    fn too_many_canceled() {
        let s = user(10, 5, 5, at(0.5, 0.4));
        assert!(s.canceled_alert);
        let s = user(10, 5, 5, at(0.51, 0.5));
        assert!(!s.canceled_alert, "0.5 is not > 0.5");
        assert!(!s.expired_alert);
    }

    /// Alerts compare the rounded ratio: 501/1000 rounds to 0.5, which is not above 0.5.
    #[test]
    fn alerts_use_the_rounded_ratio() {
        let s = user(1000, 501, 505, Thresholds::DEFAULT);
        assert_eq!((s.canceled, s.expired), (0.5, 0.51));
        assert!(!s.canceled_alert);
        assert!(s.expired_alert);
    }

    #[test]
    fn nothing_counted_is_all_zeros() {
        let s = user(0, 0, 0, Thresholds::DEFAULT);
        assert_eq!((s.total, s.canceled, s.expired), (0, 0.0, 0.0));
        assert!(!s.canceled_alert && !s.expired_alert);
        let v = VenueStatData::new(&VenueId::parse("v").unwrap(), VenueCounts::default());
        assert_eq!(
            serde_json::to_string(&v).unwrap(),
            r#"{"venue":"v","total":0,"canceled":0.0,"expired":0.0,"people":0.0,"days":{"means":{}},"turns":{"turns":{}}}"#
        );
    }
}
