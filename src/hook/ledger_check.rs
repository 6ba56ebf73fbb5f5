//! Checking what a push appends to a ledger (`refs/deploybot/control`,
//! `refs/deploybot/queue`): a fast-forward of single-parent commits, each with
//! a valid `record.json` and, when present, a `state.json` snapshot: one of
//! the hook's own fold version must equal the fold of the parent's state and
//! this record; one of another version (an older or newer writer during a
//! rolling upgrade) is bounded and strict JSON, and only its record is
//! checked: no reader of this version trusts it.
//!
//! Cost: one trusted snapshot at the old tip (`ledger::read_state`) plus the
//! pushed commits. A rewrite is usually caught at the first commit whose
//! snapshot claims a position at or below the old tip's.

use super::identity::Role;
use super::input::RefChange;
use crate::core::control::MAX_REASON_BYTES;
use crate::core::queue::QueueAction;
use crate::core::time::parse_rfc3339;
use crate::git::objects::CommitInfo;
use crate::git::{ObjectId, Repo};
use crate::ledger::{
    self, ControlLedger, LedgerKind, QueueLedger, RECORD_FILE, STATE_FILE, Snapshot,
};
use crate::messages;
use anyhow::Result;
use serde_json::Value;

/// Most commits one push may append to a ledger.
pub const MAX_PUSHED_RECORDS: usize = 10_000;
/// Most files a ledger commit's tree may hold (record.json, state.json and
/// a few a newer writer may add).
pub const MAX_LEDGER_FILES: usize = 8;
/// Largest file besides record.json and state.json in a ledger commit.
pub const MAX_EXTRA_FILE_BYTES: u64 = 64 * 1024;

/// Why a ledger commit's tree is too big to be a ledger commit, if it is:
/// every reader walks these trees, so their size is bounded like the record.
fn tree_problem(repo: &Repo, tree: ObjectId) -> Result<Option<String>> {
    let files = repo.changed_blobs(None, tree)?;
    if files.len() > MAX_LEDGER_FILES {
        return Ok(Some(format!(
            "its tree holds {} files, more than {MAX_LEDGER_FILES}",
            files.len()
        )));
    }
    for file in files {
        // record.json and state.json have their own bounds (and messages).
        if file.path == RECORD_FILE || file.path == STATE_FILE {
            continue;
        }
        let bound = MAX_EXTRA_FILE_BYTES;
        let Some(blob) = file.new else { continue };
        let size = repo.object_size(blob)?;
        if size > bound {
            return Ok(Some(format!(
                "its file `{}` is {size} bytes, over {bound}",
                crate::core::json::printable(&file.path)
            )));
        }
    }
    Ok(None)
}

/// A ledger the hook understands: who may write each record.
pub trait HookLedger: LedgerKind {
    /// The role a record needs, and what it is for messages (`a pause record`).
    fn role(record: &Self::Record) -> (Role, String);
    /// Checks beyond `validate` that only the server insists on.
    fn hook_checks(_record: &Self::Record) -> Result<(), String> {
        Ok(())
    }
}

impl HookLedger for ControlLedger {
    fn role(record: &Self::Record) -> (Role, String) {
        (Role::Trusted, format!("{} records", record.state.as_str()))
    }

    fn hook_checks(record: &Self::Record) -> Result<(), String> {
        if !record.at.is_empty() && parse_rfc3339(&record.at).is_none() {
            return Err(format!("`at` is not an RFC 3339 time: `{}`", record.at));
        }
        super::rules::not_ahead_of_the_server(&record.at)?;
        let reason = record.recovered_reason.as_deref().unwrap_or("");
        if reason.len() > MAX_REASON_BYTES {
            return Err(format!(
                "`recovered_reason` is over {MAX_REASON_BYTES} bytes"
            ));
        }
        // Readers read an unknown state as owning nothing by state (a newer
        // writer's); the server takes only the states it knows.
        if let Some(state) = &record.recovered_state
            && crate::core::release::ReleaseState::parse(state).is_none()
        {
            return Err(format!(
                "`recovered_state` `{state}` is not a release state"
            ));
        }
        let ids = [&record.requires_control_id, &record.resumes_control_id];
        if ids
            .into_iter()
            .flatten()
            .any(|id| id.is_empty() || id.len() > 128)
        {
            return Err("a control id reference must be 1 to 128 characters".to_string());
        }
        Ok(())
    }
}

impl HookLedger for QueueLedger {
    fn role(record: &Self::Record) -> (Role, String) {
        let role = match record.action {
            QueueAction::Merged
            | QueueAction::Dequeue
            | QueueAction::Candidate
            | QueueAction::Discarded => Role::Coordinator,
            _ => Role::Trusted,
        };
        (role, format!("`{}` records", record.action.as_str()))
    }

