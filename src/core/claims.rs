//! Claims: a `pending` line with a `run_id` says a runner is running the
//! check. It holds until `reclaim_after` seconds after its `at`, or, when it
//! carries `expires_at`, until then (whichever comes first): a runner agent
//! claims with a short lease and renews it while the run lives, so a dead
//! runner's claim is taken over within minutes.

use super::results::{ResultRecord, ResultStatus};
use super::time::{UnixSeconds, format_rfc3339, parse_rfc3339};

/// The field of a claim line that bounds it.
pub const EXPIRES_AT: &str = "expires_at";

/// When `record`, a claim, stops holding (None: it is no claim, so it never
/// held: an unclaimed `pending` request, or a finished report).
pub fn claim_expiry(record: &ResultRecord, reclaim_after: i64) -> Option<UnixSeconds> {
    if record.status != ResultStatus::Pending || record.run_id.is_none() {
        return None;
    }
    // A claim whose time cannot be read holds for nobody.
    let Some(at) = record.at_seconds() else {
        return Some(UnixSeconds::MIN);
    };
    let cap = at.saturating_add(reclaim_after);
    let lease = record
        .extra
        .get(EXPIRES_AT)
        .and_then(|v| v.as_str())
        .and_then(parse_rfc3339);
    Some(lease.map_or(cap, |until| until.min(cap)))
}

/// True when `record` is a claim that still holds at `now`.
pub fn claim_holds(record: &ResultRecord, reclaim_after: i64, now: UnixSeconds) -> bool {
    claim_expiry(record, reclaim_after).is_some_and(|until| now < until)
}

/// Sets the claim's lease: it holds `lease` seconds from `now`.
pub fn set_lease(record: &mut ResultRecord, now: UnixSeconds, lease: i64) {
    let until = format_rfc3339(now.saturating_add(lease));
    record.extra.insert(EXPIRES_AT.into(), until.into());
}

/// True when a lease last renewed at `renewed` should be renewed at `now`:
/// once a third of it has passed, so two renewals can fail (a slow push)
/// before it lapses.
pub fn renewal_due(renewed: UnixSeconds, lease: i64, now: UnixSeconds) -> bool {
    now - renewed >= (lease / 3).max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claim(at: i64, expires: Option<i64>) -> ResultRecord {
        let mut r = ResultRecord::new("CI", ResultStatus::Pending, &format_rfc3339(at));
        r.run_id = Some("r1".into());
        if let Some(until) = expires {
            set_lease(&mut r, at, until - at);
        }
        r
    }

    #[test]
    fn a_claim_without_a_lease_holds_for_reclaim_after() {
        let c = claim(1_000, None);
        assert!(claim_holds(&c, 3600, 1_000 + 3599));
        assert!(!claim_holds(&c, 3600, 1_000 + 3600));
    }

    #[test]
    fn a_lease_ends_the_claim_sooner_but_never_later() {
        let c = claim(1_000, Some(1_120));
        assert!(claim_holds(&c, 3600, 1_119));
        assert!(!claim_holds(&c, 3600, 1_120));
        // A lease past reclaim_after is cut to it.
        let greedy = claim(1_000, Some(1_000 + 86_400));
        assert!(!claim_holds(&greedy, 3600, 1_000 + 3600));
    }

    #[test]
    fn requests_reports_and_bad_times_hold_nothing() {
        let mut request = claim(1_000, None);
        request.run_id = None;
        assert_eq!(claim_expiry(&request, 3600), None);
        let mut done = claim(1_000, None);
        done.status = ResultStatus::Success;
        assert!(!claim_holds(&done, 3600, 1_000));
        let mut garbled = claim(1_000, None);
        garbled.at = "yesterday".into();
        assert!(!claim_holds(&garbled, 3600, 0));
        let mut bad_lease = claim(1_000, None);
        bad_lease.extra.insert(EXPIRES_AT.into(), "soon".into());
        assert!(claim_holds(&bad_lease, 3600, 1_001));
    }

    #[test]
    fn renewal_comes_after_a_third_of_the_lease() {
        assert!(!renewal_due(100, 120, 139));
        assert!(renewal_due(100, 120, 140));
        assert!(renewal_due(100, 1, 101));
    }
}

/// The order in which a runner agent tries `shas` (already in priority
/// order, grouped by `rank`): within a rank, an order of its own, from
/// `seed` (one per agent), so that agents started at once do not all race
/// for the same first commit. Ranks keep their order (candidates, then the
/// base tip, then requests).
pub fn spread<T>(items: &mut [T], seed: u64, rank: impl Fn(&T) -> u8, sha: impl Fn(&T) -> &str) {
    items.sort_by_cached_key(|item| {
        let mixed = super::hash::fnv1a(sha(item).as_bytes()) ^ seed;
        (rank(item), super::hash::fnv1a(&mixed.to_le_bytes()))
    });
}

#[cfg(test)]
mod spread_tests {
    use super::spread;

    #[test]
    fn ranks_keep_their_order_and_agents_differ_within_one() {
        let items: Vec<(u8, String)> = (0..20)
            .map(|i| (u8::from(i >= 2), format!("{i:040x}")))
            .collect();
        let order = |seed| {
            let mut v = items.clone();
            spread(&mut v, seed, |i| i.0, |i| i.1.as_str());
            v
        };
        let (a, b) = (order(1), order(2));
        assert!(a[..2].iter().all(|i| i.0 == 0) && b[..2].iter().all(|i| i.0 == 0));
        assert_ne!(a, b, "two agents try the requests in different orders");
        assert_eq!(a, order(1), "one agent's order is stable");
        let mut sorted = a.clone();
        sorted.sort();
        let mut all = items.clone();
        all.sort();
        assert_eq!(sorted, all, "nothing is lost or repeated");
    }
}
