//! The state machine: who may move a reservation from which status to which (spec §4, H3).
//!
//! | from | request | owner | venue | to |
//! |---|---|---|---|---|
//! | Uncomfirmed | `advance_forward: true` (accept) | 403 | yes | Accepted |
//! | Uncomfirmed | `advance_forward: false` (reject / withdraw) | yes | yes | Canceled |
//! | Accepted | `advance_forward: true` (check-in, the diner's QR) | yes | yes | Assisted |
//! | Accepted | `advance_forward: false` (no-show) | 403 | yes | Expired |
//! | Uncomfirmed, Accepted | `cancel: true` | yes | yes | Canceled |
//! | Uncomfirmed, Accepted | `time` and/or `people` (edit) | yes | 403 | Uncomfirmed |
//! | Canceled, Assisted, Expired | anything | 400 | 400 | — |
//!
//! Anyone else gets 403 whatever the status. Checks run in that order: not a party (403),
//! final status (400), a move this party may not make (403). Every move a party may make is
//! possible from both non-final statuses, so "not possible from that status" only ever means
//! "final".

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::model::{People, Rejected, Reservation, Status, UserRef};

/// Who made a transition, as status events name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Actor {
    /// The diner who booked.
    Owner,
    /// The venue the reservation is at.
    Venue,
    /// This service (expiry).
    System,
}

/// What an update asks for; mixing kinds is refused so that no request means two things (R5).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Operation {
    Cancel,
    Advance {
        forward: bool,
    },
    Edit {
        time: Option<DateTime<Utc>>,
        people: Option<People>,
    },
}

impl Operation {
    /// Reads the original's update fields. Values (people bounds, a future time) are checked
    /// by the caller before this.
    pub fn from_fields(
        cancel: bool,
        advance_forward: Option<bool>,
        time: Option<DateTime<Utc>>,
        people: Option<People>,
    ) -> Result<Operation, Rejected> {
        let edit = time.is_some() || people.is_some();
        match (cancel, advance_forward, edit) {
            (true, None, false) => Ok(Operation::Cancel),
            (true, _, _) => Err(Rejected::CancelCombined),
            (false, Some(forward), false) => Ok(Operation::Advance { forward }),
            (false, Some(_), true) => Err(Rejected::AdvanceCombined),
            (false, None, true) => Ok(Operation::Edit { time, people }),
            (false, None, false) => Err(Rejected::NothingToChange),
        }
    }
}

/// A move that is not allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// 403.
    #[error("Only the reservation's owner or its venue can change it")]
    NotAParty,
    /// 400 (R4).
    #[error("Reservation is in a final state")]
    Final(Status),
    /// 403.
    #[error("Only the venue can accept a reservation")]
    OnlyVenueAccepts,
    /// 403.
    #[error("Only the venue can mark a no-show")]
    OnlyVenueMarksNoShow,
    /// 403.
    #[error("Only the reservation's owner can change its time or people")]
    OnlyOwnerEdits,
}

impl Refusal {
    /// Forbidden to this caller (403), as opposed to impossible for anyone (400).
    pub fn is_forbidden(&self) -> bool {
        !matches!(self, Refusal::Final(_))
    }
}

/// How the caller relates to a reservation. A restaurant booking at its own venue is both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parties {
    pub owner: bool,
    pub venue: bool,
}

impl Parties {
    pub fn of(reservation: &Reservation, caller: &UserRef) -> Parties {
        Parties {
            owner: reservation.user == *caller,
            venue: UserRef::of_venue(&reservation.venue) == *caller,
        }
    }

    pub fn any(self) -> bool {
        self.owner || self.venue
    }

    /// Whom an event names: the venue when the caller is the venue (a venue's cancel costs
    /// the diner no points), otherwise the owner.
    pub fn actor(self) -> Actor {
        if self.venue {
            Actor::Venue
        } else {
            Actor::Owner
        }
    }
}

/// The reservation's new state after a move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub status: Status,
    pub time: DateTime<Utc>,
    pub people: i64,
    pub by: Actor,
}

