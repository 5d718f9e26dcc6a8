//! Phone numbers, normalised once at storage (spec §10 Q15).
//!
//! The original stored whatever was typed and, at send time only, prefixed `+549` to what
//! remained after removing a `+549` prefix, which broke `+54 11…`, `54 9 11…`, `011 15…`
//! and every foreign number. Here a number is read once with libphonenumber's rules (the
//! `phonenumber` crate) taking Argentina as the region of numbers written without a country
//! code, and stored in E.164.
//!
//! Argentine numbers are stored in their **mobile** form (`+54 9 <area> <number>`): the
//! service sends text messages, which only mobiles receive, and Argentines usually write
//! their mobile without the `9` or the `15` (`11 5555-0000`), a form libphonenumber reads as a
//! landline because both share the same ranges. So a national number that is valid as a
//! mobile once the `9` is added is stored as that mobile, as the original intended with its
//! `+549` rule; libphonenumber itself turns the national `0 <area> 15 <number>` form into
//! the `9` form. An Argentine number that is valid only as a landline (no mobile uses its
//! range) is kept as it is.

use phonenumber::country;
use phonenumber::metadata::DATABASE;
use phonenumber::{Mode, PhoneNumber, Type};

use super::Rejected;

/// A number as stored: E.164 (`+5491155550000`), or empty when the user gave none (then
/// nothing is ever sent to that user).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Phone(String);

/// Argentina's country calling code.
const ARGENTINA: u16 = 54;

impl Phone {
    /// Longest input read: the longest E.164 number is 16 characters; the rest leaves room for
    /// spaces, dashes and parentheses.
    pub const MAX_INPUT: usize = 40;

    /// The "no number" value.
    pub fn none() -> Phone {
        Phone(String::new())
    }

    /// Reads a number as typed. `""` (or only spaces) is no number; anything that is not a
    /// valid phone number is refused.
    pub fn parse(raw: &str) -> Result<Phone, Rejected> {
        if raw.chars().count() > Self::MAX_INPUT || raw.chars().any(char::is_control) {
            return Err(Rejected::InvalidPhone);
        }
        let text = raw.trim();
        if text.is_empty() {
            return Ok(Phone::none());
        }
        // Letters are never part of a number we accept; libphonenumber would read vanity
        // numbers (`0800-PIZZA`) and ignore trailing words, which hides typos.
        if text.chars().any(char::is_alphabetic) {
            return Err(Rejected::InvalidPhone);
        }
        let number =
            phonenumber::parse(Some(country::AR), text).map_err(|_| Rejected::InvalidPhone)?;
        if number.extension().is_some() {
            return Err(Rejected::InvalidPhone);
        }
        let chosen = if number.code().value() == ARGENTINA {
            argentine(&number)
        } else {
            number.is_valid().then(|| e164(&number))
        };
        chosen.map(Phone).ok_or(Rejected::InvalidPhone)
    }

    /// Rebuilds a stored value (already normalised).
    pub fn from_stored(stored: String) -> Phone {
        Phone(stored)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_none(&self) -> bool {
        self.0.is_empty()
    }
}

fn e164(number: &PhoneNumber) -> String {
    number.format().mode(Mode::E164).to_string()
}

/// The mobile form of an Argentine number when there is one, else the number itself if valid.
fn argentine(number: &PhoneNumber) -> Option<String> {
    if number.is_valid() && number.number_type(&DATABASE) == Type::Mobile {
        return Some(e164(number));
    }
    let national = number.national().value().to_string();
    if !national.starts_with('9') {
        let mobile = phonenumber::parse(None, format!("+{ARGENTINA}9{national}")).ok();
        if let Some(mobile) =
            mobile.filter(|m| m.is_valid() && m.number_type(&DATABASE) == Type::Mobile)
        {
            return Some(e164(&mobile));
        }
    }
    number.is_valid().then(|| e164(number))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn normalised(raw: &str) -> String {
        Phone::parse(raw)
            .unwrap_or_else(|e| panic!("{raw:?}: {e}"))
            .as_str()
            .to_string()
    }

    #[test]
    fn argentine_forms_become_the_mobile_e164() {
        let cases = [
            ("11 5555-0000", "+5491155550000"),
            ("1155550000", "+5491155550000"),
            ("11 1555-5555", "+5491115555555"),
            ("+54 9 11 5555-0000", "+5491155550000"),
            ("+5491155550000", "+5491155550000"),
            ("5491155550000", "+5491155550000"),
            ("+54 11 5555-0000", "+5491155550000"),
            ("541155550000", "+5491155550000"),
            ("011 15 5555-0000", "+5491155550000"),
            ("011 15-5555-0000", "+5491155550000"),
            ("11 15 5555 0000", "+5491155550000"),
            ("(011) 15 5555-0000", "+5491155550000"),
            ("0351 15 555-1234", "+5493515551234"),
            ("351 555 1234", "+5493515551234"),
            ("  +54 9 11 5555 0000  ", "+5491155550000"),
        ];
        for (raw, expected) in cases {
            assert_eq!(normalised(raw), expected, "{raw:?}");
        }
    }

    #[test]
    fn foreign_numbers_in_international_form_are_kept() {
        assert_eq!(normalised("+1 650-253-0000"), "+16502530000");
        assert_eq!(normalised("+34 612 34 56 78"), "+34612345678");
    }

    #[test]
    fn empty_is_no_number() {
        for raw in ["", "   "] {
            let phone = Phone::parse(raw).unwrap();
            assert!(phone.is_none());
            assert_eq!(phone.as_str(), "");
        }
    }

    #[test]
    fn garbage_is_refused() {
        for raw in [
            "garbage",
            "abc123",
            "123",
            "+54",
            "11 5555-0000 ext. 12",
            "0800-PIZZA",
            "11 5555\n0000",
            "+999 1234 5678",
            &"1".repeat(41),
            "+54 9 11 5555 00000000",
        ] {
            assert_eq!(Phone::parse(raw), Err(Rejected::InvalidPhone), "{raw:?}");
        }
    }
}
