//! The reactor's decision for one pass, as a pure function: pause, hold, or
//! which queue entries to merge in which order.

use crate::core::control::ControlState;
use crate::core::judgement::JudgedMain;
use crate::core::queue::{EntryState, EntryView};
use crate::core::release::{AdmissionMode, ReleaseState, admits};

/// Everything one pass decides on.
#[derive(Debug, Clone)]
pub struct ReactInputs<'a> {
    /// The folded control state.
    pub control: &'a ControlState,
    /// The current base sha.
    pub base_sha: &'a str,
    /// Its release state.
    pub release: ReleaseState,
    /// `pipeline.release_admission`.
    pub admission: AdmissionMode,
    /// `pipeline.pause_on_failure`.
    pub pause_on_failure: bool,
    /// Queue entries with their states, FIFO.
    pub entries: &'a [EntryView],
    /// The repair lease branch for the current base sha.
    pub repair_branch: &'a str,
    /// `queue.max_batch_size`.
    pub max_batch: usize,
    /// The newest failed older main that no verified or recovered main
    /// supersedes ([`crate::core::judgement::judge_older_mains`]).
    pub older_failure: Option<&'a JudgedMain>,
}

/// What the pass should do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReactPlan {
    /// The pipeline is paused: do nothing.
    Paused,
    /// A main failed and no recovery owns it: append this controller pause, then hold.
    PauseForFailure {
        /// The failed main the pause is bound to (the tip, or an older main).
        sha: String,
        /// `<state> on <sha>`.
        reason: String,
    },
    /// Merge nothing, for this reason.
    Held {
        /// One line for people.
        why: String,
    },
    /// Merge these branches, in this order (possibly none).
    Merge {
        /// Branch names, FIFO (the elected repair alone during a recovery).
        branches: Vec<String>,
        /// True when this is the elected repair landing past a failed base.
        repair: bool,
    },
}

/// Decides one pass (DESIGN.md: admission fence, recovery bypass, FIFO batches).
pub fn plan(inputs: &ReactInputs) -> ReactPlan {
    if inputs.control.is_paused() {
        return ReactPlan::Paused;
    }
    // A recovery of the tip owns the failure it resumed, not every failure of
    // that sha (DESIGN.md, "A recovery owns the failure it resumed"): a
    // different failed state of it is new and pauses as any failure does.
    let owned = inputs.control.recovery_owns(inputs.base_sha);
    let owns_this_failure = inputs
        .control
        .recovery_owns_failure(inputs.base_sha, inputs.release);
    let short = &inputs.base_sha[..inputs.base_sha.len().min(12)];
    let failure = match inputs.release.pause_reason(inputs.base_sha) {
        Some(reason) if !owns_this_failure => Some((inputs.base_sha.to_owned(), reason)),
        // A recovered tip closes the history below it.
        _ if owned => None,
        _ => inputs
            .older_failure
            .and_then(|f| Some((f.sha.clone(), f.state.pause_reason(&f.sha)?))),
    };
    if let Some((sha, reason)) = failure {
        return if inputs.pause_on_failure {
            ReactPlan::PauseForFailure { sha, reason }
        } else {
            ReactPlan::Held {
                why: format!(
                    "{reason}; pause_on_failure is off, so nothing merges until it is fixed"
                ),
            }
        };
    }
    // The admission fence, which a recovery of this exact sha bypasses.
    if !owned && !admits(inputs.admission, inputs.release) {
        return ReactPlan::Held {
            why: format!(
                "main {short} is {}; release_admission `{}` does not admit it yet",
                inputs.release.as_str(),
                inputs.admission.as_str()
            ),
        };
    }
    if owned {
        let repair = inputs
            .entries
            .iter()
            .find(|e| e.branch == inputs.repair_branch);
        match repair {
            Some(entry) if entry.state == EntryState::Queued => {
                return ReactPlan::Merge {
                    branches: vec![entry.branch.clone()],
                    repair: true,
                };
            }
            Some(entry) if inputs.release.is_failed() => {
                return ReactPlan::Held {
                    why: format!(
                        "recovering {short}: the repair `{}` is not ready ({})",
                        entry.branch, entry.why
                    ),
                };
            }
            None if inputs.release.is_failed() => {
                return ReactPlan::Held {
                    why: format!(
                        "recovering {short}: waiting for the repair `{}` to be requested",
                        inputs.repair_branch
                    ),
                };
            }
            _ => {}
        }
    }
    let branches = inputs
        .entries
        .iter()
        .filter(|e| e.state == EntryState::Queued)
        .take(inputs.max_batch.max(1))
        .map(|e| e.branch.clone())
        .collect();
    ReactPlan::Merge {
        branches,
        repair: false,
    }
}

#[cfg(test)]
mod tests;
