//! The reservation status, spelled as the original spells it on the wire and in storage.

use serde::{Deserialize, Serialize};

/// Where a reservation stands. `Uncomfirmed` is misspelt on purpose: the clients compare the
/// string literally.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Status {
    Uncomfirmed,
    Accepted,
    Canceled,
    Assisted,
    Expired,
}

impl Status {
    pub const ALL: [Status; 5] = [
        Status::Uncomfirmed,
        Status::Accepted,
        Status::Canceled,
        Status::Assisted,
        Status::Expired,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Status::Uncomfirmed => "Uncomfirmed",
            Status::Accepted => "Accepted",
            Status::Canceled => "Canceled",
            Status::Assisted => "Assisted",
            Status::Expired => "Expired",
        }
    }

    /// Strict: an unknown text is `None`, never silently `Canceled` as in the original (R20).
    pub fn parse(text: &str) -> Option<Status> {
        Status::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// Nothing moves a reservation out of these.
    pub fn is_final(self) -> bool {
        matches!(self, Status::Canceled | Status::Assisted | Status::Expired)
    }

    /// Holds seats: counts against the venue's capacity.
    pub fn holds_seats(self) -> bool {
        matches!(self, Status::Uncomfirmed | Status::Accepted)
    }
}

impl std::fmt::Display for Status {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The wire wrapper: statuses always travel as `{"status": "Accepted"}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatusObject {
    pub status: Status,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn texts_round_trip_and_unknown_ones_are_refused() {
        for s in Status::ALL {
            assert_eq!(Status::parse(s.as_str()), Some(s));
            assert_eq!(serde_json::to_value(s).unwrap(), s.as_str());
        }
        assert_eq!(Status::parse("Unconfirmed"), None);
        assert_eq!(Status::parse("canceled"), None);
        assert_eq!(
            serde_json::to_string(&StatusObject {
                status: Status::Uncomfirmed
            })
            .unwrap(),
            r#"{"status":"Uncomfirmed"}"#
        );
    }

    #[test]
    fn final_and_seat_holding_statuses() {
        let finals: Vec<_> = Status::ALL.into_iter().filter(|s| s.is_final()).collect();
        assert_eq!(
            finals,
            [Status::Canceled, Status::Assisted, Status::Expired]
        );
        for s in Status::ALL {
            assert_eq!(s.holds_seats(), !s.is_final());
        }
    }
}
