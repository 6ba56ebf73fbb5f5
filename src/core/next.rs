//! What moves things on from a state: the next steps `status` suggests and
//! the last word of `why`, as pure functions of what `status` gathered and
//! of the pass `react` would run ([`crate::core::react::plan`]). A step is
//! suggested only when the command would succeed in that state and do what
//! the step says; one this clone's actor may not run is suggested as a
//! request to someone who may.

use crate::core::control::ControlState;
use crate::core::queue::{EntryState, EntryView};
use crate::core::react::ReactPlan;
use crate::core::release::ReleaseState;
use crate::core::roles::Role;

/// What this clone's actor may write under the policy.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Permissions {
    /// May run `react` (a coordinator, or no coordinators named).
    pub coordinator: bool,
    /// May pause, unpause, request and claim repairs.
    pub trusted: bool,
}

/// The repair lease on the failed tip, and its queue entry when requested.
#[derive(Debug, Clone, Copy)]
pub struct RepairStanding<'a> {
    /// The lease branch.
    pub branch: &'a str,
    /// Its entry in the queue (None: not requested yet).
    pub entry: Option<&'a EntryView>,
}

/// Everything the next steps depend on.
#[derive(Debug, Clone, Copy)]
pub struct Situation<'a> {
    /// The folded control state.
    pub control: &'a ControlState,
    /// The base tip (None: the base branch does not exist).
    pub base_sha: Option<&'a str>,
    /// The tip's release state.
    pub release: Option<ReleaseState>,
    /// The current pause resumes with `unpause --sha <control.main_sha>`.
    pub pause_resumable: bool,
    /// The repair lease on the tip, when one is claimed.
    pub repair: Option<RepairStanding<'a>>,
    /// What `react` would do now (None: no base branch).
    pub plan: Option<&'a ReactPlan>,
    /// `queue.landing = "tested"`: react builds candidates instead of merging.
    pub tested: bool,
    /// Tested landing: a candidate built on the tip passed, so react lands it.
    pub candidate_passed: bool,
    /// Queue entries in FIFO order (candidates' entries are `testing`).
    pub entries: &'a [EntryView],
    /// The tip is verified and `refs/deploybot/verified` does not name it.
    pub watermark_lags: bool,
    /// What this clone may write.
    pub may: Permissions,
}

/// What a suggested `react` would do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReactWould {
    /// Merge this many ready entries.
    Merge(usize),
    /// Build candidates with this many ready entries (tested landing).
    Build(usize),
    /// Land the candidate that passed (tested landing).
    Land,
    /// Append this controller pause (`<state> on <sha>`).
    Pause(String),
    /// Land the elected repair past the failed main.
    Repair(String),
}

/// One next step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    /// Take the repair lease of the failed tip.
    ClaimRepair,
    /// Push the fix to the claimed lease branch, then request it.
    RequestRepair {
        /// The lease branch.
        branch: String,
    },
    /// The requested repair is not ready, and why.
    RepairWaits {
        /// The lease branch.
        branch: String,
        /// The entry's own why.
        why: String,
    },
    /// Resume the current pause.
    Unpause {
        /// The sha it is bound to.
        sha: String,
        /// Its control id.
        control_id: String,
    },
    /// The pause is bound to a main that moved on: pause again on the tip.
    RebindPause {
        /// The pause's reason, to restate.
        reason: String,
    },
    /// Run a react pass.
    React(ReactWould),
    /// Record the verified tip in the watermark.
    Follow,
    /// Queue entries wait for their required checks on their exact heads
    /// (`ci pending` lists them for runners).
    CiPending {
        /// How many.
        entries: usize,
    },
}

impl Step {
    /// The role the step's command needs (None: a read anyone may run).
    pub fn needs(&self) -> Option<Role> {
        match self {
            Step::ClaimRepair
            | Step::RequestRepair { .. }
            | Step::Unpause { .. }
            | Step::RebindPause { .. } => Some(Role::Trusted),
            Step::React(_) | Step::Follow => Some(Role::Coordinator),
            Step::RepairWaits { .. } | Step::CiPending { .. } => None,
        }
    }
}

/// A step, and whether this clone may run it (else: ask someone who may).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Suggestion {
    /// The step.
    pub step: Step,
    /// False when this clone's actor lacks the role the step needs.
    pub allowed: bool,
}

