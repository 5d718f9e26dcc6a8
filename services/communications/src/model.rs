//! Domain types: validated ids and phone numbers, message texts and states, the events the
//! service consumes with the messages each one asks for, and the wire shapes. Nothing here
//! touches HTTP or SQL.

pub mod events;
pub mod ids;
pub mod phone;
pub mod texts;

use serde::{Deserialize, Serialize};

pub use events::{Delivery, Event, Planned, Text};
pub use ids::{Id, UserId};
pub use phone::Phone;

/// Input that breaks a rule: a 400, before anything is written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Rejected {
    #[error(
        "Invalid user: it must be 1 to {max} characters, without spaces, slashes or control characters",
        max = UserId::MAX_LEN
    )]
    InvalidUser,
    #[error(
        "Invalid phone number: expected an Argentine number (e.g. 11 5555-0000, 011 15 5555-0000, +54 9 11 5555-0000), another country's number with its + code, or \"\" for none"
    )]
    InvalidPhone,
    #[error(
        "Invalid message: it must be 1 to {max} characters, without control characters other than line breaks",
        max = MessageText::MAX_CHARS
    )]
    InvalidMessage,
    #[error("Invalid limit: it must be between 1 and {max}", max = MAX_PAGE)]
    InvalidLimit,
}

/// An event the service cannot read: a 422, so that the dispatcher parks it instead of
/// retrying something that will never parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Malformed event: {0}")]
pub struct Malformed(pub String);

/// A reservation status, spelt as on the wire (`Uncomfirmed` included).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum Status {
    Uncomfirmed,
    Accepted,
    Canceled,
    Assisted,
    Expired,
}

/// The text of a message sent directly (`POST /messages`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageText(String);

impl MessageText {
    /// Twilio's limit for one message body.
    pub const MAX_CHARS: usize = 1600;

    pub fn parse(raw: &str) -> Result<MessageText, Rejected> {
        let count = raw.chars().count();
        let ok = raw.trim().chars().count() > 0
            && count <= Self::MAX_CHARS
            && !raw.chars().any(|c| c.is_control() && c != '\n');
        ok.then(|| MessageText(raw.to_string()))
            .ok_or(Rejected::InvalidMessage)
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

/// Where a message is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageStatus {
    /// Waiting for the sender (first attempt or a retry).
    Pending,
    /// Handed to the messenger.
    Sent,
    /// The messenger refused it for good, or it was retried too many times.
    Failed,
    /// Never sent: the recipient has no number.
    Skipped,
}

impl MessageStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            MessageStatus::Pending => "pending",
            MessageStatus::Sent => "sent",
            MessageStatus::Failed => "failed",
            MessageStatus::Skipped => "skipped",
        }
    }

    pub fn parse(stored: &str) -> Option<MessageStatus> {
        Some(match stored {
            "pending" => MessageStatus::Pending,
            "sent" => MessageStatus::Sent,
            "failed" => MessageStatus::Failed,
            "skipped" => MessageStatus::Skipped,
            _ => return None,
        })
    }
}

/// Why a message exists: the event topic, or `direct` for `POST /messages`.
pub const DIRECT: &str = "direct";

/// Most messages one listing returns.
pub const MAX_PAGE: u32 = 1000;
/// Messages a listing returns when it does not say.
pub const DEFAULT_PAGE: u32 = 50;

/// `PUT /users/{uid}/phone`.
#[derive(Debug, Clone, Deserialize)]
pub struct PhoneBody {
    pub phone: String,
}

/// A stored number.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhoneView {
    pub user: String,
    /// E.164, or `""`: nothing is sent to this user.
    pub phone: String,
}

/// `POST /messages`: the original's body.
#[derive(Debug, Clone, Deserialize)]
pub struct SendBody {
    pub user: String,
    pub message: String,
}

/// `GET /messages` query.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ListQuery {
    /// A uid, or a phone number in any accepted form.
    #[serde(default)]
    pub to: Option<String>,
    #[serde(default)]
    pub status: Option<MessageStatus>,
    #[serde(default)]
    pub limit: Option<u32>,
}

/// One message as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageView {
    pub id: i64,
    /// The recipient's uid.
    pub to: String,
    /// The number it is (or was) sent to; `""` when skipped.
    pub phone: String,
    pub body: String,
    pub status: MessageStatus,
    /// The event topic that caused it, or `direct`.
    pub trigger: String,
    /// The event id, `null` for direct messages.
    pub event: Option<String>,
    pub attempts: i64,
    /// UTC with `Z`.
    pub created_at: String,
    /// When it was sent, failed or skipped (UTC with `Z`); `null` while pending.
    pub finished_at: Option<String>,
    /// The messenger's id for it (Twilio's `sid`, or `outbox`).
    pub provider_id: Option<String>,
    /// The last failure, if any.
    pub error: Option<String>,
}

/// `GET /messages` answer: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessagePage {
    pub result: Vec<MessageView>,
    /// Every match, ignoring `limit`.
    pub total: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn message_texts_keep_line_breaks_and_refuse_other_controls() {
        assert!(MessageText::parse("Hola!\nChau").is_ok());
        assert!(MessageText::parse(&"x".repeat(MessageText::MAX_CHARS)).is_ok());
        for bad in [
            "",
            "  \n ",
            "a\tb",
            "a\u{7}b",
            &"x".repeat(MessageText::MAX_CHARS + 1),
        ] {
            assert_eq!(
                MessageText::parse(bad),
                Err(Rejected::InvalidMessage),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn statuses_round_trip() {
        for s in [
            MessageStatus::Pending,
            MessageStatus::Sent,
            MessageStatus::Failed,
            MessageStatus::Skipped,
        ] {
            assert_eq!(MessageStatus::parse(s.as_str()), Some(s));
        }
        assert_eq!(MessageStatus::parse("lost"), None);
    }
}
