//! An entry's story (`why BRANCH`): its queue records, the candidates that
//! held it, its merge, and the release of the main it landed in, as one
//! ordered list of events. Data in, events out: the reading is
//! `ops::why`'s.

use crate::core::control::{ControlMode, ControlRecord};
use crate::core::queue::{QueueAction, QueueRecord};
use crate::core::results::{ResultRecord, ResultStatus};
use crate::core::time::parse_rfc3339;
use crate::messages;
use serde::Serialize;

/// What happened (pinned lowercase names, DESIGN "Insight").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    /// A request of an exact head.
    Requested,
    /// A cancel (or a coordinator's dequeue).
    Cancelled,
    /// A block, with its reason.
    Blocked,
    /// An unblock.
    Unblocked,
    /// Tested landing: a candidate holding the branch was built.
    Candidate,
    /// Tested landing: a candidate holding it left the train.
    Discarded,
    /// The merge into the base.
    Merged,
    /// A CI result on the main it landed in.
    Ci,
    /// A deploy or verification result on that main.
    Deployed,
    /// The watermark contains the merge.
    Verified,
    /// A pause bound to that main.
    Paused,
    /// A recovery resuming such a pause.
    Resumed,
}

/// One line of the story.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct StoryEvent {
    /// When (RFC 3339; null when not known).
    pub at: Option<String>,
    /// What happened.
    pub kind: EventKind,
    /// One human line.
    pub detail: String,
    /// The commit it is about (a head, a candidate tip, a merge, a main).
    pub sha: Option<String>,
}

/// What is known of the release of one merge: read by `ops::why`.
#[derive(Debug, Clone, Default)]
pub struct ReleaseFacts {
    /// The `merged` record's `merge_sha` these facts belong to.
    pub merge_sha: String,
    /// The main the merge landed in (the first main with results at or after it).
    pub main_sha: String,
    /// CI results on that main.
    pub ci: Vec<ResultRecord>,
    /// Deploy and verification results on that main.
    pub deploy: Vec<ResultRecord>,
    /// Control records bound to that main (pauses on it, recoveries of it).
    pub control: Vec<ControlRecord>,
    /// Whether the watermark contains the merge.
    pub verified: bool,
    /// When it was verified, if known (the receipt, else the last deploy success).
    pub verified_at: Option<String>,
}

/// The record index's key of a branch.
pub fn branch_key(branch: &str) -> String {
    format!("branch:{branch}")
}

/// The record index's key of a candidate.
pub fn candidate_key(id: &str) -> String {
    format!("candidate:{id}")
}

/// The record index's key of a main.
pub fn main_key(sha: &str) -> String {
    format!("main:{sha}")
}

/// The keys a queue record is filed under in the record index: its branch,
/// the branches of the entries it holds and its candidate, so every record
/// [`story`] may want for a branch is found under the branch's key or the
/// key of a candidate found there.
pub fn queue_index_keys(record: &QueueRecord) -> Vec<String> {
    let mut keys = Vec::new();
    if !record.branch.is_empty() {
        keys.push(branch_key(&record.branch));
    }
    for entry in record.entries.iter().flatten() {
        keys.push(branch_key(&entry.branch));
    }
    if let Some(id) = &record.candidate_id {
        keys.push(candidate_key(id));
    }
    keys.sort();
    keys.dedup();
    keys
}

/// The keys a control record is filed under: the mains it is bound to
/// ([`bound_to`]).
pub fn control_index_keys(record: &ControlRecord) -> Vec<String> {
    let mut keys: Vec<String> = [&record.main_sha, &record.recovered_main_sha]
        .into_iter()
        .flatten()
        .map(|sha| main_key(sha))
        .collect();
    keys.dedup();
    keys
}

/// The index of the branch's first `request` record, or None when never requested.
pub fn first_request(records: &[QueueRecord], branch: &str) -> Option<usize> {
    records
        .iter()
        .position(|r| r.action == QueueAction::Request && r.branch == branch)
}

/// True when `record` concerns `branch`: its own records, or a candidate or
/// discarded record whose entries hold it (or that discards a candidate in `held`).
fn concerns(record: &QueueRecord, branch: &str, held: &[String]) -> bool {
    match record.action {
        QueueAction::Candidate => holds(record, branch),
        QueueAction::Discarded => {
            holds(record, branch)
                || record
                    .candidate_id
                    .as_ref()
                    .is_some_and(|id| held.contains(id))
        }
        _ => record.branch == branch,
    }
}

