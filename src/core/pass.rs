//! One `react` pass as data (step 2 of read → plan → apply): a pure function
//! from everything the pass read ([`PassFacts`]) to the ordered, typed
//! actions it takes ([`PassPlan`]), for both landing modes. The executor in
//! `ops::react::apply` turns the actions into objects and one atomic push,
//! and decides nothing; `ops::react::read` gathers the facts.
//!
//! The order is the pinned one: the watermark first (a fact, paused or not),
//! then a superseded controller pause cleared, then the control state
//! decides; merge mode merges ready entries (or pauses for a failure),
//! tested mode runs the train ([`crate::core::train::plan_train`]) within
//! what the same decision allows.

use serde::Serialize;

use crate::core::control::{ControlMode, ControlRecord, ControlState, FoldStep, classify};
use crate::core::judgement::HistoryVerdict;
use crate::core::policy::LandingMode;
use crate::core::queue::{EntryState, EntryView};
use crate::core::react::{self, ReactInputs, ReactPlan};
use crate::core::release::{AdmissionMode, ReleaseState};
use crate::core::train::{
    Candidate, CandidateCi, Discard, Failures, Suspects, TrainInputs, plan_train,
};

/// The pinned outcome names of `react --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReactState {
    /// The pipeline is paused; nothing merged.
    Paused,
    /// The base release holds merging (failed, or not admitted yet).
    ReleaseHeld,
    /// The pass ran (merging what was ready, possibly nothing).
    Complete,
}

/// The policy values a pass decides with.
#[derive(Debug, Clone, Copy)]
pub struct PassPolicy<'a> {
    /// `pipeline.release_admission`.
    pub admission: AdmissionMode,
    /// `pipeline.pause_on_failure`.
    pub pause_on_failure: bool,
    /// `queue.landing`.
    pub landing: LandingMode,
    /// `queue.max_batch_size`.
    pub max_batch: usize,
    /// `queue.speculation_depth`.
    pub depth: usize,
    /// `speculation_depth = "auto"`: its budget (`queue.max_parallel_ci`).
    pub auto_budget: Option<usize>,
    /// `queue.max_retries`.
    pub max_retries: u32,
    /// The repair lease branch of the base tip.
    pub repair_branch: &'a str,
}

/// Everything one pass decides on, as read in step 1.
#[derive(Debug, Clone, Copy)]
pub struct PassFacts<'a> {
    /// The folded control state.
    pub control: &'a ControlState,
    /// The base tip.
    pub base_sha: &'a str,
    /// The tip's release as a pass acts on it (a first install is verified).
    pub release: ReleaseState,
    /// The older mains between the watermark and the tip, judged.
    pub history: &'a HistoryVerdict,
    /// Where `refs/deploybot/verified` points now.
    pub watermark: Option<&'a str>,
    /// Where the watermark moves in this pass, when it moves.
    pub watermark_to: Option<&'a str>,
    /// True when that move is a first install (no evidence): no receipts.
    pub seeded: bool,
    /// The current controller pause is superseded by the watermark as this
    /// pass leaves it (its sha is an older main that the verified main contains).
    pub superseded: bool,
    /// Queue entries, FIFO, as merge mode judges them.
    pub entries: &'a [EntryView],
    /// Tested landing: the live candidates with their CI, bottom first.
    pub train: &'a [(Candidate, CandidateCi)],
    /// Tested landing with auto depth: the live probes with their CI.
    pub probes: &'a [(Candidate, CandidateCi)],
    /// Tested landing, auto depth: failure counts a passed probe cleared.
    pub cleared: &'a Failures,
    /// Tested landing: failure counts.
    pub failures: &'a Failures,
    /// Tested landing: failed batches not explained yet.
    pub suspects: &'a Suspects,
    /// The policy values.
    pub policy: PassPolicy<'a>,
    /// A probe pass (one entry at `skip`) isolating a refused batch.
    pub probe: Option<(usize, usize)>,
    /// `--dispatch-ci`: leave pending CI lines on a new base.
    pub dispatch_ci: bool,
}

