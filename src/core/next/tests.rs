use super::*;
use crate::core::control::{ControlMode, ControlState};
use crate::core::judgement::JudgedMain;
use crate::core::react::{ReactInputs, plan};
use crate::core::release::AdmissionMode;
use proptest::prelude::*;

const SHA: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const OTHER: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const REPAIR: &str = "deploybot/repair/aaaaaaaaaaaa";

fn entry(branch: &str, state: EntryState) -> EntryView {
    EntryView {
        branch: branch.into(),
        head_sha: OTHER.into(),
        state,
        why: format!("{state:?}"),
    }
}

fn paused_on(sha: &str) -> ControlState {
    ControlState {
        state: ControlMode::Paused,
        control_id: Some("p1".into()),
        reason: Some(format!("ci-failed on {sha}")),
        main_sha: Some(sha.into()),
        ..ControlState::default()
    }
}

fn all_may() -> Permissions {
    Permissions {
        coordinator: true,
        trusted: true,
    }
}

/// A situation with `plan` as react's planner decides it for these facts.
struct Facts {
    control: ControlState,
    release: ReleaseState,
    entries: Vec<EntryView>,
    plan: ReactPlan,
}

fn facts(control: ControlState, release: ReleaseState, entries: Vec<EntryView>) -> Facts {
    let plan = plan(&ReactInputs {
        control: &control,
        base_sha: SHA,
        release,
        admission: AdmissionMode::Merged,
        pause_on_failure: true,
        entries: &entries,
        repair_branch: REPAIR,
        max_batch: 3,
        older_failure: None,
    });
    Facts {
        control,
        release,
        entries,
        plan,
    }
}

fn situation(f: &Facts, may: Permissions) -> Situation<'_> {
    Situation {
        control: &f.control,
        base_sha: Some(SHA),
        release: Some(f.release),
        pause_resumable: false,
        repair: None,
        plan: Some(&f.plan),
        tested: false,
        candidate_passed: false,
        entries: &f.entries,
        watermark_lags: false,
        may,
    }
}

fn steps(s: &Situation) -> Vec<Step> {
    next_steps(s).into_iter().map(|s| s.step).collect()
}

/// Issue 18, item 4: while paused nothing says react merges or follow takes
/// it on; the pause's own unpause is the step.
#[test]
fn while_paused_only_the_unpause_and_the_repair_are_suggested() {
    let f = facts(
        paused_on(SHA),
        ReleaseState::AwaitingDeploy,
        vec![entry("a", EntryState::Queued)],
    );
    let s = situation(&f, all_may());
    assert_eq!(
        steps(&s),
        vec![Step::Unpause {
            sha: SHA.into(),
            control_id: "p1".into()
        }]
    );
    assert_eq!(entry_next(&s, &f.entries[0]), EntryNext::Unpause);
    assert_eq!(
        merged_next(&s, ReleaseState::AwaitingDeploy),
        MergedNext::Unpause
    );
}

/// Issue 18, item 4: a clone whose actor may not react is told who may.
#[test]
fn a_step_this_clone_may_not_run_is_marked_for_someone_who_may() {
    let f = facts(
        ControlState::default(),
        ReleaseState::AwaitingDeploy,
        vec![entry("a", EntryState::Queued)],
    );
    let s = situation(
        &f,
        Permissions {
            coordinator: false,
            trusted: true,
        },
    );
    assert_eq!(
        next_steps(&s),
        vec![Suggestion {
            step: Step::React(ReactWould::Merge(1)),
            allowed: false
        }]
    );
}

/// Issue 18, item 4: entries waiting for CI are work for runners.
#[test]
fn entries_waiting_for_ci_are_a_next_step() {
    let f = facts(
        ControlState::default(),
        ReleaseState::Verified,
        vec![
            entry("a", EntryState::WaitingChecks),
            entry("b", EntryState::WaitingChecks),
        ],
    );
    assert_eq!(
        steps(&situation(&f, all_may())),
        vec![Step::CiPending { entries: 2 }]
    );
}

