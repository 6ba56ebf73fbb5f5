//! The queue ledger (`refs/deploybot/queue`): its records, their fold into
//! the FIFO queue, and the display state of one entry.

use serde::{Deserialize, Serialize};

use crate::core::results::CheckSummary;
use crate::core::time::parse_rfc3339;
use candidates::{Candidate, CandidateEntry};

pub mod candidates;
pub mod suspects;

/// The record schema this version writes.
pub const SCHEMA: u32 = 1;

/// How many merged entries the folded state remembers.
pub const MERGED_HISTORY: usize = 50;

/// The longest `reason` a record may carry, in bytes.
pub const MAX_REASON_BYTES: usize = 4096;

/// What a queue ledger record does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QueueAction {
    /// Queue a branch's exact head (or replace its queued head).
    Request,
    /// The requester withdraws the branch.
    Cancel,
    /// Hold the entry with a reason.
    Block,
    /// Release a held entry.
    Unblock,
    /// The coordinator drops the entry (e.g. a merge conflict).
    Dequeue,
    /// The coordinator merged the entry's head into the base.
    Merged,
    /// Tested landing: the coordinator built a candidate (`branch` is its try branch).
    Candidate,
    /// Tested landing: a candidate left the train without landing (failed or stale).
    Discarded,
}

impl QueueAction {
    /// The pinned lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            QueueAction::Request => "request",
            QueueAction::Cancel => "cancel",
            QueueAction::Block => "block",
            QueueAction::Unblock => "unblock",
            QueueAction::Dequeue => "dequeue",
            QueueAction::Merged => "merged",
            QueueAction::Candidate => "candidate",
            QueueAction::Discarded => "discarded",
        }
    }
}

/// One queue ledger record (`record.json` of one ledger commit).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueRecord {
    /// The record schema, [`SCHEMA`].
    pub schema: u32,
    /// What the record does.
    pub action: QueueAction,
    /// The branch's short name, e.g. `feature/x`.
    pub branch: String,
    /// The exact head: required for `request` and `merged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub head_sha: Option<String>,
    /// For `merged`: the new base commit.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merge_sha: Option<String>,
    /// Why (block, dequeue, discarded), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Tested landing: the candidate (`candidate`, `discarded`, and `merged` when it landed one).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_id: Option<String>,
    /// `candidate`: its tip, the commit under test.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    /// `candidate`: what it is built on (the base tip or the candidate below).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_sha: Option<String>,
    /// `candidate` (and `discarded`): the entries it holds, in merge order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entries: Option<Vec<CandidateEntry>>,
    /// `discarded`: `failed` (its CI failed) or `stale` (its base or an entry changed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
    /// `candidate`: true for a probe beside the train (auto depth), tested
    /// on the base and never landed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub probe: Option<bool>,
    /// Who wrote the record.
    pub actor: String,
    /// When (RFC 3339 UTC).
    pub at: String,
    /// Fields this version does not know; kept and ignored.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl QueueRecord {
    /// A schema-1 record with no sha, no reason and no extra fields.
    pub fn new(action: QueueAction, branch: &str, actor: &str, at: &str) -> Self {
        QueueRecord {
            schema: SCHEMA,
            action,
            branch: branch.to_owned(),
            head_sha: None,
            merge_sha: None,
            reason: None,
            candidate_id: None,
            sha: None,
            base_sha: None,
            entries: None,
            outcome: None,
            probe: None,
            actor: actor.to_owned(),
            at: at.to_owned(),
            extra: serde_json::Map::new(),
        }
    }

    /// Checks a record before it is written or accepted by the hook: `Err`
    /// is one line. Shas are 40 lowercase hex; `request` and `merged` need
    /// `head_sha`, `merged` needs `merge_sha`, `block` needs a reason.
    pub fn validate(&self) -> Result<(), String> {
        if self.schema < SCHEMA {
            return Err(format!("unsupported schema {}", self.schema));
        }
        validate_branch_name(&self.branch)
            .map_err(|why| format!("branch `{}` is not valid: {why}", self.branch))?;
        for (field, sha) in [("head_sha", &self.head_sha), ("merge_sha", &self.merge_sha)] {
            if sha.as_ref().is_some_and(|sha| !is_full_sha(sha)) {
                return Err(format!("`{field}` is not 40 lowercase hex digits"));
            }
        }
        let needs_head = matches!(self.action, QueueAction::Request | QueueAction::Merged);
        if needs_head && self.head_sha.is_none() {
            return Err(format!("`{}` needs `head_sha`", self.action.as_str()));
        }
        if self.action == QueueAction::Merged && self.merge_sha.is_none() {
            return Err("`merged` needs `merge_sha`".to_owned());
        }
        match &self.reason {
            Some(reason) if reason.len() > MAX_REASON_BYTES => {
                return Err(format!("`reason` is longer than {MAX_REASON_BYTES} bytes"));
            }
            Some(reason) if reason.chars().any(char::is_control) => {
                return Err("`reason` contains control characters".to_owned());
            }
            None if self.action == QueueAction::Block => {
                return Err("`block` needs a reason".to_owned());
            }
            _ => {}
        }
        candidates::validate_train_fields(self)?;
        if self.actor.trim().is_empty() || self.actor.chars().any(char::is_control) {
            return Err("`actor` is empty or contains control characters".to_owned());
        }
        if parse_rfc3339(&self.at).is_none() {
            return Err(format!("`at` is not an RFC 3339 time: `{}`", self.at));
        }
        Ok(())
    }

    /// The ledger commit's subject, e.g. `request: feature/x at 1a2b3c4d5e6f`.
    pub fn summary(&self) -> String {
        let mut subject = format!("{}: {}", self.action.as_str(), self.branch);
        if let (Some(sha), Some(base), Some(entries)) = (&self.sha, &self.base_sha, &self.entries) {
            let branches: Vec<&str> = entries.iter().map(|e| e.branch.as_str()).collect();
            subject.push_str(&format!(
                " at {} on {} ({})",
                short_sha(sha),
                short_sha(base),
                branches.join(", ")
            ));
        }
        if let Some(head) = &self.head_sha {
            subject.push_str(&format!(" at {}", short_sha(head)));
        }
        if let Some(merge) = &self.merge_sha {
            subject.push_str(&format!(" as {}", short_sha(merge)));
        }
        if let Some(reason) = &self.reason {
            let line = reason.split_whitespace().collect::<Vec<_>>().join(" ");
            let mut short: String = line.chars().take(72).collect();
            if short.len() < line.len() {
                short.push('…');
            }
            subject.push_str(&format!(" ({short})"));
        }
        subject
    }
}