/// One thing a pass does, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Move `refs/deploybot/verified` to this main (with receipts unless seeded).
    MoveWatermark {
        /// The verified main.
        to: String,
        /// A first install: nothing proved it, so no receipts.
        seeded: bool,
    },
    /// Append the running record clearing the controller pause on `paused`
    /// that the verified main `verified` supersedes.
    Supersede {
        /// The paused main.
        paused: String,
        /// The verified main containing it.
        verified: String,
    },
    /// Append the controller pause `reason` bound to `sha`.
    Pause {
        /// The failed main.
        sha: String,
        /// `<state> on <sha>`.
        reason: String,
    },
    /// Merge these entries onto the base in FIFO order (an entry that
    /// conflicts is blocked, the rest go on) and move the base.
    Merge {
        /// Branches, FIFO.
        branches: Vec<String>,
    },
    /// Tested landing: a candidate leaves the train.
    Discard(Discard),
    /// Tested landing: block an entry (retries spent).
    Block {
        /// The branch.
        branch: String,
        /// Its head.
        head: String,
        /// Why.
        reason: String,
    },
    /// Tested landing: fast-forward the base to this candidate's tip.
    Land {
        /// The candidate.
        candidate_id: String,
    },
    /// Tested landing: build a candidate of these entries on the top of the train.
    Build {
        /// Branches in merge order.
        branches: Vec<String>,
    },
    /// Tested landing, auto depth: build a probe of these entries on the
    /// base (after this pass's landings), beside the train; never landed.
    Probe {
        /// Branches in merge order.
        branches: Vec<String>,
    },
    /// Leave pending CI lines on the base this pass moved to.
    DispatchCi,
}

/// Why the pass stopped short of merging, for people.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Hold {
    /// The pipeline is paused.
    Paused,
    /// A main failed: `<reason>` (and its release's why, added by the reader).
    Failure {
        /// The failed main.
        sha: String,
        /// `<state> on <sha>`.
        reason: String,
    },
    /// Merging is held, for this reason.
    Held(String),
}

/// What a recovery of the tip means for this pass, for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecoveryNote {
    /// Nothing to say.
    None,
    /// The recovery owns the tip's current failure: the repair lands first.
    OwnsFailure,
    /// The recovery resumed the tip, which is not failed in the state it owns.
    Resumed,
}

/// The pass as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PassPlan {
    /// The actions, in order.
    pub actions: Vec<Action>,
    /// paused, release-held or complete.
    pub state: ReactState,
    /// Why merging stopped short, when it did.
    pub hold: Option<Hold>,
    /// True when the elected repair is what lands (or is built).
    pub repair: bool,
    /// What to say about a recovery of the tip.
    pub recovery: RecoveryNote,
}

/// The control state the pass decides with: the one read, with a
/// superseded controller pause already cleared.
fn deciding_control(facts: &PassFacts) -> ControlState {
    let watermark = facts.watermark_to.or(facts.watermark);
    match (
        facts.superseded,
        facts.control.controller_pause_sha(),
        watermark,
    ) {
        (true, Some(paused), Some(_)) => superseded_state(facts.control, paused),
        _ => facts.control.clone(),
    }
}

/// The decision of the pass (`core::react::plan` on the deciding control
/// state), for readers that show what the next pass would do (`status`).
pub fn decision(facts: &PassFacts) -> ReactPlan {
    decide_with(facts, &deciding_control(facts))
}

fn decide_with(facts: &PassFacts, control: &ControlState) -> ReactPlan {
    react::plan(&ReactInputs {
        control,
        base_sha: facts.base_sha,
        release: facts.release,
        admission: facts.policy.admission,
        pause_on_failure: facts.policy.pause_on_failure,
        entries: facts.entries,
        repair_branch: facts.policy.repair_branch,
        max_batch: facts
            .probe
            .map_or(facts.policy.max_batch, |(skip, take)| skip + take),
        older_failure: facts.history.failure.as_ref(),
    })
}

/// Plans one pass.
pub fn plan_pass(facts: &PassFacts) -> PassPlan {
    let mut actions = Vec::new();
    if let Some(to) = facts.watermark_to {
        actions.push(Action::MoveWatermark {
            to: to.to_owned(),
            seeded: facts.seeded,
        });
    }
    let control = deciding_control(facts);
    let watermark = facts.watermark_to.or(facts.watermark);
    if let (true, Some(paused), Some(verified)) = (
        facts.superseded,
        facts.control.controller_pause_sha(),
        watermark,
    ) {
        actions.push(Action::Supersede {
            paused: paused.to_owned(),
            verified: verified.to_owned(),
        });
    }
    let mut plan = PassPlan {
        actions,
        state: ReactState::Complete,
        hold: None,
        repair: false,
        recovery: RecoveryNote::None,
    };
    if control.is_paused() {
        plan.state = ReactState::Paused;
        plan.hold = Some(Hold::Paused);
        return plan;
    }
    let decision = decide_with(facts, &control);
    if facts.policy.landing == LandingMode::Tested {
        train_actions(facts, &decision, &mut plan);
    }
    decide(facts, &control, decision, &mut plan);
    plan
}

