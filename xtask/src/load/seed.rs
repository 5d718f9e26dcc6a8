//! Demo data through the public API: restaurants with venues spread over Buenos Aires, diners,
//! and reservations spread over the venues and the next weeks.
//!
//! Everything goes through the gateway, as the apps would do it (sign-up, `POST /users`,
//! `POST /venues`, `POST /reservations`): seeding is also an end-to-end check of the write
//! paths. Random choices come from a seeded generator, so two runs with the same `--seed`
//! ask for the same venues and bookings (the ids differ: they are the accounts' uids).

use std::sync::atomic::{AtomicU64, Ordering};

use anyhow::{Context, Result};
use chrono::{DurationRound, TimeDelta, Utc};
use futures_util::{StreamExt, TryStreamExt};
use indicatif::ProgressBar;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

use super::gateway::{Account, Gateway};

/// The password of every seeded account (they are demo data).
pub const PASSWORD: &str = "seeded demo password";
/// Sign-ups at once: argon2id is slow on purpose and the users service runs one per core.
const SIGN_UPS_AT_ONCE: usize = 4;
/// Other calls at once.
const CALLS_AT_ONCE: usize = 32;

/// Reservations per import call (the service's maximum) and import calls in flight.
const IMPORT_BATCH: usize = 1000;
const IMPORTS_AT_ONCE: usize = 2;
/// Central Buenos Aires, as (south, north) latitudes and (west, east) longitudes.
const LATITUDES: (f64, f64) = (-34.70, -34.54);
const LONGITUDES: (f64, f64) = (-58.52, -58.36);
/// Bookings fall within this many days from tomorrow.
const BOOKING_DAYS: i64 = 28;

/// How much to seed.
#[derive(Debug, Clone)]
pub struct Plan {
    pub venues: usize,
    pub reservations: usize,
    /// Seed of the random choices.
    pub seed: u64,
    /// Makes the e-mails of this run unique (several runs against one cluster add up).
    pub run_id: String,
}

impl Plan {
    pub fn new(venues: usize, reservations: usize, seed: u64) -> Plan {
        Plan {
            venues,
            reservations,
            seed,
            run_id: format!("{}-{}", std::process::id(), Utc::now().timestamp_millis()),
        }
    }

    /// One diner per 100 bookings (at least one, at most 500): enough distinct callers.
    pub fn diners(&self) -> usize {
        (self.reservations / 100).clamp(1, 500)
    }
}

/// What was seeded: the accounts with their tokens, for benchmarks and for trying things.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Seeded {
    pub gateway: String,
    /// One venue each; the venue's id is the restaurant's uid.
    pub restaurants: Vec<Account>,
    pub diners: Vec<Account>,
    /// Bookings made and bookings a full seating window refused.
    pub reservations: u64,
    pub refused: u64,
    /// Venues added in bulk by [`scale`], without an owner account.
    #[serde(default)]
    pub bulk_venues: Vec<String>,
}

impl Seeded {
    /// Every venue id: the restaurants' and the bulk ones.
    pub fn venue_ids(&self) -> Vec<&str> {
        self.restaurants
            .iter()
            .map(|r| r.uid.as_str())
            .chain(self.bulk_venues.iter().map(String::as_str))
            .collect()
    }
}

/// Where [`scale`] writes: the venues and reservations services themselves, with the
/// internal token (the public API would need an argon2id sign-up per venue: 100,000 of them
/// take most of an hour on two cores).
#[derive(Debug, Clone)]
pub struct Internal {
    pub venues: Gateway,
    pub reservations: Gateway,
}