/// A queued branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueEntry {
    /// The branch's short name.
    pub branch: String,
    /// The exact head requested; only this commit may be merged.
    pub head_sha: String,
    /// The actor of the request.
    pub requested_by: String,
    /// The request's `at`.
    pub requested_at: String,
    /// The block reason, when blocked.
    pub blocked: Option<String>,
    /// The ledger index of the request: the FIFO key.
    pub position: u64,
}

/// A branch the coordinator merged.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MergedEntry {
    /// The branch's short name.
    pub branch: String,
    /// The head that was merged.
    pub head_sha: String,
    /// The base commit the merge produced.
    pub merge_sha: String,
    /// The merged record's `at`.
    pub at: String,
}

/// The folded queue.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueState {
    /// Queued entries, oldest request first; one per branch.
    pub entries: QueueEntries,
    /// The last [`MERGED_HISTORY`] merges, newest last.
    pub merged: Vec<MergedEntry>,
    /// Ledger records folded so far, ignored ones included: the next
    /// record's ledger index.
    pub applied: u64,
    /// Tested landing: the candidates under test, bottom (built on the base) first.
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Tested landing: failed single-entry candidates per `branch head_sha`
    /// (and entries named by elimination, see [`suspects`]), kept only while
    /// that entry is queued at that head.
    #[serde(default)]
    pub failures: suspects::Failures,
    /// Tested landing: failed batches whose culprit is not named yet.
    #[serde(default)]
    pub suspects: suspects::Suspects,
    /// Tested landing with auto depth: per `branch head_sha`, the failure
    /// count at which a probe proved the entry innocent alone; it is hunted
    /// again only if it fails again (then the count goes on, so an entry that
    /// passes alone but fails in the train is blocked once its retries are spent).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub cleared: suspects::Failures,
    /// Tested landing with auto depth: probes beside the train (never landed).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub probes: Vec<Candidate>,
}

