//! The two fixed vocabularies a venue is tagged with. The clients ship the same lists
//! (`characteristics.json`, `features.json`) and compare them byte for byte, accents and case
//! included, so these must never be "normalised".

use serde::{Serialize, Serializer};

use super::Invalid;

/// The lists live in `chefcito::api` because the gateway's OpenAPI document publishes them too.
pub use chefcito::api::{CHARACTERISTICS, FEATURES};

/// Which vocabulary a tag belongs to; also the `kind` column of `venue_tags`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TagKind {
    Characteristic,
    Feature,
}

impl TagKind {
    pub fn as_str(self) -> &'static str {
        match self {
            TagKind::Characteristic => "characteristic",
            TagKind::Feature => "feature",
        }
    }

    fn words(self) -> &'static [&'static str] {
        match self {
            TagKind::Characteristic => &CHARACTERISTICS,
            TagKind::Feature => &FEATURES,
        }
    }

    /// The vocabulary's size: a venue cannot sensibly carry more tags of this kind.
    pub fn size(self) -> usize {
        self.words().len()
    }
}

/// A word of one of the vocabularies; holding one proves it is valid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Tag(&'static str);

impl Tag {
    /// Exact comparison: `"sushi"` or `"Sushi "` are not `"Sushi"`.
    pub fn parse(kind: TagKind, raw: &str) -> Result<Tag, Invalid> {
        kind.words()
            .iter()
            .find(|word| **word == raw)
            .map(|word| Tag(word))
            .ok_or_else(|| match kind {
                TagKind::Characteristic => Invalid::Characteristic(raw.to_string()),
                TagKind::Feature => Invalid::Feature(raw.to_string()),
            })
    }

    /// Parses a whole list, failing on its first unknown word.
    pub fn parse_all(kind: TagKind, raw: &[String]) -> Result<Vec<Tag>, Invalid> {
        raw.iter().map(|r| Tag::parse(kind, r)).collect()
    }

    pub fn as_str(self) -> &'static str {
        self.0
    }
}

impl Serialize for Tag {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vocabularies_are_the_originals() {
        assert_eq!(CHARACTERISTICS.len(), 31);
        assert_eq!(FEATURES.len(), 8);
        assert!(CHARACTERISTICS.contains(&"Sándwiches"));
        let mut sorted = CHARACTERISTICS;
        sorted.sort_unstable();
        assert_eq!(sorted, CHARACTERISTICS, "the original list is alphabetical");
    }

    #[test]
    fn tags_compare_exactly() {
        assert_eq!(
            Tag::parse(TagKind::Characteristic, "Sándwiches")
                .unwrap()
                .as_str(),
            "Sándwiches"
        );
        for bad in ["Sandwiches", "sushi", "Sushi ", "", "Wifi"] {
            assert_eq!(
                Tag::parse(TagKind::Characteristic, bad),
                Err(Invalid::Characteristic(bad.into())),
                "{bad:?}"
            );
        }
        assert!(Tag::parse(TagKind::Feature, "Aire libre").is_ok());
        assert_eq!(
            Tag::parse(TagKind::Feature, "Sushi")
                .unwrap_err()
                .to_string(),
            "Invalid feature: Sushi"
        );
    }
}
