//! Merge mode: `react::plan` every pass, CI on every main the queue pushes,
//! an operator who reverts the culprits and unpauses.

use deploybot::core::control::{ControlMode, ControlState};
use deploybot::core::judgement::{OlderMain, judge_older_mains};
use deploybot::core::queue::{EntryState, EntryView};
use deploybot::core::react::{ReactInputs, ReactPlan, plan};
use deploybot::core::release::{AdmissionMode, ReleaseState};

use crate::world::{Outcome, Scenario, sha};
use crate::{CI_MINUTES, HORIZON, RECOVERY_MINUTES, REUNPAUSE_MINUTES};

/// Merge mode: `react::plan` each pass; CI on every main the queue pushes.
pub fn simulate_merge(s: &Scenario, max_batch: usize) -> Outcome {
    struct Main {
        sha: String,
        at: u64,
        /// Contains a culprit that has not been reverted.
        red: bool,
        /// An operator's unpause resumed a pause on it (a recovery note).
        recovered: bool,
    }
    let release = |m: &Main, t: u64| {
        if m.at + CI_MINUTES > t {
            ReleaseState::Testing
        } else if m.red {
            ReleaseState::CiFailed
        } else {
            ReleaseState::AwaitingDeploy
        }
    };
    let n = s.names.len();
    let mut mains = vec![Main {
        sha: sha(1),
        at: 0,
        red: false,
        recovered: false,
    }];
    let mut next_sha = 100u64;
    let mut landed_at: Vec<Option<u64>> = vec![None; n];
    // The repair entries requested so far: (branch, head, merged).
    let mut repairs: Vec<(String, String, bool)> = Vec::new();
    let mut control = ControlState::default();
    let mut paused_at = 0u64;
    let mut repair_ready = false;
    let (mut ci_runs, mut red_minutes, mut pauses) = (0u64, 0u64, 0u32);
    // The main each request branched from (its head's tree is that main plus its change).
    let mut branched_from: Vec<Option<String>> = vec![None; n];
    for t in 0..HORIZON {
        let tip_sha = mains.last().expect("a main").sha.clone();
        let repair_branch = format!("deploybot/repair/{}", &tip_sha[..12]);
        // The operator.
        if control.is_paused() {
            let wait = if repair_ready {
                REUNPAUSE_MINUTES
            } else {
                RECOVERY_MINUTES
            };
            if t >= paused_at + wait {
                if !repair_ready {
                    next_sha += 1;
                    repairs.push((repair_branch.clone(), sha(next_sha), false));
                    repair_ready = true;
                }
                let failed = control.main_sha.clone().expect("a bound pause");
                for m in mains.iter_mut().filter(|m| m.sha == failed) {
                    m.recovered = true;
                }
                control = ControlState {
                    state: ControlMode::Running,
                    recovered_main_sha: Some(failed),
                    recovered_reason: control.reason.clone(),
                    ..ControlState::default()
                };
            }
        }
        for i in (0..n).filter(|&i| s.arrival[i] == t) {
            branched_from[i] = mains.last().map(|m| m.sha.clone());
        }
        // The pass.
        let mut entries: Vec<EntryView> = (0..n)
            .filter(|&i| s.arrival[i] <= t && landed_at[i].is_none())
            .map(|i| EntryView {
                branch: s.names[i].clone(),
                head_sha: s.heads[i].clone(),
                state: EntryState::Queued,
                why: String::new(),
            })
            .collect();
        entries.extend(
            repairs
                .iter()
                .filter(|r| !r.2)
                .map(|(branch, head, _)| EntryView {
                    branch: branch.clone(),
                    head_sha: head.clone(),
                    state: EntryState::Queued,
                    why: String::new(),
                }),
        );
        let tip = mains.last().expect("a main");
        let older: Vec<OlderMain> = mains[..mains.len() - 1]
            .iter()
            .rev()
            .take(1000)
            .map(|m| OlderMain {
                sha: m.sha.clone(),
                state: release(m, t),
                why: String::new(),
                recovered: m.recovered,
            })
            .collect();
        let verdict = judge_older_mains(&older, control.recovery_owns(&tip.sha));
        let decision = plan(&ReactInputs {
            control: &control,
            base_sha: &tip.sha,
            release: release(tip, t),
            admission: AdmissionMode::Merged,
            pause_on_failure: true,
            entries: &entries,
            repair_branch: &repair_branch,
            max_batch,
            older_failure: verdict.failure.as_ref(),
        });
        match decision {
            ReactPlan::Paused | ReactPlan::Held { .. } => {}
            ReactPlan::PauseForFailure { sha, reason } => {
                control = ControlState {
                    state: ControlMode::Paused,
                    main_sha: Some(sha),
                    reason: Some(reason),
                    ..ControlState::default()
                };
                paused_at = t;
                pauses += 1;
            }
            ReactPlan::Merge { branches, repair } => {
                if !branches.is_empty() {
                    let mut red = tip.red;
                    for branch in &branches {
                        if let Some(r) = repairs.iter_mut().find(|r| &r.0 == branch) {
                            r.2 = true;
                            // The revert of every culprit on main.
                            red = false;
                            repair_ready = false;
                        } else {
                            let i = s.index(branch);
                            landed_at[i] = Some(t);
                            red |= s.culprit[i];
                        }
                    }
                    assert!(!repair || branches.len() == 1, "a repair lands alone");
                    // One innocent entry merged onto the very main it branched
                    // from: the merge has its head's tree, whose CI passed.
                    let reused = s.reuse && !repair && branches.len() == 1 && {
                        let i = s.index(&branches[0]);
                        !s.culprit[i] && branched_from[i].as_deref() == Some(tip.sha.as_str())
                    };
                    next_sha += 1;
                    mains.push(Main {
                        sha: sha(next_sha),
                        at: t,
                        red,
                        recovered: false,
                    });
                    ci_runs += u64::from(!reused);
                }
            }
        }
        let tip = mains.last().expect("a main");
        red_minutes += u64::from(tip.red);
        let drained = (0..n).all(|i| s.arrival[i] <= t && landed_at[i].is_some());
        if drained && !tip.red && !control.is_paused() {
            return Outcome {
                label: format!("merge (max_batch {max_batch})"),
                culprits_out: (0..n).filter(|&i| s.culprit[i]).count(),
                innocents_blocked: 0,
                longest_idle: 0,
                longest_wait_to_build: 0,
                longest_behind_later: 0,
                landed_at,
                ci_runs,
                red_minutes,
                pauses,
            };
        }
    }
    panic!("merge mode did not drain in {HORIZON} minutes");
}
