//! The queue ledger (`refs/deploybot/queue`): its records, their fold into
//! the FIFO queue, and the display state of one entry.

use serde::{Deserialize, Serialize};

use crate::core::release::CheckSummary;
use crate::core::time::parse_rfc3339;

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
    /// Why (block, dequeue), free text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
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
    pub entries: Vec<QueueEntry>,
    /// The last [`MERGED_HISTORY`] merges, newest last.
    pub merged: Vec<MergedEntry>,
    /// Ledger records folded so far, ignored ones included: the next
    /// record's ledger index.
    pub applied: u64,
}

impl QueueState {
    /// The entry queued for `branch`, if any.
    pub fn entry(&self, branch: &str) -> Option<&QueueEntry> {
        self.entries.iter().find(|e| e.branch == branch)
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
    let index = state.entries.iter().position(|e| e.branch == record.branch);
    match record.action {
        QueueAction::Request => {
            let Some(head) = &record.head_sha else {
                return state;
            };
            if let Some(index) = index {
                state.entries.remove(index);
            }
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
            if let Some(index) = index {
                state.entries.remove(index);
            }
        }
        QueueAction::Block => {
            if let Some(index) = index {
                let reason = record.reason.clone();
                state.entries[index].blocked = Some(reason.unwrap_or_else(|| "blocked".into()));
            }
        }
        QueueAction::Unblock => {
            if let Some(index) = index {
                state.entries[index].blocked = None;
            }
        }
        QueueAction::Merged => {
            let (Some(head), Some(merge)) = (&record.head_sha, &record.merge_sha) else {
                return state;
            };
            if let Some(index) = index.filter(|&i| state.entries[i].head_sha == *head) {
                state.entries.remove(index);
            }
            state.merged.push(MergedEntry {
                branch: record.branch.clone(),
                head_sha: head.clone(),
                merge_sha: merge.clone(),
                at: record.at.clone(),
            });
            let excess = state.merged.len().saturating_sub(MERGED_HISTORY);
            state.merged.drain(..excess);
        }
    }
    state
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
}

impl EntryState {
    /// The pinned kebab-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            EntryState::Queued => "queued",
            EntryState::WaitingChecks => "waiting-checks",
            EntryState::Blocked => "blocked",
            EntryState::Stale => "stale",
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const AT: &str = "2026-01-01T00:00:00Z";

    /// A 40-hex sha made of one repeated digit.
    fn sha(digit: char) -> String {
        digit.to_string().repeat(40)
    }

    fn request(branch: &str, head: char) -> QueueRecord {
        let mut record = QueueRecord::new(QueueAction::Request, branch, "alice", AT);
        record.head_sha = Some(sha(head));
        record
    }

    fn action(action: QueueAction, branch: &str) -> QueueRecord {
        QueueRecord::new(action, branch, "alice", AT)
    }

    fn merged(branch: &str, head: char, merge: char) -> QueueRecord {
        let mut record = QueueRecord::new(QueueAction::Merged, branch, "bot", AT);
        record.head_sha = Some(sha(head));
        record.merge_sha = Some(sha(merge));
        record
    }

    fn block(branch: &str, reason: &str) -> QueueRecord {
        let mut record = action(QueueAction::Block, branch);
        record.reason = Some(reason.to_owned());
        record
    }

    fn branches(state: &QueueState) -> Vec<&str> {
        state.entries.iter().map(|e| e.branch.as_str()).collect()
    }

    #[test]
    fn requests_queue_in_ledger_order() {
        let state = fold_all(&[request("a", '1'), request("b", '2')]);
        assert_eq!(branches(&state), ["a", "b"]);
        // Positions are ledger indices, the FIFO key.
        assert_eq!(state.entries[0].position, 0);
        assert_eq!(state.entries[1].position, 1);
        assert_eq!(state.entries[0].requested_by, "alice");
        assert_eq!(state.applied, 2);
    }