fn holds(record: &QueueRecord, branch: &str) -> bool {
    record
        .entries
        .as_ref()
        .is_some_and(|entries| entries.iter().any(|e| e.branch == branch))
}

/// The merge shas a `merged` record at `index` may have landed in: its own,
/// then those of the `merged` records right after it in the ledger (a pass
/// or a candidate landing several at once), at most `limit`.
pub fn landing_shas(records: &[QueueRecord], index: usize, limit: usize) -> Vec<String> {
    records[index..]
        .iter()
        .take_while(|r| r.action == QueueAction::Merged)
        .take(limit.max(1))
        .filter_map(|r| r.merge_sha.clone())
        .collect()
}

/// The indices of the branch's `merged` records from its first request on.
pub fn merges(records: &[QueueRecord], branch: &str) -> Vec<usize> {
    let Some(start) = first_request(records, branch) else {
        return Vec::new();
    };
    (start..records.len())
        .filter(|&i| records[i].action == QueueAction::Merged && records[i].branch == branch)
        .collect()
}

/// The branch's story from its first request: queue events in ledger order,
/// each merge followed by its release's events in time order. None when the
/// branch was never requested.
pub fn story(
    records: &[QueueRecord],
    branch: &str,
    releases: &[ReleaseFacts],
) -> Option<Vec<StoryEvent>> {
    let start = first_request(records, branch)?;
    let mut events = Vec::new();
    let mut held: Vec<String> = Vec::new();
    for record in &records[start..] {
        if !concerns(record, branch, &held) {
            continue;
        }
        if record.action == QueueAction::Candidate
            && let Some(id) = &record.candidate_id
        {
            held.push(id.clone());
        }
        let Some(event) = queue_event(record) else {
            continue;
        };
        events.push(event);
        if record.action == QueueAction::Merged
            && let Some(merge) = &record.merge_sha
            && let Some(facts) = releases.iter().find(|f| &f.merge_sha == merge)
        {
            events.extend(release_events(facts));
        }
    }
    Some(events)
}

/// The event of one queue record (None for an action with no story line).
fn queue_event(r: &QueueRecord) -> Option<StoryEvent> {
    let event = |kind, detail: String, sha: Option<&String>| StoryEvent {
        at: Some(r.at.clone()),
        kind,
        detail,
        sha: sha.cloned(),
    };
    let reason = r.reason.as_deref();
    Some(match r.action {
        QueueAction::Request => event(
            EventKind::Requested,
            messages::story_requested(r.head_sha.as_deref().unwrap_or(""), &r.actor),
            r.head_sha.as_ref(),
        ),
        QueueAction::Cancel => event(
            EventKind::Cancelled,
            messages::story_cancelled(&r.actor),
            r.head_sha.as_ref(),
        ),
        QueueAction::Dequeue => event(
            EventKind::Cancelled,
            messages::story_dequeued(&r.actor, reason),
            r.head_sha.as_ref(),
        ),
        QueueAction::Block => event(
            EventKind::Blocked,
            messages::story_blocked(&r.actor, reason.unwrap_or("blocked")),
            r.head_sha.as_ref(),
        ),
        QueueAction::Unblock => event(
            EventKind::Unblocked,
            messages::story_unblocked(&r.actor),
            r.head_sha.as_ref(),
        ),
        QueueAction::Candidate => {
            let branches: Vec<String> = r
                .entries
                .iter()
                .flatten()
                .map(|e| e.branch.clone())
                .collect();
            let id = r.candidate_id.as_deref().unwrap_or("?");
            event(
                EventKind::Candidate,
                messages::story_candidate(id, &branches),
                r.sha.as_ref(),
            )
        }
        QueueAction::Discarded => {
            let id = r.candidate_id.as_deref().unwrap_or("?");
            let why = reason.or(r.outcome.as_deref());
            event(
                EventKind::Discarded,
                messages::story_discarded(id, why),
                r.sha.as_ref(),
            )
        }
        QueueAction::Merged => event(
            EventKind::Merged,
            messages::story_merged(
                r.head_sha.as_deref().unwrap_or(""),
                r.merge_sha.as_deref().unwrap_or(""),
                r.candidate_id.as_deref(),
            ),
            r.merge_sha.as_ref(),
        ),
    })
}

