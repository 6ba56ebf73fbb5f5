//! The control ledger's records and the pinned control fold (DESIGN.md, "The control fold").

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::core::release::ReleaseState;

/// The schema version written into every control record.
pub const CONTROL_SCHEMA: u32 = 1;
/// Longest reason a control record may carry, in bytes.
pub const MAX_REASON_BYTES: usize = 4096;

/// Whether the pipeline runs or is paused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ControlMode {
    /// Work may merge and releases are followed.
    Running,
    /// Nothing merges until the pause is resumed.
    Paused,
}

impl ControlMode {
    /// The pinned lowercase name.
    pub fn as_str(self) -> &'static str {
        match self {
            ControlMode::Running => "running",
            ControlMode::Paused => "paused",
        }
    }
}

/// One record of `refs/deploybot/control`. Unknown fields are kept in `extra`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ControlRecord {
    /// Always [`CONTROL_SCHEMA`] for records this version writes.
    pub schema: u32,
    /// Unique random id of this record. A record read without one (an old
    /// or foreign writer) gets `commit:<its ledger commit sha>` from the
    /// ledger reader; the hook refuses new records without one.
    #[serde(default)]
    pub control_id: String,
    /// `paused` or `running`.
    pub state: ControlMode,
    /// Why (for pauses: the failure or the operator's words).
    #[serde(default)]
    pub reason: String,
    /// The base sha a pause is bound to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub main_sha: Option<String>,
    /// A conditional pause applies only while this running record is current.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requires_control_id: Option<String>,
    /// The pause a running record resumes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resumes_control_id: Option<String>,
    /// The failed base sha a recovery resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_main_sha: Option<String>,
    /// The reason of the pause a recovery resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_reason: Option<String>,
    /// The release state of the recovered sha when the operator unpaused
    /// (`ci-failed`, `deploy-failed`, …): the one failure the recovery owns.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recovered_state: Option<String>,
    /// Signed controls: the blob id of the allowed-signers file the record
    /// was judged against when written (the base tip's, which the server
    /// checks). Readers verify against that file at the record's `at`, so a
    /// key removed or expired later does not change what it decided.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signers_blob: Option<String>,
    /// Who wrote it.
    #[serde(default)]
    pub actor: String,
    /// When, RFC 3339 UTC.
    #[serde(default)]
    pub at: String,
    /// Fields from other versions, kept and ignored.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The folded control state: what `status` shows as `control`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ControlState {
    /// `paused` or `running`.
    pub state: ControlMode,
    /// The record that made this state (None before any record applied).
    pub control_id: Option<String>,
    /// Its reason.
    pub reason: Option<String>,
    /// The base sha a pause is bound to.
    pub main_sha: Option<String>,
    /// Set when the current pause is conditional.
    pub requires_control_id: Option<String>,
    /// The failed sha the current recovery resumed.
    pub recovered_main_sha: Option<String>,
    /// The reason of the pause the current recovery resumed.
    pub recovered_reason: Option<String>,
    /// The release state of the recovered sha when it was unpaused (null
    /// from older writers: see [`ControlState::recovery_owns_failure`]).
    #[serde(default)]
    pub recovered_state: Option<String>,
    /// Who wrote the current record.
    pub actor: Option<String>,
    /// When the current record was written.
    pub at: Option<String>,
}

impl Default for ControlState {
    fn default() -> Self {
        ControlState {
            state: ControlMode::Running,
            control_id: None,
            reason: None,
            main_sha: None,
            requires_control_id: None,
            recovered_main_sha: None,
            recovered_reason: None,
            recovered_state: None,
            actor: None,
            at: None,
        }
    }
}

/// The failed state a controller reason `<state> on <sha>` names, for this sha.
pub fn controller_reason_state(reason: &str, sha: &str) -> Option<ReleaseState> {
    let (state, on) = reason.split_once(" on ")?;
    let state = ReleaseState::parse(state)?;
    (on == sha && state.is_failed()).then_some(state)
}

/// What one fold step did with a record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FoldStep {
    /// The record became the state.
    Applied,
    /// Rule 1: a conditional pause whose running record is no longer current.
    IgnoredConditionNotMet,
    /// Rule 2: a pause restating the failure the current recovery resumed.
    IgnoredAlreadyRecovered,
    /// Rule 4: a running record that does not resume the current pause.
    IgnoredNotResumingCurrentPause,
}

