//! The embedded extractive engine: picks the few sentences of the opinions that best represent
//! what diners say, favouring recent ones, and prints them as one Spanish paragraph. Offline,
//! fast (milliseconds for a hundred opinions) and deterministic: the same input (opinions and
//! `now`) always gives the same text, byte for byte.
//!
//! ## Method
//!
//! 1. **Sentences.** Each opinion is split after `.`, `!`, `?` or `…` followed by a space (so
//!    `3.5` stays whole; an ellipsis before a lower-case word is a pause) and at line breaks.
//!    A sentence is tidied for display: spaces collapsed, list marks (`-`, `*`, `•`)
//!    dropped, first letter capitalised, a final `.` added when it has no end mark, and cut
//!    at [`MAX_SENTENCE_CHARS`] at a word.
//! 2. **Terms.** The sentence is lower-cased and split into words; Spanish stop words (the
//!    NLTK list of the `stop-words` crate — the ISO list would drop "bueno", "bien", "mal",
//!    "mejor", which is what reviews are about) are removed, except the negations
//!    [`NEGATIONS`], which change what a sentence says; one-letter words and numbers are
//!    dropped; the rest is reduced to its Snowball stem (`rust-stemmers`, Spanish), so that
//!    "excelente" and "excelentes" count as one term. A sentence without terms ("Ok.") is
//!    never picked.
//! 3. **Centrality.** Every sentence becomes a TF-IDF vector over the stems (sublinear term
//!    frequency `1 + ln tf`, smoothed `idf = ln((1 + N) / (1 + df)) + 1`, L2-normalised). The
//!    centroid is the sum of the vectors, each weighted by its opinion's recency; a
//!    sentence's centrality is its cosine to the centroid: what many recent diners say.
//! 4. **Recency.** An opinion's weight halves every [`HALF_LIFE_DAYS`] days of age
//!    (`0.5^(age / half-life)`, age measured from `now`; a future date counts as age 0).
//! 5. **Score** `= 0.75 · centrality + 0.25 · recency`.
//! 6. **Selection.** Sentences are taken by score (ties: the newer opinion, then the earlier
//!    sentence), skipping a near-duplicate of one already kept — Jaccard similarity of the
//!    two stem sets above [`DUPLICATE_JACCARD`], unless exactly one of them is negated ("la
//!    comida no es buena" is no duplicate of "la comida es buena") — and skipping one that
//!    would take the kept text over [`MAX_CHARS`], until [`MAX_SENTENCES`] are kept.
//! 7. **Paragraph.** `Resumen de N opiniones.` (or `Resumen de una opinión.`), then the kept
//!    sentences in that order, separated by spaces. `N` counts the opinions with text.
//!
//! Opinions are ordered by date, newest first (ties keep the input order) before all this, so
//! the order in which they arrive does not matter. All floating-point sums run in a fixed
//! order (ordered maps), so ties break the same way on every run.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::sync::OnceLock;

use rust_stemmers::{Algorithm, Stemmer};

use super::{Engine, Input, Summarizing, cut};

/// Most sentences in a summary.
pub const MAX_SENTENCES: usize = 3;
/// Most characters of the kept sentences together (the lead-in aside).
pub const MAX_CHARS: usize = 600;
/// A longer sentence (a review without full stops) is cut at a word.
pub const MAX_SENTENCE_CHARS: usize = 280;
/// An opinion this many days old weighs half as much as one written now.
pub const HALF_LIFE_DAYS: f64 = 30.0;
/// Two sentences whose stem sets have a Jaccard similarity above this say the same thing.
pub const DUPLICATE_JACCARD: f64 = 0.5;
/// Kept as terms although the stop-word list has some of them: they flip a sentence's meaning.
pub const NEGATIONS: &[&str] = &["no", "ni", "nunca", "tampoco", "nada", "nadie", "sin"];

const CENTRALITY_WEIGHT: f64 = 0.75;
const RECENCY_WEIGHT: f64 = 0.25;
const SECONDS_PER_DAY: f64 = 86_400.0;