/// The events of one release, in time order (verified last when its time is unknown).
pub fn release_events(facts: &ReleaseFacts) -> Vec<StoryEvent> {
    let main = facts.main_sha.as_str();
    let mut events = Vec::new();
    let results = facts
        .ci
        .iter()
        .map(|r| (EventKind::Ci, r))
        .chain(facts.deploy.iter().map(|r| (EventKind::Deployed, r)));
    for (kind, r) in results {
        if r.status == ResultStatus::Pending {
            continue;
        }
        events.push(StoryEvent {
            at: Some(r.at.clone()),
            kind,
            detail: messages::story_result(&r.check, r.status.as_str(), main, r.url.as_deref()),
            sha: Some(main.to_string()),
        });
    }
    for c in &facts.control {
        let (kind, detail) = match c.state {
            ControlMode::Paused => (
                EventKind::Paused,
                messages::story_paused(&c.reason, &c.actor),
            ),
            ControlMode::Running => (
                EventKind::Resumed,
                messages::story_resumed(c.recovered_reason.as_deref(), &c.actor),
            ),
        };
        events.push(StoryEvent {
            at: Some(c.at.clone()),
            kind,
            detail,
            sha: Some(main.to_string()),
        });
    }
    // Stable: results of one second keep their note order.
    events.sort_by_key(|e| e.at.as_deref().and_then(parse_rfc3339).unwrap_or(i64::MAX));
    if facts.verified {
        let verified = StoryEvent {
            at: facts.verified_at.clone(),
            kind: EventKind::Verified,
            detail: messages::story_verified(main),
            sha: Some(main.to_string()),
        };
        let when = facts.verified_at.as_deref().and_then(parse_rfc3339);
        let at = match when {
            Some(t) => events
                .iter()
                .position(|e| e.at.as_deref().and_then(parse_rfc3339).unwrap_or(i64::MAX) > t)
                .unwrap_or(events.len()),
            None => events.len(),
        };
        events.insert(at, verified);
    }
    events
}

/// Whether a control record belongs to the release of `main`: a pause bound
/// to it, or a recovery of it.
pub fn bound_to(record: &ControlRecord, main: &str) -> bool {
    match record.state {
        ControlMode::Paused => record.main_sha.as_deref() == Some(main),
        ControlMode::Running => record.recovered_main_sha.as_deref() == Some(main),
    }
}

/// The fields every receipt line carries (`refs/notes/deploybot/receipts`).
pub const RECEIPT_FIELDS: [&str; 7] = [
    "branch",
    "head_sha",
    "merge_sha",
    "verified_sha",
    "requested_at",
    "merged_at",
    "verified_at",
];

/// A receipt: one JSON line on a merged entry's requested head, written once
/// when a main containing its merge is verified.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct Receipt {
    /// The branch.
    pub branch: String,
    /// The requested head (the note's commit).
    pub head_sha: String,
    /// The merge that brought it into the base.
    pub merge_sha: String,
    /// The verified main that contains the merge.
    pub verified_sha: String,
    /// The request's `at` (null when the request was not found nearby).
    pub requested_at: Option<String>,
    /// The merged record's `at`.
    pub merged_at: String,
    /// When the release was seen verified.
    pub verified_at: String,
}