impl ControlState {
    /// True when paused.
    pub fn is_paused(&self) -> bool {
        self.state == ControlMode::Paused
    }

    /// True when the current recovery resumed a pause on `sha` (running,
    /// `recovered_main_sha` = `sha`): the admission fence lets its elected
    /// repair land first. Which failures of `sha` it owns is
    /// [`ControlState::recovery_owns_failure`].
    pub fn recovery_owns(&self, sha: &str) -> bool {
        self.state == ControlMode::Running && self.recovered_main_sha.as_deref() == Some(sha)
    }

    /// True when the current recovery owns `sha` in the failed `state`, so a
    /// pause for it would restate the failure the operator already resumed
    /// (DESIGN.md, "A recovery owns the failure it resumed"): the
    /// `recovered_state` the unpause recorded, or the state its recovered
    /// controller reason names (`<state> on <sha>`). A record of an older
    /// writer, without `recovered_state`, that resumed an operator's pause
    /// owns every failed state of its sha. Any other failure is new.
    pub fn recovery_owns_failure(&self, sha: &str, state: ReleaseState) -> bool {
        if !state.is_failed() || !self.recovery_owns(sha) {
            return false;
        }
        let by_reason = self
            .recovered_reason
            .as_deref()
            .and_then(|r| controller_reason_state(r, sha));
        if by_reason == Some(state) {
            return true;
        }
        match &self.recovered_state {
            Some(recorded) => ReleaseState::parse(recorded) == Some(state),
            None => by_reason.is_none(),
        }
    }

    /// True when `record` is an unconditional pause that only restates the
    /// failure the current recovery owns (fold rule 2): its reason is the
    /// recovered reason, or `<owned state> on <recovered sha>`.
    pub fn restates_recovery(&self, record: &ControlRecord) -> bool {
        if record.state != ControlMode::Paused || record.requires_control_id.is_some() {
            return false;
        }
        let Some(sha) = record.main_sha.as_deref() else {
            return false;
        };
        if !self.recovery_owns(sha) {
            return false;
        }
        self.recovered_reason.as_deref() == Some(record.reason.as_str())
            || controller_reason_state(&record.reason, sha)
                .is_some_and(|state| self.recovery_owns_failure(sha, state))
    }

    /// The failed sha of a controller pause (`<state> on <sha>` bound to that
    /// sha, unconditional); None for operator and conditional pauses.
    pub fn controller_pause_sha(&self) -> Option<&str> {
        if !self.is_paused() || self.requires_control_id.is_some() {
            return None;
        }
        let sha = self.main_sha.as_deref()?;
        controller_reason_state(self.reason.as_deref()?, sha).map(|_| sha)
    }

    fn from_record(record: &ControlRecord) -> ControlState {
        ControlState {
            state: record.state,
            control_id: Some(record.control_id.clone()),
            reason: Some(record.reason.clone()),
            main_sha: record.main_sha.clone(),
            requires_control_id: record.requires_control_id.clone(),
            recovered_main_sha: record.recovered_main_sha.clone(),
            recovered_reason: record.recovered_reason.clone(),
            recovered_state: record.recovered_state.clone(),
            actor: Some(record.actor.clone()),
            at: Some(record.at.clone()),
        }
    }
}

/// Decides what `record` does to `state` (the pinned rules 1–4), without applying it.
pub fn classify(state: &ControlState, record: &ControlRecord) -> FoldStep {
    match record.state {
        ControlMode::Paused => {
            if let Some(required) = &record.requires_control_id {
                let current = state.state == ControlMode::Running
                    && state.control_id.as_deref() == Some(required.as_str());
                return if current {
                    FoldStep::Applied
                } else {
                    FoldStep::IgnoredConditionNotMet
                };
            }
            if state.restates_recovery(record) {
                FoldStep::IgnoredAlreadyRecovered
            } else {
                FoldStep::Applied
            }
        }
        ControlMode::Running => {
            let resumes_current = state.state == ControlMode::Paused
                && record.resumes_control_id.is_some()
                && record.resumes_control_id == state.control_id;
            if resumes_current {
                FoldStep::Applied
            } else {
                FoldStep::IgnoredNotResumingCurrentPause
            }
        }
    }
}