/// Adds `venues` venues and `reservations` bookings (by the seeded diners, over every venue)
/// in bulk, for `cargo xtask bench --scale`.
pub async fn scale(
    internal: &Internal,
    seeded: &mut Seeded,
    venues: usize,
    reservations: usize,
    seed: u64,
    bar: &ProgressBar,
) -> Result<()> {
    let mut rng = StdRng::seed_from_u64(seed ^ 0x5ca1e);
    let first = seeded.bulk_venues.len();
    let bodies: Vec<(String, Value)> = (first..first + venues)
        .map(|n| {
            let id = format!("bulk-venue-{n:07}");
            let mut body = venue(&mut rng, n);
            body["id"] = json!(id);
            (id, body)
        })
        .collect();
    stage(bar, "bulk venues (internal API)", venues);
    futures_util::stream::iter(&bodies)
        .map(|(id, body)| async move {
            internal
                .venues
                .send("POST", "/venues", None, body)
                .await
                .with_context(|| format!("creating venue {id}"))?;
            bar.inc(1);
            Ok::<_, anyhow::Error>(())
        })
        .buffer_unordered(CALLS_AT_ONCE)
        .try_collect::<()>()
        .await?;
    seeded
        .bulk_venues
        .extend(bodies.into_iter().map(|(id, _)| id));

    let all: Vec<String> = seeded.venue_ids().into_iter().map(String::from).collect();
    let users: Vec<String> = seeded
        .diners
        .iter()
        .map(|d| format!("user/{}", d.uid))
        .collect();
    if all.is_empty() || users.is_empty() {
        return Ok(());
    }
    stage(bar, "bulk reservations (internal import)", reservations);
    // Imported, not booked: a booking leaves three outbox deliveries behind (stats, points,
    // communications), and a million of them keep two cores busy for half an hour. Ids
    // follow the count, so that a run cut short and repeated skips what is already there.
    let first = seeded.reservations as usize;
    // Generated as they are sent: a million bodies need not sit in memory at once.
    let batches = (first..first + reservations)
        .step_by(IMPORT_BATCH)
        .map(|from| {
            (from..(from + IMPORT_BATCH).min(first + reservations))
                .map(|n| {
                    json!({
                        "id": format!("bulk-reservation-{n:08}"),
                        "user": users[rng.gen_range(0..users.len())],
                        "venue": all[rng.gen_range(0..all.len())],
                        "time": booking_time(&mut rng),
                        "people": rng.gen_range(1..=6),
                    })
                })
                .collect::<Vec<_>>()
        });
    let booked = AtomicU64::new(0);
    futures_util::stream::iter(batches)
        .map(|batch| {
            let booked = &booked;
            async move {
                let size = batch.len() as u64;
                let answer = internal
                    .reservations
                    .send(
                        "POST",
                        "/import/reservations",
                        None,
                        &json!({ "reservations": batch }),
                    )
                    .await
                    .context("importing reservations in bulk")?;
                booked.fetch_add(answer["imported"].as_u64().unwrap_or(0), Ordering::Relaxed);
                bar.inc(size);
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(IMPORTS_AT_ONCE)
        .try_collect::<()>()
        .await?;
    seeded.reservations += booked.into_inner();
    Ok(())
}

/// One venue's body for `POST /venues`.
pub fn venue(rng: &mut impl Rng, n: usize) -> Value {
    let lat = rng.gen_range(LATITUDES.0..LATITUDES.1);
    let lon = rng.gen_range(LONGITUDES.0..LONGITUDES.1);
    let (n_characteristics, n_features) = (rng.gen_range(1..=4), rng.gen_range(0..=2));
    let characteristics: Vec<&str> = chefcito::api::CHARACTERISTICS
        .choose_multiple(rng, n_characteristics)
        .copied()
        .collect();
    let features: Vec<&str> = chefcito::api::FEATURES
        .choose_multiple(rng, n_features)
        .copied()
        .collect();
    json!({
        "name": format!("Demo venue {n}"),
        "location": format!("{lat:.6},{lon:.6}"),
        "capacity": rng.gen_range(40..=200),
        "characteristics": characteristics,
        "features": features,
        "menu": "Empanadas, milanesa, flan",
    })
}

/// A booking's time: tomorrow or later, on a quarter hour, within [`BOOKING_DAYS`].
pub fn booking_time(rng: &mut impl Rng) -> String {
    let start = Utc::now()
        .duration_trunc(TimeDelta::minutes(15))
        .unwrap_or_else(|_| Utc::now())
        + TimeDelta::days(1);
    let at = start + TimeDelta::minutes(15 * rng.gen_range(0..BOOKING_DAYS * 24 * 4));
    at.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Seeds `plan` through `gateway`; `bar` shows the progress of each stage.
pub async fn seed(gateway: &Gateway, plan: &Plan, bar: &ProgressBar) -> Result<Seeded> {
    gateway.check_health().await?;
    let mut rng = StdRng::seed_from_u64(plan.seed);
    let venues: Vec<Value> = (0..plan.venues).map(|n| venue(&mut rng, n)).collect();

    let restaurants = accounts(gateway, plan, "restaurant", plan.venues, bar).await?;
    stage(bar, "venues", plan.venues);
    let done = AtomicU64::new(0);
    futures_util::stream::iter(restaurants.iter().zip(&venues))
        .map(|(owner, body)| {
            let done = &done;
            async move {
                gateway
                    .send("POST", "/venues", Some(&owner.token), body)
                    .await
                    .with_context(|| format!("creating the venue of {}", owner.email))?;
                bar.set_position(done.fetch_add(1, Ordering::Relaxed) + 1);
                Ok::<_, anyhow::Error>(())
            }
        })
        .buffer_unordered(CALLS_AT_ONCE)
        .try_collect::<()>()
        .await?;

    let diners = accounts(gateway, plan, "client", plan.diners(), bar).await?;
    let bookings: Vec<(usize, Value)> = (0..plan.reservations)
        .map(|n| {
            let venue = rng.gen_range(0..restaurants.len().max(1));
            let body = json!({
                "venue": restaurants.get(venue).map(|r| r.uid.as_str()).unwrap_or(""),
                "time": booking_time(&mut rng),
                "people": rng.gen_range(1..=6),
            });
            (n % diners.len().max(1), body)
        })
        .collect();
    stage(bar, "reservations", plan.reservations);
    let (booked, refused) = (AtomicU64::new(0), AtomicU64::new(0));
    if !restaurants.is_empty() {
        futures_util::stream::iter(&bookings)
            .map(|(diner, body)| {
                let (booked, refused) = (&booked, &refused);
                let diner = &diners[*diner];
                async move {
                    match gateway
                        .send("POST", "/reservations", Some(&diner.token), body)
                        .await
                    {
                        Ok(_) => booked.fetch_add(1, Ordering::Relaxed),
                        // A full seating window: a normal answer, counted.
                        Err(e) if e.to_string().contains("answered 400") => {
                            refused.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(e) => return Err(e.context(format!("booking for {}", diner.email))),
                    };
                    bar.inc(1);
                    Ok(())
                }
            })
            .buffer_unordered(CALLS_AT_ONCE)
            .try_collect::<()>()
            .await?;
    }
    Ok(Seeded {
        gateway: gateway.base().to_string(),
        restaurants,
        diners,
        reservations: booked.into_inner(),
        refused: refused.into_inner(),
        bulk_venues: Vec::new(),
    })
}

/// Points `bar` at a new stage of `total` steps.
fn stage(bar: &ProgressBar, name: &str, total: usize) {
    bar.set_length(total as u64);
    bar.set_position(0);
    bar.set_message(name.to_string());
}

/// Signs up and registers `count` accounts of `user_type`.
async fn accounts(
    gateway: &Gateway,
    plan: &Plan,
    user_type: &str,
    count: usize,
    bar: &ProgressBar,
) -> Result<Vec<Account>> {
    stage(bar, &format!("{user_type} accounts (argon2id)"), count);
    futures_util::stream::iter(0..count)
        .map(|i| async move {
            let email = format!("seed-{}-{user_type}-{i}@example.com", plan.run_id);
            let name = format!("Demo {user_type} {i}");
            let account = gateway.account(&email, PASSWORD, user_type, &name).await?;
            bar.inc(1);
            Ok::<_, anyhow::Error>(account)
        })
        .buffered(SIGN_UPS_AT_ONCE)
        .try_collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn venues_are_valid_and_in_buenos_aires() {
        let mut rng = StdRng::seed_from_u64(7);
        for n in 0..200 {
            let v = venue(&mut rng, n);
            let location = v["location"].as_str().unwrap();
            let (lat, lon) = location.split_once(',').unwrap();
            let (lat, lon): (f64, f64) = (lat.parse().unwrap(), lon.parse().unwrap());
            assert!((LATITUDES.0..LATITUDES.1).contains(&lat), "{location}");
            assert!((LONGITUDES.0..LONGITUDES.1).contains(&lon), "{location}");
            let tags = v["characteristics"].as_array().unwrap();
            assert!((1..=4).contains(&tags.len()));
            for t in tags {
                assert!(chefcito::api::CHARACTERISTICS.contains(&t.as_str().unwrap()));
            }
            for f in v["features"].as_array().unwrap() {
                assert!(chefcito::api::FEATURES.contains(&f.as_str().unwrap()));
            }
        }
    }

    #[test]
    fn the_same_seed_asks_for_the_same_venues() {
        let a: Vec<Value> = (0..5)
            .map(|n| venue(&mut StdRng::seed_from_u64(n), 0))
            .collect();
        let b: Vec<Value> = (0..5)
            .map(|n| venue(&mut StdRng::seed_from_u64(n), 0))
            .collect();
        assert_eq!(a, b);
        assert_ne!(a[0], a[1]);
    }

    #[test]
    fn bookings_are_in_the_future_on_quarter_hours() {
        let mut rng = StdRng::seed_from_u64(1);
        let now = Utc::now();
        for _ in 0..500 {
            let t = booking_time(&mut rng);
            let at = chrono::DateTime::parse_from_rfc3339(&t).unwrap();
            assert!(at > now + TimeDelta::hours(23), "{t}");
            assert!(at < now + TimeDelta::days(BOOKING_DAYS + 2), "{t}");
            assert_eq!(at.timestamp() % 900, 0, "{t}");
        }
    }

    #[test]
    fn diners_follow_the_bookings() {
        assert_eq!(Plan::new(10, 0, 1).diners(), 1);
        assert_eq!(Plan::new(10, 10_000, 1).diners(), 100);
        assert_eq!(Plan::new(10, 1_000_000, 1).diners(), 500);
    }
}