    #[test]
    fn re_request_replaces_moves_to_back_and_clears_block() {
        let records = [
            request("a", '1'),
            request("b", '2'),
            block("a", "hold"),
            request("a", '3'),
        ];
        let state = fold_all(&records);
        // One entry per branch, the newest head, behind `b`.
        assert_eq!(branches(&state), ["b", "a"]);
        let a = state.entry("a").expect("queued");
        assert_eq!(a.head_sha, sha('3'));
        assert_eq!(a.blocked, None, "a new request clears the block");
        assert_eq!(a.position, 3);
    }

    #[test]
    fn invalid_records_change_nothing_but_the_count() {
        let before = fold_all(&[request("a", '1')]);
        let no_head = action(QueueAction::Request, "b");
        let mut no_merge_sha = merged("a", '1', '9');
        no_merge_sha.merge_sha = None;
        for record in [no_head, no_merge_sha] {
            let after = fold_queue(before.clone(), &record);
            assert_eq!(after.entries, before.entries);
            assert_eq!(after.merged, before.merged);
            assert_eq!(after.applied, before.applied + 1, "still a ledger index");
        }
        let skipped = fold_unreadable(before.clone());
        assert_eq!((skipped.entries, skipped.applied), (before.entries, 2));
    }

    #[test]
    fn cancel_and_dequeue_remove_the_entry() {
        for removal in [QueueAction::Cancel, QueueAction::Dequeue] {
            let state = fold_all(&[request("a", '1'), request("b", '2'), action(removal, "a")]);
            assert_eq!(branches(&state), ["b"], "{removal:?}");
            // Removing an unknown branch is a no-op.
            let again = fold_queue(state.clone(), &action(removal, "zzz"));
            assert_eq!(again.entries, state.entries);
        }
    }

    #[test]
    fn block_and_unblock() {
        let state = fold_all(&[request("a", '1'), block("a", "flaky migration")]);
        assert_eq!(state.entries[0].blocked.as_deref(), Some("flaky migration"));
        let state = fold_queue(state, &action(QueueAction::Unblock, "a"));
        assert_eq!(state.entries[0].blocked, None);
        // Blocking an unknown branch does not queue it.
        let state = fold_queue(state, &block("ghost", "no"));
        assert_eq!(branches(&state), ["a"]);
    }

    #[test]
    fn merged_removes_only_the_merged_head() {
        let state = fold_all(&[request("a", '1'), request("b", '2'), merged("a", '1', 'f')]);
        assert_eq!(branches(&state), ["b"]);
        assert_eq!(state.merged.len(), 1);
        assert_eq!(state.merged[0].merge_sha, sha('f'));
        // A newer request for the same branch landed before the merged
        // record: the newer head stays queued, the merge is still recorded.
        let state = fold_all(&[request("a", '1'), request("a", '3'), merged("a", '1', 'f')]);
        assert_eq!(state.entry("a").map(|e| e.head_sha.clone()), Some(sha('3')));
        assert_eq!(state.merged.len(), 1);
    }

    #[test]
    fn merged_history_keeps_the_newest_fifty() {
        let records: Vec<QueueRecord> = (0..60)
            .map(|i| {
                let mut record = merged(&format!("b{i}"), '1', '2');
                record.at = format!("2026-01-01T00:00:{:02}Z", i % 60);
                record
            })
            .collect();
        let state = fold_all(&records);
        assert_eq!(state.merged.len(), MERGED_HISTORY);
        assert_eq!(state.merged[0].branch, "b10", "oldest dropped first");
        assert_eq!(state.merged[49].branch, "b59", "newest last");
    }

    #[test]
    fn record_json_shape() {
        let mut record = request("feature/x", 'a');
        record
            .extra
            .insert("future".into(), serde_json::json!(true));
        let json = serde_json::to_value(&record).expect("serializes");
        let expected = serde_json::json!({
            "schema": 1, "action": "request", "branch": "feature/x", "head_sha": sha('a'),
            "actor": "alice", "at": AT, "future": true,
        });
        // Absent options are omitted; unknown fields are written back.
        assert_eq!(json, expected);
        let back: QueueRecord = serde_json::from_value(json).expect("parses");
        assert_eq!(back, record);
    }