    fn hook_checks(record: &Self::Record) -> Result<(), String> {
        super::rules::not_ahead_of_the_server(&record.at)
    }
}

/// What checking one ledger update found.
#[derive(Debug)]
pub struct LedgerVerdict<S, R> {
    /// One line per problem (empty: acceptable).
    pub problems: Vec<String>,
    /// The role each appended record needs.
    pub needs: Vec<(Role, String)>,
    /// The folded state after the push (before it when the push is refused).
    pub state_after: S,
    /// The records the push appends, oldest first (complete only when accepted).
    pub pushed: Vec<R>,
}

/// One pushed ledger commit.
struct Pushed {
    commit: ObjectId,
    info: CommitInfo,
    snapshot: Option<Vec<u8>>,
}

/// Checks one update of the ledger `K` (its ref is `change.name`).
pub fn check_ledger<K: HookLedger>(
    repo: &Repo,
    change: &RefChange,
    check: Option<&dyn ledger::CommitCheck>,
) -> Result<LedgerVerdict<K::State, K::Record>> {
    let before = ledger::read_state_checked::<K>(repo, change.old, check)?;
    let mut verdict = LedgerVerdict {
        problems: Vec::new(),
        needs: Vec::new(),
        state_after: before.state.clone(),
        pushed: Vec::new(),
    };
    let name = change.name.as_str();
    let Some(new) = change.new else {
        verdict.problems.push(messages::hook_deleted(name));
        return Ok(verdict);
    };
    let old_hex = change.old.map(|o| o.to_string()).unwrap_or_default();
    // Walk back from the new tip to the old one, newest first.
    let mut chain: Vec<Pushed> = Vec::new();
    let mut cursor = new;
    while Some(cursor) != change.old {
        if chain.len() >= MAX_PUSHED_RECORDS {
            verdict
                .problems
                .push(messages::hook_too_many_records(name, MAX_PUSHED_RECORDS));
            return Ok(verdict);
        }
        let info = repo.find_commit_info(cursor)?;
        if info.parents.len() > 1 {
            let n = info.parents.len();
            verdict
                .problems
                .push(messages::hook_ledger_parents(name, &cursor.to_string(), n));
            return Ok(verdict);
        }
        let snapshot = repo.try_read_path(info.tree, STATE_FILE)?;
        let parent = info.parents.first().copied();
        let claims_old_position = snapshot
            .as_deref()
            .and_then(|bytes| claimed_position(bytes, parent))
            .is_some_and(|n| change.old.is_some() && n <= before.commits);
        if claims_old_position || (parent.is_none() && change.old.is_some()) {
            verdict
                .problems
                .push(messages::hook_not_fast_forward(name, &old_hex));
            return Ok(verdict);
        }
        chain.push(Pushed {
            commit: cursor,
            info,
            snapshot,
        });
        match parent {
            Some(p) => cursor = p,
            None => break,
        }
    }
    let mut state = before.state.clone();
    for (offset, pushed) in (1..).zip(chain.into_iter().rev()) {
        let commits = before.commits + offset;
        let commit_hex = pushed.commit.to_string();
        if let Some(why) = tree_problem(repo, pushed.info.tree)? {
            verdict
                .problems
                .push(messages::hook_bad_record(name, &commit_hex, &why));
            return Ok(verdict);
        }
        let (record, blob) = match read_record::<K>(repo, pushed.info.tree)? {
            Ok(found) => found,
            Err(why) => {
                verdict
                    .problems
                    .push(messages::hook_bad_record(name, &commit_hex, &why));
                return Ok(verdict);
            }
        };
        if let Some(check) = check
            && let Err(why) = check.check_new(repo, pushed.commit, &K::signed_facts(&record))?
        {
            verdict
                .problems
                .push(messages::hook_unsigned_record(name, &commit_hex, &why));
            return Ok(verdict);
        }
        state = K::fold(state, &record);
        if let Some(bytes) = &pushed.snapshot {
            let parent = pushed.info.parents.first().copied();
            let expected = SnapshotFacts {
                record_blob: blob,
                parent,
                commits,
                state: &state,
                problems: &before.problems,
            };
            if let Err(why) = check_snapshot::<K>(bytes, &expected) {
                verdict
                    .problems
                    .push(messages::hook_bad_snapshot(name, &commit_hex, &why));
                return Ok(verdict);
            }
        }
        verdict.needs.push(K::role(&record));
        verdict.pushed.push(record);
    }
    verdict.state_after = state;
    Ok(verdict)
}

/// The `commits` a snapshot of any fold version claims, if it is one written
/// for this very parent (a snapshot copied from elsewhere claims nothing
/// here). Positions mean the same in every version; a false claim can only
/// get its own push refused.
fn claimed_position(bytes: &[u8], parent: Option<ObjectId>) -> Option<u64> {
    let value: Value = serde_json::from_slice(bytes).ok()?;
    let parent_hex = parent.map(|p| p.to_string()).unwrap_or_default();
    let positioned =
        value.get("schema")?.as_u64()? >= 1 && value.get("parent")?.as_str()? == parent_hex;
    positioned.then(|| value.get("commits")?.as_u64()).flatten()
}