/// The control state once a superseded controller pause on `paused` is
/// cleared (what the fold makes of the running record the executor writes).
fn superseded_state(control: &ControlState, paused: &str) -> ControlState {
    let record = ControlRecord {
        schema: crate::core::control::CONTROL_SCHEMA,
        control_id: "supersede".into(),
        state: ControlMode::Running,
        reason: String::new(),
        main_sha: None,
        requires_control_id: None,
        resumes_control_id: control.control_id.clone(),
        recovered_main_sha: Some(paused.to_owned()),
        recovered_reason: control.reason.clone(),
        recovered_state: supersede_recovered_state(control, paused),
        signers_blob: None,
        actor: String::new(),
        at: String::new(),
        extra: Default::default(),
    };
    crate::core::control::fold_control(control, &record).0
}

/// The `recovered_state` of the running record clearing a superseded
/// controller pause: the state its reason names.
pub fn supersede_recovered_state(control: &ControlState, paused: &str) -> Option<String> {
    control
        .reason
        .as_deref()
        .and_then(|r| crate::core::control::controller_reason_state(r, paused))
        .map(|s| s.as_str().to_string())
}

/// Tested landing within a pass: what the decision lets the train do
/// (build and land; build only while admission holds; only the repair
/// during a recovery; nothing while paused or failed).
fn train_actions(facts: &PassFacts, decision: &ReactPlan, plan: &mut PassPlan) {
    let admission_hold = matches!(decision, ReactPlan::Held { .. })
        && !facts.release.is_failed()
        && facts.history.failure.is_none();
    let (may_land, may_build, only) = match decision {
        ReactPlan::Merge { repair: true, .. } => (true, true, Some(facts.policy.repair_branch)),
        ReactPlan::Merge { repair: false, .. } => (true, true, None),
        _ if admission_hold => (false, true, None),
        _ => return,
    };
    plan.repair = only.is_some();
    let train = plan_train(&TrainInputs {
        base_sha: facts.base_sha,
        entries: facts.entries,
        candidates: facts.train,
        failures: facts.failures,
        suspects: facts.suspects,
        cleared: facts.cleared,
        may_land,
        may_build,
        only,
        max_batch: facts.policy.max_batch,
        depth: facts.policy.depth,
        auto_budget: facts.policy.auto_budget,
        max_retries: facts.policy.max_retries,
        probes: facts.probes,
        // Probes beside the train come with auto depth, within its budget.
        probe_budget: facts.policy.auto_budget.unwrap_or(0),
    });
    plan.actions
        .extend(train.discard.into_iter().map(Action::Discard));
    plan.actions.extend(
        train
            .block
            .into_iter()
            .map(|(branch, head, reason)| Action::Block {
                branch,
                head,
                reason,
            }),
    );
    plan.actions.extend(
        train
            .land
            .into_iter()
            .map(|candidate_id| Action::Land { candidate_id }),
    );
    plan.actions.extend(
        train
            .build
            .into_iter()
            .map(|branches| Action::Build { branches }),
    );
    plan.actions.extend(
        train
            .probe
            .into_iter()
            .map(|branches| Action::Probe { branches }),
    );
}

/// The decision's own actions: a pause for a failure, or merge mode's merge.
fn decide(facts: &PassFacts, control: &ControlState, decision: ReactPlan, plan: &mut PassPlan) {
    let tested = facts.policy.landing == LandingMode::Tested;
    match decision {
        ReactPlan::Paused => {
            plan.state = ReactState::Paused;
            plan.hold = Some(Hold::Paused);
        }
        ReactPlan::PauseForFailure { sha, reason } => {
            plan.state = ReactState::ReleaseHeld;
            plan.hold = Some(Hold::Failure {
                sha: sha.clone(),
                reason: reason.clone(),
            });
            let pause = crate::core::control::pause_bound_to(&sha, &reason);
            if classify(control, &pause) == FoldStep::Applied {
                plan.actions.push(Action::Pause { sha, reason });
            }
        }
        ReactPlan::Held { why } => {
            plan.state = ReactState::ReleaseHeld;
            plan.hold = Some(Hold::Held(why));
        }
        ReactPlan::Merge { .. } if tested => {}
        ReactPlan::Merge { branches, repair } => {
            let branches: Vec<String> = match facts.probe {
                Some((skip, take)) => branches.into_iter().skip(skip).take(take).collect(),
                None => branches,
            };
            plan.repair = repair;
            plan.recovery = if control.recovery_owns_failure(facts.base_sha, facts.release) {
                RecoveryNote::OwnsFailure
            } else if repair {
                RecoveryNote::Resumed
            } else {
                RecoveryNote::None
            };
            if !branches.is_empty() {
                plan.actions.push(Action::Merge { branches });
                if facts.dispatch_ci {
                    plan.actions.push(Action::DispatchCi);
                }
            }
        }
    }
}

/// Entries the pass leaves waiting (not ready), for the report.
pub fn waiting(entries: &[EntryView]) -> Vec<EntryView> {
    entries
        .iter()
        .filter(|v| v.state != EntryState::Queued)
        .cloned()
        .collect()
}

#[cfg(test)]
mod tests;