impl Situation<'_> {
    fn allowed(&self, step: &Step) -> bool {
        match step.needs() {
            Some(Role::Coordinator) => self.may.coordinator,
            Some(_) => self.may.trusted,
            None => true,
        }
    }

    fn failed(&self) -> bool {
        self.release.is_some_and(|r| r.is_failed())
    }

    /// The repair steps of a failed tip: claim, request, or why it waits.
    fn repair_steps(&self) -> Vec<Step> {
        match self.repair {
            None => vec![Step::ClaimRepair],
            Some(RepairStanding {
                branch,
                entry: None,
            }) => vec![Step::RequestRepair {
                branch: branch.to_string(),
            }],
            Some(RepairStanding {
                branch,
                entry: Some(entry),
            }) if entry.state != EntryState::Queued => vec![Step::RepairWaits {
                branch: branch.to_string(),
                why: entry.why.clone(),
            }],
            Some(_) => Vec::new(),
        }
    }

    /// The react step, when a pass would do something.
    fn react_step(&self) -> Option<Step> {
        let would = match self.plan? {
            ReactPlan::PauseForFailure { reason, .. } => ReactWould::Pause(reason.clone()),
            ReactPlan::Merge {
                branches,
                repair: true,
            } => ReactWould::Repair(branches.first()?.clone()),
            ReactPlan::Merge { .. } if self.tested && self.candidate_passed => ReactWould::Land,
            ReactPlan::Merge { branches, .. } if branches.is_empty() => return None,
            ReactPlan::Merge { branches, .. } if self.tested => ReactWould::Build(branches.len()),
            ReactPlan::Merge { branches, .. } => ReactWould::Merge(branches.len()),
            ReactPlan::Paused | ReactPlan::Held { .. } => return None,
        };
        Some(Step::React(would))
    }

    /// Entries waiting for their checks (main's own CI is the runners'
    /// routine, shown by its release, not a step for a person).
    fn ci_step(&self) -> Option<Step> {
        let entries = self
            .entries
            .iter()
            .filter(|e| e.state == EntryState::WaitingChecks)
            .count();
        (entries > 0).then_some(Step::CiPending { entries })
    }
}

/// The next steps from this situation, most urgent first.
pub fn next_steps(s: &Situation) -> Vec<Suggestion> {
    let mut steps = Vec::new();
    let tip = s.base_sha;
    if s.control.is_paused() {
        if s.failed() && tip.is_some() {
            steps.extend(s.repair_steps());
        }
        steps.extend(s.ci_step());
        let sha = s.control.main_sha.clone().unwrap_or_default();
        if s.pause_resumable || (tip.is_some() && tip == Some(sha.as_str())) {
            steps.push(Step::Unpause {
                sha,
                control_id: s.control.control_id.clone().unwrap_or_default(),
            });
        } else {
            steps.push(Step::RebindPause {
                reason: s.control.reason.clone().unwrap_or_default(),
            });
        }
    } else {
        if s.failed() && tip.is_some() {
            steps.extend(s.repair_steps());
        }
        steps.extend(s.react_step());
        if s.watermark_lags && s.release == Some(ReleaseState::Verified) {
            steps.push(Step::Follow);
        }
        steps.extend(s.ci_step());
    }
    steps
        .into_iter()
        .map(|step| Suggestion {
            allowed: s.allowed(&step),
            step,
        })
        .collect()
}

/// What moves a queued entry (the last word of `why`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryNext {
    /// The next react merges it (or builds a candidate with it).
    NextPass {
        /// Tested landing: it goes into a candidate.
        tested: bool,
    },
    /// It is ready but later in the queue than this pass's batch.
    AfterEarlierEntries,
    /// The pipeline is paused: it moves once unpaused.
    Unpause,
    /// A recovery lands its repair first.
    AfterRepair,
    /// Merging is held (a failure, or admission), for this reason.
    Held(String),
    /// Its required checks must be reported green on its exact head.
    ReportChecks,
    /// Blocked: unblock it or request a new head.
    Unblock,
    /// Its branch moved: request the new head.
    RequestNewHead,
    /// In a candidate: it lands when the candidate passes CI.
    LandsWhenPassed,
}

/// What moves `entry` on from this situation.
pub fn entry_next(s: &Situation, entry: &EntryView) -> EntryNext {
    match entry.state {
        EntryState::WaitingChecks => return EntryNext::ReportChecks,
        EntryState::Blocked => return EntryNext::Unblock,
        EntryState::Stale => return EntryNext::RequestNewHead,
        _ if s.control.is_paused() => return EntryNext::Unpause,
        EntryState::Testing => return EntryNext::LandsWhenPassed,
        EntryState::Queued => {}
    }
    match s.plan {
        Some(ReactPlan::Merge { branches, .. }) if branches.contains(&entry.branch) => {
            EntryNext::NextPass { tested: s.tested }
        }
        Some(ReactPlan::Merge { repair: true, .. }) => EntryNext::AfterRepair,
        Some(ReactPlan::Merge { .. }) => EntryNext::AfterEarlierEntries,
        Some(ReactPlan::PauseForFailure { reason, .. }) => EntryNext::Held(reason.clone()),
        Some(ReactPlan::Held { why }) => EntryNext::Held(why.clone()),
        Some(ReactPlan::Paused) => EntryNext::Unpause,
        None => EntryNext::Held("the base branch does not exist".into()),
    }
}

/// What moves a merged entry's release on (the last word of `why`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MergedNext {
    /// `follow` takes it to verified.
    Follow,
    /// The pipeline is paused: following resumes after the unpause.
    Unpause,
    /// The main it is in failed: the repair lands first.
    Repair,
}

/// What moves the release of a main that holds a merged entry.
pub fn merged_next(s: &Situation, release: ReleaseState) -> MergedNext {
    if s.control.is_paused() {
        MergedNext::Unpause
    } else if release.is_failed() {
        MergedNext::Repair
    } else {
        MergedNext::Follow
    }
}

#[cfg(test)]
mod tests;
