//! What a pass did, as `react --json` and `status` show it: the report and
//! its views. A leaf module the executor, the train and landing all write
//! into, so none of them imports another for a type.

use crate::core::judgement::HistoryVerdict;
use crate::core::pass::ReactState;
use crate::core::queue::EntryView;
use crate::core::release::ReleaseState;
use crate::core::train::{Candidate, CandidateCi};
use crate::git::ObjectId;
use serde::Serialize;

/// One entry merged by this pass.
#[derive(Debug, Clone, Serialize)]
pub struct MergedView {
    /// The branch.
    pub branch: String,
    /// The exact head merged.
    pub head_sha: String,
    /// The base commit that contains it.
    pub merge_sha: String,
}

/// One entry this pass blocked (a conflict).
#[derive(Debug, Clone, Serialize)]
pub struct BlockedView {
    /// The branch.
    pub branch: String,
    /// Why, naming the base sha.
    pub reason: String,
}

/// What one pass did (rendered as text or `react --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ReactReport {
    /// paused, release-held or complete.
    pub state: ReactState,
    /// The base sha the pass started from.
    pub base_sha: Option<String>,
    /// The base sha after the pass (same when nothing merged).
    pub new_base_sha: Option<String>,
    /// The base release state the pass judged.
    pub release: Option<ReleaseState>,
    /// Entries merged, in order.
    pub merged: Vec<MergedView>,
    /// Entries blocked by conflicts.
    pub blocked: Vec<BlockedView>,
    /// Entries not ready, with why.
    pub waiting: Vec<EntryView>,
    /// Why merging was held or paused.
    pub why: Option<String>,
    /// True when the elected repair landed past a failed base.
    pub repair: bool,
    /// The running record this pass appended because a newer verified main superseded a controller pause.
    pub superseded: Option<String>,
    /// The controller pause this pass appended (its reason).
    pub paused_with: Option<String>,
    /// A pause that landed while this pass's push was in flight, bound to the
    /// main this pass replaced, re-bound to the new main (its reason).
    pub rebound_pause: Option<String>,
    /// The watermark set on first install.
    pub watermark_set: Option<String>,
    /// Where this pass moved `refs/deploybot/verified` (first install included).
    pub watermark_advanced: Option<String>,
    /// A recovery owns the base sha this pass started from: its failure does not pause.
    pub recovery_owns_main: bool,
    /// The older mains between the watermark and the base sha, judged.
    pub history: HistoryVerdict,
    /// Tested landing: candidates this pass built.
    pub built: Vec<CandidateView>,
    /// Tested landing: candidates this pass landed (main fast-forwarded to the last).
    pub landed: Vec<CandidateView>,
    /// Tested landing: candidates this pass discarded, with why.
    pub discarded: Vec<DiscardedView>,
}

impl ReactReport {
    /// An empty report of a pass that started from `base`.
    pub fn new(state: ReactState, base: Option<ObjectId>) -> ReactReport {
        ReactReport {
            state,
            base_sha: base.map(|b| b.to_string()),
            new_base_sha: base.map(|b| b.to_string()),
            release: None,
            merged: Vec::new(),
            blocked: Vec::new(),
            waiting: Vec::new(),
            why: None,
            repair: false,
            superseded: None,
            paused_with: None,
            rebound_pause: None,
            watermark_set: None,
            watermark_advanced: None,
            recovery_owns_main: false,
            history: HistoryVerdict::default(),
            built: Vec::new(),
            landed: Vec::new(),
            discarded: Vec::new(),
        }
    }
}

/// A candidate as `status` and `react --json` show it.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateView {
    /// Its id (try branch `deploybot/try/<id>`).
    pub candidate_id: String,
    /// Its tip, the commit under test.
    pub sha: String,
    /// What it is built on.
    pub base_sha: String,
    /// Its entries.
    pub entries: Vec<CandidateEntryView>,
    /// `testing`, `passed` or `failed`.
    pub state: String,
    /// One line for people.
    pub why: String,
    /// True for a probe beside the train (auto depth): tested on the base, never landed.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub probe: bool,
}

/// An entry of a candidate, as shown.
#[derive(Debug, Clone, Serialize)]
pub struct CandidateEntryView {
    /// The branch.
    pub branch: String,
    /// Its requested head.
    pub head_sha: String,
}

/// A candidate this pass discarded.
#[derive(Debug, Clone, Serialize)]
pub struct DiscardedView {
    /// Its id.
    pub candidate_id: String,
    /// Why.
    pub reason: String,
}

/// How a candidate and its CI read for people.
pub fn view_of(candidate: &Candidate, ci: &CandidateCi) -> CandidateView {
    let (state, why) = match ci {
        CandidateCi::Testing => ("testing", "waiting for CI on its tip".to_owned()),
        CandidateCi::Passed => (
            "passed",
            "every check passed: lands when main admits it".to_owned(),
        ),
        CandidateCi::Failed { check, url } => (
            "failed",
            format!(
                "{check} failed{}",
                url.as_deref()
                    .map(|u| format!(" ({u})"))
                    .unwrap_or_default()
            ),
        ),
    };
    CandidateView {
        candidate_id: candidate.candidate_id.clone(),
        sha: candidate.sha.clone(),
        base_sha: candidate.base_sha.clone(),
        entries: candidate
            .entries
            .iter()
            .map(|e| CandidateEntryView {
                branch: e.branch.clone(),
                head_sha: e.head_sha.clone(),
            })
            .collect(),
        state: state.into(),
        why,
        probe: false,
    }
}
