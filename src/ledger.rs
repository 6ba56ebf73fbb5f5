//! Append-only ledgers on refs, generic over their record type.
//!
//! Each ledger commit has exactly one parent (the previous tip) and a tree
//! holding `record.json` (the record) and `state.json` (the folded state after
//! it). Reading current state costs one commit when the tip's snapshot can be
//! trusted; commits written by other writers without a (matching) snapshot are
//! folded forward from the nearest trusted one.

use crate::git::objects::Identity;
use crate::git::{ObjectId, Repo};
use anyhow::Result;
use serde::Deserialize;
use serde::{Serialize, de::DeserializeOwned};

/// The record file in every ledger commit.
pub const RECORD_FILE: &str = "record.json";
/// The folded-state snapshot beside it.
pub const STATE_FILE: &str = "state.json";
/// Largest record accepted, in bytes.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// How many ledger problems a snapshot keeps reporting.
const MAX_PROBLEMS: usize = 20;

/// A kind of ledger: its ref, record and folded state.
pub trait LedgerKind {
    /// One record.
    type Record: Serialize + DeserializeOwned + Clone;
    /// The folded state.
    type State: Serialize + DeserializeOwned + Default + Clone + PartialEq;
    /// The full ref name.
    const REF: &'static str;
    /// Checks a record's shape; Err is one line.
    fn validate(record: &Self::Record) -> Result<(), String>;
    /// One fold step.
    fn fold(state: &Self::State, record: &Self::Record) -> Self::State;
    /// The commit subject.
    fn summary(record: &Self::Record) -> String;
    /// The step for a commit whose record cannot be read (default: no change).
    fn fold_unreadable(state: &Self::State) -> Self::State {
        state.clone()
    }
}

/// The `state.json` snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "S: Serialize + DeserializeOwned")]
pub struct Snapshot<S> {
    /// Snapshot format version.
    pub schema: u32,
    /// The blob id of the `record.json` this snapshot folded in; a mismatch means "do not trust".
    pub record_blob: String,
    /// The parent commit this snapshot was folded on ("" for the root); a tree
    /// copied onto another parent (a replayed record) is therefore not trusted.
    pub parent: String,
    /// How many commits the ledger has, this one included.
    pub commits: u64,
    /// The folded state after this commit.
    pub state: S,
    /// Problems met in the ledger so far (latest last, capped).
    #[serde(default)]
    pub problems: Vec<String>,
}

/// The current state of a ledger.
#[derive(Debug, Clone)]
pub struct Folded<S> {
    /// The folded state.
    pub state: S,
    /// The ledger tip it was read at.
    pub tip: Option<ObjectId>,
    /// Commits in the ledger.
    pub commits: u64,
    /// One line per malformed commit met (kept across appends).
    pub problems: Vec<String>,
    /// Commits that had to be folded because their snapshot was missing or untrusted.
    pub folded_without_snapshot: u64,
}

/// Why a ledger commit's record could not be used.
fn decode_record<K: LedgerKind>(
    repo: &Repo,
    tree: ObjectId,
) -> Result<Result<(K::Record, ObjectId), String>> {
    let Some(blob) = repo.try_find_path_id(tree, RECORD_FILE)? else {
        return Ok(Err(format!("has no {RECORD_FILE}")));
    };
    let bytes = repo.find_blob(blob)?;
    if bytes.len() > MAX_RECORD_BYTES {
        return Ok(Err(format!(
            "{RECORD_FILE} is {} bytes, over the {} KiB limit",
            bytes.len(),
            MAX_RECORD_BYTES / 1024
        )));
    }
    let record: K::Record = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => return Ok(Err(format!("{RECORD_FILE} is not a valid record: {e}"))),
    };
    if let Err(why) = K::validate(&record) {
        return Ok(Err(format!("{RECORD_FILE} is invalid: {why}")));
    }
    Ok(Ok((record, blob)))
}

/// A snapshot in `tree` that matches the record blob beside it.
fn trusted_snapshot<K: LedgerKind>(
    repo: &Repo,
    tree: ObjectId,
    parent: Option<ObjectId>,
) -> Result<Option<Snapshot<K::State>>> {
    let (Some(record_blob), Some(state_bytes)) = (
        repo.try_find_path_id(tree, RECORD_FILE)?,
        repo.try_read_path(tree, STATE_FILE)?,
    ) else {
        return Ok(None);
    };
    let Ok(snapshot) = serde_json::from_slice::<Snapshot<K::State>>(&state_bytes) else {
        return Ok(None);
    };
    let parent = parent.map(|p| p.to_string()).unwrap_or_default();
    let trusted = snapshot.schema == 1
        && crate::git::parse_oid(&snapshot.record_blob) == Some(record_blob)
        && snapshot.parent == parent;
    Ok(trusted.then_some(snapshot))
}

