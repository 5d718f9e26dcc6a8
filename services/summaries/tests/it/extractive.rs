//! The embedded extractive engine: deterministic, one Spanish paragraph, near-duplicates
//! dropped, recency mattering, nothing out of nothing.

use chrono::{DateTime, Utc};
use summaries::engine::extractive::{MAX_CHARS, MAX_SENTENCE_CHARS, MAX_SENTENCES};
use summaries::engine::{Extractive, Input, Opinion};

use crate::common::{days, start};

fn input(opinions: &[(&str, i64)]) -> Input {
    Input {
        venue: "v1".into(),
        now: start(),
        opinions: opinions
            .iter()
            .map(|(text, age_days)| Opinion {
                text: text.to_string(),
                date: start() - days(*age_days),
            })
            .collect(),
    }
}

fn at(now: DateTime<Utc>, mut input: Input) -> Input {
    input.now = now;
    input
}

fn summarize(input: &Input) -> String {
    Extractive::new().summarize_now(input).expect("a summary")
}

/// The sentences after the lead-in.
fn sentences(summary: &str) -> Vec<String> {
    let (_, rest) = summary.split_once(". ").expect("a lead-in");
    let mut out = Vec::new();
    let mut current = String::new();
    for c in rest.chars() {
        current.push(c);
        if matches!(c, '.' | '!' | '?' | '…') {
            out.push(current.trim().to_string());
            current.clear();
        }
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

const REVIEWS: &[(&str, i64)] = &[
    (
        "La comida es excelente y las porciones son abundantes. El mozo fue muy amable.",
        1,
    ),
    ("Excelente comida, volvería sin dudarlo!", 3),
    (
        "la atención fue lenta un sábado a la noche\nPero la comida excelente",
        5,
    ),
    ("Muy caro para lo que es. El postre no estaba bueno.", 8),
    ("Lindo lugar, la comida excelente y buena música.", 12),
];

#[test]
fn the_same_input_always_gives_the_same_text() {
    let first = summarize(&input(REVIEWS));
    for _ in 0..20 {
        assert_eq!(summarize(&input(REVIEWS)), first);
    }
    // The order in which opinions arrive does not matter (they are ordered by date).
    let mut reversed = REVIEWS.to_vec();
    reversed.reverse();
    assert_eq!(summarize(&input(&reversed)), first);
}

#[test]
fn the_summary_is_one_spanish_paragraph_of_what_most_diners_say() {
    let summary = summarize(&input(REVIEWS));
    assert!(summary.starts_with("Resumen de 5 opiniones. "), "{summary}");
    assert!(!summary.contains('\n'), "{summary}");
    let picked = sentences(&summary);
    assert!(
        !picked.is_empty() && picked.len() <= MAX_SENTENCES,
        "{picked:?}"
    );
    for sentence in &picked {
        assert!(
            sentence.chars().next().unwrap().is_uppercase() || sentence.starts_with('¡'),
            "{sentence}"
        );
        assert!(sentence.ends_with(['.', '!', '?', '…']), "{sentence}");
    }
    assert!(picked.iter().map(|s| s.chars().count() + 1).sum::<usize>() <= MAX_CHARS);
    // What most diners say (the food is excellent) comes first.
    let first = picked[0].to_lowercase();
    assert!(
        first.contains("comida") && first.contains("excelente"),
        "{summary}"
    );
    assert_eq!(
        summarize(&input(&[("muy rico todo", 0)])),
        "Resumen de una opinión. Muy rico todo."
    );
}

#[test]
fn near_duplicates_are_dropped() {
    let summary = summarize(&input(&[
        ("La comida es excelente.", 0),
        ("Excelente la comida!", 0),
        ("la comida... excelente", 1),
        ("Las comidas son excelentes.", 1),
        ("El servicio fue rápido y amable.", 2),
    ]));
    let picked = sentences(&summary);
    let about_food = picked
        .iter()
        .filter(|s| s.to_lowercase().contains("comida"))
        .count();
    assert_eq!(about_food, 1, "{summary}");
    assert!(
        summary.contains("El servicio fue rápido y amable."),
        "{summary}"
    );
}

#[test]
fn opposite_opinions_are_not_duplicates() {
    let summary = summarize(&input(&[
        ("La comida es buena.", 0),
        ("La comida no es buena.", 0),
    ]));
    assert!(summary.contains("La comida es buena."), "{summary}");
    assert!(summary.contains("La comida no es buena."), "{summary}");
}

#[test]
fn recent_opinions_weigh_more() {
    let old_theme = "El estacionamiento es complicado.";
    let new_theme = "La cocina mejoró muchísimo.";
    let opinions = [
        (old_theme, 200),
        ("Complicado el estacionamiento.", 201),
        ("El estacionamiento, muy complicado.", 202),
        ("Estacionamiento complicado siempre.", 203),
        (new_theme, 0),
        ("Muchísimo mejor la cocina.", 1),
    ];
    let recent = sentences(&summarize(&input(&opinions)));
    assert_eq!(recent[0], new_theme, "{recent:?}");
    // The same opinions all written on one day: the most repeated theme wins, so the order
    // above is recency's doing.
    let same_day: Vec<(&str, i64)> = opinions.iter().map(|(t, _)| (*t, 0)).collect();
    let flat = sentences(&summarize(&input(&same_day)));
    assert!(
        flat[0].to_lowercase().contains("estacionamiento"),
        "{flat:?}"
    );
    // And a year later the same opinions still give the same text (only `now` moved both).
    let later = start() + days(365);
    let moved: Vec<(&str, i64)> = opinions.iter().map(|(t, d)| (*t, d - 365)).collect();
    assert_eq!(
        summarize(&at(later, input(&moved))),
        summarize(&input(&opinions))
    );
}

#[test]
fn nothing_to_say_gives_no_summary() {
    let engine = Extractive::new();
    assert_eq!(engine.summarize_now(&input(&[])), None);
    assert_eq!(engine.summarize_now(&input(&[("  ", 0), ("\n", 1)])), None);
    assert_eq!(
        engine.summarize_now(&input(&[("y de la que", 0), ("... !!", 1), ("7", 2)])),
        None
    );
}

#[test]
fn a_rambling_opinion_is_cut_to_size() {
    let rambling = format!("la comida {}", "estaba rica y abundante y ".repeat(40));
    let summary = summarize(&input(&[(rambling.as_str(), 0)]));
    let picked = sentences(&summary);
    assert_eq!(picked.len(), 1);
    assert!(
        picked[0].chars().count() <= MAX_SENTENCE_CHARS,
        "{}",
        picked[0]
    );
    assert!(picked[0].ends_with('…'));
}
