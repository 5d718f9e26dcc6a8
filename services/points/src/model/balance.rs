//! Balances: what is stored, what decay leaves of it at a given moment, and its level.

use chefcito::api::PointsView;

use super::{Rejected, UserId};

/// A balance as stored: the running total (negative when penalties outweigh earnings) and
/// the moment of its last change, in Unix seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stored {
    pub total: i64,
    pub last_updated: i64,
}

/// Idle balances lose `amount` points per full `period_secs` since their last change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decay {
    pub period_secs: i64,
    pub amount: i64,
}

impl Decay {
    /// The original's `DEFAULT_POINT_REBASE` (14 days) and `DEFAULT_POINT_DISCOUNT` (200).
    pub const DEFAULT: Decay = Decay {
        period_secs: 14 * 24 * 3600,
        amount: 200,
    };

    /// The balance `stored` is worth at `now`. Pure: reading never writes the result back,
    /// so a second read cannot subtract again (the original's P2). Once a full period has
    /// passed, a negative balance is forgiven (reads 0), as in the original.
    pub fn effective(&self, stored: Stored, now: i64) -> i64 {
        let idle = now.saturating_sub(stored.last_updated);
        // A clock that went backwards (idle < 0) decays nothing.
        if self.period_secs <= 0 || idle < self.period_secs {
            return stored.total;
        }
        let periods = idle / self.period_secs;
        stored
            .total
            .saturating_sub(self.amount.saturating_mul(periods))
            .max(0)
    }
}

/// A change to a balance given directly (`POST /points`), bounded so that no sum overflows
/// and a typo of an operator does not wipe or mint a fortune.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delta(i64);

impl Delta {
    pub const MAX: i64 = 1_000_000;

    pub fn parse(raw: i64) -> Result<Delta, Rejected> {
        (-Self::MAX..=Self::MAX)
            .contains(&raw)
            .then_some(Delta(raw))
            .ok_or(Rejected::DeltaOutOfRange)
    }

    pub fn get(self) -> i64 {
        self.0
    }
}

/// The five levels of the original and the total each one starts at. Thresholds are
/// `100·(2ⁿ − 1)`, written out as integers (the original's floating-point `log2`, P5).
pub const LEVELS: [(i64, &str); 5] = [
    (0, "Novato"),
    (100, "Aficionado Gourmet"),
    (300, "Comensal Amateur"),
    (700, "Comensal Experto"),
    (1500, "Estrella Culinaria"),
];

/// The level of a total; negative totals are `Novato`.
pub fn level(total: i64) -> &'static str {
    LEVELS
        .iter()
        .rev()
        .find(|(from, _)| total >= *from)
        .map_or(LEVELS[0].1, |(_, name)| name)
}

/// What a caller sees: the balance never below 0, and its level.
pub fn view(user: &UserId, effective: i64) -> PointsView {
    let total = effective.max(0);
    PointsView {
        user: user.as_str().to_string(),
        total,
        level: level(total).to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DAY: i64 = 24 * 3600;
    const NOW: i64 = 1_750_000_000;

    fn stored(total: i64, idle_secs: i64) -> Stored {
        Stored {
            total,
            last_updated: NOW - idle_secs,
        }
    }

    #[test]
    fn levels_change_at_each_boundary() {
        let cases = [
            (-50, "Novato"),
            (0, "Novato"),
            (99, "Novato"),
            (100, "Aficionado Gourmet"),
            (299, "Aficionado Gourmet"),
            (300, "Comensal Amateur"),
            (699, "Comensal Amateur"),
            (700, "Comensal Experto"),
            (1499, "Comensal Experto"),
            (1500, "Estrella Culinaria"),
            (i64::MAX, "Estrella Culinaria"),
        ];
        for (total, name) in cases {
            assert_eq!(level(total), name, "{total}");
        }
    }

    /// `test_a_user_with_x_points_is_level_n`: 100·(2ⁱ−1) is where level i starts, capped at
    /// the last name.
    #[test]
    fn thresholds_follow_the_original_formula() {
        for i in 0..10u32 {
            let total = 100 * (2i64.pow(i) - 1);
            let index = (i as usize).min(LEVELS.len() - 1);
            assert_eq!(level(total), LEVELS[index].1, "{total}");
            if total > 0 {
                assert_eq!(level(total - 1), LEVELS[index.min(i as usize - 1)].1);
            }
        }
    }

    #[test]
    fn no_decay_before_a_full_period() {
        let d = Decay::DEFAULT;
        assert_eq!(d.effective(stored(500, 0), NOW), 500);
        assert_eq!(d.effective(stored(500, 14 * DAY - 1), NOW), 500);
        assert_eq!(d.effective(stored(-50, 14 * DAY - 1), NOW), -50);
    }

    #[test]
    fn each_full_period_takes_its_amount() {
        let d = Decay::DEFAULT;
        assert_eq!(d.effective(stored(500, 14 * DAY), NOW), 300);
        assert_eq!(d.effective(stored(500, 14 * DAY + 60), NOW), 300);
        assert_eq!(d.effective(stored(500, 28 * DAY - 1), NOW), 300);
        assert_eq!(d.effective(stored(500, 28 * DAY), NOW), 100);
        assert_eq!(d.effective(stored(500, 42 * DAY), NOW), 0);
        assert_eq!(d.effective(stored(200, 14 * DAY + 60), NOW), 0);
    }

    #[test]
    fn decay_never_goes_below_zero_and_forgives_debts() {
        let d = Decay::DEFAULT;
        assert_eq!(d.effective(stored(150, 14 * DAY), NOW), 0);
        assert_eq!(d.effective(stored(-50, 14 * DAY), NOW), 0);
        assert_eq!(d.effective(stored(i64::MIN, 14 * DAY), NOW), 0);
        assert_eq!(d.effective(stored(1000, i64::MAX / 2), NOW), 0);
    }

    #[test]
    fn a_clock_behind_the_last_change_decays_nothing() {
        assert_eq!(Decay::DEFAULT.effective(stored(500, -30 * DAY), NOW), 500);
    }

    #[test]
    fn deltas_are_bounded() {
        assert_eq!(Delta::parse(-50).unwrap().get(), -50);
        assert!(Delta::parse(Delta::MAX).is_ok());
        assert!(Delta::parse(-Delta::MAX).is_ok());
        assert_eq!(Delta::parse(Delta::MAX + 1), Err(Rejected::DeltaOutOfRange));
        assert_eq!(Delta::parse(i64::MIN), Err(Rejected::DeltaOutOfRange));
    }

    #[test]
    fn views_never_show_a_negative_total() {
        let user = UserId::parse("u1").unwrap();
        let v = view(&user, -50);
        assert_eq!(
            (v.user.as_str(), v.total, v.level.as_str()),
            ("u1", 0, "Novato")
        );
        assert_eq!(view(&user, 100).level, "Aficionado Gourmet");
    }
}
