use super::*;
use crate::core::control::{ControlMode, ControlState};

const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const REPAIR: &str = "deploybot/repair/aaaaaaaaaaaa";

fn entry(branch: &str, state: EntryState) -> EntryView {
    EntryView {
        branch: branch.into(),
        head_sha: SHA.into(),
        state,
        why: format!("{state:?}"),
    }
}

fn running() -> ControlState {
    ControlState::default()
}

fn recovering(sha: &str) -> ControlState {
    ControlState {
        control_id: Some("r1".into()),
        recovered_main_sha: Some(sha.into()),
        recovered_reason: Some(format!("ci-failed on {sha}")),
        ..ControlState::default()
    }
}

fn run(
    control: &ControlState,
    release: ReleaseState,
    admission: AdmissionMode,
    entries: &[EntryView],
) -> ReactPlan {
    plan(&ReactInputs {
        control,
        base_sha: SHA,
        release,
        admission,
        pause_on_failure: true,
        entries,
        repair_branch: REPAIR,
        max_batch: 2,
        older_failure: None,
    })
}

fn merge(branches: &[&str], repair: bool) -> ReactPlan {
    ReactPlan::Merge {
        branches: branches.iter().map(|b| b.to_string()).collect(),
        repair,
    }
}

#[test]
fn paused_merges_nothing_whatever_else_holds() {
    let paused = ControlState {
        state: ControlMode::Paused,
        ..recovering(SHA)
    };
    for release in ReleaseState::ALL {
        let p = run(
            &paused,
            release,
            AdmissionMode::Merged,
            &[entry("a", EntryState::Queued)],
        );
        assert_eq!(p, ReactPlan::Paused, "{release:?}");
    }
}

#[test]
fn failed_release_without_recovery_pauses_with_pinned_reason() {
    for (release, word) in [
        (ReleaseState::CiFailed, "ci-failed"),
        (ReleaseState::DeployFailed, "deploy-failed"),
        (ReleaseState::VerifyFailed, "verify-failed"),
    ] {
        let p = run(
            &running(),
            release,
            AdmissionMode::Merged,
            &[entry("a", EntryState::Queued)],
        );
        assert_eq!(
            p,
            ReactPlan::PauseForFailure {
                sha: SHA.into(),
                reason: format!("{word} on {SHA}")
            }
        );
    }
}

#[test]
fn failed_release_without_pause_on_failure_holds() {
    let control = running();
    let p = plan(&ReactInputs {
        control: &control,
        base_sha: SHA,
        release: ReleaseState::CiFailed,
        admission: AdmissionMode::Merged,
        pause_on_failure: false,
        entries: &[entry("a", EntryState::Queued)],
        repair_branch: REPAIR,
        max_batch: 3,
        older_failure: None,
    });
    assert!(matches!(p, ReactPlan::Held { .. }), "{p:?}");
}

#[test]
fn admission_fence_holds_exactly_what_the_mode_does_not_admit() {
    let entries = [entry("a", EntryState::Queued)];
    for mode in [
        AdmissionMode::Merged,
        AdmissionMode::CiPassed,
        AdmissionMode::Verified,
    ] {
        for release in ReleaseState::ALL.into_iter().filter(|r| !r.is_failed()) {
            let p = run(&running(), release, mode, &entries);
            if admits(mode, release) {
                assert_eq!(p, merge(&["a"], false), "{mode:?} admits {release:?}");
            } else {
                assert!(
                    matches!(p, ReactPlan::Held { .. }),
                    "{mode:?} holds {release:?}"
                );
            }
        }
    }
}

#[test]
fn fifo_up_to_batch_size_skipping_entries_that_are_not_ready() {
    let entries = [
        entry("w", EntryState::WaitingChecks),
        entry("a", EntryState::Queued),
        entry("b", EntryState::Blocked),
        entry("c", EntryState::Queued),
        entry("s", EntryState::Stale),
        entry("d", EntryState::Queued),
    ];
    let p = run(
        &running(),
        ReleaseState::Verified,
        AdmissionMode::Merged,
        &entries,
    );
    assert_eq!(p, merge(&["a", "c"], false), "max_batch is 2");
}