impl Receipt {
    /// The receipt as one JSON line.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a receipt serializes")
    }

    /// Decodes one receipt line as the hook and readers do: a strict JSON
    /// object carrying every field of [`RECEIPT_FIELDS`], full shas, RFC 3339
    /// times (`requested_at` may be null). `Err` is one line.
    pub fn from_line(line: &str) -> Result<Receipt, String> {
        let object = crate::core::json::strict_object(line.trim().as_bytes())?;
        if let Some(missing) = RECEIPT_FIELDS.iter().find(|f| !object.contains_key(**f)) {
            return Err(format!("lacks `{missing}`"));
        }
        let receipt: Receipt = serde_json::from_value(serde_json::Value::Object(object))
            .map_err(|e| format!("is not a receipt: {e}"))?;
        crate::core::queue::validate_branch_name(&receipt.branch)
            .map_err(|why| format!("has a bad `branch`: {why}"))?;
        for (field, sha) in [
            ("head_sha", &receipt.head_sha),
            ("merge_sha", &receipt.merge_sha),
            ("verified_sha", &receipt.verified_sha),
        ] {
            if !crate::core::queue::is_full_sha(sha) {
                return Err(format!("has `{field}` that is not 40 lowercase hex"));
            }
        }
        let times = [
            ("requested_at", receipt.requested_at.as_deref()),
            ("merged_at", Some(receipt.merged_at.as_str())),
            ("verified_at", Some(receipt.verified_at.as_str())),
        ];
        for (field, at) in times {
            if at.is_some_and(|at| parse_rfc3339(at).is_none()) {
                return Err(format!("has `{field}` that is not an RFC 3339 time"));
            }
        }
        Ok(receipt)
    }
}

/// The receipts in a note's text (lines that are not receipts are skipped).
pub fn receipts_in(text: &str) -> Vec<Receipt> {
    receipts_on(text, None)
}