/// Spanish stop words without the negations.
fn stop_words() -> &'static HashSet<&'static str> {
    static WORDS: OnceLock<HashSet<&'static str>> = OnceLock::new();
    WORDS.get_or_init(|| {
        stop_words::lookup("es")
            .unwrap_or(&[])
            .iter()
            .copied()
            .filter(|w| !NEGATIONS.contains(w))
            .collect()
    })
}

/// Whether `word` (lower case) is dropped as a Spanish stop word.
pub fn is_stop_word(word: &str) -> bool {
    stop_words().contains(word)
}

/// The extractive engine (see the module docs for the method).
pub struct Extractive {
    stemmer: Stemmer,
}

impl std::fmt::Debug for Extractive {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Extractive")
    }
}

impl Default for Extractive {
    fn default() -> Self {
        Extractive::new()
    }
}

impl Engine for Extractive {
    fn name(&self) -> &'static str {
        "extractive"
    }

    fn summarize<'a>(&'a self, input: &'a Input) -> Summarizing<'a> {
        Box::pin(async move { Ok(self.summarize_now(input)) })
    }
}

/// A candidate sentence.
struct Sentence {
    text: String,
    /// Stem → occurrences.
    terms: BTreeMap<String, u32>,
    negated: bool,
    recency: f64,
    /// (opinion rank, newest first; position in the opinion): the tie-break.
    order: (usize, usize),
}

impl Sentence {
    fn duplicates(&self, other: &Sentence) -> bool {
        if self.negated != other.negated {
            return false;
        }
        let a: BTreeSet<&String> = self.terms.keys().collect();
        let b: BTreeSet<&String> = other.terms.keys().collect();
        let union = a.union(&b).count();
        union > 0 && a.intersection(&b).count() as f64 / union as f64 > DUPLICATE_JACCARD
    }
}

impl Extractive {
    pub fn new() -> Extractive {
        Extractive {
            stemmer: Stemmer::create(Algorithm::Spanish),
        }
    }

    /// The summary of `input`, or `None` when no opinion has a sentence with content.
    pub fn summarize_now(&self, input: &Input) -> Option<String> {
        let mut opinions: Vec<_> = input
            .opinions
            .iter()
            .enumerate()
            .filter(|(_, o)| !o.text.trim().is_empty())
            .collect();
        opinions.sort_by(|(i, a), (j, b)| b.date.cmp(&a.date).then(i.cmp(j)));
        let mut sentences = Vec::new();
        for (rank, (_, opinion)) in opinions.iter().enumerate() {
            let age_days =
                ((input.now - opinion.date).num_seconds().max(0) as f64) / SECONDS_PER_DAY;
            let recency = 0.5_f64.powf(age_days / HALF_LIFE_DAYS);
            for (position, raw) in split_sentences(&opinion.text).into_iter().enumerate() {
                let Some(text) = tidy_sentence(raw) else {
                    continue;
                };
                let (terms, negated) = self.terms(&text);
                if terms.is_empty() {
                    continue;
                }
                sentences.push(Sentence {
                    text,
                    terms,
                    negated,
                    recency,
                    order: (rank, position),
                });
            }
        }
        if sentences.is_empty() {
            return None;
        }
        let scores = scores(&sentences);
        let mut ranked: Vec<usize> = (0..sentences.len()).collect();
        ranked.sort_by(|&a, &b| {
            scores[b]
                .total_cmp(&scores[a])
                .then(sentences[a].order.cmp(&sentences[b].order))
        });
        let mut kept: Vec<&Sentence> = Vec::new();
        let mut chars = 0;
        for index in ranked {
            if kept.len() == MAX_SENTENCES {
                break;
            }
            let sentence = &sentences[index];
            if kept.iter().any(|k| k.duplicates(sentence)) {
                continue;
            }
            let length = sentence.text.chars().count() + 1;
            if chars + length > MAX_CHARS {
                continue;
            }
            chars += length;
            kept.push(sentence);
        }
        let lead = match opinions.len() {
            1 => "Resumen de una opinión.".to_string(),
            n => format!("Resumen de {n} opiniones."),
        };
        let mut paragraph = lead;
        for sentence in kept {
            paragraph.push(' ');
            paragraph.push_str(&sentence.text);
        }
        Some(paragraph)
    }

