//! When a long-running process (`coordinate`, `runner`) acts: on a change of
//! the remote's governed refs, at once when woken, after a failure only once
//! its back-off has passed, and on a slow sweep for what only time changes
//! (a claim's expiry, a CI failure's grace). Plain functions over durations.

use serde::Serialize;
use std::time::Duration;

/// The longest wait after repeated failures.
pub const MAX_BACKOFF: Duration = Duration::from_secs(300);

/// How often, at most, a coordinator's pass runs with nothing changed on the
/// remote: time alone moves a claim past its expiry or a failure past its
/// grace. A sweep reads the mirror as last fetched (no fetch: nothing changed).
pub const SWEEP: Duration = Duration::from_secs(30);

/// Why a pass runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Trigger {
    /// The first pass after starting.
    Start,
    /// The remote's governed refs changed since the last pass.
    Changed,
    /// A post-receive hook on this host said a push landed.
    Woken,
    /// The last pass failed and its back-off has passed.
    Retry,
    /// Nothing changed for a sweep interval ([`SWEEP`] for a coordinator):
    /// a pass for what time alone moves.
    Sweep,
}

impl Trigger {
    /// True when the pass must fetch first (the remote moved, or may have).
    pub fn fetches(self) -> bool {
        self != Trigger::Sweep
    }
}

/// What the watcher saw since the last pass.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Observation {
    /// The listing of governed refs differs from the one after the last pass.
    pub changed: bool,
    /// The wake file moved.
    pub woken: bool,
    /// Time since the last pass ended (None: none ran yet).
    pub since_last_pass: Option<Duration>,
    /// Failures in a row, up to now (0: the last pass succeeded).
    pub failures: u32,
}

/// The first wait after a failure.
pub const FIRST_BACKOFF: Duration = Duration::from_secs(1);

/// The wait after `failures` failures in a row: one second doubled per
/// failure, at most [`MAX_BACKOFF`]. Independent of the poll interval, so a
/// coordinator that relies on its wake file (a long poll) retries a failed
/// pass in seconds, not at its next poll.
pub fn backoff(failures: u32) -> Duration {
    if failures == 0 {
        return Duration::ZERO;
    }
    let factor = 1u32 << failures.saturating_sub(1).min(16);
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// Whether a pass runs now, and why. After a failure nothing runs until its
/// back-off passed (a change or a wake does not cut it short: a remote that
/// keeps failing must not be hammered); then the retry fetches.
pub fn decide(seen: Observation, sweep: Duration) -> Option<Trigger> {
    let Some(since) = seen.since_last_pass else {
        return Some(Trigger::Start);
    };
    if seen.failures > 0 {
        return (since >= backoff(seen.failures)).then_some(Trigger::Retry);
    }
    if seen.woken {
        Some(Trigger::Woken)
    } else if seen.changed {
        Some(Trigger::Changed)
    } else if since >= sweep {
        Some(Trigger::Sweep)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seen(changed: bool, woken: bool, since: u64, failures: u32) -> Observation {
        Observation {
            changed,
            woken,
            since_last_pass: Some(Duration::from_secs(since)),
            failures,
        }
    }

    #[test]
    fn the_first_pass_runs_at_once() {
        assert_eq!(decide(Observation::default(), SWEEP), Some(Trigger::Start));
    }

    #[test]
    fn nothing_runs_when_nothing_changed_until_the_sweep() {
        assert_eq!(decide(seen(false, false, 1, 0), SWEEP), None);
        assert_eq!(decide(seen(false, false, 29, 0), SWEEP), None);
        assert_eq!(
            decide(seen(false, false, 30, 0), SWEEP),
            Some(Trigger::Sweep)
        );
        assert!(!Trigger::Sweep.fetches());
    }

    #[test]
    fn a_change_or_a_wake_runs_a_fetching_pass() {
        assert_eq!(
            decide(seen(true, false, 0, 0), SWEEP),
            Some(Trigger::Changed)
        );
        assert_eq!(decide(seen(false, true, 0, 0), SWEEP), Some(Trigger::Woken));
        assert_eq!(decide(seen(true, true, 0, 0), SWEEP), Some(Trigger::Woken));
        assert!(Trigger::Changed.fetches() && Trigger::Woken.fetches());
    }

    #[test]
    fn failures_back_off_and_a_wake_does_not_cut_it_short() {
        assert_eq!(decide(seen(true, true, 0, 1), SWEEP), None);
        assert_eq!(
            decide(seen(false, false, 1, 1), SWEEP),
            Some(Trigger::Retry)
        );
        assert_eq!(decide(seen(true, true, 3, 3), SWEEP), None);
        assert_eq!(
            decide(seen(false, false, 4, 3), SWEEP),
            Some(Trigger::Retry)
        );
    }

    #[test]
    fn backoff_doubles_from_a_second_and_is_bounded() {
        assert_eq!(backoff(0), Duration::ZERO);
        let waits: Vec<u64> = (1..=5).map(|f| backoff(f).as_secs()).collect();
        assert_eq!(waits, [1, 2, 4, 8, 16]);
        assert_eq!(backoff(40), MAX_BACKOFF);
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }
}
