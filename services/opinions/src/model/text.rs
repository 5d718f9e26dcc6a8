//! The text of an opinion: what a diner wrote, bounded and printable.

use super::Rejected;

/// Longest opinion, in characters (a few paragraphs; the mobile form is one text box).
pub const MAX_TEXT_CHARS: usize = 2000;

/// An opinion's text: surrounding white space trimmed, 1 to [`MAX_TEXT_CHARS`] characters, no
/// control characters but line breaks. Windows line breaks (`\r\n`) become `\n`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OpinionText(String);

impl OpinionText {
    pub fn parse(raw: &str) -> Result<OpinionText, Rejected> {
        let text = raw.replace("\r\n", "\n");
        let text = text.trim();
        if text.is_empty() {
            return Err(Rejected::EmptyText);
        }
        if text.chars().any(|c| c.is_control() && c != '\n') {
            return Err(Rejected::ControlCharacters);
        }
        let chars = text.chars().count();
        if chars > MAX_TEXT_CHARS {
            return Err(Rejected::TextTooLong(chars));
        }
        Ok(OpinionText(text.to_string()))
    }

    /// Text read back from this service's own store, checked when it was written; not
    /// checked again, so that a later, stricter limit never makes old opinions unreadable.
    pub fn stored(text: String) -> OpinionText {
        OpinionText(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_line_breaks_and_trims() {
        let t = OpinionText::parse("  Muy rico.\r\nVolveremos!\n").unwrap();
        assert_eq!(t.as_str(), "Muy rico.\nVolveremos!");
        assert_eq!(OpinionText::parse("ñandú 🍕").unwrap().as_str(), "ñandú 🍕");
    }

    #[test]
    fn refuses_empty_long_and_control_text() {
        for empty in ["", "   ", "\n\n", "\r\n"] {
            assert_eq!(OpinionText::parse(empty), Err(Rejected::EmptyText));
        }
        for bad in ["a\tb", "a\rb", "a\u{0}b", "a\u{1b}[31mb", "a\u{85}b"] {
            assert_eq!(
                OpinionText::parse(bad),
                Err(Rejected::ControlCharacters),
                "{bad:?}"
            );
        }
        // Characters, not bytes: 2000 multi-byte characters fit.
        assert!(OpinionText::parse(&"ñ".repeat(MAX_TEXT_CHARS)).is_ok());
        assert_eq!(
            OpinionText::parse(&"a".repeat(MAX_TEXT_CHARS + 1)),
            Err(Rejected::TextTooLong(MAX_TEXT_CHARS + 1))
        );
    }
}
