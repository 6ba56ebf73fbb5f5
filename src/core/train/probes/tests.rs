//! Probes beside the train: a failed batch's entries are probed alone on the
//! base, not stacked; a passed probe clears its entries; a failed single
//! probe retries once, then blocks; the train and its probes stay within
//! the budget.

use super::super::*;
use crate::core::queue::{EntryState, EntryView};
use std::collections::BTreeMap;

fn sha(n: usize) -> String {
    format!("{n:040x}")
}

fn queued(names: &[&str]) -> Vec<EntryView> {
    names
        .iter()
        .map(|b| EntryView {
            branch: (*b).into(),
            head_sha: sha(1000 + b.len()),
            state: EntryState::Queued,
            why: String::new(),
        })
        .collect()
}

fn candidate(
    id: &str,
    tip: usize,
    base: usize,
    entries: &[EntryView],
    names: &[&str],
) -> Candidate {
    Candidate {
        candidate_id: id.into(),
        sha: sha(tip),
        base_sha: sha(base),
        entries: names
            .iter()
            .map(|n| {
                let e = entries.iter().find(|e| e.branch == *n).unwrap();
                CandidateEntry {
                    branch: e.branch.clone(),
                    head_sha: e.head_sha.clone(),
                    merge_sha: sha(tip),
                }
            })
            .collect(),
    }
}

fn failed() -> CandidateCi {
    CandidateCi::Failed {
        check: "CI".into(),
        url: None,
    }
}

struct World {
    entries: Vec<EntryView>,
    train: Vec<(Candidate, CandidateCi)>,
    probes: Vec<(Candidate, CandidateCi)>,
    failures: Failures,
    suspects: Suspects,
    cleared: Failures,
}

impl World {
    /// `entries` queued, nothing under test, no failure history.
    fn of(entries: Vec<EntryView>) -> World {
        World {
            entries,
            train: Vec::new(),
            probes: Vec::new(),
            failures: Failures::new(),
            suspects: Suspects::new(),
            cleared: Failures::new(),
        }
    }

    fn plan(&self, depth: usize, budget: usize) -> TrainPlan {
        plan_train(&TrainInputs {
            base_sha: Box::leak(sha(1).into_boxed_str()),
            entries: &self.entries,
            candidates: &self.train,
            failures: &self.failures,
            suspects: &self.suspects,
            cleared: &self.cleared,
            may_land: true,
            may_build: true,
            only: None,
            max_batch: 3,
            depth,
            auto_budget: None,
            max_retries: 1,
            probes: &self.probes,
            probe_budget: budget,
        })
    }
}

fn names(groups: &[Vec<String>]) -> Vec<Vec<&str>> {
    groups
        .iter()
        .map(|g| g.iter().map(String::as_str).collect())
        .collect()
}

#[test]
fn a_failed_batch_is_probed_entry_by_entry_beside_a_train_that_goes_on() {
    let entries = queued(&["a", "bb", "ccc", "dddd", "eeeee"]);
    let batch = candidate("c1", 10, 1, &entries, &["a", "bb", "ccc"]);
    let w = World {
        train: vec![(batch, failed())],
        ..World::of(entries)
    };
    let plan = w.plan(4, 8);
    assert_eq!(plan.discard.len(), 1);
    assert!(plan.discard[0].failed);
    assert_eq!(names(&plan.probe), [vec!["a"], vec!["bb"], vec!["ccc"]]);
    let stacked: Vec<&str> = names(&plan.build).concat();
    assert!(
        stacked.iter().all(|b| ["dddd", "eeeee"].contains(b)),
        "only the untouched entries go into the train: {stacked:?}"
    );
    assert_eq!(stacked.len(), 2, "and they do, at once");
}

#[test]
fn a_passed_probe_clears_its_entry_which_rejoins_the_train() {
    let entries = queued(&["a", "bb"]);
    let key = failure_key("a", &entries[0].head_sha);
    let probe = candidate("p1", 20, 1, &entries, &["a"]);
    let mut w = World {
        probes: vec![(probe, CandidateCi::Passed)],
        failures: BTreeMap::from([(key.clone(), 1)]),
        ..World::of(entries)
    };
    let plan = w.plan(4, 8);
    assert_eq!(plan.cleared, std::slice::from_ref(&key));
    assert!(plan.discard.iter().all(|d| !d.failed));
    assert!(plan.probe.is_empty(), "nothing to probe again");
    // Once cleared (what the fold does with the plan), it is built in request order.
    note_cleared(&mut w.suspects, &w.failures, &mut w.cleared, &key);
    w.probes.clear();
    let again = w.plan(4, 8);
    assert_eq!(names(&again.build).concat(), ["a", "bb"]);
}

#[test]
fn a_failed_single_probe_retries_once_then_blocks() {
    let entries = queued(&["a"]);
    let key = failure_key("a", &entries[0].head_sha);
    let probe = candidate("p1", 20, 1, &entries, &["a"]);
    let first = World {
        probes: vec![(probe.clone(), failed())],
        ..World::of(entries.clone())
    };
    let plan = first.plan(4, 8);
    assert!(plan.block.is_empty());
    assert_eq!(names(&plan.probe), [vec!["a"]], "probed again");
    let second = World {
        failures: BTreeMap::from([(key, 1)]),
        ..first
    };
    let plan = second.plan(4, 8);
    assert_eq!(plan.block.len(), 1, "its retry is spent: blocked");
    assert!(plan.probe.is_empty() && plan.build.is_empty());
}

#[test]
fn the_train_and_its_probes_stay_within_the_budget() {
    let names_all = [
        "a", "bb", "ccc", "dddd", "eeeee", "ffffff", "ggggggg", "hhhhhhhh",
    ];
    let entries = queued(&names_all);
    let mut failures = BTreeMap::new();
    for e in &entries[..5] {
        failures.insert(failure_key(&e.branch, &e.head_sha), 1u32);
    }
    let w = World {
        failures,
        ..World::of(entries)
    };
    for budget in 1..=6 {
        let plan = w.plan(budget, budget);
        assert!(
            plan.build.len() + plan.probe.len() <= budget,
            "budget {budget}: {plan:?}"
        );
        let probed: Vec<&str> = names(&plan.probe).concat();
        assert!(
            probed.iter().all(|b| names_all[..5].contains(b)),
            "only hunted entries are probed"
        );
        let built: Vec<&str> = names(&plan.build).concat();
        assert!(
            built.iter().all(|b| names_all[5..].contains(b)),
            "hunted entries are never stacked"
        );
    }
}

#[test]
fn without_a_budget_nothing_is_probed_and_failures_rebuild_in_the_train() {
    let entries = queued(&["a", "bb", "ccc"]);
    let batch = candidate("c1", 10, 1, &entries, &["a", "bb", "ccc"]);
    let w = World {
        train: vec![(batch, failed())],
        ..World::of(entries)
    };
    let plan = w.plan(4, 0);
    assert!(plan.probe.is_empty());
    assert!(!plan.build.is_empty(), "bisected inside the train");
}