#[test]
fn recovery_lets_the_ready_repair_through_alone_and_first() {
    let entries = [
        entry("a", EntryState::Queued),
        entry(REPAIR, EntryState::Queued),
    ];
    for mode in [
        AdmissionMode::Merged,
        AdmissionMode::CiPassed,
        AdmissionMode::Verified,
    ] {
        let p = run(&recovering(SHA), ReleaseState::CiFailed, mode, &entries);
        assert_eq!(p, merge(&[REPAIR], true), "{mode:?}");
    }
}

#[test]
fn recovery_holds_other_work_until_the_repair_is_ready() {
    let waiting = [
        entry("a", EntryState::Queued),
        entry(REPAIR, EntryState::WaitingChecks),
    ];
    let p = run(
        &recovering(SHA),
        ReleaseState::CiFailed,
        AdmissionMode::Merged,
        &waiting,
    );
    assert!(
        matches!(&p, ReactPlan::Held { why } if why.contains("not ready")),
        "{p:?}"
    );
    let missing = [entry("a", EntryState::Queued)];
    let p = run(
        &recovering(SHA),
        ReleaseState::CiFailed,
        AdmissionMode::Merged,
        &missing,
    );
    assert!(
        matches!(&p, ReactPlan::Held { why } if why.contains("to be requested")),
        "{p:?}"
    );
}

#[test]
fn a_recovery_owns_its_sha_whatever_the_failure_or_the_recovered_reason() {
    // The deadlock: main red, an operator paused with their own words,
    // then unpaused. The recovery owns the sha: the repair lands, no re-pause.
    let operator = ControlState {
        recovered_reason: Some("investigating the red main".into()),
        ..recovering(SHA)
    };
    let entries = [entry(REPAIR, EntryState::Queued)];
    for control in [recovering(SHA), operator] {
        for release in ReleaseState::ALL.into_iter().filter(|r| r.is_failed()) {
            let p = run(&control, release, AdmissionMode::Merged, &entries);
            assert_eq!(p, merge(&[REPAIR], true), "{release:?} under {control:?}");
        }
    }
}

fn older(state: ReleaseState) -> JudgedMain {
    JudgedMain {
        sha: "cccccccccccccccccccccccccccccccccccccccc".into(),
        state,
        why: "older main".into(),
    }
}

#[test]
fn an_older_mains_failure_pauses_bound_to_that_main() {
    let failed = older(ReleaseState::DeployFailed);
    let control = running();
    let p = plan(&ReactInputs {
        control: &control,
        base_sha: SHA,
        release: ReleaseState::AwaitingDeploy,
        admission: AdmissionMode::Merged,
        pause_on_failure: true,
        entries: &[entry("a", EntryState::Queued)],
        repair_branch: REPAIR,
        max_batch: 3,
        older_failure: Some(&failed),
    });
    assert_eq!(
        p,
        ReactPlan::PauseForFailure {
            sha: failed.sha.clone(),
            reason: format!("deploy-failed on {}", failed.sha)
        }
    );
}

#[test]
fn the_tips_own_failure_comes_before_an_older_one() {
    let failed = older(ReleaseState::DeployFailed);
    let control = running();
    let p = plan(&ReactInputs {
        control: &control,
        base_sha: SHA,
        release: ReleaseState::CiFailed,
        admission: AdmissionMode::Merged,
        pause_on_failure: true,
        entries: &[],
        repair_branch: REPAIR,
        max_batch: 3,
        older_failure: Some(&failed),
    });
    assert!(
        matches!(&p, ReactPlan::PauseForFailure { sha, .. } if sha == SHA),
        "{p:?}"
    );
}

#[test]
fn the_bypass_belongs_to_the_exact_recovered_sha_only() {
    let other = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    let entries = [entry(REPAIR, EntryState::Queued)];
    let p = run(
        &recovering(other),
        ReleaseState::CiFailed,
        AdmissionMode::Merged,
        &entries,
    );
    assert_eq!(
        p,
        ReactPlan::PauseForFailure {
            sha: SHA.into(),
            reason: format!("ci-failed on {SHA}")
        }
    );
}

#[test]
fn recovered_sha_that_turned_green_merges_normally_with_repair_first() {
    let entries = [
        entry("a", EntryState::Queued),
        entry(REPAIR, EntryState::Queued),
    ];
    let p = run(
        &recovering(SHA),
        ReleaseState::Testing,
        AdmissionMode::Verified,
        &entries,
    );
    assert_eq!(p, merge(&[REPAIR], true));
    let no_repair = [entry("a", EntryState::Queued)];
    let p = run(
        &recovering(SHA),
        ReleaseState::Testing,
        AdmissionMode::Verified,
        &no_repair,
    );
    assert_eq!(
        p,
        merge(&["a"], false),
        "the fence does not hold a recovered sha"
    );
}

