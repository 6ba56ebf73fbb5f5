//! What the queue remembers of failed candidates: how often a single entry
//! failed alone (its retries), and which entries of a failed batch are still
//! suspected because the culprit has not been named yet. Pure bookkeeping,
//! applied by the queue fold and by anything that replays a train.
//!
//! A batch that failed is a *suspect group*. It is explained, and forgotten,
//! as soon as a narrower candidate holding one of its entries fails (the
//! culprit is there). Its entries leave it as they land; the one left last
//! is named by elimination (the batch failed, everything else in it passed
//! without it) and is tested alone, after the other entries.

use std::collections::BTreeMap;

use super::candidates::{Candidate, failure_key};

/// Failed single-entry candidates per [`failure_key`].
pub type Failures = BTreeMap<String, u32>;

/// Suspect groups: the failed batch's candidate id → the failure keys of
/// its entries that have not landed yet.
pub type Suspects = BTreeMap<String, Vec<String>>;

/// A candidate left the train without landing: its CI failed (`failed`), or
/// it was stale, whose entries go back in request order, unsuspected. The
/// one entry point the queue fold (and anything replaying a train) uses.
pub fn note_discarded(
    suspects: &mut Suspects,
    failures: &mut Failures,
    gone: &Candidate,
    failed: bool,
) {
    if failed {
        note_failed(suspects, failures, gone);
    } else {
        for e in &gone.entries {
            note_dropped(suspects, &failure_key(&e.branch, &e.head_sha));
        }
    }
}

/// A candidate was discarded because its CI failed.
pub fn note_failed(suspects: &mut Suspects, failures: &mut Failures, failed: &Candidate) {
    let keys: Vec<String> = failed
        .entries
        .iter()
        .map(|e| failure_key(&e.branch, &e.head_sha))
        .collect();
    // A narrower failure explains every group it overlaps.
    suspects.retain(|_, group| !group.iter().any(|k| keys.contains(k)));
    if let [key] = keys.as_slice() {
        *failures.entry(key.clone()).or_default() += 1;
    } else {
        suspects.insert(failed.candidate_id.clone(), keys);
    }
}

/// The entry `key` landed: it leaves every group. A group left with one
/// entry names it by elimination (the batch failed, the others passed
/// without it): that entry is tested alone, after the others, as a failed
/// single entry is retried; its own result then counts as any other.
pub fn note_landed(suspects: &mut Suspects, key: &str) {
    suspects.retain(|_, group| {
        group.retain(|k| k != key);
        !group.is_empty()
    });
}

/// A probe proved `key` innocent alone (it passed alone, or in a group that
/// passed): its suspicion is lifted and its failure count so far is marked
/// cleared, so it goes back into the train in request order. The count
/// itself stays: failing again in the train counts on toward the block, so
/// an entry that passes alone but fails with others cannot cycle forever.
pub fn note_cleared(
    suspects: &mut Suspects,
    failures: &Failures,
    cleared: &mut Failures,
    key: &str,
) {
    note_landed(suspects, key);
    let count = failures.get(key).copied().unwrap_or(0);
    cleared.insert(key.to_owned(), count);
}

/// True when `key` failed alone more often than a probe has cleared it.
pub fn failed_uncleared(failures: &Failures, cleared: &Failures, key: &str) -> bool {
    failures.get(key).copied().unwrap_or(0) > cleared.get(key).copied().unwrap_or(0)
}

/// The entry `key` left the queue (cancelled, blocked, requested again at
/// another head): the groups holding it lose their evidence.
pub fn note_dropped(suspects: &mut Suspects, key: &str) {
    suspects.retain(|_, group| !group.iter().any(|k| k == key));
}

