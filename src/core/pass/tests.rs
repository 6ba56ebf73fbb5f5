use super::*;
use crate::core::control::ControlMode;
use crate::core::train::CandidateEntry;
use proptest::prelude::*;

const BASE: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const OLD: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
const REPAIR: &str = "deploybot/repair/aaaaaaaaaaaa";

fn entry(branch: &str, state: EntryState) -> EntryView {
    EntryView {
        branch: branch.into(),
        head_sha: format!("{:0>40}", branch.len()),
        state,
        why: String::new(),
    }
}

struct World {
    control: ControlState,
    release: ReleaseState,
    history: HistoryVerdict,
    entries: Vec<EntryView>,
    train: Vec<(Candidate, CandidateCi)>,
    failures: Failures,
    suspects: Suspects,
    cleared: Failures,
    landing: LandingMode,
}

impl World {
    fn new(release: ReleaseState, entries: Vec<EntryView>) -> World {
        World {
            control: ControlState::default(),
            release,
            history: HistoryVerdict::default(),
            entries,
            train: Vec::new(),
            failures: Failures::default(),
            suspects: Suspects::default(),
            cleared: Failures::default(),
            landing: LandingMode::Merge,
        }
    }

    fn facts(&self) -> PassFacts<'_> {
        PassFacts {
            control: &self.control,
            base_sha: BASE,
            release: self.release,
            history: &self.history,
            watermark: None,
            watermark_to: None,
            seeded: false,
            superseded: false,
            entries: &self.entries,
            train: &self.train,
            probes: &[],
            failures: &self.failures,
            suspects: &self.suspects,
            cleared: &self.cleared,
            policy: PassPolicy {
                admission: AdmissionMode::Merged,
                pause_on_failure: true,
                landing: self.landing,
                max_batch: 2,
                depth: 3,
                auto_budget: None,
                max_retries: 1,
                repair_branch: REPAIR,
            },
            probe: None,
            dispatch_ci: false,
        }
    }
}

#[test]
fn merge_mode_merges_ready_entries_in_order_and_dispatches_when_asked() {
    let w = World::new(
        ReleaseState::AwaitingDeploy,
        vec![
            entry("a", EntryState::Queued),
            entry("bb", EntryState::WaitingChecks),
            entry("ccc", EntryState::Queued),
        ],
    );
    let plan = plan_pass(&w.facts());
    assert_eq!(plan.state, ReactState::Complete);
    assert_eq!(
        plan.actions,
        vec![Action::Merge {
            branches: vec!["a".into(), "ccc".into()]
        }]
    );
    let plan = plan_pass(&PassFacts {
        dispatch_ci: true,
        ..w.facts()
    });
    assert_eq!(plan.actions.last(), Some(&Action::DispatchCi));
}

#[test]
fn the_watermark_moves_first_even_while_paused() {
    let mut w = World::new(ReleaseState::Verified, vec![entry("a", EntryState::Queued)]);
    w.control.state = ControlMode::Paused;
    w.control.control_id = Some("p".into());
    let plan = plan_pass(&PassFacts {
        watermark_to: Some(BASE),
        ..w.facts()
    });
    assert_eq!(plan.state, ReactState::Paused);
    assert_eq!(plan.hold, Some(Hold::Paused));
    assert_eq!(
        plan.actions,
        vec![Action::MoveWatermark {
            to: BASE.into(),
            seeded: false
        }]
    );
}

#[test]
fn a_superseded_controller_pause_is_cleared_and_the_pass_goes_on() {
    let mut w = World::new(ReleaseState::Verified, vec![entry("a", EntryState::Queued)]);
    w.control = ControlState {
        state: ControlMode::Paused,
        control_id: Some("p".into()),
        reason: Some(format!("deploy-failed on {OLD}")),
        main_sha: Some(OLD.into()),
        ..ControlState::default()
    };
    let plan = plan_pass(&PassFacts {
        superseded: true,
        watermark: Some(BASE),
        ..w.facts()
    });
    assert_eq!(
        plan.actions,
        vec![
            Action::Supersede {
                paused: OLD.into(),
                verified: BASE.into()
            },
            Action::Merge {
                branches: vec!["a".into()]
            }
        ]
    );
}

#[test]
fn a_failure_pauses_once_and_merges_nothing() {
    let w = World::new(ReleaseState::CiFailed, vec![entry("a", EntryState::Queued)]);
    let plan = plan_pass(&w.facts());
    let reason = format!("ci-failed on {BASE}");
    assert_eq!(plan.state, ReactState::ReleaseHeld);
    assert_eq!(
        plan.actions,
        vec![Action::Pause {
            sha: BASE.into(),
            reason
        }]
    );
}

#[test]
fn tested_mode_builds_instead_of_merging() {
    let mut w = World::new(
        ReleaseState::AwaitingDeploy,
        vec![
            entry("a", EntryState::Queued),
            entry("bb", EntryState::Queued),
        ],
    );
    w.landing = LandingMode::Tested;
    let plan = plan_pass(&w.facts());
    assert!(
        plan.actions
            .iter()
            .all(|a| matches!(a, Action::Build { .. })),
        "{:?}",
        plan.actions
    );
    assert!(!plan.actions.is_empty());
}

/// A model of the ledgers, main and the train, to which a plan's actions
/// are applied as the executor applies them (without git).
#[derive(Debug, Default)]
struct Model {
    merged: Vec<String>,
    landed_untested: bool,
    train: Vec<(Candidate, CandidateCi)>,
    blocked: Vec<String>,
}

