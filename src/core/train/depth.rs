//! How deep the train goes: a fixed `queue.speculation_depth`, or `"auto"`
//! within the CI budget `queue.max_parallel_ci`.
//!
//! Auto depth reads only the folded queue state, never the ledger's
//! history, so reading it does not grow with the ledger: while a failure is
//! being hunted (a failed single entry waiting for its retry, or a failed
//! batch whose culprit is not named yet) the window narrows to three
//! quarters of the budget, so fewer candidates are stacked while a culprit
//! may be about and the entries waiting meanwhile form fuller batches; once
//! the hunt ends it is the whole budget again. A multiplicative decrease on
//! evidence of a culprit and an immediate return to the budget (not an
//! additive climb): failures in a queue are independent, so the window
//! after one should not stay small for the many passes an additive
//! increase would take. Probes (the hunted entries, tested beside the
//! train) take their share of the budget first. `bench/train/RESULTS.md`
//! compares the windows tried.

use serde::{Deserialize, Serialize};

/// The smallest window auto depth uses.
pub const AUTO_FLOOR: usize = 2;

/// `queue.speculation_depth`: a number of candidates, or `"auto"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SpeculationDepth {
    /// At most this many candidates under test at once.
    Fixed(usize),
    /// Adapted within `queue.max_parallel_ci`.
    Auto,
}

impl Default for SpeculationDepth {
    fn default() -> Self {
        SpeculationDepth::Fixed(3)
    }
}

impl Serialize for SpeculationDepth {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            SpeculationDepth::Fixed(n) => s.serialize_u64(*n as u64),
            SpeculationDepth::Auto => s.serialize_str("auto"),
        }
    }
}

impl<'de> Deserialize<'de> for SpeculationDepth {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Raw {
            Number(u64),
            Word(String),
        }
        match Raw::deserialize(d)? {
            Raw::Number(n) => Ok(SpeculationDepth::Fixed(
                usize::try_from(n).unwrap_or(usize::MAX),
            )),
            Raw::Word(w) if w == "auto" => Ok(SpeculationDepth::Auto),
            Raw::Word(w) => Err(serde::de::Error::custom(format!(
                "expected a number of candidates or \"auto\", found \"{w}\""
            ))),
        }
    }
}

/// What the window is judged from: the folded queue state's hunt.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hunt {
    /// Failed single entries not yet retried or blocked (`Failures`).
    pub failed_entries: usize,
    /// Failed batches whose culprit is not named yet (`Suspects`).
    pub open_suspects: usize,
}

/// The hunt in the folded state: failure counts of entries still queued
/// (counts of entries that left are history, not a hunt) and suspect
/// groups with an entry left to clear.
pub fn hunt_of(
    entries: &[crate::core::queue::EntryView],
    failures: &super::Failures,
    cleared: &super::Failures,
    suspects: &super::Suspects,
) -> Hunt {
    let queued = |key: &str| {
        entries.iter().any(|e| {
            e.state == crate::core::queue::EntryState::Queued
                && super::failure_key(&e.branch, &e.head_sha) == key
        })
    };
    Hunt {
        failed_entries: failures
            .keys()
            .filter(|k| queued(k) && super::failed_uncleared(failures, cleared, k))
            .count(),
        open_suspects: suspects
            .values()
            .filter(|keys| keys.iter().any(|k| queued(k)))
            .count(),
    }
}

/// The depth of this pass: the fixed one, or auto's window within `budget`.
pub fn effective_depth(setting: SpeculationDepth, budget: usize, hunt: Hunt) -> usize {
    match setting {
        SpeculationDepth::Fixed(n) => n,
        SpeculationDepth::Auto => auto_window(budget, hunt),
    }
}

/// Auto's window: the budget, cut to three quarters (not below
/// [`AUTO_FLOOR`]) while a culprit is hunted.
pub fn auto_window(budget: usize, hunt: Hunt) -> usize {
    let budget = budget.max(1);
    if hunt.failed_entries + hunt.open_suspects > 0 {
        (budget * 3 / 4).max(AUTO_FLOOR).min(budget)
    } else {
        budget
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fixed_depth_is_what_it_says() {
        let hunt = Hunt {
            failed_entries: 3,
            open_suspects: 1,
        };
        assert_eq!(effective_depth(SpeculationDepth::Fixed(5), 8, hunt), 5);
    }

    #[test]
    fn auto_uses_the_budget_and_narrows_while_hunting() {
        let calm = Hunt::default();
        let hunting = Hunt {
            failed_entries: 0,
            open_suspects: 1,
        };
        assert_eq!(auto_window(8, calm), 8);
        assert_eq!(auto_window(8, hunting), 6);
        assert_eq!(auto_window(3, hunting), AUTO_FLOOR);
        assert_eq!(auto_window(1, hunting), 1, "never above the budget");
        assert_eq!(auto_window(0, calm), 1, "never zero");
    }

    #[test]
    fn the_setting_reads_a_number_or_auto() {
        #[derive(Deserialize)]
        struct Q {
            d: SpeculationDepth,
        }
        let q: Q = toml::from_str("d = 4").unwrap();
        assert_eq!(q.d, SpeculationDepth::Fixed(4));
        let q: Q = toml::from_str("d = \"auto\"").unwrap();
        assert_eq!(q.d, SpeculationDepth::Auto);
        assert!(toml::from_str::<Q>("d = \"deep\"").is_err());
        assert!(toml::from_str::<Q>("d = -1").is_err());
    }
}