/// Issue 18, item 4: a recovery of a main that is not failed (an
/// operator's freeze of a green main) has no repair to land.
#[test]
fn a_recovered_green_main_suggests_no_repair() {
    let control = ControlState {
        recovered_main_sha: Some(SHA.into()),
        recovered_reason: Some("freeze".into()),
        recovered_state: Some("awaiting-deploy".into()),
        ..ControlState::default()
    };
    let f = facts(control, ReleaseState::AwaitingDeploy, Vec::new());
    assert_eq!(steps(&situation(&f, all_may())), Vec::<Step>::new());
}

fn arb_control() -> impl Strategy<Value = ControlState> {
    (0..5u8).prop_map(|k| match k {
        0 => ControlState::default(),
        1 => paused_on(SHA),
        2 => paused_on(OTHER),
        3 => ControlState {
            recovered_main_sha: Some(SHA.into()),
            recovered_reason: Some(format!("ci-failed on {SHA}")),
            recovered_state: Some("ci-failed".into()),
            ..ControlState::default()
        },
        _ => ControlState {
            recovered_main_sha: Some(SHA.into()),
            recovered_reason: Some("freeze".into()),
            recovered_state: Some("awaiting-deploy".into()),
            ..ControlState::default()
        },
    })
}

fn arb_state() -> impl Strategy<Value = EntryState> {
    prop::sample::select(vec![
        EntryState::Queued,
        EntryState::WaitingChecks,
        EntryState::Blocked,
        EntryState::Stale,
        EntryState::Testing,
    ])
}

