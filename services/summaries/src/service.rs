//! The service's operations and rules: what a read answers, when a summary is (re)generated,
//! how generations of one venue are kept to one at a time, how engines fall back, and how
//! opinion events are counted. No HTTP, no SQL.
//!
//! ## When a venue's summary is generated
//!
//! A generation is *due* ([`Policy::due`]) when the venue has no summary, when its summary is
//! older than `stale_after`, or when `new_opinions` opinions were counted since it was made.
//! After an attempt that stored nothing (too few opinions, or the opinions service failing)
//! nothing is due for `cooldown`, unless an opinion arrives meanwhile. Reads and opinion events
//! check it; a due generation is started in the background and the caller never waits for it.
//!
//! ## One generation per venue
//!
//! `Flights` holds the venues being generated. A trigger for a venue in flight only raises
//! its "again" flag; when the generation ends, a raised flag makes it check the rules once more
//! (a new opinion may have arrived meanwhile) and go again only if something is still due. So
//! ten simultaneous triggers give one generation, and nothing counted is ever left behind.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use chefcito::db::{Db, DbError};
use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::engine::{self, Engine, Extractive, Input};
use crate::model::{
    self, Delivery, InvalidVenue, Malformed, Outcome, Placeholder, SummaryView, VenueId,
};
use crate::opinions::Opinions;
use crate::store::{self, Current, Summary, VenueState};

/// Why an operation failed.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    InvalidVenue(#[from] InvalidVenue),
    #[error(transparent)]
    Malformed(#[from] Malformed),
    #[error(transparent)]
    Store(#[from] DbError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// The time; a trait so that tests can move it.
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The real clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        Utc::now()
    }
}

/// The regeneration rules' parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// A summary older than this is regenerated.
    pub stale_after: chrono::Duration,
    /// This many opinions counted since the summary was made trigger a new one.
    pub new_opinions: i64,
    /// Fewer opinions than this make no summary (the "No hay un resumen" placeholder).
    pub min_opinions: usize,
    /// The newest this many opinions are summarised.
    pub max_opinions: u32,
    /// After an attempt: no automatic retry of a failure and no forced regeneration before
    /// this much time has passed.
    pub cooldown: chrono::Duration,
}

impl Policy {
    /// Whether a generation is due for a venue in this state.
    pub fn due(&self, current: &Current, now: DateTime<Utc>) -> bool {
        let state = &current.state;
        let unsuccessful = matches!(state.last_outcome, Some(Outcome::TooFew | Outcome::Failed));
        let opinions_since_attempt = state.new_opinions > state.seen_at_attempt;
        if unsuccessful && self.cooling_down(state, now) && !opinions_since_attempt {
            return false;
        }
        match &current.summary {
            None => true,
            Some(summary) => {
                now >= summary.generated_at + self.stale_after
                    || state.new_opinions >= self.new_opinions
            }
        }
    }

    /// Whether the last attempt started less than `cooldown` ago.
    pub fn cooling_down(&self, state: &VenueState, now: DateTime<Utc>) -> bool {
        state
            .last_attempt_at
            .is_some_and(|at| now < at + self.cooldown)
    }
}

/// What `POST /events` did with a delivery.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Consumed {
    /// An opinion was counted for its venue.
    Applied,
    /// This event id had been counted before; nothing changed.
    Duplicate,
    /// A topic this service does not use.
    Ignored,
}

/// What `POST /summaries/{venue}` did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forced {
    /// A regeneration was started, or joined the one running.
    Scheduled,
    /// The last attempt is too recent (see [`Policy::cooldown`]): nothing was started.
    TooSoon,
}

/// The venues being generated, each with its "triggered again meanwhile" flag.
#[derive(Debug, Default)]
struct Flights(Mutex<HashMap<VenueId, bool>>);

