//! The service's operations and rules: phone numbers, events turned into messages, direct
//! messages and listings. No HTTP, no SQL: validation happens here (through [`crate::model`]),
//! storage in [`crate::store`], delivery in [`crate::sender`].

use std::sync::Arc;

use chefcito::ApiError;
use chefcito::db::{Db, DbError};
use chrono::Duration;
use serde::Serialize;

use crate::model::events::{self, Event, Text};
use crate::model::{
    DEFAULT_PAGE, DIRECT, Delivery, ListQuery, MAX_PAGE, Malformed, MessagePage, MessageText,
    MessageView, Phone, PhoneView, Planned, Rejected, UserId,
};
use crate::sender::{Wake, now_ms};
use crate::store::{self, Consumed, Effect, Filter, NewMessage};
use crate::venues::Venues;

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Rejected(#[from] Rejected),
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error("Unknown user: no phone number was ever stored for it")]
    UnknownUser,
    /// A service this one needs failed (502/503): the event is delivered again later.
    #[error("{0}")]
    Downstream(ApiError),
    #[error(transparent)]
    Store(#[from] DbError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What `POST /events` did with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// Messages were created (sent or skipped) or a number was stored.
    Applied,
    /// This event id had been consumed before; nothing changed.
    Duplicate,
    /// A topic this service does not know.
    Ignored,
}

/// The communications service: its store, the venues it reads names from, and the sender's
/// wake-up.
#[derive(Debug)]
pub struct Communications {
    db: Db,
    venues: Venues,
    wake: Arc<Wake>,
    /// Added to a reservation's UTC time before printing its date.
    date_offset: Duration,
}

impl Communications {
    pub fn new(db: Db, venues: Venues, wake: Arc<Wake>, date_offset: Duration) -> Communications {
        Communications {
            db,
            venues,
            wake,
            date_offset,
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// Stores a user's number (insert or replace), normalised; `""` stores "no number".
    pub async fn set_phone(&self, user: &str, phone: &str) -> Result<PhoneView> {
        let user = UserId::parse(user)?;
        let phone = Phone::parse(phone)?;
        store::set_phone(&self.db, user.clone(), phone.clone(), now_ms()).await?;
        Ok(PhoneView {
            user: user.as_str().to_string(),
            phone: phone.as_str().to_string(),
        })
    }

    /// A user's stored number.
    pub async fn phone(&self, user: &str) -> Result<PhoneView> {
        let user = UserId::parse(user)?;
        let phone = store::phone(&self.db, &user)
            .await?
            .ok_or(Error::UnknownUser)?;
        Ok(PhoneView {
            user: user.as_str().to_string(),
            phone: phone.as_str().to_string(),
        })
    }

    /// Queues a message to a user (the original's `POST /messages`): pending when the user has
    /// a number, skipped otherwise.
    pub async fn send(&self, user: &str, text: &str) -> Result<MessageView> {
        let message = NewMessage {
            to: UserId::parse(user)?,
            body: MessageText::parse(text)?.into_string(),
            trigger: DIRECT.into(),
        };
        let view = store::enqueue(&self.db, message, now_ms()).await?;
        self.wake.notify();
        Ok(view)
    }

    /// Messages newest first, filtered by recipient (a uid, or a number in any accepted form)
    /// and status.
    pub async fn list(&self, query: ListQuery) -> Result<MessagePage> {
        let limit = query.limit.unwrap_or(DEFAULT_PAGE);
        if !(1..=MAX_PAGE).contains(&limit) {
            return Err(Rejected::InvalidLimit.into());
        }
        let to = query.to.filter(|t| !t.trim().is_empty());
        // A recipient that reads as a number also matches the messages sent to that number.
        let phone = to
            .as_deref()
            .and_then(|t| Phone::parse(t).ok())
            .filter(|p| !p.is_none())
            .map(|p| p.as_str().to_string());
        let filter = Filter {
            recipient: to,
            phone,
            status: query.status,
            limit,
        };
        Ok(store::list(&self.db, filter).await?)
    }

    /// Consumes one outbox delivery, at most once per event id.
    pub async fn consume(&self, delivery: Delivery) -> Result<Outcome> {
        let topic = delivery.topic.clone();
        let (id, event) = events::parse(delivery)?;
        let Some(event) = event else {
            tracing::debug!(event = id.as_str(), topic = ?topic, "event of an unknown topic ignored");
            return Ok(Outcome::Ignored);
        };
        if store::seen(&self.db, id.as_str()).await? {
            tracing::debug!(event = id.as_str(), "event delivered again: nothing to do");
            return Ok(Outcome::Duplicate);
        }
        let effect = match event {
            Event::PhoneChanged { user, phone } => {
                let phone = Phone::parse(&phone).unwrap_or_else(|_| {
                    // The user replaced their number with one that cannot be used: stop
                    // sending to the old one rather than keep messaging a number they left.
                    tracing::warn!(
                        event = id.as_str(),
                        user = user.as_str(),
                        "user.phone event with an invalid number: number cleared"
                    );
                    Phone::none()
                });
                Effect::Phone { user, phone }
            }
            event => {
                let planned = event.messages(self.date_offset);
                let venue_name = self.venue_name_if_needed(&planned).await?;
                Effect::Messages(
                    planned
                        .into_iter()
                        .map(|p| NewMessage {
                            to: p.to,
                            body: p.text.render(venue_name.as_deref()),
                            trigger: topic.clone(),
                        })
                        .collect(),
                )
            }
        };
        match store::consume(&self.db, id.as_str().to_string(), effect, now_ms()).await? {
            Consumed::Duplicate => Ok(Outcome::Duplicate),
            Consumed::Applied { messages, pending } => {
                tracing::debug!(event = id.as_str(), topic = ?topic, messages = messages.len(), pending, "event consumed");
                if pending > 0 {
                    self.wake.notify();
                }
                Ok(Outcome::Applied)
            }
        }
    }

    /// The venue's name, fetched only when a planned message names it and its recipient has a
    /// number (a message that will be skipped needs no name, and so no venues service).
    async fn venue_name_if_needed(&self, planned: &[Planned]) -> Result<Option<String>> {
        for p in planned {
            if let Text::StatusToDiner { venue, .. } = &p.text {
                let reachable = store::phone(&self.db, &p.to)
                    .await?
                    .is_some_and(|phone| !phone.is_none());
                if reachable {
                    return self.venues.name(venue).await.map_err(Error::Downstream);
                }
            }
        }
        Ok(None)
    }
}