/// The failed batch that holds `key` back for a test of its own: a group
/// holding it whose every other entry is under test (`under_test`), unless
/// one of its entries just failed again (`explained`: the culprit is there).
/// Otherwise the entry keeps its place in request order.
pub fn held_by<'a>(
    suspects: &'a Suspects,
    key: &str,
    under_test: impl Fn(&str) -> bool,
    explained: impl Fn(&str) -> bool,
) -> Option<&'a str> {
    suspects.iter().find_map(|(id, group)| {
        let holds = group.iter().any(|k| k == key)
            && !group.iter().any(|k| explained(k))
            && group.iter().all(|k| k == key || under_test(k));
        holds.then_some(id.as_str())
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::queue::candidates::CandidateEntry;

    fn candidate(id: &str, branches: &[&str]) -> Candidate {
        Candidate {
            candidate_id: id.into(),
            sha: "1".repeat(40),
            base_sha: "0".repeat(40),
            entries: branches
                .iter()
                .map(|b| CandidateEntry {
                    branch: (*b).into(),
                    head_sha: "7".repeat(40),
                    merge_sha: "1".repeat(40),
                })
                .collect(),
        }
    }

    fn key(branch: &str) -> String {
        failure_key(branch, &"7".repeat(40))
    }

    #[test]
    fn a_failed_batch_becomes_a_group_and_a_single_failure_counts_and_explains_it() {
        let (mut suspects, mut failures) = (Suspects::new(), Failures::new());
        note_failed(
            &mut suspects,
            &mut failures,
            &candidate("k", &["a", "b", "c"]),
        );
        assert_eq!(suspects["k"], [key("a"), key("b"), key("c")]);
        assert!(failures.is_empty(), "nobody is named by a batch");
        note_failed(&mut suspects, &mut failures, &candidate("p", &["b"]));
        assert!(suspects.is_empty(), "b failing alone explains the batch");
        assert_eq!(failures[&key("b")], 1);
    }

    #[test]
    fn a_narrower_failed_batch_replaces_the_wider_one() {
        let (mut suspects, mut failures) = (Suspects::new(), Failures::new());
        note_failed(
            &mut suspects,
            &mut failures,
            &candidate("k", &["a", "b", "c", "d"]),
        );
        note_failed(&mut suspects, &mut failures, &candidate("h", &["c", "d"]));
        assert_eq!(suspects.keys().collect::<Vec<_>>(), ["h"]);
        assert!(failures.is_empty());
    }

    #[test]
    fn the_last_entry_of_a_batch_is_named_by_elimination_and_counts_no_failure() {
        let (mut suspects, mut failures) = (Suspects::new(), Failures::new());
        note_failed(
            &mut suspects,
            &mut failures,
            &candidate("k", &["a", "b", "c"]),
        );
        note_landed(&mut suspects, &key("a"));
        assert_eq!(suspects["k"], [key("b"), key("c")]);
        note_landed(&mut suspects, &key("b"));
        assert_eq!(suspects["k"], [key("c")], "c is named: tested alone next");
        assert!(failures.is_empty(), "only its own test counts a failure");
        assert_eq!(
            held_by(&suspects, &key("c"), |_| false, |_| false),
            Some("k")
        );
        note_landed(&mut suspects, &key("c"));
        assert!(
            suspects.is_empty(),
            "it passed alone after all (a flaky batch)"
        );
    }

    #[test]
    fn an_entry_leaving_the_queue_takes_its_groups_evidence_with_it() {
        let (mut suspects, mut failures) = (Suspects::new(), Failures::new());
        note_failed(&mut suspects, &mut failures, &candidate("k", &["a", "b"]));
        note_dropped(&mut suspects, &key("b"));
        assert!(suspects.is_empty());
        note_landed(&mut suspects, &key("a"));
        assert!(
            suspects.is_empty() && failures.is_empty(),
            "nobody named without the evidence"
        );
    }

    #[test]
    fn an_entry_is_held_only_while_every_other_entry_of_its_batch_is_under_test() {
        let (mut suspects, mut failures) = (Suspects::new(), Failures::new());
        note_failed(
            &mut suspects,
            &mut failures,
            &candidate("k", &["a", "b", "c"]),
        );
        let testing = |k: &str| k == key("a") || k == key("b");
        assert_eq!(held_by(&suspects, &key("c"), testing, |_| false), Some("k"));
        assert_eq!(
            held_by(&suspects, &key("c"), |k| k == key("a"), |_| false),
            None,
            "b waits too: both keep their place in request order"
        );
        assert_eq!(
            held_by(&suspects, &key("c"), testing, |k| k == key("a")),
            None,
            "a failed again: the batch is explained"
        );
    }
}
