//! Sign-in throttling: online password guessing costs time.
//!
//! Failures are counted per account (the e-mail) and per client address (the gateway passes
//! the caller's address in `x-chefcito-client-ip`). Past a few free failures each key must wait
//! before its next try, doubling with every further failure up to a cap:
//!
//! | key | free failures | wait after that | cap |
//! |---|---|---|---|
//! | account | 5 | 1 s, 2 s, 4 s … | 60 s |
//! | address | 20 | 1 s, 2 s, 4 s … | 15 min |
//!
//! The account's cap is short on purpose: an attacker can make the real owner wait at most a
//! minute, never lock them out; the attacker's own address waits much longer. A success clears
//! the account's count (not the address's). Counts are forgotten after 15 idle minutes. A
//! refused try is answered before any hashing, for every e-mail alike, so it reveals nothing
//! about which accounts exist; tries that are let through keep the constant-time comparison.
//!
//! State is in memory: one users instance serves the cluster (a restart forgets the counts,
//! which only ever favours the real owner).

use std::collections::HashMap;
use std::sync::Mutex;

/// Counts kept at most; the oldest idle ones are dropped past this.
const MAX_KEYS: usize = 100_000;
/// A key idle this long starts over.
const FORGET_AFTER: i64 = 15 * 60;

#[derive(Debug, Clone, Copy)]
struct Rule {
    free: u32,
    cap: i64,
}

const ACCOUNT: Rule = Rule { free: 5, cap: 60 };
const ADDRESS: Rule = Rule {
    free: 20,
    cap: 15 * 60,
};

#[derive(Debug, Clone, Copy)]
struct Count {
    failures: u32,
    last: i64,
}

impl Count {
    /// When the next try is allowed.
    fn next_try(&self, rule: Rule) -> i64 {
        if self.failures <= rule.free {
            return self.last;
        }
        let exponent = (self.failures - rule.free - 1).min(30);
        self.last + (1i64 << exponent).min(rule.cap)
    }
}

/// Failure counts per account and per address.
#[derive(Debug, Default)]
pub struct Throttle {
    counts: Mutex<HashMap<String, Count>>,
}

fn account_key(email: &str) -> String {
    format!("a:{}", email.to_lowercase())
}

fn address_key(address: &str) -> String {
    format!("i:{address}")
}

impl Throttle {
    /// `Err(seconds)` when a sign-in for `email` from `address` must wait that long.
    pub fn check(&self, email: &str, address: Option<&str>, now: i64) -> Result<(), i64> {
        let counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        let mut wait = 0;
        let keys = [
            Some((account_key(email), ACCOUNT)),
            address.map(|a| (address_key(a), ADDRESS)),
        ];
        for (key, rule) in keys.into_iter().flatten() {
            if let Some(count) = counts.get(&key).filter(|c| now - c.last < FORGET_AFTER) {
                wait = wait.max(count.next_try(rule) - now);
            }
        }
        if wait > 0 { Err(wait) } else { Ok(()) }
    }

    /// Records a failed sign-in.
    pub fn failed(&self, email: &str, address: Option<&str>, now: i64) {
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() >= MAX_KEYS {
            counts.retain(|_, c| now - c.last < FORGET_AFTER);
        }
        let keys = [Some(account_key(email)), address.map(address_key)];
        for key in keys.into_iter().flatten() {
            let count = counts.entry(key).or_insert(Count {
                failures: 0,
                last: now,
            });
            if now - count.last >= FORGET_AFTER {
                count.failures = 0;
            }
            count.failures += 1;
            count.last = now;
        }
    }

    /// Records a successful sign-in: the account starts over.
    pub fn succeeded(&self, email: &str) {
        self.counts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&account_key(email));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn free_failures_then_doubling_waits_up_to_the_cap() {
        let t = Throttle::default();
        let now = 1_000;
        for _ in 0..5 {
            t.failed("a@x.com", None, now);
            assert!(t.check("a@x.com", None, now).is_ok());
        }
        t.failed("a@x.com", None, now);
        assert_eq!(t.check("a@x.com", None, now), Err(1));
        t.failed("a@x.com", None, now);
        assert_eq!(
            t.check("A@X.com", None, now),
            Err(2),
            "e-mails compare without case"
        );
        for _ in 0..20 {
            t.failed("a@x.com", None, now);
        }
        assert_eq!(
            t.check("a@x.com", None, now),
            Err(60),
            "the owner never waits long"
        );
        assert!(t.check("a@x.com", None, now + 60).is_ok());
        assert!(
            t.check("b@x.com", None, now).is_ok(),
            "other accounts are untouched"
        );
        t.succeeded("a@x.com");
        assert!(t.check("a@x.com", None, now).is_ok());
    }

    #[test]
    fn an_address_guessing_many_accounts_waits_longer() {
        let t = Throttle::default();
        for i in 0..40 {
            t.failed(&format!("u{i}@x.com"), Some("10.0.0.9"), 0);
        }
        let wait = t.check("fresh@x.com", Some("10.0.0.9"), 0).unwrap_err();
        assert_eq!(wait, 15 * 60);
        assert!(t.check("fresh@x.com", Some("10.0.0.10"), 0).is_ok());
        // Forgotten after a quiet quarter of an hour.
        assert!(
            t.check("fresh@x.com", Some("10.0.0.9"), FORGET_AFTER)
                .is_ok()
        );
    }
}
