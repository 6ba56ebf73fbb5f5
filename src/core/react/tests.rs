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

/// A recovery owns the failure it resumed, not every failure of its sha
/// (DESIGN.md, corrected): every recorded state, recovered reason and
/// failed release of the recovered tip, against the pinned table.
#[test]
fn a_recovery_owns_the_failure_it_resumed_and_a_new_failure_pauses() {
    use ReleaseState::*;
    let failed = [CiFailed, DeployFailed, VerifyFailed];
    let entries = [entry(REPAIR, EntryState::Queued)];
    let reasons = [
        Some(CiFailed),
        Some(DeployFailed),
        Some(VerifyFailed),
        None, // an operator's words
    ];
    let recorded: Vec<Option<ReleaseState>> = std::iter::once(None)
        .chain(ReleaseState::ALL.into_iter().map(Some))
        .collect();
    for reason in reasons {
        for state in &recorded {
            let control = ControlState {
                recovered_reason: Some(match reason {
                    Some(r) => format!("{} on {SHA}", r.as_str()),
                    None => "investigating the red main".into(),
                }),
                recovered_state: state.map(|s| s.as_str().to_string()),
                ..recovering(SHA)
            };
            for release in failed {
                // Owned: the state the unpause recorded, the state the
                // controller reason names; an older writer's recovery of an
                // operator's pause (no state, no controller reason) owns all.
                let owned = Some(release) == *state
                    || Some(release) == reason
                    || (state.is_none() && reason.is_none());
                let expected = if owned {
                    merge(&[REPAIR], true)
                } else {
                    ReactPlan::PauseForFailure {
                        sha: SHA.into(),
                        reason: format!("{} on {SHA}", release.as_str()),
                    }
                };
                let p = run(&control, release, AdmissionMode::Merged, &entries);
                assert_eq!(p, expected, "{release:?} under {control:?}");
            }
        }
    }
}

/// The seed's case: CI failed on A, the operator unpaused, CI was re-run
/// green, then A's deploy failed. That is a new failure: it pauses.
#[test]
fn a_deploy_failure_after_a_recovered_ci_failure_pauses() {
    let control = ControlState {
        recovered_state: Some("ci-failed".into()),
        ..recovering(SHA)
    };
    let entries = [entry("b", EntryState::Queued)];
    let p = run(
        &control,
        ReleaseState::DeployFailed,
        AdmissionMode::Merged,
        &entries,
    );
    assert_eq!(
        p,
        ReactPlan::PauseForFailure {
            sha: SHA.into(),
            reason: format!("deploy-failed on {SHA}")
        }
    );
    // The planner's pause is one the control fold applies.
    let record = crate::core::control::pause_bound_to(SHA, &format!("deploy-failed on {SHA}"));
    assert!(!control.restates_recovery(&record));
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
        let recorded = prop::option::of(prop::sample::select(ReleaseState::ALL.to_vec()));
        ((0..4u8), recorded).prop_map(|(k, recorded)| {
            let recorded = recorded.map(|s| s.as_str().to_string());
            match k {
                0 => running(),
                1 => ControlState {
                    recovered_state: recorded,
                    ..recovering(SHA)
                },
                2 => ControlState {
                    recovered_reason: Some("an operator's words".into()),
                    recovered_state: recorded,
                    ..recovering(SHA)
                },
                _ => ControlState {
                    state: ControlMode::Paused,
                    ..recovering(SHA)
                },
            }
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
                if sha == SHA {
                    prop_assert!(!control.recovery_owns_failure(SHA, release),
                        "a recovery never re-pauses the failure it owns");
                } else {
                    prop_assert!(!owned, "a recovered tip closes the history below it");
                }
                let suffix = format!(" on {sha}");
                prop_assert!(reason.ends_with(&suffix));
                // The fold applies what the planner writes (no held pass
                // waiting on a pause the fold would skip).
                let record = crate::core::control::pause_bound_to(sha, reason);
                prop_assert!(!control.restates_recovery(&record), "the fold skips no planned pause");
            }
            if release.is_failed() && owned && !control.is_paused() {
                prop_assert!(
                    control.recovery_owns_failure(SHA, release)
                        || matches!(&p, ReactPlan::PauseForFailure { sha, .. } if sha == SHA)
                        || !pause_on_failure,
                    "a failure of the recovered tip that the recovery does not own pauses"
                );
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
                    prop_assert!(control.recovery_owns_failure(SHA, release),
                        "a failed main merges only under the recovery that owns that failure");
                }
                if !control.recovery_owns(SHA) {
                    prop_assert!(admits(admission, release), "the fence holds what admission does not admit");
                }
            }
        }
    }
}