    /// The stems of a sentence with their counts, and whether it has a negation.
    fn terms(&self, sentence: &str) -> (BTreeMap<String, u32>, bool) {
        let lower = sentence.to_lowercase();
        let mut terms = BTreeMap::new();
        let mut negated = false;
        for word in lower.split(|c: char| !c.is_alphanumeric()) {
            if word.chars().count() < 2 || word.chars().all(char::is_numeric) {
                continue;
            }
            if NEGATIONS.contains(&word) {
                negated = true;
            } else if is_stop_word(word) {
                continue;
            }
            *terms
                .entry(self.stemmer.stem(word).into_owned())
                .or_insert(0) += 1;
        }
        (terms, negated)
    }
}

/// Each sentence's score: centrality (cosine to the recency-weighted centroid of the TF-IDF
/// vectors) and recency, weighted.
fn scores(sentences: &[Sentence]) -> Vec<f64> {
    let n = sentences.len() as f64;
    let mut document_frequency: BTreeMap<&str, f64> = BTreeMap::new();
    for sentence in sentences {
        for term in sentence.terms.keys() {
            *document_frequency.entry(term.as_str()).or_insert(0.0) += 1.0;
        }
    }
    let vectors: Vec<BTreeMap<&str, f64>> = sentences
        .iter()
        .map(|sentence| {
            let mut vector: BTreeMap<&str, f64> = sentence
                .terms
                .iter()
                .map(|(term, &count)| {
                    let idf = ((1.0 + n) / (1.0 + document_frequency[term.as_str()])).ln() + 1.0;
                    (term.as_str(), (1.0 + f64::from(count).ln()) * idf)
                })
                .collect();
            let norm = vector.values().map(|w| w * w).sum::<f64>().sqrt();
            if norm > 0.0 {
                vector.values_mut().for_each(|w| *w /= norm);
            }
            vector
        })
        .collect();
    let mut centroid: BTreeMap<&str, f64> = BTreeMap::new();
    for (vector, sentence) in vectors.iter().zip(sentences) {
        for (term, weight) in vector {
            *centroid.entry(term).or_insert(0.0) += weight * sentence.recency;
        }
    }
    let centroid_norm = centroid.values().map(|w| w * w).sum::<f64>().sqrt();
    vectors
        .iter()
        .zip(sentences)
        .map(|(vector, sentence)| {
            let centrality = if centroid_norm > 0.0 {
                vector
                    .iter()
                    .map(|(term, weight)| weight * centroid.get(term).copied().unwrap_or(0.0))
                    .sum::<f64>()
                    / centroid_norm
            } else {
                0.0
            };
            CENTRALITY_WEIGHT * centrality + RECENCY_WEIGHT * sentence.recency
        })
        .collect()
}

const END_MARKS: [char; 4] = ['.', '!', '?', '…'];
const CLOSING_MARKS: [char; 5] = ['"', '»', ')', '”', '\''];

/// Splits after an end mark (and any closing marks) followed by whitespace or the end, and at
/// line breaks; an ellipsis followed by a lower-case word does not end the sentence.
fn split_sentences(text: &str) -> Vec<&str> {
    let mut sentences = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((index, c)) = chars.next() {
        if c == '\n' || c == '\r' {
            sentences.push(&text[start..index]);
            start = index + c.len_utf8();
            continue;
        }
        if !END_MARKS.contains(&c) {
            continue;
        }
        let mut end = index + c.len_utf8();
        let mut marks = String::from(c);
        while let Some(&(next_index, next)) = chars.peek() {
            if END_MARKS.contains(&next) || CLOSING_MARKS.contains(&next) {
                end = next_index + next.len_utf8();
                marks.push(next);
                chars.next();
            } else {
                break;
            }
        }
        if !chars.peek().is_none_or(|&(_, next)| next.is_whitespace()) {
            continue;
        }
        // "la comida... excelente": an ellipsis before a lower-case word is a pause.
        let ellipsis =
            (marks.contains('…') || marks.matches('.').count() > 1) && !marks.contains(['!', '?']);
        let next_word = text[end..].trim_start().chars().next();
        if ellipsis && next_word.is_some_and(char::is_lowercase) {
            continue;
        }
        sentences.push(&text[start..end]);
        start = end;
    }
    sentences.push(&text[start..]);
    sentences.retain(|s| !s.trim().is_empty());
    sentences
}

