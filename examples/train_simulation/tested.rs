//! Tested mode: `plan_train` every pass, gated as `react` gates it, its plan
//! applied in the documented order, with the queue fold's bookkeeping.

use deploybot::core::control::ControlState;
use deploybot::core::queue::{EntryState, EntryView};
use deploybot::core::react::{ReactInputs, ReactPlan, plan};
use deploybot::core::release::{AdmissionMode, ReleaseState};
use deploybot::core::train::{
    Candidate, CandidateCi, Failures, Suspects, TrainInputs, TrainPlan, failure_key, note_cleared,
    note_discarded, note_dropped, note_landed, plan_train,
};

use crate::world::{Outcome, Rng, Scenario, sha};
use crate::{CI_MINUTES, HORIZON};

/// One tested-mode configuration.
#[derive(Clone, Copy)]
pub struct Tested {
    /// The fixed depth, or auto's budget (`max_parallel_ci`).
    depth: usize,
    /// `speculation_depth = "auto"` within `depth`.
    auto: bool,
    /// With auto: hunted entries are probed beside the train.
    probes: bool,
    max_batch: usize,
    max_retries: u32,
    /// Not a planner: names every culprit as soon as the first candidate
    /// holding it fails, so no CI round is spent finding it. What no
    /// stacked train can beat under request order; shown as a bound.
    oracle: bool,
}

impl Tested {
    pub const fn planner(depth: usize, max_batch: usize, max_retries: u32) -> Tested {
        Tested {
            depth,
            auto: false,
            probes: false,
            max_batch,
            max_retries,
            oracle: false,
        }
    }

    /// `speculation_depth = "auto"` with `max_parallel_ci = budget`.
    pub const fn auto(budget: usize, max_batch: usize, max_retries: u32) -> Tested {
        Tested {
            auto: true,
            ..Tested::planner(budget, max_batch, max_retries)
        }
    }

    /// Auto depth with probes beside the train.
    pub const fn auto_probes(budget: usize, max_batch: usize, max_retries: u32) -> Tested {
        Tested {
            probes: true,
            ..Tested::auto(budget, max_batch, max_retries)
        }
    }

    pub const fn bound(depth: usize, max_batch: usize) -> Tested {
        Tested {
            oracle: true,
            ..Tested::planner(depth, max_batch, 0)
        }
    }

    pub fn label(&self) -> String {
        let Tested {
            depth,
            auto,
            probes,
            max_batch,
            max_retries,
            oracle,
        } = *self;
        if auto {
            let probes = if probes { ", probes" } else { "" };
            format!(
                "tested auto depth, max_parallel_ci {depth}{probes} (max_batch {max_batch}, max_retries {max_retries})"
            )
        } else if oracle {
            format!(
                "bound: depth {depth} (max_batch {max_batch}), culprit named at its first failure"
            )
        } else {
            format!("tested depth {depth} (max_batch {max_batch}, max_retries {max_retries})")
        }
    }
}