/// Folds one record into the state (pinned semantics); returns the new state and what happened.
pub fn fold_control(state: &ControlState, record: &ControlRecord) -> (ControlState, FoldStep) {
    let step = classify(state, record);
    if step != FoldStep::Applied {
        return (state.clone(), step);
    }
    let mut next = ControlState::from_record(record);
    if record.state == ControlMode::Running {
        next.recovered_main_sha = record
            .recovered_main_sha
            .clone()
            .or_else(|| state.main_sha.clone());
        next.recovered_reason = record
            .recovered_reason
            .clone()
            .or_else(|| state.reason.clone());
        // An older writer's record names no state: read lazily from the
        // reason (`owned_failure`), never invented here, so snapshots of
        // every version agree.
        next.recovered_state = record.recovered_state.clone();
    }
    (next, step)
}

/// Folds a whole sequence of records from the initial `running` state.
pub fn fold_all<'a>(records: impl IntoIterator<Item = &'a ControlRecord>) -> ControlState {
    records
        .into_iter()
        .fold(ControlState::default(), |state, record| {
            fold_control(&state, record).0
        })
}

/// An unconditional pause bound to `sha` with `reason`, as a writer appends
/// it (id, actor and time left for the writer to fill): what the fold makes
/// of a pause a pass would write.
pub fn pause_bound_to(sha: &str, reason: &str) -> ControlRecord {
    ControlRecord {
        schema: CONTROL_SCHEMA,
        control_id: "pause".into(),
        state: ControlMode::Paused,
        reason: reason.to_owned(),
        main_sha: Some(sha.to_owned()),
        requires_control_id: None,
        resumes_control_id: None,
        recovered_main_sha: None,
        recovered_reason: None,
        recovered_state: None,
        signers_blob: None,
        actor: String::new(),
        at: String::new(),
        extra: Map::new(),
    }
}

/// The id a record written without `control_id` is known by:
/// `commit:<full sha of its ledger commit>` (DESIGN.md, "Legacy pause records").
pub fn legacy_control_id(commit_sha: &str) -> String {
    format!("commit:{commit_sha}")
}

/// True when `text` is 40 lowercase hex digits.
pub fn is_full_sha(text: &str) -> bool {
    text.len() == 40
        && text
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

impl ControlRecord {
    /// The commit subject for this record, e.g. `pause: ci-failed on 1a2b…`.
    pub fn summary(&self) -> String {
        let verb = match (self.state, &self.requires_control_id) {
            (ControlMode::Paused, None) => "pause",
            (ControlMode::Paused, Some(_)) => "pause (conditional)",
            (ControlMode::Running, _) if self.resumes_control_id.is_some() => "unpause",
            (ControlMode::Running, _) => "start",
        };
        let reason: String = self.reason.chars().take(120).collect();
        format!("{verb}: {reason}")
    }

    /// Checks the record's shape: schema, ids, shas, reason size, no control characters.
    pub fn validate(&self) -> Result<(), String> {
        if self.schema != CONTROL_SCHEMA {
            return Err(format!("unsupported schema {}", self.schema));
        }
        if self.control_id.is_empty() {
            return Err(
                "`control_id` is missing: every new control record needs a unique id".into(),
            );
        }
        if self.control_id.len() > 128 {
            return Err("control_id must be 1 to 128 characters".into());
        }
        if self.reason.len() > MAX_REASON_BYTES {
            return Err(format!(
                "reason is {} bytes, more than {MAX_REASON_BYTES}",
                self.reason.len()
            ));
        }
        let texts = [&self.control_id, &self.reason, &self.actor, &self.at];
        if texts.iter().any(|t| t.chars().any(char::is_control)) {
            return Err("a field contains control characters".into());
        }
        if self
            .recovered_state
            .as_deref()
            .is_some_and(|s| s.len() > 64 || s.chars().any(char::is_control))
        {
            return Err("`recovered_state` must be a short name".into());
        }
        let shas = [&self.main_sha, &self.recovered_main_sha, &self.signers_blob];
        for sha in shas.into_iter().flatten() {
            if !is_full_sha(sha) {
                return Err(format!("`{sha}` is not a 40-hex sha"));
            }
        }
        if self.state == ControlMode::Paused && self.reason.trim().is_empty() {
            return Err("a pause needs a reason".into());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
