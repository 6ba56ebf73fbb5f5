use super::*;
use crate::core::queue::{EntryState, EntryView};
use proptest::prelude::*;
use std::collections::BTreeMap;

fn sha(n: usize) -> String {
    format!("{n:040x}")
}

fn view(branch: &str, state: EntryState) -> EntryView {
    EntryView {
        branch: branch.into(),
        head_sha: sha(7),
        state,
        why: String::new(),
    }
}

fn candidate(id: &str, sha_n: usize, base_n: usize, branches: &[&str]) -> Candidate {
    Candidate {
        candidate_id: id.into(),
        sha: sha(sha_n),
        base_sha: sha(base_n),
        entries: branches
            .iter()
            .map(|b| CandidateEntry {
                branch: b.to_string(),
                head_sha: sha(7),
                merge_sha: sha(sha_n),
            })
            .collect(),
    }
}

fn inputs<'a>(
    entries: &'a [EntryView],
    train: &'a [(Candidate, CandidateCi)],
    failures: &'a BTreeMap<String, u32>,
) -> TrainInputs<'a> {
    TrainInputs {
        base_sha: Box::leak(sha(1).into_boxed_str()),
        entries,
        candidates: train,
        failures,
        suspects: Box::leak(Box::default()),
        cleared: Box::leak(Box::default()),
        may_land: true,
        may_build: true,
        only: None,
        max_batch: 2,
        depth: 3,
        max_retries: 1,
        probes: &[],
        auto_budget: None,
        probe_budget: 0,
    }
}

fn queued(names: &[&str]) -> Vec<EntryView> {
    names.iter().map(|n| view(n, EntryState::Queued)).collect()
}

#[test]
fn builds_a_train_of_batches_up_to_the_depth_in_request_order() {
    let entries = queued(&["a", "b", "c", "d", "e", "f", "g"]);
    let none = BTreeMap::new();
    let plan = plan_train(&inputs(&entries, &[], &none));
    assert_eq!(
        plan.build,
        vec![vec!["a", "b"], vec!["c", "d"], vec!["e", "f"]]
    );
    assert!(plan.land.is_empty() && plan.discard.is_empty());
}

#[test]
fn ready_entries_are_spread_over_the_free_depth_before_they_are_batched() {
    let none = BTreeMap::new();
    let build = |names: &[&str]| plan_train(&inputs(&queued(names), &[], &none)).build;
    assert_eq!(
        build(&["a", "b"]),
        vec![vec!["a"], vec!["b"]],
        "one entry each while there is room"
    );
    assert_eq!(
        build(&["a", "b", "c", "d"]),
        vec![vec!["a", "b"], vec!["c"], vec!["d"]]
    );
    assert_eq!(
        build(&["a", "b", "c", "d", "e", "f", "g"]),
        vec![vec!["a", "b"], vec!["c", "d"], vec!["e", "f"]],
        "never more than max_batch_size"
    );
}

#[test]
fn a_passed_bottom_candidate_lands_and_the_train_refills() {
    let entries = queued(&["a", "b", "c"]);
    let train = [
        (candidate("c1", 10, 1, &["a"]), CandidateCi::Passed),
        (candidate("c2", 11, 10, &["b"]), CandidateCi::Testing),
    ];
    let none = BTreeMap::new();
    let plan = plan_train(&inputs(&entries, &train, &none));
    assert_eq!(plan.land, ["c1"]);
    assert_eq!(plan.build, vec![vec!["c"]], "one kept + one new; c1 left");
    // Held by admission: nothing lands, building goes on.
    let mut held = inputs(&entries, &train, &none);
    held.may_land = false;
    assert!(plan_train(&held).land.is_empty());
}