/// The record in `tree` and its blob id, or why it cannot be used.
fn read_record<K: HookLedger>(
    repo: &Repo,
    tree: ObjectId,
) -> Result<Result<(K::Record, ObjectId), String>> {
    let Some(blob) = repo.try_find_path_id(tree, RECORD_FILE)? else {
        return Ok(Err(format!("has no {RECORD_FILE}")));
    };
    let bytes = repo.find_blob(blob)?;
    Ok(hook_record::<K>(&bytes).map(|record| (record, blob)))
}

/// A pushed record's bytes as the hook judges them: the very decoder readers
/// use ([`ledger::parse_record`]); only validation is stricter here (no
/// adoption of what an older writer left out, and [`HookLedger::hook_checks`]).
pub fn hook_record<K: HookLedger>(bytes: &[u8]) -> Result<K::Record, String> {
    let record = ledger::parse_record::<K>(bytes)?;
    K::validate(&record)
        .and_then(|()| K::hook_checks(&record))
        .map_err(|why| format!("{RECORD_FILE} is invalid: {why}"))?;
    Ok(record)
}

/// What a pushed commit's snapshot must say: the fold at its place.
pub struct SnapshotFacts<'a, S> {
    /// The commit's `record.json` blob.
    pub record_blob: ObjectId,
    /// The commit's parent.
    pub parent: Option<ObjectId>,
    /// Its position in the ledger (1-based).
    pub commits: u64,
    /// The parent's state folded with this record.
    pub state: &'a S,
    /// The problems readers carry at this place (a push the hook accepts adds none).
    pub problems: &'a [String],
}