impl Flights {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<VenueId, bool>> {
        self.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// `true`: the caller runs the generation. `false`: one is running; it will look again.
    fn begin(&self, venue: &VenueId) -> bool {
        let mut flights = self.lock();
        match flights.get_mut(venue) {
            Some(again) => {
                *again = true;
                false
            }
            None => {
                flights.insert(venue.clone(), false);
                true
            }
        }
    }

    /// `true`: landed (removed). `false`: triggered meanwhile; the flag is lowered and the
    /// caller checks whether to go again. One lock for both, so no trigger falls in between.
    fn land(&self, venue: &VenueId) -> bool {
        let mut flights = self.lock();
        match flights.get_mut(venue) {
            Some(again) if *again => {
                *again = false;
                false
            }
            _ => {
                flights.remove(venue);
                true
            }
        }
    }

    fn remove(&self, venue: &VenueId) {
        self.lock().remove(venue);
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}

/// Takes a venue out of [`Flights`] if its task ends without landing (a panic), so that the
/// venue is never stuck "in flight".
struct Flight {
    summaries: Arc<Summaries>,
    venue: VenueId,
    landed: bool,
}

impl Drop for Flight {
    fn drop(&mut self) {
        if !self.landed {
            self.summaries.flights.remove(&self.venue);
        }
    }
}

/// The summaries service.
pub struct Summaries {
    db: Db,
    opinions: Opinions,
    engine: Arc<dyn Engine>,
    fallback: Extractive,
    clock: Arc<dyn Clock>,
    policy: Policy,
    flights: Flights,
}

impl std::fmt::Debug for Summaries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summaries")
            .field("db", &self.db)
            .field("engine", &self.engine.name())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl Summaries {
    pub fn new(
        db: Db,
        opinions: Opinions,
        engine: Arc<dyn Engine>,
        clock: Arc<dyn Clock>,
        policy: Policy,
    ) -> Summaries {
        Summaries {
            db,
            opinions,
            engine,
            fallback: Extractive::new(),
            clock,
            policy,
            flights: Flights::default(),
        }
    }

    pub fn db(&self) -> &Db {
        &self.db
    }

    /// How many venues are being generated right now (tests wait for 0).
    pub fn generating(&self) -> usize {
        self.flights.len()
    }

    /// `GET /summaries/{venue}`: the stored summary or a placeholder, never an error (H10).
    /// Starts a background generation when one is due.
    pub async fn read(self: &Arc<Self>, raw_venue: &str) -> SummaryView {
        let now = self.clock.now();
        let Ok(venue) = VenueId::parse(raw_venue) else {
            return Placeholder::Unavailable.view(raw_venue, now);
        };
        match store::current(&self.db, &venue).await {
            Ok(current) => {
                if self.policy.due(&current, now) {
                    self.launch(venue.clone());
                }
                view(&current, &venue, now)
            }
            Err(e) => {
                tracing::error!(venue = venue.as_str(), error = %e, "cannot read the summary; answering the placeholder");
                Placeholder::Unavailable.view(venue.as_str(), now)
            }
        }
    }

    /// `POST /summaries/{venue}`: starts a regeneration unless the last attempt is within the
    /// cooldown; answers the summary as it is now either way.
    pub async fn force(self: &Arc<Self>, raw_venue: &str) -> Result<(Forced, SummaryView)> {
        let venue = VenueId::parse(raw_venue)?;
        let now = self.clock.now();
        let current = store::current(&self.db, &venue).await?;
        let in_flight = self.flights.lock().contains_key(&venue);
        let forced = if in_flight || !self.policy.cooling_down(&current.state, now) {
            self.launch(venue.clone());
            Forced::Scheduled
        } else {
            Forced::TooSoon
        };
        Ok((forced, view(&current, &venue, now)))
    }

    /// `POST /events`: counts an `opinion.created` once per event id, then starts a generation
    /// if that made one due.
    pub async fn consume(self: &Arc<Self>, delivery: Delivery) -> Result<Consumed> {
        let (id, venue) = model::parse_event(&delivery)?;
        let Some(venue) = venue else {
            tracing::debug!(event = id.as_str(), topic = %delivery.topic, "event of a topic this service does not use");
            return Ok(Consumed::Ignored);
        };
        if !store::count_opinion(&self.db, &id, &venue).await? {
            tracing::debug!(event = id.as_str(), "event delivered again: nothing to do");
            return Ok(Consumed::Duplicate);
        }
        // The count is committed; a failure to check the rules now only delays the
        // generation until the next read or event.
        match self.is_due(&venue).await {
            Ok(true) => self.launch(venue),
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(venue = venue.as_str(), error = %e, "cannot check whether a summary is due")
            }
        }
        Ok(Consumed::Applied)
    }