#[test]
fn a_failed_multi_entry_candidate_is_split_and_everything_above_discarded() {
    let entries = queued(&["a", "b", "c", "d"]);
    let train = [
        (
            candidate("c1", 10, 1, &["a", "b", "c"]),
            CandidateCi::Failed {
                check: "CI".into(),
                url: Some("https://ci/1".into()),
            },
        ),
        (candidate("c2", 11, 10, &["d"]), CandidateCi::Passed),
    ];
    let none = BTreeMap::new();
    let plan = plan_train(&inputs(&entries, &train, &none));
    let ids: Vec<_> = plan
        .discard
        .iter()
        .map(|d| d.candidate_id.as_str())
        .collect();
    assert_eq!(ids, ["c1", "c2"]);
    assert!(plan.discard[0].failed && !plan.discard[1].failed);
    assert!(
        plan.discard[0]
            .reason
            .contains("failed CI in candidate c1 (https://ci/1)")
    );
    assert!(plan.land.is_empty(), "nothing above a failure lands");
    assert_eq!(
        plan.build,
        vec![vec!["a"], vec!["b"], vec!["d"]],
        "halves, and the halves' halves while the train has room; the top piece \
         (c) is left out so that d is built in the same round, and goes last, alone"
    );
    // With nobody waiting behind it, every piece is built.
    let entries = queued(&["a", "b", "c"]);
    let plan = plan_train(&inputs(&entries, &train[..1], &none));
    assert_eq!(plan.build, vec![vec!["a"], vec!["b"], vec!["c"]]);
}

#[test]
fn a_bisection_with_room_for_two_is_split_in_halves_only() {
    let entries = queued(&["a", "b", "c", "d"]);
    let failed = CandidateCi::Failed {
        check: "CI".into(),
        url: None,
    };
    let train = [(candidate("c1", 10, 1, &["a", "b", "c"]), failed)];
    let none = BTreeMap::new();
    let mut two = inputs(&entries, &train, &none);
    two.depth = 2;
    assert_eq!(plan_train(&two).build, vec![vec!["a"], vec!["b", "c"]]);
    let mut one = inputs(&entries, &train, &none);
    one.depth = 1;
    assert_eq!(
        plan_train(&one).build,
        vec![vec!["a"]],
        "the lower half first; the other waits its turn"
    );
}

#[test]
fn halves_split_the_largest_group_lowest_first_and_keep_order() {
    let names = |n: usize| (0..n).map(|i| format!("e{i}")).collect::<Vec<_>>();
    let sizes = |groups: Vec<Vec<String>>| groups.iter().map(Vec::len).collect::<Vec<_>>();
    assert_eq!(sizes(halves(names(6), 2)), [3, 3]);
    assert_eq!(sizes(halves(names(6), 3)), [1, 2, 3]);
    assert_eq!(sizes(halves(names(6), 4)), [1, 2, 1, 2]);
    assert_eq!(
        sizes(halves(names(3), 8)),
        [1, 1, 1],
        "never an empty group"
    );
    assert_eq!(sizes(halves(names(1), 2)), [1]);
    for (n, k) in [(7, 3), (10, 5), (2, 2)] {
        let flat: Vec<String> = halves(names(n), k).concat();
        assert_eq!(flat, names(n), "order and entries kept");
    }
}

#[test]
fn a_failed_single_entry_is_retried_then_blocked_with_the_check_and_candidate() {
    let entries = queued(&["a", "b"]);
    let failed = CandidateCi::Failed {
        check: "CI".into(),
        url: None,
    };
    let train = [(candidate("c1", 10, 1, &["a"]), failed)];
    let none = BTreeMap::new();
    let plan = plan_train(&inputs(&entries, &train, &none));
    assert_eq!(
        plan.build,
        vec![vec!["b"], vec!["a"]],
        "retried once, after the entries that have not failed"
    );
    let once = BTreeMap::from([(failure_key("a", &sha(7)), 1)]);
    let plan = plan_train(&inputs(&entries, &train, &once));
    assert_eq!(plan.block.len(), 1);
    assert_eq!(plan.block[0].2, "failed CI in candidate c1");
    assert_eq!(plan.build, vec![vec!["b"]], "the rest goes on");
}

#[test]
fn a_failure_above_a_candidate_still_testing_waits_for_it() {
    // The culprit may be below: blaming the upper one would block an innocent entry.
    let entries = queued(&["l", "u", "x"]);
    let failed = CandidateCi::Failed {
        check: "CI".into(),
        url: None,
    };
    let train = [
        (candidate("c1", 10, 1, &["l"]), CandidateCi::Testing),
        (candidate("c2", 11, 10, &["u"]), failed),
    ];
    let once = BTreeMap::from([(failure_key("u", &sha(7)), 1)]);
    let plan = plan_train(&inputs(&entries, &train, &once));
    assert_eq!(
        plan,
        TrainPlan::default(),
        "nothing blamed, nothing built on a failure"
    );
}