/// Checks a `state.json` against what the fold says it must hold, decoded
/// strictly like every record. A snapshot of another fold version is left
/// alone (its record is checked like any other): readers of this version do
/// not trust it and fold past it, and this version cannot tell what another
/// version's fold says.
pub fn check_snapshot<K: LedgerKind>(
    bytes: &[u8],
    facts: &SnapshotFacts<K::State>,
) -> Result<(), String> {
    if bytes.len() > ledger::MAX_SNAPSHOT_BYTES {
        return Err(format!(
            "state.json is over {} KiB",
            ledger::MAX_SNAPSHOT_BYTES / 1024
        ));
    }
    let value =
        crate::core::json::strict_value(bytes).map_err(|why| format!("state.json {why}"))?;
    match value.get("schema").and_then(Value::as_u64) {
        Some(version) if version == u64::from(K::FOLD_VERSION) => {}
        Some(_) => return Ok(()),
        None => return Err("state.json has no numeric `schema`".to_string()),
    }
    let snapshot: Snapshot<K::State> =
        serde_json::from_value(value).map_err(|e| format!("state.json is not a snapshot: {e}"))?;
    if crate::git::parse_oid(&snapshot.record_blob) != Some(facts.record_blob) {
        return Err("`record_blob` is not this commit's record.json".to_string());
    }
    let parent_hex = facts.parent.map(|p| p.to_string()).unwrap_or_default();
    if snapshot.parent != parent_hex {
        return Err("`parent` is not this commit's parent".to_string());
    }
    if snapshot.commits != facts.commits {
        return Err(format!(
            "`commits` is {} but this is commit {}",
            snapshot.commits, facts.commits
        ));
    }
    if snapshot.state != *facts.state {
        return Err("`state` is not the parent's state folded with this record".to_string());
    }
    if snapshot.problems != facts.problems {
        return Err("`problems` is not the ledger's problems at this place".to_string());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::control::{ControlMode, ControlState};

    const BLOB: &str = "1111111111111111111111111111111111111111";
    const PARENT: &str = "2222222222222222222222222222222222222222";

    fn oid(hex: &str) -> ObjectId {
        crate::git::parse_oid(hex).expect("a sha")
    }

    fn paused() -> ControlState {
        ControlState {
            state: ControlMode::Paused,
            control_id: Some("p".into()),
            ..ControlState::default()
        }
    }

    fn snapshot(record_blob: &str, parent: &str, commits: u64, state: &ControlState) -> Vec<u8> {
        serde_json::to_vec(&Snapshot {
            schema: 1,
            record_blob: record_blob.into(),
            parent: parent.into(),
            commits,
            state: state.clone(),
            problems: Vec::new(),
        })
        .expect("serializes")
    }

    fn check(bytes: &[u8]) -> Result<(), String> {
        let state = paused();
        let facts = SnapshotFacts {
            record_blob: oid(BLOB),
            parent: Some(oid(PARENT)),
            commits: 3,
            state: &state,
            problems: &[],
        };
        check_snapshot::<ControlLedger>(bytes, &facts)
    }

    #[test]
    fn a_snapshot_must_be_the_fold_at_its_place() {
        assert_eq!(check(&snapshot(BLOB, PARENT, 3, &paused())), Ok(()));
        let wrong_blob = check(&snapshot(PARENT, PARENT, 3, &paused()));
        assert!(wrong_blob.expect_err("blob").contains("record_blob"));
        let replayed = check(&snapshot(BLOB, "", 3, &paused()));
        assert!(replayed.expect_err("parent").contains("parent"));
        let miscounted = check(&snapshot(BLOB, PARENT, 9, &paused()));
        assert!(miscounted.expect_err("count").contains("commit 3"));
        let lie = check(&snapshot(BLOB, PARENT, 3, &ControlState::default()));
        assert!(lie.expect_err("state").contains("`state`"));
        let mut invented =
            serde_json::from_slice::<serde_json::Value>(&snapshot(BLOB, PARENT, 3, &paused()))
                .expect("json");
        invented["problems"] = serde_json::json!(["refs/deploybot/control: \u{1b}[2J"]);
        let invented = check(&serde_json::to_vec(&invented).expect("json"));
        assert!(
            invented.is_err(),
            "problems are the ledger's, and never control characters"
        );
    }

    #[test]
    fn other_snapshot_schemas_are_left_to_readers_but_garbage_is_not() {
        assert_eq!(check(br#"{"schema": 2, "anything": true}"#), Ok(()));
        assert!(check(b"not json").is_err());
        assert!(check(br#"{"state": {}}"#).is_err(), "no schema");
        assert!(
            check(br#"{"schema": 1}"#).is_err(),
            "schema 1 must be complete"
        );
    }

    #[test]
    fn the_server_takes_only_known_recovered_states_and_readers_tolerate_others() {
        let record = |state: &str| {
            format!(
                r#"{{"schema":1,"control_id":"r1","state":"running","reason":"recovering","resumes_control_id":"p1","recovered_main_sha":"{BLOB}","recovered_reason":"x","recovered_state":"{state}","actor":"a","at":"2026-01-01T00:00:00Z"}}"#
            )
        };
        assert!(hook_record::<ControlLedger>(record("ci-failed").as_bytes()).is_ok());
        let unknown = record("on-fire");
        let refused = hook_record::<ControlLedger>(unknown.as_bytes()).expect_err("unknown");
        assert!(refused.contains("recovered_state"), "{refused}");
        let read = ledger::reader_record::<ControlLedger>(unknown.as_bytes(), oid(PARENT))
            .expect("a newer writer's state is still a record to readers");
        assert_eq!(read.recovered_state.as_deref(), Some("on-fire"));
    }

    #[test]
    fn only_the_hooks_own_fold_version_is_verified() {
        use crate::core::queue::QueueState;
        let queue = |schema: u32, state: &QueueState| {
            serde_json::to_vec(&Snapshot {
                schema,
                record_blob: BLOB.into(),
                parent: PARENT.into(),
                commits: 3,
                state: state.clone(),
                problems: Vec::new(),
            })
            .expect("serializes")
        };
        let expected = QueueState::default();
        let other = QueueState {
            applied: 99,
            ..QueueState::default()
        };
        let facts = SnapshotFacts {
            record_blob: oid(BLOB),
            parent: Some(oid(PARENT)),
            commits: 3,
            state: &expected,
            problems: &[],
        };
        let own = QueueLedger::FOLD_VERSION;
        assert_eq!(
            check_snapshot::<QueueLedger>(&queue(own, &expected), &facts),
            Ok(())
        );
        let lie = check_snapshot::<QueueLedger>(&queue(own, &other), &facts);
        assert!(lie.expect_err("own version").contains("`state`"));
        for version in [own - 1, own + 1] {
            assert_eq!(
                check_snapshot::<QueueLedger>(&queue(version, &other), &facts),
                Ok(()),
                "version {version}: an older or newer writer's fold is its own business"
            );
        }
    }

    #[test]
    fn only_snapshots_written_for_their_parent_claim_a_position() {
        let bytes = snapshot(BLOB, PARENT, 7, &paused());
        assert_eq!(claimed_position(&bytes, Some(oid(PARENT))), Some(7));
        assert_eq!(claimed_position(&bytes, None), None, "copied elsewhere");
        assert_eq!(claimed_position(b"{}", Some(oid(PARENT))), None);
        let mut newer: Value = serde_json::from_slice(&bytes).expect("json");
        newer["schema"] = 5.into();
        let newer = serde_json::to_vec(&newer).expect("json");
        assert_eq!(
            claimed_position(&newer, Some(oid(PARENT))),
            Some(7),
            "positions mean the same in every fold version"
        );
    }
}