/// A raw sentence made presentable, or `None` when it has no letters or digits.
fn tidy_sentence(raw: &str) -> Option<String> {
    let collapsed = raw.split_whitespace().collect::<Vec<_>>().join(" ");
    let trimmed = collapsed
        .trim_start_matches(|c: char| c.is_whitespace() || "-*•·,;:.–—_~>".contains(c))
        .trim_end_matches(|c: char| c.is_whitespace() || ",;:-–—".contains(c));
    if !trimmed.chars().any(char::is_alphanumeric) {
        return None;
    }
    let mut text = capitalise(trimmed);
    let body = text.trim_end_matches(CLOSING_MARKS);
    if !body.ends_with(END_MARKS) {
        text.push('.');
    }
    Some(cut(&text, MAX_SENTENCE_CHARS))
}

/// Upper-cases the first letter when only opening marks (`¡`, `¿`, quotes) come before it.
fn capitalise(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut done = false;
    for c in text.chars() {
        if !done && c.is_alphabetic() {
            out.extend(c.to_uppercase());
            done = true;
        } else {
            if !done && !"¡¿\"«(“'".contains(c) {
                done = true;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_after_end_marks_and_at_line_breaks_but_not_inside_numbers() {
        assert_eq!(
            split_sentences("Muy rico. Pagamos 3.5 mil!! ¿Volvería? Sí…\nChau"),
            [
                "Muy rico.",
                " Pagamos 3.5 mil!!",
                " ¿Volvería?",
                " Sí…",
                "Chau"
            ]
        );
        assert_eq!(
            split_sentences("La comida... excelente. Sí… Todo rico… y barato"),
            ["La comida... excelente.", " Sí…", " Todo rico… y barato"]
        );
        assert_eq!(
            split_sentences("Dijo \"excelente.\" Y se fue"),
            ["Dijo \"excelente.\"", " Y se fue"]
        );
    }

    #[test]
    fn sentences_are_tidied_for_display() {
        assert_eq!(
            tidy_sentence("  - la   comida, ").as_deref(),
            Some("La comida.")
        );
        assert_eq!(tidy_sentence("¡excelente!").as_deref(), Some("¡Excelente!"));
        assert_eq!(
            tidy_sentence("«muy bueno»").as_deref(),
            Some("«Muy bueno».")
        );
        assert_eq!(tidy_sentence(" ... "), None);
        let long = tidy_sentence(&"palabra ".repeat(100)).unwrap();
        assert!(long.chars().count() <= MAX_SENTENCE_CHARS && long.ends_with('…'));
    }

    #[test]
    fn stop_words_keep_what_reviews_are_about() {
        for kept in [
            "bueno", "buena", "bien", "mal", "mejor", "peor", "no", "nunca", "sin",
        ] {
            assert!(!is_stop_word(kept), "{kept}");
        }
        for dropped in ["el", "la", "de", "que", "muy", "estaba", "fue"] {
            assert!(is_stop_word(dropped), "{dropped}");
        }
    }

    #[test]
    fn terms_are_stems_and_negations_mark_the_sentence() {
        let engine = Extractive::new();
        let (plural, negated) = engine.terms("Las comidas NO eran excelentes, 10 de 10");
        assert!(negated);
        assert_eq!(plural.len(), 3, "{plural:?}");
        assert!(plural.contains_key("no"));
        let (singular, negated) = engine.terms("La comida es excelente");
        assert!(!negated);
        assert_eq!(singular.len(), 2, "{singular:?}");
        assert!(
            singular.keys().all(|stem| plural.contains_key(stem)),
            "{singular:?} {plural:?}"
        );
    }
}