impl QueueState {
    /// The entry queued for `branch`, if any.
    pub fn entry(&self, branch: &str) -> Option<&QueueEntry> {
        self.entries.get(branch)
    }
}

/// Folds one ledger record into the state.
///
/// - `request` (needs `head_sha`) appends an entry, or replaces the branch's
///   entry: new head, moved to the back, block cleared;
/// - `cancel` and `dequeue` remove the branch's entry;
/// - `block` sets the block reason, `unblock` clears it (unknown branch: no-op);
/// - `merged` (needs `head_sha` and `merge_sha`) removes the entry only if it
///   still holds that head (a newer request stays) and records the merge.
///
/// An invalid record changes nothing but `applied`, which counts every record
/// so that a request's `position` is its ledger index.
pub fn fold_queue(mut state: QueueState, record: &QueueRecord) -> QueueState {
    let position = state.applied;
    state.applied += 1;
    let branch = record.branch.as_str();
    match record.action {
        QueueAction::Request => {
            let Some(head) = &record.head_sha else {
                return state;
            };
            drop_suspect(&mut state, branch);
            state.entries.push(QueueEntry {
                branch: record.branch.clone(),
                head_sha: head.clone(),
                requested_by: record.actor.clone(),
                requested_at: record.at.clone(),
                blocked: None,
                position,
            });
        }
        QueueAction::Cancel | QueueAction::Dequeue => {
            drop_suspect(&mut state, branch);
            state.entries.remove(branch);
        }
        QueueAction::Block => {
            drop_suspect(&mut state, branch);
            if let Some(entry) = state.entries.get_mut(branch) {
                let reason = record.reason.clone();
                entry.blocked = Some(reason.unwrap_or_else(|| "blocked".into()));
            }
        }
        QueueAction::Unblock => {
            if let Some(entry) = state.entries.get_mut(branch) {
                entry.blocked = None;
            }
        }
        QueueAction::Merged => {
            let (Some(head), Some(merge)) = (&record.head_sha, &record.merge_sha) else {
                return state;
            };
            if state
                .entries
                .get(branch)
                .is_some_and(|e| e.head_sha == *head)
            {
                state.entries.remove(branch);
            }
            state.merged.push(MergedEntry {
                branch: record.branch.clone(),
                head_sha: head.clone(),
                merge_sha: merge.clone(),
                at: record.at.clone(),
            });
            let excess = state.merged.len().saturating_sub(MERGED_HISTORY);
            state.merged.drain(..excess);
            if let Some(id) = &record.candidate_id {
                state.candidates.retain(|c| &c.candidate_id != id);
            }
            let key = candidates::failure_key(branch, head);
            suspects::note_landed(&mut state.suspects, &key);
        }
        QueueAction::Candidate | QueueAction::Discarded => {
            candidates::fold_train(&mut state, record);
        }
    }
    prune_failures(&mut state);
    state
}

/// Failure counts (and their clearings) live only as long as their entry is
/// queued at that head: a landed, cancelled or re-requested entry's count
/// goes with it, and a candidate discarded after its entry left counts
/// nothing. Queue fold version 2 (version 1 kept them forever).
fn prune_failures(state: &mut QueueState) {
    let entries = &state.entries;
    let queued = |key: &String| {
        key.rsplit_once(' ')
            .is_some_and(|(branch, head)| entries.get(branch).is_some_and(|e| e.head_sha == head))
    };
    state.failures.retain(|key, _| queued(key));
    state.cleared.retain(|key, _| queued(key));
}

/// The branch's queued entry leaves (or changes): the failed batches that
/// suspected it lose their evidence.
fn drop_suspect(state: &mut QueueState, branch: &str) {
    if let Some(entry) = state.entries.get(branch) {
        let key = candidates::failure_key(branch, &entry.head_sha);
        suspects::note_dropped(&mut state.suspects, &key);
    }
}

/// Accounts for a ledger commit whose record could not be read at all
/// (so later positions stay ledger indices); nothing else changes.
pub fn fold_unreadable(mut state: QueueState) -> QueueState {
    state.applied += 1;
    state
}

/// Folds records in ledger order from the empty queue.
pub fn fold_all<'a>(records: impl IntoIterator<Item = &'a QueueRecord>) -> QueueState {
    records.into_iter().fold(QueueState::default(), fold_queue)
}

