//! Values a store derives from its data (a sorted list of ids, a count), kept for exactly one
//! committed [`Version`] of the database: the first read after a commit computes them again.
//!
//! Small on purpose: one lock held only to look up or insert (never while computing), and a
//! bound on the total weight of what is kept — past it, everything is dropped and computed
//! again on demand, which is what a commit does anyway.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Mutex, PoisonError};

use super::Version;

/// Derived values by key, all of one [`Version`].
pub struct Derived<K, V> {
    state: Mutex<State<K, V>>,
    max_weight: usize,
}

struct State<K, V> {
    version: Option<Version>,
    /// Each value with its weight.
    entries: HashMap<K, (V, usize)>,
    weight: usize,
}

impl<K, V> std::fmt::Debug for Derived<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Derived")
            .field("max_weight", &self.max_weight)
            .finish_non_exhaustive()
    }
}

impl<K: Hash + Eq + Clone, V: Clone> Derived<K, V> {
    /// Keeps values whose weights (see [`Derived::get_or_compute`]) add up to `max_weight`.
    pub fn new(max_weight: usize) -> Self {
        Derived {
            state: Mutex::new(State {
                version: None,
                entries: HashMap::new(),
                weight: 0,
            }),
            max_weight,
        }
    }

    /// The value for `key` at `version`: kept if it was computed at that version, else
    /// `compute()`d (outside the lock) and kept for the next reader of the same version. An
    /// unknown version (`None`) computes and keeps nothing; a value computed at a version
    /// older than the kept ones is not kept either.
    pub fn get_or_compute<E>(
        &self,
        version: Option<Version>,
        key: &K,
        weight: impl FnOnce(&V) -> usize,
        compute: impl FnOnce() -> Result<V, E>,
    ) -> Result<V, E> {
        let Some(version) = version else {
            return compute();
        };
        if let Some(kept) = self.lock().kept(version, key) {
            return Ok(kept);
        }
        let value = compute()?;
        let weight = weight(&value);
        let mut state = self.lock();
        if state.version < Some(version) {
            state.version = Some(version);
            state.entries.clear();
            state.weight = 0;
        }
        if state.version == Some(version) && weight <= self.max_weight {
            if state.weight + weight > self.max_weight {
                state.entries.clear();
                state.weight = 0;
            }
            // Two readers may have computed the same value at once: count it once.
            if let Some((_, replaced)) = state.entries.insert(key.clone(), (value.clone(), weight))
            {
                state.weight -= replaced;
            }
            state.weight += weight;
        }
        Ok(value)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State<K, V>> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<K: Hash + Eq, V: Clone> State<K, V> {
    fn kept(&self, version: Version, key: &K) -> Option<V> {
        (self.version == Some(version))
            .then(|| self.entries.get(key).map(|(value, _)| value.clone()))
            .flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn computed(n: u32) -> impl FnOnce() -> Result<u32, ()> {
        move || Ok(n)
    }

    #[test]
    fn kept_for_one_version_only() {
        let derived = Derived::<&str, u32>::new(10);
        let weight = |_: &u32| 1;
        assert_eq!(
            derived.get_or_compute(Some(Version(2)), &"a", weight, computed(1)),
            Ok(1)
        );
        assert_eq!(
            derived.get_or_compute(Some(Version(2)), &"a", weight, computed(9)),
            Ok(1),
            "kept at the same version"
        );
        assert_eq!(
            derived.get_or_compute(Some(Version(4)), &"a", weight, computed(2)),
            Ok(2),
            "a newer version computes again"
        );
        assert_eq!(
            derived.get_or_compute(Some(Version(2)), &"a", weight, computed(7)),
            Ok(7),
            "an older reader computes its own"
        );
        assert_eq!(
            derived.get_or_compute(Some(Version(4)), &"a", weight, computed(9)),
            Ok(2),
            "and does not replace the newer one"
        );
        assert_eq!(
            derived.get_or_compute(None, &"a", weight, computed(5)),
            Ok(5)
        );
        assert_eq!(
            derived.get_or_compute(Some(Version(4)), &"a", weight, computed(9)),
            Ok(2),
            "an unknown version keeps nothing"
        );
    }

    #[test]
    fn bounded_by_weight() {
        let derived = Derived::<u32, u32>::new(10);
        let weight = |v: &u32| *v as usize;
        let v = Some(Version(0));
        derived.get_or_compute(v, &1, weight, computed(6)).unwrap();
        derived.get_or_compute(v, &2, weight, computed(3)).unwrap();
        assert_eq!(derived.get_or_compute(v, &1, weight, computed(0)), Ok(6));
        // 6 + 3 + 4 > 10: everything goes, the new value stays.
        derived.get_or_compute(v, &3, weight, computed(4)).unwrap();
        assert_eq!(derived.get_or_compute(v, &3, weight, computed(0)), Ok(4));
        assert_eq!(derived.get_or_compute(v, &2, weight, computed(5)), Ok(5));
        assert_eq!(derived.get_or_compute(v, &1, weight, computed(8)), Ok(8));
        // Heavier than the bound: answered, never kept.
        assert_eq!(derived.get_or_compute(v, &4, weight, computed(11)), Ok(11));
        assert_eq!(derived.get_or_compute(v, &4, weight, computed(1)), Ok(1));
        let failed: Result<u32, &str> = derived.get_or_compute(v, &5, |_| 1, || Err("no"));
        assert_eq!(failed, Err("no"));
    }
}