proptest! {
    /// No suggestion contradicts the state it is made for: each names a
    /// command that would succeed there and do what it says, and the last
    /// word of `why` agrees with the pass react would run.
    #[test]
    fn no_suggestion_contradicts_the_state(
        control in arb_control(),
        release in prop::sample::select(ReleaseState::ALL.to_vec()),
        admission in prop::sample::select(vec![AdmissionMode::Merged, AdmissionMode::CiPassed, AdmissionMode::Verified]),
        states in prop::collection::vec(arb_state(), 0..5),
        repair in 0..3u8,
        repair_state in arb_state(),
        older in prop::option::of(prop::sample::select(vec![ReleaseState::CiFailed, ReleaseState::DeployFailed])),
        resumable in any::<bool>(),
        tested in any::<bool>(),
        candidate_passed in any::<bool>(),
        watermark_lags in any::<bool>(),
        coordinator in any::<bool>(),
        trusted in any::<bool>(),
    ) {
        let mut entries: Vec<EntryView> = states
            .iter()
            .enumerate()
            .map(|(i, s)| entry(&format!("b{i}"), *s))
            .collect();
        if repair == 2 {
            entries.insert(0, entry(REPAIR, repair_state));
        }
        let older = older.map(|state| JudgedMain { sha: OTHER.into(), state, why: "older".into() });
        let plan = plan(&ReactInputs {
            control: &control,
            base_sha: SHA,
            release,
            admission,
            pause_on_failure: true,
            entries: &entries,
            repair_branch: REPAIR,
            max_batch: 2,
            older_failure: older.as_ref(),
        });
        let lease = (repair > 0).then(|| RepairStanding {
            branch: REPAIR,
            entry: entries.iter().find(|e| e.branch == REPAIR),
        });
        let may = Permissions { coordinator, trusted };
        let s = Situation {
            control: &control,
            base_sha: Some(SHA),
            release: Some(release),
            pause_resumable: resumable,
            repair: lease,
            plan: Some(&plan),
            tested,
            candidate_passed,
            entries: &entries,
            watermark_lags,
            may,
        };
        let paused = control.is_paused();
        let suggestions = next_steps(&s);
        for suggestion in &suggestions {
            let allowed = match suggestion.step.needs() {
                Some(Role::Coordinator) => coordinator,
                Some(_) => trusted,
                None => true,
            };
            prop_assert_eq!(suggestion.allowed, allowed, "{:?}", suggestion);
            match &suggestion.step {
                Step::Unpause { sha, control_id } => {
                    prop_assert!(paused, "unpause only while paused");
                    prop_assert_eq!(Some(sha), control.main_sha.as_ref());
                    prop_assert_eq!(Some(control_id), control.control_id.as_ref());
                    prop_assert!(resumable || sha == SHA, "unpause --sha must be resumable");
                }
                Step::RebindPause { .. } => {
                    prop_assert!(paused && !resumable && control.main_sha.as_deref() != Some(SHA));
                }
                Step::React(would) => {
                    prop_assert!(!paused, "react does nothing while paused");
                    match would {
                        ReactWould::Merge(n) => {
                            prop_assert!(!tested);
                            let ok = matches!(&plan, ReactPlan::Merge { branches, repair: false } if branches.len() == *n && *n > 0);
                            prop_assert!(ok, "merges what the planner merges: {:?}", plan);
                        }
                        ReactWould::Build(_) => {
                            prop_assert!(tested);
                            let ok = matches!(&plan, ReactPlan::Merge { branches, repair: false } if !branches.is_empty());
                            prop_assert!(ok, "{:?}", plan);
                        }
                        ReactWould::Land => {
                            prop_assert!(tested && candidate_passed);
                            prop_assert!(matches!(&plan, ReactPlan::Merge { repair: false, .. }), "lands under a merge plan");
                        }
                        ReactWould::Pause(reason) => {
                            let ok = matches!(&plan, ReactPlan::PauseForFailure { reason: r, .. } if r == reason);
                            prop_assert!(ok);
                        }
                        ReactWould::Repair(branch) => {
                            prop_assert_eq!(branch.as_str(), REPAIR);
                            prop_assert!(matches!(&plan, ReactPlan::Merge { repair: true, .. }), "the repair plan");
                        }
                    }
                }
                Step::Follow => {
                    prop_assert!(!paused, "follow exits 3 while paused");
                    prop_assert_eq!(release, ReleaseState::Verified);
                    prop_assert!(watermark_lags);
                }
                Step::ClaimRepair => {
                    prop_assert!(release.is_failed(), "claim-repair needs a failed main");
                    prop_assert!(repair == 0, "no lease yet");
                }
                Step::RequestRepair { .. } => prop_assert!(repair == 1, "claimed, not requested"),
                Step::RepairWaits { .. } => {
                    prop_assert!(repair == 2 && repair_state != EntryState::Queued);
                }
                Step::CiPending { entries: n } => {
                    let waiting = entries.iter().filter(|e| e.state == EntryState::WaitingChecks).count();
                    prop_assert_eq!(*n, waiting);
                    prop_assert!(*n > 0);
                }
            }
        }
        // Nothing that would move is left unsaid.
        if !paused && matches!(&plan, ReactPlan::Merge { branches, .. } if !branches.is_empty()) {
            prop_assert!(suggestions.iter().any(|s| matches!(s.step, Step::React(_))), "{:?}", plan);
        }
        if entries.iter().any(|e| e.state == EntryState::WaitingChecks) {
            prop_assert!(suggestions.iter().any(|s| matches!(s.step, Step::CiPending { .. })), "runners have work");
        }
        if paused {
            prop_assert!(suggestions.iter().any(|s| matches!(s.step, Step::Unpause { .. } | Step::RebindPause { .. })), "a pause says how it ends");
        }
        // why's last word agrees with the planner.
        for e in &entries {
            match entry_next(&s, e) {
                EntryNext::NextPass { .. } => {
                    prop_assert!(!paused);
                    let ok = matches!(&plan, ReactPlan::Merge { branches, .. } if branches.contains(&e.branch));
                    prop_assert!(ok);
                }
                EntryNext::LandsWhenPassed => prop_assert!(!paused && e.state == EntryState::Testing),
                EntryNext::Unpause => prop_assert!(paused),
                _ => {}
            }
            if paused {
                prop_assert!(!matches!(entry_next(&s, e), EntryNext::NextPass { .. }), "nothing merges while paused");
            }
        }
        if merged_next(&s, release) == MergedNext::Follow {
            prop_assert!(!paused && !release.is_failed());
        }
    }
}