/// Tested mode: `plan_train` each pass, gated as `react` gates it.
pub fn simulate_tested(s: &Scenario, t_cfg: Tested) -> Outcome {
    let Tested {
        depth,
        max_batch,
        max_retries,
        ..
    } = t_cfg;
    struct Live {
        candidate: Candidate,
        built: u64,
        /// It, or a candidate below it, holds a culprit.
        poisoned: bool,
        /// Its own CI run fails spuriously (the flaky scenario).
        flaky: bool,
    }
    let mut rng = Rng::new(s.seed ^ 0x5eed_f1a4);
    let n = s.names.len();
    // Probes beside the train (auto depth): tested on the base, never landed.
    let mut probes: Vec<Live> = Vec::new();
    let mut landed_at: Vec<Option<u64>> = vec![None; n];
    // Minutes each entry was ready (queued, not blocked) and in no candidate
    // or probe: what the fairness bound limits.
    let mut idle = vec![0u64; n];
    // The current and the longest unbroken such wait per entry: how long an
    // entry waited from the moment it was ready to be built (requested,
    // back from a discarded candidate, cleared) until it was built.
    let mut stretch = vec![0u64; n];
    let mut longest_stretch = vec![0u64; n];
    // Of those minutes, the ones in which an entry requested later was
    // under test: waiting behind later requests (the unfair part).
    let mut behind = vec![0u64; n];
    // The main each request branched from (see `Scenario::reuse`).
    let mut branched_from: Vec<Option<String>> = vec![None; n];
    let mut blocked = vec![false; n];
    let mut train: Vec<Live> = Vec::new();
    // The queue fold's bookkeeping of failed candidates (core::train::suspects).
    let mut failures = Failures::new();
    let mut suspects = Suspects::new();
    let mut cleared = Failures::new();
    let mut base = sha(1);
    let mut base_red = false;
    let mut base_tested = false;
    let mut next = 100u64;
    let (mut ci_runs, mut red_minutes) = (0u64, 0u64);
    for t in 0..HORIZON {
        if t_cfg.oracle {
            // The bound: a culprit is named (blocked) the moment a candidate
            // holding it fails, so that candidate is stale, not failed: its
            // other entries go back in request order, batched, with no
            // bisection round and no retry.
            for l in train.iter().filter(|l| l.built + CI_MINUTES <= t) {
                for e in &l.candidate.entries {
                    let i = s.index(&e.branch);
                    blocked[i] |= s.culprit[i];
                }
            }
        }
        for i in (0..n).filter(|&i| s.arrival[i] == t) {
            branched_from[i] = Some(base.clone());
        }
        let entries: Vec<EntryView> = (0..n)
            .filter(|&i| s.arrival[i] <= t && landed_at[i].is_none())
            .map(|i| EntryView {
                branch: s.names[i].clone(),
                head_sha: s.heads[i].clone(),
                state: if blocked[i] {
                    EntryState::Blocked
                } else {
                    EntryState::Queued
                },
                why: String::new(),
            })
            .collect();
        let ci_of = |l: &Live| {
            if l.built + CI_MINUTES > t {
                CandidateCi::Testing
            } else if l.poisoned || l.flaky {
                CandidateCi::Failed {
                    check: "CI".into(),
                    url: None,
                }
            } else {
                CandidateCi::Passed
            }
        };
        let probe_views: Vec<(Candidate, CandidateCi)> = probes
            .iter()
            .map(|l| (l.candidate.clone(), ci_of(l)))
            .collect();
        let candidates: Vec<(Candidate, CandidateCi)> = train
            .iter()
            .map(|l| (l.candidate.clone(), ci_of(l)))
            .collect();
        // The gate, from the merge-mode decision (src/ops/react.rs tested_pass).
        let control = ControlState::default();
        let repair_branch = format!("deploybot/repair/{}", &base[..12]);
        let decision = plan(&ReactInputs {
            control: &control,
            base_sha: &base,
            release: if base_tested {
                ReleaseState::AwaitingDeploy
            } else {
                ReleaseState::Testing
            },
            admission: AdmissionMode::Merged,
            pause_on_failure: true,
            entries: &entries,
            repair_branch: &repair_branch,
            max_batch,
            older_failure: None,
        });
        let (may_land, may_build, only) = match &decision {
            ReactPlan::Merge { repair: true, .. } => (true, true, Some(repair_branch.as_str())),
            ReactPlan::Merge { repair: false, .. } => (true, true, None),
            ReactPlan::Held { .. } => (false, true, None),
            _ => (false, false, None),
        };
        let p: TrainPlan = plan_train(&TrainInputs {
            base_sha: &base,
            entries: &entries,
            candidates: &candidates,
            failures: &failures,
            suspects: &suspects,
            cleared: &cleared,
            may_land,
            may_build,
            only,
            max_batch,
            depth,
            auto_budget: t_cfg.auto.then_some(depth),
            max_retries,
            probes: &probe_views,
            probe_budget: if t_cfg.auto && t_cfg.probes { depth } else { 0 },
        });
        // Discard (a candidate of the train, or a probe).
        for d in &p.discard {
            let (list, views) = if probes
                .iter()
                .any(|l| l.candidate.candidate_id == d.candidate_id)
            {
                (&mut probes, &probe_views)
            } else {
                (&mut train, &candidates)
            };
            let at = list
                .iter()
                .position(|l| l.candidate.candidate_id == d.candidate_id)
                .expect("discards a live candidate");
            let ci = &views
                .iter()
                .find(|(c, _)| c.candidate_id == d.candidate_id)
                .expect("planned from these")
                .1;
            let gone = list.remove(at);
            assert!(!d.failed || matches!(ci, CandidateCi::Failed { .. }));
            let passed_probe = matches!(ci, CandidateCi::Passed) && !d.failed;
            if !passed_probe {
                note_discarded(&mut suspects, &mut failures, &gone.candidate, d.failed);
            }
        }
        for key in &p.cleared {
            note_cleared(&mut suspects, &failures, &mut cleared, key);
        }
        // Block.
        for (branch, _, _) in &p.block {
            let i = s.index(branch);
            assert!(!blocked[i], "{branch} blocked twice");
            blocked[i] = true;
            note_dropped(&mut suspects, &failure_key(branch, &s.heads[i]));
        }
        // Land: main fast-forwards to exactly the passed candidate's tip.
        for id in &p.land {
            let l = train.remove(0);
            assert_eq!(&l.candidate.candidate_id, id, "lands from the bottom");
            assert_eq!(l.candidate.base_sha, base, "a fast-forward of main");
            assert!(
                l.built + CI_MINUTES <= t && !l.poisoned && !l.flaky,
                "lands only a pass"
            );
            base = l.candidate.sha.clone();
            base_red = l.poisoned;
            base_tested = true;
            for e in &l.candidate.entries {
                let i = s.index(&e.branch);
                assert!(landed_at[i].is_none(), "{} landed twice", e.branch);
                landed_at[i] = Some(t);
                let key = failure_key(&e.branch, &e.head_sha);
                note_landed(&mut suspects, &key);
            }
        }
        // Build, stacked on the top of what stays.
        // Builds stack on the top of what stays; probes go beside the train,
        // on the base tip, with nothing stacked on them.
        let builds = p.build.iter().map(|g| (g, false));
        for (group, is_probe) in builds.chain(p.probe.iter().map(|g| (g, true))) {
            let (below, below_poisoned) = match (is_probe, train.last()) {
                (false, Some(l)) => (l.candidate.sha.clone(), l.poisoned),
                _ => (base.clone(), base_red),
            };
            next += 1;
            let live = Live {
                candidate: s.candidate(group, next, &below, is_probe),
                built: t,
                poisoned: below_poisoned || group.iter().any(|b| s.culprit[s.index(b)]),
                flaky: rng.chance(s.flaky_per_mille),
            };
            // One innocent entry built alone on the main it branched from:
            // the candidate has its head's tree, whose CI passed.
            let reused = s.reuse && group.len() == 1 && {
                let i = s.index(&group[0]);
                !s.culprit[i] && branched_from[i].as_deref() == Some(below.as_str())
            };
            let live = Live {
                built: if reused {
                    t.saturating_sub(CI_MINUTES)
                } else {
                    t
                },
                flaky: live.flaky && !reused,
                ..live
            };
            if is_probe {
                probes.push(live);
            } else {
                train.push(live);
            }
            ci_runs += u64::from(!reused);
        }
        assert!(
            train.len() + probes.len() <= depth,
            "the train and its probes never exceed the depth (auto: the budget)"
        );
        red_minutes += u64::from(base_red);
        for i in 0..n {
            let waiting = s.arrival[i] <= t && landed_at[i].is_none() && !blocked[i];
            let in_test = train
                .iter()
                .chain(&probes)
                .any(|l| l.candidate.entries.iter().any(|e| e.branch == s.names[i]));
            idle[i] += u64::from(waiting && !in_test);
            stretch[i] = if waiting && !in_test {
                stretch[i] + 1
            } else {
                0
            };
            longest_stretch[i] = longest_stretch[i].max(stretch[i]);
            let later_in_test = || {
                train.iter().chain(&probes).any(|l| {
                    l.candidate
                        .entries
                        .iter()
                        .any(|e| s.arrival[s.index(&e.branch)] > s.arrival[i])
                })
            };
            behind[i] += u64::from(waiting && !in_test && later_in_test());
        }
        let arrived = (0..n).all(|i| s.arrival[i] <= t);
        if arrived
            && train.is_empty()
            && probes.is_empty()
            && (0..n).all(|i| landed_at[i].is_some() || blocked[i])
        {
            for i in 0..n {
                assert!(
                    landed_at[i].is_some() != blocked[i],
                    "request {i} landed xor blocked"
                );
                if s.flaky_per_mille == 0 || s.culprit[i] {
                    assert_eq!(blocked[i], s.culprit[i], "exactly the culprits are blocked");
                }
            }
            assert_eq!(red_minutes, 0, "tested mode never makes main red");
            return Outcome {
                label: t_cfg.label(),
                landed_at,
                ci_runs,
                red_minutes,
                pauses: 0,
                culprits_out: (0..n).filter(|&i| blocked[i] && s.culprit[i]).count(),
                innocents_blocked: (0..n).filter(|&i| blocked[i] && !s.culprit[i]).count(),
                longest_idle: (0..n)
                    .filter(|&i| !s.culprit[i])
                    .map(|i| idle[i])
                    .max()
                    .unwrap_or(0),
                longest_behind_later: (0..n)
                    .filter(|&i| !s.culprit[i])
                    .map(|i| behind[i])
                    .max()
                    .unwrap_or(0),
                longest_wait_to_build: (0..n)
                    .filter(|&i| !s.culprit[i])
                    .map(|i| longest_stretch[i])
                    .max()
                    .unwrap_or(0),
            };
        }
    }
    panic!("tested mode did not drain in {HORIZON} minutes");
}