impl Model {
    fn apply(&mut self, facts: &PassFacts, plan: &PassPlan) {
        for action in &plan.actions {
            match action {
                Action::Merge { branches } => self.merged.extend(branches.iter().cloned()),
                Action::Land { candidate_id } => {
                    let (c, ci) = self
                        .train
                        .iter()
                        .find(|(c, _)| &c.candidate_id == candidate_id)
                        .expect("lands a live candidate")
                        .clone();
                    self.landed_untested |= ci != CandidateCi::Passed;
                    self.merged
                        .extend(c.entries.iter().map(|e| e.branch.clone()));
                    self.train.retain(|(c, _)| &c.candidate_id != candidate_id);
                }
                Action::Discard(d) => self.train.retain(|(c, _)| c.candidate_id != d.candidate_id),
                Action::Build { branches } => {
                    let id = format!("c{}", self.train.len() + self.merged.len() + 100);
                    let entries = branches
                        .iter()
                        .map(|b| {
                            let e = facts
                                .entries
                                .iter()
                                .find(|e| &e.branch == b)
                                .expect("ready");
                            CandidateEntry {
                                branch: b.clone(),
                                head_sha: e.head_sha.clone(),
                                merge_sha: BASE.into(),
                            }
                        })
                        .collect();
                    let below = self
                        .train
                        .last()
                        .map_or(BASE.to_string(), |(c, _)| c.sha.clone());
                    self.train.push((
                        Candidate {
                            candidate_id: id.clone(),
                            sha: format!("{:0>40}", id.len() + self.train.len()),
                            base_sha: below,
                            entries,
                        },
                        CandidateCi::Testing,
                    ));
                }
                Action::Block { branch, .. } => self.blocked.push(branch.clone()),
                _ => {}
            }
        }
    }
}

fn arb_state() -> impl Strategy<Value = EntryState> {
    prop::sample::select(vec![
        EntryState::Queued,
        EntryState::Queued,
        EntryState::WaitingChecks,
        EntryState::Blocked,
    ])
}

proptest! {
    /// Random situations, planned and applied to a model: nothing merges
    /// twice or while paused, nothing lands untested, merge mode merges in
    /// request order only ready entries, and every action is one the
    /// decision allows.
    #[test]
    fn applied_plans_keep_the_queue_rules(
        states in prop::collection::vec(arb_state(), 0..6),
        release in prop::sample::select(ReleaseState::ALL.to_vec()),
        paused in any::<bool>(),
        tested in any::<bool>(),
        ci in prop::collection::vec(prop::sample::select(vec![
            CandidateCi::Testing, CandidateCi::Passed,
            CandidateCi::Failed { check: "CI".into(), url: None },
        ]), 0..3),
    ) {
        let entries: Vec<EntryView> = states
            .iter()
            .enumerate()
            .map(|(i, s)| entry(&"e".repeat(i + 1), *s))
            .collect();
        let mut w = World::new(release, entries.clone());
        if paused {
            w.control.state = ControlMode::Paused;
            w.control.control_id = Some("p".into());
        }
        if tested {
            w.landing = LandingMode::Tested;
        }
        // A train of candidates stacked on main, one entry each (the first ready ones).
        let mut below = BASE.to_string();
        for (i, ci) in ci.iter().enumerate() {
            let Some(e) = entries.get(i) else { break };
            let sha = format!("{:0>40}", 900 + i);
            w.train.push((
                Candidate {
                    candidate_id: format!("t{i}"),
                    sha: sha.clone(),
                    base_sha: below.clone(),
                    entries: vec![CandidateEntry {
                        branch: e.branch.clone(),
                        head_sha: e.head_sha.clone(),
                        merge_sha: sha.clone(),
                    }],
                },
                ci.clone(),
            ));
            below = sha;
        }
        if !tested {
            w.train.clear();
        }
        let facts = w.facts();
        let plan = plan_pass(&facts);
        let mut model = Model { train: w.train.clone(), ..Model::default() };
        model.apply(&facts, &plan);
        if paused {
            prop_assert!(model.merged.is_empty(), "nothing merges while paused");
            prop_assert_eq!(plan.state, ReactState::Paused);
        }
        prop_assert!(!model.landed_untested, "nothing lands untested");
        let mut seen = std::collections::HashSet::new();
        for b in &model.merged {
            prop_assert!(seen.insert(b.clone()), "{} merged twice", b);
        }
        if !tested {
            let order: Vec<usize> = model.merged.iter().map(|b| entries.iter().position(|e| &e.branch == b).expect("known")).collect();
            prop_assert!(order.windows(2).all(|p| p[0] < p[1]), "request order");
            for b in &model.merged {
                let e = entries.iter().find(|e| &e.branch == b).expect("known");
                prop_assert_eq!(e.state, EntryState::Queued, "only ready entries merge");
            }
        }
        if release.is_failed() && !paused {
            prop_assert!(model.merged.is_empty() || plan.repair, "a failed main takes only its repair");
            prop_assert!(plan.actions.iter().all(|a| !matches!(a, Action::Build { .. })), "nothing built on a failed main");
        }
        for a in &plan.actions {
            if let Action::Pause { sha, .. } = a {
                prop_assert_eq!(sha.as_str(), BASE);
                prop_assert!(release.is_failed());
            }
        }
    }
}