/// The receipts of a note on `head` (when given): one per merge, the first
/// of each, and only those that name the head they sit on. The hook refuses
/// the rest; readers skip them, so a duplicate never skews `stats`.
pub fn receipts_on(text: &str, head: Option<&str>) -> Vec<Receipt> {
    let mut out: Vec<Receipt> = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let Ok(receipt) = Receipt::from_line(line) else {
            continue;
        };
        let misplaced = head.is_some_and(|h| receipt.head_sha != h);
        if misplaced || out.iter().any(|r| r.merge_sha == receipt.merge_sha) {
            continue;
        }
        out.push(receipt);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::train::CandidateEntry;

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";
    const M: &str = "cccccccccccccccccccccccccccccccccccccccc";
    const T: &str = "dddddddddddddddddddddddddddddddddddddddd";

    fn rec(action: QueueAction, branch: &str, at: &str) -> QueueRecord {
        QueueRecord::new(action, branch, "alice", &format!("2026-01-01T00:00:{at}Z"))
    }

    fn request(branch: &str, head: &str, at: &str) -> QueueRecord {
        let mut r = rec(QueueAction::Request, branch, at);
        r.head_sha = Some(head.into());
        r
    }

    fn merged(branch: &str, head: &str, merge: &str, at: &str) -> QueueRecord {
        let mut r = rec(QueueAction::Merged, branch, at);
        r.head_sha = Some(head.into());
        r.merge_sha = Some(merge.into());
        r
    }

    fn kinds(events: &[StoryEvent]) -> Vec<EventKind> {
        events.iter().map(|e| e.kind).collect()
    }

    fn result(check: &str, status: ResultStatus, at: &str) -> ResultRecord {
        ResultRecord::new(check, status, &format!("2026-01-01T00:00:{at}Z"))
    }

    #[test]
    fn a_branch_never_requested_has_no_story() {
        let records = vec![request("other", A, "01")];
        assert_eq!(story(&records, "feature/a", &[]), None);
        assert!(merges(&records, "feature/a").is_empty());
    }

    #[test]
    fn blocks_and_merges_are_told_in_ledger_order_with_their_release() {
        let mut block = rec(QueueAction::Block, "feature/a", "02");
        block.reason = Some("conflicts in a.txt".into());
        let records = vec![
            merged("old", B, B, "00"),
            request("feature/a", A, "01"),
            request("other", B, "01"),
            block,
            rec(QueueAction::Unblock, "feature/a", "03"),
            merged("feature/a", A, M, "04"),
        ];
        let facts = ReleaseFacts {
            merge_sha: M.into(),
            main_sha: M.into(),
            ci: vec![
                result("CI", ResultStatus::Pending, "04"),
                result("CI", ResultStatus::Success, "05"),
            ],
            deploy: vec![result("Deploy", ResultStatus::Success, "07")],
            control: Vec::new(),
            verified: true,
            verified_at: Some("2026-01-01T00:00:08Z".into()),
        };
        let events = story(&records, "feature/a", &[facts]).expect("requested");
        assert_eq!(
            kinds(&events),
            [
                EventKind::Requested,
                EventKind::Blocked,
                EventKind::Unblocked,
                EventKind::Merged,
                EventKind::Ci,
                EventKind::Deployed,
                EventKind::Verified,
            ]
        );
        assert!(events[1].detail.contains("conflicts in a.txt"));
        assert_eq!(events[3].sha.as_deref(), Some(M));
        assert_eq!(merges(&records, "feature/a"), [5]);
    }

    #[test]
    fn candidates_that_held_it_and_their_discards_are_part_of_it() {
        let mut c1 = rec(QueueAction::Candidate, "deploybot/try/c1", "02");
        c1.candidate_id = Some("c1".into());
        c1.sha = Some(T.into());
        c1.entries = Some(vec![
            CandidateEntry {
                branch: "feature/a".into(),
                head_sha: A.into(),
                merge_sha: T.into(),
            },
            CandidateEntry {
                branch: "feature/b".into(),
                head_sha: B.into(),
                merge_sha: T.into(),
            },
        ]);
        let mut gone = rec(QueueAction::Discarded, "deploybot/try/c1", "03");
        gone.candidate_id = Some("c1".into());
        gone.reason = Some("failed CI in candidate c1".into());
        let mut other = rec(QueueAction::Candidate, "deploybot/try/c2", "03");
        other.candidate_id = Some("c2".into());
        let records = vec![request("feature/a", A, "01"), c1, gone, other];
        let events = story(&records, "feature/a", &[]).expect("requested");
        assert_eq!(
            kinds(&events),
            [
                EventKind::Requested,
                EventKind::Candidate,
                EventKind::Discarded
            ]
        );
        assert!(events[1].detail.contains("feature/a, feature/b"));
        assert!(events[2].detail.contains("failed CI"));
    }

    #[test]
    fn a_pass_merging_several_lands_in_its_last_merge() {
        let records = vec![
            request("a", A, "01"),
            merged("a", A, A, "02"),
            merged("b", B, M, "02"),
            request("c", T, "03"),
        ];
        assert_eq!(landing_shas(&records, 1, 50), [A, M]);
        assert_eq!(landing_shas(&records, 2, 50), [M]);
    }

    #[test]
    fn pauses_and_recoveries_of_the_main_are_in_time_order_and_unknown_verification_last() {
        let pause = ControlRecord {
            control_id: "p".into(),
            actor: "bot".into(),
            at: "2026-01-01T00:00:06Z".into(),
            ..crate::core::control::pause_bound_to(M, &format!("ci-failed on {M}"))
        };
        let mut resume = pause.clone();
        resume.state = ControlMode::Running;
        resume.main_sha = None;
        resume.recovered_main_sha = Some(M.into());
        resume.at = "2026-01-01T00:00:09Z".into();
        assert!(bound_to(&pause, M) && bound_to(&resume, M) && !bound_to(&pause, A));
        let facts = ReleaseFacts {
            merge_sha: M.into(),
            main_sha: M.into(),
            ci: vec![result("CI", ResultStatus::Failure, "05")],
            deploy: Vec::new(),
            control: vec![resume, pause],
            verified: true,
            verified_at: None,
        };
        assert_eq!(
            kinds(&release_events(&facts)),
            [
                EventKind::Ci,
                EventKind::Paused,
                EventKind::Resumed,
                EventKind::Verified
            ]
        );
    }

    #[test]
    fn receipts_carry_every_field_strictly() {
        let receipt = Receipt {
            branch: "feature/a".into(),
            head_sha: A.into(),
            merge_sha: M.into(),
            verified_sha: T.into(),
            requested_at: None,
            merged_at: "2026-01-01T00:00:01Z".into(),
            verified_at: "2026-01-01T00:00:02Z".into(),
        };
        let line = receipt.to_line();
        assert_eq!(Receipt::from_line(&line), Ok(receipt.clone()));
        assert_eq!(receipts_in(&format!("{line}\n\nnot json\n")), [receipt]);
        let missing = line.replace(r#""requested_at":null,"#, "");
        assert!(
            Receipt::from_line(&missing)
                .expect_err("missing")
                .contains("requested_at")
        );
        assert!(Receipt::from_line(&line.replace(A, "abc")).is_err());
        assert!(Receipt::from_line(&line.replace("2026-01-01T00:00:02Z", "soon")).is_err());
        assert!(Receipt::from_line("[1]").is_err());
    }
}