#[test]
fn stale_candidates_are_discarded_and_rebuilt_on_the_new_base() {
    let entries = queued(&["a", "b"]);
    // Built on an old main.
    let train = [(candidate("c1", 10, 99, &["a"]), CandidateCi::Passed)];
    let none = BTreeMap::new();
    let plan = plan_train(&inputs(&entries, &train, &none));
    assert!(plan.discard[0].reason.starts_with("stale: built on"));
    assert!(
        plan.land.is_empty(),
        "a stale candidate never lands, passed or not"
    );
    assert_eq!(plan.build, vec![vec!["a"], vec!["b"]]);
    // An entry cancelled or blocked since.
    let entries = vec![
        view("a", EntryState::Blocked),
        view("b", EntryState::Queued),
    ];
    let train = [(candidate("c1", 10, 1, &["a", "b"]), CandidateCi::Passed)];
    let plan = plan_train(&inputs(&entries, &train, &none));
    assert!(plan.discard[0].reason.contains("`a` is no longer ready"));
    assert_eq!(plan.build, vec![vec!["b"]]);
}

#[test]
fn a_recovery_builds_only_the_repair_on_the_failed_tip() {
    let entries = queued(&["a", "repair"]);
    let train = [(candidate("c1", 10, 1, &["a"]), CandidateCi::Testing)];
    let none = BTreeMap::new();
    let mut recovery = inputs(&entries, &train, &none);
    recovery.only = Some("repair");
    let plan = plan_train(&recovery);
    assert_eq!(plan.discard.len(), 1, "{plan:?}");
    assert_eq!(plan.build, vec![vec!["repair"]]);
    // Paused (or a failure holding the pass): nothing built, nothing landed.
    let mut paused = inputs(&entries, &[], &none);
    paused.may_build = false;
    paused.may_land = false;
    assert_eq!(plan_train(&paused), TrainPlan::default());
}

/// A virtual world: entries requested in order, some culprits (a candidate
/// fails when it, or anything below it in the train, holds one), optionally
/// flaky CI. Runs the planner until the queue drains.
/// One simulated queue for the property tests: which entries are culprits,
/// which CI runs flake (cycled), and the policy.
struct Run<'a> {
    culprits: &'a [bool],
    flaky: &'a [bool],
    depth: usize,
    batch: usize,
    max_retries: u32,
    /// Auto depth with probes (`depth` is the budget).
    auto: bool,
    /// `reuse_results = "tree"`: a commit whose tree passed CI before
    /// passes at once, without a run.
    reuse: bool,
}

