//! Messengers: what actually delivers a text to a phone number, behind one trait (spec §4).
//!
//! * [`Outbox`] (the default): delivery ends in this service's own `messages` table, which
//!   `GET /messages` lists. Nothing leaves the cluster; developers, tests and operators read
//!   what would have been sent.
//! * [`twilio::Twilio`]: Twilio's REST API (`Messages.json`).
//!
//! A messenger only sends; retries, back-off and bookkeeping are the sender's
//! ([`crate::sender`]), driven by the [`SendError`] kind.

pub mod twilio;

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

/// A boxed future, so that messengers can live behind `Arc<dyn Messenger>`.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// A message the messenger accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sent {
    /// The provider's id for it (Twilio's `sid`).
    pub provider_id: String,
}

/// Why a message was not accepted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SendError {
    /// Retrying cannot help (an invalid number, a refused body): the message is marked failed.
    Permanent(String),
    /// Worth retrying later (the provider is down, throttling, a timeout).
    Transient {
        error: String,
        /// The provider's `Retry-After`, when it gave one.
        retry_after: Option<Duration>,
    },
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SendError::Permanent(e) => write!(f, "permanent: {e}"),
            SendError::Transient { error, .. } => write!(f, "transient: {error}"),
        }
    }
}

/// Delivers one text to one number (E.164).
pub trait Messenger: Send + Sync + std::fmt::Debug {
    /// `outbox` or `twilio`, for logs.
    fn name(&self) -> &'static str;
    fn send<'a>(&'a self, to: &'a str, body: &'a str) -> BoxFuture<'a, Result<Sent, SendError>>;
}

/// The embedded messenger: the message stays in the `messages` table, marked sent.
#[derive(Debug, Clone, Copy, Default)]
pub struct Outbox;

impl Messenger for Outbox {
    fn name(&self) -> &'static str {
        "outbox"
    }

    fn send<'a>(&'a self, _to: &'a str, body: &'a str) -> BoxFuture<'a, Result<Sent, SendError>> {
        Box::pin(async move {
            // The number is personal data: the log says that a message was kept, not where
            // to; `GET /messages` shows the rest to those allowed to call it.
            tracing::debug!(
                chars = body.chars().count(),
                "message kept in the embedded outbox"
            );
            Ok(Sent {
                provider_id: "outbox".into(),
            })
        })
    }
}