    #[test]
    fn validate_rules() {
        assert_eq!(request("feature/x", 'a').validate(), Ok(()));
        assert_eq!(merged("a", '1', '2').validate(), Ok(()));
        assert_eq!(block("a", "why").validate(), Ok(()));
        let mut upper = request("a", 'a');
        upper.head_sha = Some("A".repeat(40));
        assert!(
            upper
                .validate()
                .expect_err("uppercase")
                .contains("head_sha")
        );
        let mut short = request("a", 'a');
        short.head_sha = Some("abc".into());
        assert!(short.validate().is_err(), "abbreviated shas are ambiguous");
        assert!(
            action(QueueAction::Request, "a").validate().is_err(),
            "request needs a head"
        );
        let mut no_merge = merged("a", '1', '2');
        no_merge.merge_sha = None;
        assert!(no_merge.validate().is_err(), "merged needs the new base");
        assert!(
            action(QueueAction::Block, "a").validate().is_err(),
            "block needs a reason"
        );
        assert!(
            block("a", &"x".repeat(4097)).validate().is_err(),
            "reason over 4096 bytes"
        );
        assert!(
            block("a", &"x".repeat(4096)).validate().is_ok(),
            "4096 is the limit"
        );
        assert!(
            block("a", "two\nlines").validate().is_err(),
            "control characters"
        );
        assert!(request("bad..name", 'a').validate().is_err());
        let mut bad_at = request("a", 'a');
        bad_at.at = "now".into();
        assert!(bad_at.validate().is_err());
        let mut no_actor = request("a", 'a');
        no_actor.actor = String::new();
        assert!(no_actor.validate().is_err());
    }

    #[test]
    fn branch_names() {
        for good in [
            "main",
            "feature/x",
            "deploybot/repair/0123456789ab",
            "v1.2",
            "a-b_c",
        ] {
            assert_eq!(validate_branch_name(good), Ok(()), "{good}");
        }
        let bad = [
            "",
            "-x",
            "a b",
            "a..b",
            "a~1",
            "a^",
            "a:b",
            "a?",
            "a*",
            "a[",
            "a\\b",
            "a/",
            "/a",
            "a//b",
            "a.",
            ".hidden",
            "x/.y",
            "a.lock",
            "a@{1}",
            "@",
            "tab\tname",
        ];
        for name in bad {
            assert!(
                validate_branch_name(name).is_err(),
                "{name:?} must be rejected"
            );
        }
    }

    #[test]
    fn summaries_are_one_line_subjects() {
        assert_eq!(
            request("feature/x", 'a').summary(),
            "request: feature/x at aaaaaaaaaaaa"
        );
        assert_eq!(action(QueueAction::Cancel, "x").summary(), "cancel: x");
        let subject = merged("x", '1', '2').summary();
        assert_eq!(subject, "merged: x at 111111111111 as 222222222222");
        let long = block("x", &format!("line one\nline two {}", "y".repeat(100))).summary();
        assert!(!long.contains('\n') && long.ends_with("…)"), "{long}");
    }

    fn entry(blocked: Option<&str>) -> QueueEntry {
        QueueEntry {
            branch: "feature/x".into(),
            head_sha: sha('a'),
            requested_by: "alice".into(),
            requested_at: AT.into(),
            blocked: blocked.map(str::to_owned),
            position: 0,
        }
    }

    fn green() -> CheckSummary {
        CheckSummary {
            green: true,
            failing: vec![],
            missing: vec![],
        }
    }