    async fn is_due(&self, venue: &VenueId) -> Result<bool, DbError> {
        let current = store::current(&self.db, venue).await?;
        Ok(self.policy.due(&current, self.clock.now()))
    }

    /// Starts a generation of `venue` in the background, or joins the one running.
    fn launch(self: &Arc<Self>, venue: VenueId) {
        if !self.flights.begin(&venue) {
            return;
        }
        let this = self.clone();
        tokio::spawn(async move {
            let mut flight = Flight {
                summaries: this.clone(),
                venue: venue.clone(),
                landed: false,
            };
            'generate: loop {
                this.generate(&venue).await;
                loop {
                    if this.flights.land(&venue) {
                        flight.landed = true;
                        return;
                    }
                    match this.is_due(&venue).await {
                        Ok(true) => continue 'generate,
                        Ok(false) => {}
                        Err(e) => {
                            tracing::warn!(venue = venue.as_str(), error = %e, "cannot check whether a summary is due")
                        }
                    }
                }
            }
        });
    }

    /// One attempt: read the opinions, write the text, store it (or how the attempt ended).
    async fn generate(&self, venue: &VenueId) {
        let now = self.clock.now();
        let covered = match store::begin_attempt(&self.db, venue, now).await {
            Ok(covered) => covered,
            Err(e) => {
                tracing::error!(venue = venue.as_str(), error = %e, "cannot start a summary");
                return;
            }
        };
        let result = match self.attempt(venue, now).await {
            Ok(summary) => {
                tracing::info!(
                    venue = venue.as_str(),
                    engine = summary.engine,
                    opinions = summary.opinions,
                    "summary generated"
                );
                store::save(&self.db, venue, summary, covered).await
            }
            Err(outcome) => store::record_outcome(&self.db, venue, outcome).await,
        };
        if let Err(e) = result {
            tracing::error!(venue = venue.as_str(), error = %e, "cannot store the summary");
        }
    }

    async fn attempt(&self, venue: &VenueId, now: DateTime<Utc>) -> Result<Summary, Outcome> {
        let opinions = self
            .opinions
            .newest(venue, self.policy.max_opinions)
            .await
            .map_err(|e| {
                tracing::warn!(venue = venue.as_str(), status = %e.status, error = %e.description, "cannot read the opinions");
                Outcome::Failed
            })?;
        if opinions.is_empty() || opinions.len() < self.policy.min_opinions {
            tracing::debug!(
                venue = venue.as_str(),
                opinions = opinions.len(),
                "too few opinions for a summary"
            );
            return Err(Outcome::TooFew);
        }
        let window = opinions
            .iter()
            .map(|o| o.date)
            .min()
            .zip(opinions.iter().map(|o| o.date).max());
        let input = Input {
            venue: venue.as_str().to_string(),
            now,
            opinions,
        };
        let (text, engine) = self.write(&input).await.ok_or(Outcome::TooFew)?;
        Ok(Summary {
            text,
            generated_at: now,
            engine: engine.to_string(),
            opinions: input.opinions.len() as i64,
            window,
        })
    }