fn simulate(run: Run) -> Result<(), TestCaseError> {
    let Run {
        culprits,
        flaky,
        depth,
        batch,
        max_retries,
        auto,
        reuse,
    } = run;
    let n = culprits.len();
    // The tree of every commit: the entries merged in it (main's start: none),
    // and the trees whose CI passed (what `reuse_results = "tree"` reuses).
    let mut trees: std::collections::BTreeMap<String, std::collections::BTreeSet<String>> =
        std::collections::BTreeMap::new();
    trees.insert(sha(1), Default::default());
    let mut passed_trees: Vec<std::collections::BTreeSet<String>> = Vec::new();
    // With auto depth, `depth` is the budget and hunted entries are probed
    // beside the train (core::train::probes).
    let mut probes: Vec<(Candidate, CandidateCi)> = Vec::new();
    let mut cleared = Failures::new();
    let names: Vec<String> = (0..n).map(|i| format!("b{i:02}")).collect();
    let mut blocked: Vec<String> = Vec::new();
    let mut landed: Vec<String> = Vec::new();
    let mut train: Vec<(Candidate, CandidateCi)> = Vec::new();
    let mut failures = Failures::new();
    let mut suspects = Suspects::new();
    let mut base = sha(1);
    let mut next = 100usize;
    let mut flakes = flaky.iter().cycle();
    for _step in 0..400 {
        let entries: Vec<EntryView> = names
            .iter()
            .filter(|b| !landed.contains(b))
            .map(|b| {
                let state = if blocked.contains(b) {
                    EntryState::Blocked
                } else {
                    EntryState::Queued
                };
                view(b, state)
            })
            .collect();
        let plan = plan_train(&TrainInputs {
            base_sha: &base,
            entries: &entries,
            candidates: &train,
            failures: &failures,
            suspects: &suspects,
            cleared: &cleared,
            may_land: true,
            may_build: true,
            only: None,
            max_batch: batch,
            depth,
            max_retries,
            probes: &probes,
            auto_budget: auto.then_some(depth),
            probe_budget: if auto { depth } else { 0 },
        });
        for d in &plan.discard {
            let in_probes = probes.iter().any(|(c, _)| c.candidate_id == d.candidate_id);
            let list = if in_probes { &mut probes } else { &mut train };
            let at = list
                .iter()
                .position(|(c, _)| c.candidate_id == d.candidate_id);
            let (gone, ci) = list.remove(at.expect("discards a live candidate"));
            if d.failed {
                prop_assert!(
                    matches!(ci, CandidateCi::Failed { .. }),
                    "only a failure is discarded as failed"
                );
            }
            if d.passed {
                prop_assert!(
                    in_probes && ci == CandidateCi::Passed,
                    "only a passed probe clears"
                );
                continue;
            }
            // The queue fold's bookkeeping (core::queue::fold_queue).
            note_discarded(&mut suspects, &mut failures, &gone, d.failed);
        }
        for key in &plan.cleared {
            note_cleared(&mut suspects, &failures, &mut cleared, key);
        }
        for (branch, _, _) in &plan.block {
            prop_assert!(!blocked.contains(branch));
            blocked.push(branch.clone());
            note_dropped(&mut suspects, &failure_key(branch, &sha(7)));
        }
        for id in &plan.land {
            prop_assert!(
                !probes.iter().any(|(c, _)| &c.candidate_id == id),
                "a probe never lands"
            );
            let (c, ci) = train.remove(0);
            prop_assert_eq!(&c.candidate_id, id, "lands from the bottom");
            prop_assert_eq!(ci, CandidateCi::Passed, "nothing untested lands");
            prop_assert_eq!(&c.base_sha, &base, "a fast-forward of main");
            base = c.sha.clone();
            for e in c.entries {
                prop_assert!(!landed.contains(&e.branch), "{} landed twice", e.branch);
                note_landed(&mut suspects, &failure_key(&e.branch, &e.head_sha));
                landed.push(e.branch);
            }
        }
        // A new commit's CI: testing, or (reuse) passed at once when a
        // commit with the very same tree passed before.
        let mut built = |c: &Candidate, below: &str| {
            let mut tree = trees.get(below).cloned().expect("built on a known commit");
            tree.extend(c.entries.iter().map(|e| e.branch.clone()));
            trees.insert(c.sha.clone(), tree.clone());
            if reuse && passed_trees.contains(&tree) {
                CandidateCi::Passed
            } else {
                CandidateCi::Testing
            }
        };
        for group in &plan.build {
            let below = train
                .last()
                .map(|(c, _)| c.sha.clone())
                .unwrap_or_else(|| base.clone());
            next += 1;
            let refs: Vec<&str> = group.iter().map(String::as_str).collect();
            let mut c = candidate(&format!("c{next}"), next, 0, &refs);
            c.base_sha = below.clone();
            let ci = built(&c, &below);
            train.push((c, ci));
        }
        for group in &plan.probe {
            next += 1;
            let refs: Vec<&str> = group.iter().map(String::as_str).collect();
            let mut c = candidate(&format!("p{next}"), next, 0, &refs);
            c.base_sha = base.clone();
            let ci = built(&c, &base);
            probes.push((c, ci));
        }
        prop_assert!(
            train.len() + probes.len() <= depth,
            "within the depth (auto: the budget)"
        );
        for (p, _) in &probes {
            for e in &p.entries {
                prop_assert!(
                    !train
                        .iter()
                        .any(|(c, _)| c.entries.iter().any(|t| t.branch == e.branch)),
                    "{} is probed and in the train at once",
                    e.branch
                );
            }
        }
        // A probe's CI: only its own entries (nothing below it but main).
        let holds_culprit = |c: &Candidate| {
            c.entries.iter().any(|e| {
                let i = names.iter().position(|n| *n == e.branch).expect("known");
                culprits[i]
            })
        };
        let ci_of = |failed: bool| match failed {
            true => CandidateCi::Failed {
                check: "CI".into(),
                url: None,
            },
            false => CandidateCi::Passed,
        };
        for (c, ci) in probes
            .iter_mut()
            .filter(|(_, ci)| *ci == CandidateCi::Testing)
        {
            let flake = *flakes.next().unwrap_or(&false);
            *ci = ci_of(holds_culprit(c) || flake);
            if *ci == CandidateCi::Passed {
                passed_trees.push(trees[&c.sha].clone());
            }
        }
        // CI runs on everything under test.
        let mut broken_below = false;
        for (c, ci) in train.iter_mut() {
            broken_below |= holds_culprit(c);
            if *ci == CandidateCi::Testing {
                let flake = *flakes.next().unwrap_or(&false);
                *ci = ci_of(broken_below || flake);
                if *ci == CandidateCi::Passed {
                    passed_trees.push(trees[&c.sha].clone());
                }
            } else if *ci == CandidateCi::Passed {
                // Reused or run: a passed tree never holds a culprit.
                prop_assert!(!broken_below, "a reused pass is only a tree that passed");
            }
        }
        if train.is_empty()
            && probes.is_empty()
            && entries.iter().all(|e| e.state == EntryState::Blocked)
        {
            break;
        }
    }
    // None is lost: every entry landed or was blocked, never both.
    for (i, name) in names.iter().enumerate() {
        let (l, b) = (landed.contains(name), blocked.contains(name));
        prop_assert!(l ^ b, "{name}: landed {l}, blocked {b}");
        if culprits[i] {
            prop_assert!(b, "a culprit never lands");
        }
    }
    if !flaky.iter().any(|f| *f) && auto {
        // Every innocent entry lands (a probed one may be overtaken).
        for (i, name) in names.iter().enumerate() {
            prop_assert!(culprits[i] || landed.contains(name), "{name} never landed");
        }
    }
    if !flaky.iter().any(|f| *f) && !auto {
        // Innocent entries land, in request order.
        let innocents: Vec<&String> = names
            .iter()
            .zip(culprits)
            .filter(|(_, c)| !**c)
            .map(|(n, _)| n)
            .collect();
        let landed_refs: Vec<&String> = landed.iter().collect();
        prop_assert_eq!(landed_refs, innocents);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn random_pass_fail_sequences_keep_the_train_rules(
        culprits in prop::collection::vec(prop::bool::weighted(0.2), 1..24),
        depth in 1usize..5,
        batch in 1usize..5,
        max_retries in 0u32..3,
    ) {
        let run = |reuse| Run { culprits: &culprits, flaky: &[false], depth, batch, max_retries, auto: false, reuse };
        simulate(run(false))?;
        simulate(run(true))?;
    }

    #[test]
    fn probes_beside_an_auto_train_keep_the_train_rules(
        culprits in prop::collection::vec(prop::bool::weighted(0.2), 1..24),
        budget in 1usize..7,
        batch in 1usize..5,
        max_retries in 0u32..3,
        flaky in prop::collection::vec(prop::bool::weighted(0.1), 1..7),
    ) {
        let run = |flaky, reuse| Run { culprits: &culprits, flaky, depth: budget, batch, max_retries, auto: true, reuse };
        simulate(run(&[false], false))?;
        simulate(run(&flaky, false))?;
        simulate(run(&flaky, true))?;
    }

    #[test]
    fn flaky_ci_never_lands_anything_untested_or_twice(
        culprits in prop::collection::vec(prop::bool::weighted(0.15), 1..16),
        flaky in prop::collection::vec(prop::bool::weighted(0.2), 1..7),
        depth in 1usize..4,
        batch in 1usize..4,
        max_retries in 0u32..3,
    ) {
        let run = |reuse| Run { culprits: &culprits, flaky: &flaky, depth, batch, max_retries, auto: false, reuse };
        simulate(run(false))?;
        simulate(run(true))?;
    }
}