/// What an entry is waiting on (pinned kebab-case names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum EntryState {
    /// Ready to merge.
    Queued,
    /// A required check is failing, pending or missing on the exact head.
    WaitingChecks,
    /// Held by a block record.
    Blocked,
    /// The branch moved past (or no longer has) the requested head.
    Stale,
    /// Tested landing: in a candidate under test.
    Testing,
}

impl EntryState {
    /// The pinned kebab-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryState::Queued => "queued",
            EntryState::WaitingChecks => "waiting-checks",
            EntryState::Blocked => "blocked",
            EntryState::Stale => "stale",
            EntryState::Testing => "testing",
        }
    }
}

/// One entry as shown by `status` and judged by `react`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EntryView {
    /// The branch's short name.
    pub branch: String,
    /// The requested head.
    pub head_sha: String,
    /// Its state.
    pub state: EntryState,
    /// One human line saying why.
    pub why: String,
}

/// The state of an entry: blocked wins, then stale (the branch's tip on the
/// remote is not the requested head, or the branch is gone), then
/// waiting-checks, else queued.
pub fn entry_state(
    entry: &QueueEntry,
    branch_tip: Option<&str>,
    checks: &CheckSummary,
) -> EntryView {
    let head = short_sha(&entry.head_sha);
    let (state, why) = if let Some(reason) = &entry.blocked {
        (EntryState::Blocked, format!("blocked: {reason}"))
    } else if branch_tip != Some(entry.head_sha.as_str()) {
        let why = match branch_tip {
            None => format!("branch `{}` is gone; requested {head}", entry.branch),
            Some(tip) => format!(
                "branch `{}` moved from requested {head} to {}; request it again",
                entry.branch,
                short_sha(tip)
            ),
        };
        (EntryState::Stale, why)
    } else if !checks.green {
        let mut parts = Vec::new();
        if !checks.failing.is_empty() {
            parts.push(format!("failing {}", quoted(&checks.failing)));
        }
        if !checks.missing.is_empty() {
            parts.push(format!("waiting for {}", quoted(&checks.missing)));
        }
        let why = format!("checks on {head}: {}", parts.join("; "));
        (EntryState::WaitingChecks, why)
    } else {
        let why = format!("ready: every required check green on {head}");
        (EntryState::Queued, why)
    };
    EntryView {
        branch: entry.branch.clone(),
        head_sha: entry.head_sha.clone(),
        state,
        why,
    }
}

/// Checks a branch short name against the parts of `git check-ref-format`
/// that matter here: `Err` says what is wrong.
pub fn validate_branch_name(name: &str) -> Result<(), String> {
    const FORBIDDEN: &[char] = &['~', '^', ':', '?', '*', '[', '\\'];
    if name.is_empty() {
        return Err("it is empty".to_owned());
    }
    if name.len() > 255 {
        return Err("it is longer than 255 bytes".to_owned());
    }
    if name.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("it contains spaces or control characters".to_owned());
    }
    if name.chars().any(crate::core::json::is_invisible_format) {
        return Err(
            "it contains bidirectional or invisible format characters (it could read as another name)"
                .to_owned(),
        );
    }
    if let Some(c) = name.chars().find(|c| FORBIDDEN.contains(c)) {
        return Err(format!("it contains `{c}`"));
    }
    if name.starts_with('-') {
        return Err("it starts with `-`".to_owned());
    }
    if name.contains("..") || name.contains("@{") || name == "@" {
        return Err("it contains `..` or `@{` or is `@`".to_owned());
    }
    if name.ends_with('.') || name.ends_with('/') || name.starts_with('/') {
        return Err("it starts with `/` or ends with `/` or `.`".to_owned());
    }
    let bad_component = |c: &&str| c.is_empty() || c.starts_with('.') || c.ends_with(".lock");
    if name.split('/').any(|c| bad_component(&c)) {
        return Err("a path component is empty, starts with `.` or ends with `.lock`".to_owned());
    }
    Ok(())
}

/// Whether `sha` is a full object id: 40 lowercase hex digits.
pub fn is_full_sha(sha: &str) -> bool {
    sha.len() == 40 && sha.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The first 12 characters of a sha, for messages.
pub fn short_sha(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

/// ``"`A`, `B`"`` for messages.
fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

mod entries;
pub use entries::QueueEntries;

#[cfg(test)]
mod tests;