mod properties {
    use super::*;
    use crate::core::control::ControlMode;
    use proptest::prelude::*;

    fn arb_state() -> impl Strategy<Value = EntryState> {
        prop::sample::select(vec![
            EntryState::Queued,
            EntryState::WaitingChecks,
            EntryState::Blocked,
            EntryState::Stale,
        ])
    }

    fn arb_entries() -> impl Strategy<Value = Vec<EntryView>> {
        prop::collection::vec((0..6usize, arb_state()), 0..8).prop_map(|xs| {
            let mut seen = std::collections::BTreeSet::new();
            xs.into_iter()
                .filter(|(i, _)| seen.insert(*i))
                .map(|(i, state)| {
                    let name = if i == 0 {
                        REPAIR.to_string()
                    } else {
                        format!("b{i}")
                    };
                    entry(&name, state)
                })
                .collect()
        })
    }

    fn arb_control() -> impl Strategy<Value = ControlState> {
        (0..4u8).prop_map(|k| match k {
            0 => running(),
            1 => recovering(SHA),
            2 => ControlState {
                recovered_reason: Some("an operator's words".into()),
                ..recovering(SHA)
            },
            _ => ControlState {
                state: ControlMode::Paused,
                ..recovering(SHA)
            },
        })
    }

    proptest! {
        #[test]
        fn a_plan_never_breaks_the_queue_rules(
            control in arb_control(),
            release in prop::sample::select(ReleaseState::ALL.to_vec()),
            admission in prop::sample::select(vec![AdmissionMode::Merged, AdmissionMode::CiPassed, AdmissionMode::Verified]),
            pause_on_failure in any::<bool>(),
            entries in arb_entries(),
            max_batch in 1..4usize,
            older_failure in prop::option::of(prop::sample::select(vec![
                ReleaseState::CiFailed, ReleaseState::DeployFailed, ReleaseState::VerifyFailed,
            ])),
        ) {
            let older_failure = older_failure.map(older);
            let p = plan(&ReactInputs {
                control: &control,
                base_sha: SHA,
                release,
                admission,
                pause_on_failure,
                entries: &entries,
                repair_branch: REPAIR,
                max_batch,
                older_failure: older_failure.as_ref(),
            });
            if control.is_paused() {
                prop_assert_eq!(&p, &ReactPlan::Paused, "a paused pipeline merges nothing");
            }
            let owned = control.recovery_owns(SHA);
            if let ReactPlan::PauseForFailure { sha, reason } = &p {
                prop_assert!(!owned, "a recovery never re-pauses its own sha");
                let suffix = format!(" on {sha}");
                prop_assert!(reason.ends_with(&suffix));
            }
            if !control.is_paused() && !owned && (release.is_failed() || older_failure.is_some()) {
                prop_assert!(!matches!(p, ReactPlan::Merge { .. }), "an unrecovered failure holds the pass");
            }
            if let ReactPlan::Merge { branches, repair } = &p {
                prop_assert!(branches.len() <= max_batch);
                for b in branches {
                    let e = entries.iter().find(|e| &e.branch == b).expect("planned from the entries");
                    prop_assert_eq!(e.state, EntryState::Queued, "only ready entries merge");
                }
                let order: Vec<usize> = branches.iter().map(|b| entries.iter().position(|e| &e.branch == b).expect("known")).collect();
                prop_assert!(order.windows(2).all(|w| w[0] < w[1]), "FIFO order");
                if *repair {
                    let alone = vec![REPAIR.to_string()];
                    prop_assert_eq!(branches, &alone, "the repair lands alone");
                    prop_assert!(control.recovery_owns(SHA), "only a recovery elects a repair");
                }
                if release.is_failed() {
                    prop_assert!(*repair || branches.is_empty(),
                        "nothing but the repair merges past a failed main");
                    prop_assert!(control.recovery_owns(SHA), "a failed main merges only under its recovery");
                }
                if !control.recovery_owns(SHA) {
                    prop_assert!(admits(admission, release), "the fence holds what admission does not admit");
                }
            }
        }
    }
}