    /// The text of the configured engine or, when it fails or says nothing, of the extractive
    /// engine. `None` when neither has anything to say.
    async fn write(&self, input: &Input) -> Option<(String, &'static str)> {
        let name = self.engine.name();
        match self.engine.summarize(input).await {
            Ok(Some(text)) => match engine::tidy(&text) {
                Some(text) => return Some((text, name)),
                None => tracing::warn!(engine = name, "the engine gave a blank text"),
            },
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(engine = name, venue = %input.venue, error = %e, "the engine failed; falling back to the extractive engine")
            }
        }
        if name == self.fallback_name() {
            return None;
        }
        let text = self
            .fallback
            .summarize_now(input)
            .and_then(|t| engine::tidy(&t))?;
        Some((text, self.fallback_name()))
    }

    fn fallback_name(&self) -> &'static str {
        self.fallback.name()
    }
}

/// What a read shows: the stored summary, or the placeholder for how the last attempt ended.
fn view(current: &Current, venue: &VenueId, now: DateTime<Utc>) -> SummaryView {
    match &current.summary {
        Some(summary) => SummaryView {
            text: summary.text.clone(),
            date: summary.generated_at,
            venue: venue.as_str().to_string(),
        },
        None if current.state.last_outcome == Some(Outcome::TooFew) => {
            Placeholder::TooFewOpinions.view(venue.as_str(), now)
        }
        None => Placeholder::Unavailable.view(venue.as_str(), now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        chefcito::time::parse(text).unwrap()
    }

    fn policy() -> Policy {
        Policy {
            stale_after: chrono::Duration::days(7),
            new_opinions: 5,
            min_opinions: 1,
            max_opinions: 100,
            cooldown: chrono::Duration::minutes(5),
        }
    }

    fn summary(generated_at: &str) -> Option<Summary> {
        Some(Summary {
            text: "t".into(),
            generated_at: at(generated_at),
            engine: "extractive".into(),
            opinions: 1,
            window: None,
        })
    }

    #[test]
    fn a_venue_without_summary_is_due_unless_its_last_attempt_is_cooling_down() {
        let now = at("2025-06-10T12:00:00Z");
        assert!(policy().due(&Current::default(), now));
        let failed = Current {
            summary: None,
            state: VenueState {
                new_opinions: 2,
                last_attempt_at: Some(at("2025-06-10T11:58:00Z")),
                last_outcome: Some(Outcome::Failed),
                seen_at_attempt: 2,
            },
        };
        assert!(!policy().due(&failed, now));
        assert!(policy().due(&failed, at("2025-06-10T12:03:00Z")));
        let opinion_since = Current {
            state: VenueState {
                new_opinions: 3,
                ..failed.state
            },
            ..failed.clone()
        };
        assert!(policy().due(&opinion_since, now));
    }

    #[test]
    fn a_summary_is_due_when_stale_or_after_enough_new_opinions() {
        let now = at("2025-06-10T12:00:00Z");
        let fresh = Current {
            summary: summary("2025-06-05T12:00:00Z"),
            state: VenueState {
                new_opinions: 4,
                last_outcome: Some(Outcome::Generated),
                ..VenueState::default()
            },
        };
        assert!(!policy().due(&fresh, now));
        assert!(policy().due(&fresh, at("2025-06-12T12:00:00Z")));
        let busy = Current {
            state: VenueState {
                new_opinions: 5,
                ..fresh.state
            },
            ..fresh.clone()
        };
        assert!(policy().due(&busy, now));
    }

    #[test]
    fn flights_coalesce_and_land_once_quiet() {
        let flights = Flights::default();
        let venue = VenueId::parse("v").unwrap();
        assert!(flights.begin(&venue));
        assert!(!flights.begin(&venue));
        assert!(!flights.begin(&venue));
        assert!(!flights.land(&venue), "triggered meanwhile: look again");
        assert!(flights.land(&venue));
        assert_eq!(flights.len(), 0);
        assert!(flights.begin(&venue));
    }
}
