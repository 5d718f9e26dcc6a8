//! The original's summary tests (spec §9), ported to the new design (§10 Q10: one current
//! summary per venue over the newest opinions, instead of chained 14-day windows). Each test
//! names the original it comes from; the engine is the original's mock ([`Concat`]).

use serde_json::json;

use crate::common::*;

/// `test_summaries.test_summary_text_has_all_opinions`: 10 opinions of today, summarised
/// with the concatenating mock, give the opinion text ten times.
#[tokio::test]
async fn summary_text_has_all_opinions() {
    let s = with_engine(Concat::new()).await;
    for i in 0..10 {
        s.opinions
            .add("v1", "Opinion", s.now() - chrono::Duration::minutes(i));
    }
    assert_eq!(s.generated("v1").await["text"], "Opinion".repeat(10));
}

/// `test_summaries.test_summary_algorithm_generates_correct_query`: the query the generation
/// makes. It was `{venue, from_date=since, to_date=None, limit 10, start 0}` against Mongo; it is
/// now the opinions service's `GET /opinions?venue=<v>&limit=<SUMMARY_MAX_OPINIONS>&start=0`.
#[tokio::test]
async fn the_generation_asks_for_the_newest_opinions_of_the_venue() {
    let s = Service::start(Setup {
        engine: Some(Concat::new()),
        args: &["--summary-max-opinions", "20"],
    })
    .await;
    s.opinions.add("v1", "Opinion", s.now());
    s.generated("v1").await;
    let queries: Vec<String> = s.opinions.queries().into_iter().map(|q| q.0).collect();
    assert_eq!(queries, ["venue=v1&limit=20&start=0"]);
}

/// `test_summaries.test_summary_algorithm_generated_query_for_14_days` and
/// `…generates_a_summary_for_14_days_and_adds_it_to_the_new_one`: 20 opinions dated
/// now−0d … now−19d. The original summarised the first 14 days, then the rest with that
/// summary as context, ending with `"Opinion"×20`. Now every opinion is summarised at once
/// (older ones only weigh less), so the one summary has all 20, newest first.
#[tokio::test]
async fn opinions_older_than_14_days_are_summarised_too() {
    let s = with_engine(Concat::new()).await;
    for i in 0..20 {
        s.opinions
            .add("v1", &format!("Opinion{i} "), s.now() - days(i));
    }
    let text = s.generated("v1").await["text"]
        .as_str()
        .unwrap()
        .to_string();
    let expected: Vec<String> = (0..20).map(|i| format!("Opinion{i}")).collect();
    assert_eq!(text, expected.join(" "));
    assert_eq!(
        s.rows("summaries"),
        1,
        "one current summary, not one per window"
    );
}

/// `services/test_opinions.test_opinions_loop` (c): an opinion of now, a forced summary
/// (`create_venue_summary`), then the summary read back (`get_venue_summary`).
#[tokio::test]
async fn a_forced_summary_of_one_opinion_reads_back() {
    let s = with_engine(Concat::new()).await;
    s.opinions.add("SomeVenue", "This is an opinion", s.now());
    let forced = post(&s.app, "/summaries/SomeVenue", json!({})).await;
    assert_eq!(forced.status, 202);
    s.settle().await;
    let summary = s.summary("SomeVenue").await;
    assert_eq!(summary["text"], "This is an opinion");
    assert_eq!(summary["venue"], "SomeVenue");
}

/// The original kept opinions of one venue out of another's summary (the venue filter of
/// `test_opinions_from_different_restaurants_do_not_show_up_on_the_same_query`).
#[tokio::test]
async fn other_venues_opinions_stay_out() {
    let s = with_engine(Concat::new()).await;
    s.opinions.add("v1", "Mine", s.now());
    s.opinions.add("v2", "Theirs", s.now());
    assert_eq!(s.generated("v1").await["text"], "Mine");
}
