//! Summary engines behind one narrow trait, so that the service (and its tests) can swap them:
//!
//! * [`extractive::Extractive`], the embedded offline default: deterministic, no network;
//! * [`openai::OpenAi`], an adapter for any OpenAI-compatible chat-completions API.
//!
//! An engine only writes text. Which opinions it gets, when it runs, what happens when it fails
//! (the extractive engine takes over) and what is stored is decided by [`crate::service`].

use std::future::Future;
use std::pin::Pin;

use chrono::{DateTime, Utc};

use crate::model::MAX_SUMMARY_CHARS;

pub mod extractive;
pub mod openai;

pub use extractive::Extractive;
pub use openai::OpenAi;

/// One opinion as an engine sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Opinion {
    pub text: String,
    pub date: DateTime<Utc>,
}

/// What an engine summarises: a venue's opinions, newest first, and the moment of the summary
/// (recency is measured from it, so that the same input always gives the same text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Input {
    pub venue: String,
    pub now: DateTime<Utc>,
    pub opinions: Vec<Opinion>,
}

/// Why an engine gave no text. Logged, never shown: the service falls back to the extractive
/// engine.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EngineError {
    #[error("no answer within the timeout")]
    Timeout,
    #[error("cannot reach the API: {0}")]
    Transport(String),
    #[error("the API answered {status}: {message}")]
    Status { status: u16, message: String },
    #[error("the API's answer is not a chat completion: {0}")]
    Garbage(String),
}

/// The future an engine returns (boxed: the trait is used as `dyn Engine`).
pub type Summarizing<'a> =
    Pin<Box<dyn Future<Output = Result<Option<String>, EngineError>> + Send + 'a>>;

/// A summary engine. `Ok(None)` means it has nothing to say about these opinions.
pub trait Engine: Send + Sync {
    /// Stored with each summary (`extractive`, `openai`, …), for operators.
    fn name(&self) -> &'static str;
    fn summarize<'a>(&'a self, input: &'a Input) -> Summarizing<'a>;
}

/// Makes an engine's text fit for storage and for one paragraph on a phone: control
/// characters and line breaks become spaces, runs of spaces one space, and a text over
/// [`MAX_SUMMARY_CHARS`] is cut at a word boundary with an ellipsis. `None` when nothing is
/// left.
pub fn tidy(text: &str) -> Option<String> {
    let words: Vec<&str> = text
        .split(|c: char| c.is_whitespace() || c.is_control())
        .filter(|w| !w.is_empty())
        .collect();
    let joined = words.join(" ");
    if joined.is_empty() {
        return None;
    }
    Some(cut(&joined, MAX_SUMMARY_CHARS))
}

/// `text` limited to `max` characters: cut at the last space before the limit (or at the
/// limit when there is none in its second half), trailing punctuation dropped, `…` added.
pub fn cut(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    let keep = max.saturating_sub(1);
    let head: String = text.chars().take(keep).collect();
    let at_boundary = text.chars().nth(keep).is_some_and(char::is_whitespace);
    // A word boundary, unless that would throw away more than half (one endless "word").
    let head = match head.rfind(' ') {
        Some(space) if !at_boundary && space >= head.len() / 2 => &head[..space],
        _ => head.as_str(),
    };
    let head = head.trim_end_matches(|c: char| c.is_whitespace() || ",;:.-–—".contains(c));
    format!("{head}…")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy_makes_one_clean_paragraph() {
        assert_eq!(
            tidy("  La comida\n\nes rica.\tVolveré\u{7}!  ").as_deref(),
            Some("La comida es rica. Volveré !")
        );
        assert_eq!(tidy(" \n\t "), None);
    }

    #[test]
    fn long_texts_are_cut_at_a_word() {
        let long = "palabra ".repeat(1000);
        let tidied = tidy(&long).unwrap();
        assert!(tidied.chars().count() <= MAX_SUMMARY_CHARS);
        assert!(tidied.ends_with("palabra…"), "{tidied}");
        assert_eq!(cut("uno dos, tres", 9), "uno dos…");
        assert_eq!(cut("uno dos tres", 10), "uno dos…");
        assert_eq!(cut("abcdefghij", 5), "abcd…");
        assert_eq!(cut("a bcdefghij", 6), "a bcd…");
        assert_eq!(cut("corto", 10), "corto");
    }
}