    #[test]
    fn entry_state_precedence() {
        let red = CheckSummary {
            green: false,
            failing: vec!["CI".into()],
            missing: vec![],
        };
        let head = sha('a');
        // Blocked wins over stale and red checks.
        let view = entry_state(&entry(Some("hold")), None, &red);
        assert_eq!(
            (view.state, view.why.as_str()),
            (EntryState::Blocked, "blocked: hold")
        );
        // Stale wins over red checks: the checks are about an old head.
        let moved = entry_state(&entry(None), Some(&sha('b')), &red);
        assert_eq!(moved.state, EntryState::Stale);
        assert!(moved.why.contains("aaaaaaaaaaaa") && moved.why.contains("bbbbbbbbbbbb"));
        let gone = entry_state(&entry(None), None, &green());
        assert_eq!(gone.state, EntryState::Stale);
        assert!(gone.why.contains("is gone"), "{}", gone.why);
        let waiting = CheckSummary {
            green: false,
            failing: vec!["CI".into()],
            missing: vec!["lint".into()],
        };
        let view = entry_state(&entry(None), Some(&head), &waiting);
        assert_eq!(view.state, EntryState::WaitingChecks);
        assert_eq!(
            view.why,
            "checks on aaaaaaaaaaaa: failing `CI`; waiting for `lint`"
        );
        let view = entry_state(&entry(None), Some(&head), &green());
        assert_eq!(view.state, EntryState::Queued);
        assert_eq!(
            view.why,
            "ready: every required check green on aaaaaaaaaaaa"
        );
        let json = serde_json::to_string(&EntryState::WaitingChecks).expect("serializes");
        assert_eq!(json, "\"waiting-checks\"");
    }

    fn any_record() -> impl Strategy<Value = QueueRecord> {
        let actions = vec![
            QueueAction::Request,
            QueueAction::Cancel,
            QueueAction::Block,
            QueueAction::Unblock,
            QueueAction::Dequeue,
            QueueAction::Merged,
        ];
        let action = prop::sample::select(actions);
        let branch = prop::sample::select(vec!["a", "b", "c"]);
        let head = prop::option::weighted(0.9, prop::sample::select(vec!['1', '2', '3']));
        let merge = prop::option::weighted(0.9, Just('f'));
        (action, branch, head, merge).prop_map(|(action, branch, head, merge)| {
            let mut record = QueueRecord::new(action, branch, "p", AT);
            record.head_sha = head.map(sha);
            record.merge_sha = merge.map(sha);
            record.reason = Some("r".into());
            record
        })
    }

    proptest! {
        #[test]
        fn fold_matches_a_reference_model(records in prop::collection::vec(any_record(), 0..40)) {
            // The model: (branch, head, blocked), FIFO.
            let mut model: Vec<(String, String, bool)> = Vec::new();
            for r in &records {
                let at = model.iter().position(|(b, _, _)| *b == r.branch);
                match (r.action, &r.head_sha, at) {
                    (QueueAction::Request, Some(head), _) => {
                        model.retain(|(b, _, _)| *b != r.branch);
                        model.push((r.branch.clone(), head.clone(), false));
                    }
                    (QueueAction::Cancel | QueueAction::Dequeue, _, Some(i)) => {
                        model.remove(i);
                    }
                    (QueueAction::Block, _, Some(i)) => model[i].2 = true,
                    (QueueAction::Unblock, _, Some(i)) => model[i].2 = false,
                    (QueueAction::Merged, Some(head), Some(i))
                        if r.merge_sha.is_some() && model[i].1 == *head => {
                        model.remove(i);
                    }
                    _ => {}
                }
            }
            let state = fold_all(&records);
            let folded: Vec<(String, String, bool)> = state.entries.iter()
                .map(|e| (e.branch.clone(), e.head_sha.clone(), e.blocked.is_some()))
                .collect();
            prop_assert_eq!(folded, model);
            // FIFO: positions strictly increase, so no branch appears twice
            // and order is request order.
            prop_assert!(state.entries.windows(2).all(|w| w[0].position < w[1].position));
            let mut names: Vec<_> = state.entries.iter().map(|e| &e.branch).collect();
            names.sort();
            names.dedup();
            prop_assert_eq!(names.len(), state.entries.len());
            prop_assert_eq!(state.applied, records.len() as u64);
            prop_assert!(state.merged.len() <= MERGED_HISTORY);
        }
    }
}