/// Applies `operation`, asked by `caller`, to `current`.
pub fn apply(
    current: &Reservation,
    caller: &UserRef,
    operation: &Operation,
) -> Result<Change, Refusal> {
    let parties = Parties::of(current, caller);
    if !parties.any() {
        return Err(Refusal::NotAParty);
    }
    if current.status.is_final() {
        return Err(Refusal::Final(current.status));
    }
    let to = |status: Status| Change {
        status,
        time: current.time,
        people: current.people,
        by: parties.actor(),
    };
    use Status::{Accepted, Assisted, Canceled, Expired, Uncomfirmed};
    match (operation, current.status) {
        (Operation::Cancel, _) => Ok(to(Canceled)),
        (Operation::Advance { forward: true }, Uncomfirmed) if parties.venue => Ok(to(Accepted)),
        (Operation::Advance { forward: true }, Uncomfirmed) => Err(Refusal::OnlyVenueAccepts),
        (Operation::Advance { forward: false }, Uncomfirmed) => Ok(to(Canceled)),
        (Operation::Advance { forward: true }, _) => Ok(to(Assisted)),
        (Operation::Advance { forward: false }, _) if parties.venue => Ok(to(Expired)),
        (Operation::Advance { forward: false }, _) => Err(Refusal::OnlyVenueMarksNoShow),
        (Operation::Edit { time, people }, _) if parties.owner => Ok(Change {
            status: Uncomfirmed,
            time: time.unwrap_or(current.time),
            people: people.map_or(current.people, People::get),
            by: Actor::Owner,
        }),
        (Operation::Edit { .. }, _) => Err(Refusal::OnlyOwnerEdits),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::VenueId;

    fn reservation(status: Status) -> Reservation {
        Reservation {
            id: "r1".into(),
            user: UserRef::parse("user/diner").unwrap(),
            venue: VenueId::parse("resto").unwrap(),
            time: chefcito::time::parse("2030-01-01T20:00:00Z").unwrap(),
            people: 2,
            status,
        }
    }

    fn who(name: &str) -> UserRef {
        UserRef::parse(&format!("user/{name}")).unwrap()
    }

    const ACCEPT: Operation = Operation::Advance { forward: true };
    const BACK: Operation = Operation::Advance { forward: false };

    fn outcome(status: Status, caller: &str, op: &Operation) -> Result<(Status, Actor), Refusal> {
        apply(&reservation(status), &who(caller), op).map(|c| (c.status, c.by))
    }

    #[test]
    fn the_table_of_moves() {
        use Status::*;
        let edit = Operation::Edit {
            time: None,
            people: Some(People::parse(3).unwrap()),
        };
        let cases = [
            (Uncomfirmed, "resto", &ACCEPT, Ok((Accepted, Actor::Venue))),
            (
                Uncomfirmed,
                "diner",
                &ACCEPT,
                Err(Refusal::OnlyVenueAccepts),
            ),
            (Uncomfirmed, "diner", &BACK, Ok((Canceled, Actor::Owner))),
            (Uncomfirmed, "resto", &BACK, Ok((Canceled, Actor::Venue))),
            (Accepted, "diner", &ACCEPT, Ok((Assisted, Actor::Owner))),
            (Accepted, "resto", &ACCEPT, Ok((Assisted, Actor::Venue))),
            (Accepted, "resto", &BACK, Ok((Expired, Actor::Venue))),
            (Accepted, "diner", &BACK, Err(Refusal::OnlyVenueMarksNoShow)),
            (
                Uncomfirmed,
                "diner",
                &Operation::Cancel,
                Ok((Canceled, Actor::Owner)),
            ),
            (
                Accepted,
                "resto",
                &Operation::Cancel,
                Ok((Canceled, Actor::Venue)),
            ),
            (Accepted, "diner", &edit, Ok((Uncomfirmed, Actor::Owner))),
            (Uncomfirmed, "diner", &edit, Ok((Uncomfirmed, Actor::Owner))),
            (Accepted, "resto", &edit, Err(Refusal::OnlyOwnerEdits)),
            (
                Accepted,
                "stranger",
                &Operation::Cancel,
                Err(Refusal::NotAParty),
            ),
        ];
        for (from, caller, op, expected) in cases {
            assert_eq!(
                outcome(from, caller, op),
                expected,
                "{from} {caller} {op:?}"
            );
        }
    }

    #[test]
    fn final_statuses_refuse_every_move_but_strangers_learn_nothing() {
        for status in [Status::Canceled, Status::Assisted, Status::Expired] {
            for op in [ACCEPT, BACK, Operation::Cancel] {
                for caller in ["diner", "resto"] {
                    assert_eq!(outcome(status, caller, &op), Err(Refusal::Final(status)));
                }
                assert_eq!(outcome(status, "stranger", &op), Err(Refusal::NotAParty));
            }
        }
    }

    #[test]
    fn an_edit_keeps_what_it_does_not_name() {
        let later = chefcito::time::parse("2030-01-02T21:00:00Z").unwrap();
        let change = apply(
            &reservation(Status::Accepted),
            &who("diner"),
            &Operation::Edit {
                time: Some(later),
                people: None,
            },
        )
        .unwrap();
        assert_eq!((change.time, change.people), (later, 2));
    }

    #[test]
    fn requests_mean_exactly_one_thing() {
        let three = Some(People::parse(3).unwrap());
        assert_eq!(
            Operation::from_fields(true, None, None, None),
            Ok(Operation::Cancel)
        );
        assert_eq!(
            Operation::from_fields(true, Some(true), None, None),
            Err(Rejected::CancelCombined)
        );
        assert_eq!(
            Operation::from_fields(true, None, None, three),
            Err(Rejected::CancelCombined)
        );
        assert_eq!(
            Operation::from_fields(false, Some(false), None, three),
            Err(Rejected::AdvanceCombined)
        );
        assert_eq!(
            Operation::from_fields(false, None, None, None),
            Err(Rejected::NothingToChange)
        );
        assert_eq!(
            Operation::from_fields(false, Some(true), None, None),
            Ok(ACCEPT)
        );
    }

    #[test]
    fn a_restaurant_at_its_own_venue_is_both_parties() {
        let mut r = reservation(Status::Uncomfirmed);
        r.user = who("resto");
        let p = Parties::of(&r, &who("resto"));
        assert!(p.owner && p.venue);
        assert_eq!(p.actor(), Actor::Venue);
    }
}