/// Reads the current state at `tip` (None: the empty ledger).
pub fn read_state<K: LedgerKind>(repo: &Repo, tip: Option<ObjectId>) -> Result<Folded<K::State>> {
    let mut pending = Vec::new();
    let mut cursor = tip;
    let mut base: Option<Snapshot<K::State>> = None;
    while let Some(commit) = cursor {
        let info = repo.find_commit_info(commit)?;
        let parent = info.parents.first().copied();
        if info.parents.len() <= 1
            && let Some(snapshot) = trusted_snapshot::<K>(repo, info.tree, parent)?
        {
            base = Some(snapshot);
            break;
        }
        cursor = info.parents.first().copied();
        pending.push((commit, info));
    }
    let (mut state, mut commits, mut problems) = match base {
        Some(s) => (s.state, s.commits, s.problems),
        None => (K::State::default(), 0, Vec::new()),
    };
    let folded_without_snapshot = pending.len() as u64;
    for (commit, info) in pending.into_iter().rev() {
        commits += 1;
        let short = &commit.to_string()[..12];
        if info.parents.len() > 1 {
            problems.push(format!(
                "{}: commit {short} has {} parents; only its first is followed",
                K::REF,
                info.parents.len()
            ));
        }
        match decode_record::<K>(repo, info.tree)? {
            Ok((record, _)) => state = K::fold(&state, &record),
            Err(why) => {
                state = K::fold_unreadable(&state);
                problems.push(format!("{}: commit {short} {why}; ignored", K::REF));
            }
        }
    }
    let excess = problems.len().saturating_sub(MAX_PROBLEMS);
    problems.drain(..excess);
    Ok(Folded {
        state,
        tip,
        commits,
        problems,
        folded_without_snapshot,
    })
}

/// Writes a commit appending `record` on top of `current` (no ref moves);
/// returns the commit and the state after it.
pub fn append_commit<K: LedgerKind>(
    repo: &Repo,
    current: &Folded<K::State>,
    record: &K::Record,
    who: &Identity,
) -> Result<(ObjectId, K::State)> {
    let after = append_commits::<K>(repo, current, std::slice::from_ref(record), who)?;
    let tip = after.tip.expect("one commit was written");
    Ok((tip, after.state))
}

/// Writes one commit per record on top of `current` (no ref moves) and
/// returns the folded result. Only the last commit carries a snapshot: the
/// ones before it are folded from the previous snapshot by any reader, so a
/// batch costs one snapshot, not one per record.
pub fn append_commits<K: LedgerKind>(
    repo: &Repo,
    current: &Folded<K::State>,
    records: &[K::Record],
    who: &Identity,
) -> Result<Folded<K::State>> {
    let mut folded = current.clone();
    for (i, record) in records.iter().enumerate() {
        let state = K::fold(&folded.state, record);
        let record_blob = repo.write_blob(&serde_json::to_vec_pretty(record)?)?;
        let mut files = vec![(RECORD_FILE, record_blob)];
        if i + 1 == records.len() {
            let snapshot = Snapshot {
                schema: 1,
                record_blob: record_blob.to_string(),
                parent: folded.tip.map(|p| p.to_string()).unwrap_or_default(),
                commits: folded.commits + 1,
                state: state.clone(),
                problems: folded.problems.clone(),
            };
            files.push((
                STATE_FILE,
                repo.write_blob(&serde_json::to_vec(&snapshot)?)?,
            ));
        }
        let tree = repo.write_flat_tree(&files)?;
        let parents: Vec<ObjectId> = folded.tip.into_iter().collect();
        let commit = repo.write_commit(tree, &parents, &K::summary(record), who)?;
        folded.tip = Some(commit);
        folded.state = state;
        folded.commits += 1;
    }
    Ok(folded)
}

/// One ledger commit and its record, or why it has none.
pub type LedgerEntry<R> = (ObjectId, Result<R, String>);

/// Every commit from the root to `tip` with its record or why it has none (a full walk, for audits).
pub fn list_records<K: LedgerKind>(
    repo: &Repo,
    tip: Option<ObjectId>,
) -> Result<Vec<LedgerEntry<K::Record>>> {
    let mut out = Vec::new();
    let mut cursor = tip;
    while let Some(commit) = cursor {
        let info = repo.find_commit_info(commit)?;
        out.push((commit, decode_record::<K>(repo, info.tree)?.map(|(r, _)| r)));
        cursor = info.parents.first().copied();
    }
    out.reverse();
    Ok(out)
}

/// The control ledger.
pub struct ControlLedger;

impl LedgerKind for ControlLedger {
    type Record = crate::core::control::ControlRecord;
    type State = crate::core::control::ControlState;
    const REF: &'static str = crate::git::names::CONTROL;
    fn validate(record: &Self::Record) -> Result<(), String> {
        record.validate()
    }
    fn fold(state: &Self::State, record: &Self::Record) -> Self::State {
        crate::core::control::fold_control(state, record).0
    }
    fn summary(record: &Self::Record) -> String {
        record.summary()
    }
}

/// The queue ledger.
pub struct QueueLedger;

impl LedgerKind for QueueLedger {
    type Record = crate::core::queue::QueueRecord;
    type State = crate::core::queue::QueueState;
    const REF: &'static str = crate::git::names::QUEUE;
    fn validate(record: &Self::Record) -> Result<(), String> {
        record.validate()
    }
    fn fold(state: &Self::State, record: &Self::Record) -> Self::State {
        crate::core::queue::fold_queue(state.clone(), record)
    }
    fn fold_unreadable(state: &Self::State) -> Self::State {
        crate::core::queue::fold_unreadable(state.clone())
    }
    fn summary(record: &Self::Record) -> String {
        record.summary()
    }
}
