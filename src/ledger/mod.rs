//! Append-only ledgers on refs, generic over their record type.
//!
//! Each ledger commit has exactly one parent (the previous tip) and a tree
//! holding `record.json` (the record) and `state.json` (the folded state after
//! it). Reading current state costs one commit when the tip's snapshot can be
//! trusted; commits written by other writers without a (matching) snapshot are
//! folded forward from the nearest trusted one.

use crate::git::fold_cache::FoldCache;
use crate::git::objects::Identity;
use crate::git::{ObjectId, Repo};
use anyhow::Result;
use serde::Deserialize;
use serde::{Serialize, de::DeserializeOwned};

pub mod index;

/// The record file in every ledger commit.
pub const RECORD_FILE: &str = "record.json";
/// The folded-state snapshot beside it.
pub const STATE_FILE: &str = "state.json";
/// Largest record accepted, in bytes.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;
/// Largest `state.json` snapshot the hook accepts, in bytes.
pub const MAX_SNAPSHOT_BYTES: usize = 8 * 1024 * 1024;
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
    /// The fold version: written as a snapshot's `schema`, and raised
    /// whenever the state a fold produces changes for the same records.
    /// Readers trust only snapshots of their own version, and the hook
    /// verifies only those, so writers of two versions can share a ledger.
    const FOLD_VERSION: u32;
    /// Checks a record's shape; Err is one line.
    fn validate(record: &Self::Record) -> Result<(), String>;
    /// One fold step; takes the state by value so a step costs the record, not the state.
    fn fold(state: Self::State, record: &Self::Record) -> Self::State;
    /// The commit subject.
    fn summary(record: &Self::Record) -> String;
    /// Who the record says wrote it.
    fn actor(record: &Self::Record) -> &str;
    /// When the record says it was written (RFC 3339).
    fn at(record: &Self::Record) -> &str;
    /// What a signature check of the record's commit needs from the record.
    fn signed_facts(record: &Self::Record) -> SignedFacts<'_> {
        SignedFacts {
            actor: Self::actor(record),
            at: "",
            signers_blob: None,
        }
    }
    /// Fills in what a record read from `commit` may lack because an old or
    /// foreign writer left it out (default: nothing). Readers call it before
    /// `validate`; the hook does not, so new records must be complete.
    fn adopt(_record: &mut Self::Record, _commit: ObjectId) {}
    /// The step for a commit whose record cannot be read (default: no change).
    fn fold_unreadable(state: Self::State) -> Self::State {
        state
    }
    /// The keys the record is filed under in the record index ([`index`]).
    fn index_keys(_record: &Self::Record) -> Vec<String> {
        Vec::new()
    }
}

/// The `state.json` snapshot.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "S: Serialize + DeserializeOwned")]
pub struct Snapshot<S> {
    /// The fold version that wrote it ([`LedgerKind::FOLD_VERSION`]); a
    /// snapshot of another version is folded past, never trusted.
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

/// Decodes a ledger record's bytes exactly as the server hook does: at most
/// [`MAX_RECORD_BYTES`], strict JSON ([`crate::core::json::strict_object`]:
/// UTF-8, no duplicate keys, no control characters), then the typed record.
/// Validation is the caller's: readers first [`LedgerKind::adopt`] what an
/// older writer left out, the hook does not.
pub fn parse_record<K: LedgerKind>(bytes: &[u8]) -> Result<K::Record, String> {
    if bytes.len() > MAX_RECORD_BYTES {
        return Err(format!(
            "{RECORD_FILE} is {} bytes, over the {} KiB limit",
            bytes.len(),
            MAX_RECORD_BYTES / 1024
        ));
    }
    let object = crate::core::json::strict_object(bytes)
        .map_err(|why| format!("{RECORD_FILE} is not a valid record: {why}"))?;
    serde_json::from_value(serde_json::Value::Object(object))
        .map_err(|e| format!("{RECORD_FILE} is not a valid record: {e}"))
}

/// A ledger commit's record as readers see it, or why it cannot be used.
fn decode_record<K: LedgerKind>(
    repo: &Repo,
    commit: ObjectId,
    tree: ObjectId,
) -> Result<Result<(K::Record, ObjectId), String>> {
    let Some(blob) = repo.try_find_path_id(tree, RECORD_FILE)? else {
        return Ok(Err(format!("has no {RECORD_FILE}")));
    };
    let bytes = repo.find_blob(blob)?;
    Ok(reader_record::<K>(&bytes, commit).map(|record| (record, blob)))
}

/// A record's bytes as readers take them from ledger commit `commit`:
/// [`parse_record`], then [`LedgerKind::adopt`], then validation.
pub fn reader_record<K: LedgerKind>(bytes: &[u8], commit: ObjectId) -> Result<K::Record, String> {
    let mut record = parse_record::<K>(bytes)?;
    K::adopt(&mut record, commit);
    K::validate(&record).map_err(|why| format!("{RECORD_FILE} is invalid: {why}"))?;
    Ok(record)
}

/// A `state.json` as readers take it (strict JSON, then the snapshot), or None.
pub fn reader_snapshot<S: Serialize + DeserializeOwned>(bytes: &[u8]) -> Option<Snapshot<S>> {
    let value = crate::core::json::strict_value(bytes).ok()?;
    serde_json::from_value(value).ok()
}

/// A snapshot in `tree` of this reader's fold version that matches the
/// record blob and the parent beside it.
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
    let Some(snapshot) = reader_snapshot::<K::State>(&state_bytes) else {
        return Ok(None);
    };
    let parent = parent.map(|p| p.to_string()).unwrap_or_default();
    let trusted = snapshot.schema == K::FOLD_VERSION
        && crate::git::parse_oid(&snapshot.record_blob) == Some(record_blob)
        && snapshot.parent == parent;
    Ok(trusted.then_some(snapshot))
}

/// What a signature check needs from a record: who it names, when it says
/// it was written, and the allowed-signers file it was judged against.
#[derive(Debug, Clone, Copy)]
pub struct SignedFacts<'a> {
    /// The record's `actor` (the principal the key must be listed for).
    pub actor: &'a str,
    /// The record's `at` ("" when it has none).
    pub at: &'a str,
    /// The allowed-signers blob the record names, if any.
    pub signers_blob: Option<&'a str>,
}

/// Decides whether a ledger commit may count at all (signed controls: a
/// good signature by a key allowed for the record's actor).
pub trait CommitCheck {
    /// A short stable name for this check's configuration: folds made under
    /// it are cached apart from unchecked ones.
    fn cache_key(&self) -> String;
    /// `Ok(Err(why))` when `commit`, an existing record, must not count: as
    /// it was judged when written.
    fn check(
        &self,
        repo: &Repo,
        commit: ObjectId,
        facts: &SignedFacts,
    ) -> Result<Result<(), String>>;
    /// `Ok(Err(why))` when `commit`, a record being written now (the hook
    /// judging a push), must not count: judged against what is in force now.
    fn check_new(
        &self,
        repo: &Repo,
        commit: ObjectId,
        facts: &SignedFacts,
    ) -> Result<Result<(), String>> {
        self.check(repo, commit, facts)
    }
}

/// Folds without a trusted snapshot at least this long are remembered in
/// the repository's fold cache ([`FoldCache`]).
pub const FOLD_CACHE_MIN: usize = 8;

/// A folded state remembered for one ledger commit.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(bound = "S: Serialize + DeserializeOwned")]
struct CachedFold<S> {
    commits: u64,
    state: S,
    problems: Vec<String>,
}

/// The fold cache of ledger `K` in `repo`, apart per fold version (two
/// versions may share a repository during an upgrade) and per check
/// configuration.
fn cache_of<K: LedgerKind>(repo: &Repo, check: Option<&dyn CommitCheck>) -> FoldCache {
    let ledger = K::REF.rsplit('/').next().unwrap_or("ledger");
    let name = format!("{ledger}-fold{}", K::FOLD_VERSION);
    match check {
        None => FoldCache::of(repo, &name),
        Some(check) => FoldCache::of(repo, &format!("{name}-{}", check.cache_key())),
    }
}

/// Reads the current state at `tip` (None: the empty ledger). Walks back to
/// the nearest commit with a trusted snapshot (or a state remembered in the
/// fold cache) and folds forward from there, once per record: linear in the
/// tail without snapshots, and a long tail is remembered so no reader of this
/// repository folds it twice.
pub fn read_state<K: LedgerKind>(repo: &Repo, tip: Option<ObjectId>) -> Result<Folded<K::State>> {
    read_state_checked::<K>(repo, tip, None)
}

/// [`read_state`] where only commits that pass `check` count: a snapshot is
/// trusted only on a commit that passes, and a record that fails is reported
/// as a problem and changes nothing.
pub fn read_state_checked<K: LedgerKind>(
    repo: &Repo,
    tip: Option<ObjectId>,
    check: Option<&dyn CommitCheck>,
) -> Result<Folded<K::State>> {
    let cache = cache_of::<K>(repo, check);
    let mut pending = Vec::new();
    let mut cursor = tip;
    let mut base: Option<(u64, K::State, Vec<String>)> = None;
    while let Some(commit) = cursor {
        if let Some(cached) = cache
            .get(commit)
            .and_then(|bytes| serde_json::from_slice::<CachedFold<K::State>>(&bytes).ok())
        {
            base = Some((cached.commits, cached.state, cached.problems));
            break;
        }
        let info = repo.find_commit_info(commit)?;
        let parent = info.parents.first().copied();
        if info.parents.len() <= 1
            && let Some(snapshot) = trusted_snapshot::<K>(repo, info.tree, parent)?
            && passes::<K>(repo, commit, info.tree, check)?
        {
            base = Some((snapshot.commits, snapshot.state, snapshot.problems));
            break;
        }
        cursor = info.parents.first().copied();
        pending.push((commit, info));
    }
    let (mut state, mut commits, mut problems) = match base {
        Some((commits, state, problems)) => (state, commits, problems),
        None => (K::State::default(), 0, Vec::new()),
    };
    let folded_without_snapshot = pending.len() as u64;
    let remember = pending.len() >= FOLD_CACHE_MIN;
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
        let decoded = match decode_record::<K>(repo, commit, info.tree)? {
            Ok((record, _)) => match check {
                Some(check) => check
                    .check(repo, commit, &K::signed_facts(&record))?
                    .map(|()| record)
                    .map_err(|why| format!("does not count: {why}")),
                None => Ok(record),
            },
            Err(why) => Err(why),
        };
        match decoded {
            Ok(record) => state = K::fold(state, &record),
            Err(why) => {
                state = K::fold_unreadable(state);
                // A reason may quote the record: never let it drive a terminal.
                let why = crate::core::json::printable(&why);
                problems.push(format!("{}: commit {short} {why}; ignored", K::REF));
            }
        }
        if problems.len() > 2 * MAX_PROBLEMS {
            let excess = problems.len() - MAX_PROBLEMS;
            problems.drain(..excess);
        }
    }
    let excess = problems.len().saturating_sub(MAX_PROBLEMS);
    problems.drain(..excess);
    if let (true, Some(tip)) = (remember, tip) {
        let cached = CachedFold {
            commits,
            state: state.clone(),
            problems: problems.clone(),
        };
        if let Ok(bytes) = serde_json::to_vec(&cached) {
            cache.put(tip, &bytes);
        }
    }
    Ok(Folded {
        state,
        tip,
        commits,
        problems,
        folded_without_snapshot,
    })
}

/// True when the commit (with `tree`) passes `check` (always without one).
fn passes<K: LedgerKind>(
    repo: &Repo,
    commit: ObjectId,
    tree: ObjectId,
    check: Option<&dyn CommitCheck>,
) -> Result<bool> {
    let Some(check) = check else {
        return Ok(true);
    };
    let Ok((record, _)) = decode_record::<K>(repo, commit, tree)? else {
        return Ok(false);
    };
    Ok(check
        .check(repo, commit, &K::signed_facts(&record))?
        .is_ok())
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
    append_commits_as::<K>(repo, current, records, who, false)
}

/// [`append_commit`], each commit signed with the writer's git signing setup
/// (signed controls); fails with one line naming the missing setting.
pub fn append_commit_signed<K: LedgerKind>(
    repo: &Repo,
    current: &Folded<K::State>,
    record: &K::Record,
    who: &Identity,
) -> Result<(ObjectId, K::State)> {
    let after = append_commits_as::<K>(repo, current, std::slice::from_ref(record), who, true)?;
    Ok((after.tip.expect("one commit was written"), after.state))
}

fn append_commits_as<K: LedgerKind>(
    repo: &Repo,
    current: &Folded<K::State>,
    records: &[K::Record],
    who: &Identity,
    sign: bool,
) -> Result<Folded<K::State>> {
    let mut folded = current.clone();
    for (i, record) in records.iter().enumerate() {
        let state = K::fold(folded.state.clone(), record);
        let record_blob = repo.write_blob(&serde_json::to_vec_pretty(record)?)?;
        let mut files = vec![(RECORD_FILE, record_blob)];
        if i + 1 == records.len() {
            let snapshot = Snapshot {
                schema: K::FOLD_VERSION,
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
        let commit = if sign {
            repo.write_signed_commit(tree, &parents, &K::summary(record), who)?
        } else {
            repo.write_commit(tree, &parents, &K::summary(record), who)?
        };
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
        out.push((
            commit,
            decode_record::<K>(repo, commit, info.tree)?.map(|(r, _)| r),
        ));
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
    const FOLD_VERSION: u32 = 1;
    fn validate(record: &Self::Record) -> Result<(), String> {
        record.validate()
    }
    fn fold(state: Self::State, record: &Self::Record) -> Self::State {
        crate::core::control::fold_control(&state, record).0
    }
    fn summary(record: &Self::Record) -> String {
        record.summary()
    }
    fn actor(record: &Self::Record) -> &str {
        &record.actor
    }
    fn at(record: &Self::Record) -> &str {
        &record.at
    }
    fn signed_facts(record: &Self::Record) -> SignedFacts<'_> {
        SignedFacts {
            actor: &record.actor,
            at: &record.at,
            signers_blob: record.signers_blob.as_deref(),
        }
    }
    fn index_keys(record: &Self::Record) -> Vec<String> {
        crate::core::story::control_index_keys(record)
    }
    fn adopt(record: &mut Self::Record, commit: ObjectId) {
        if record.control_id.is_empty() {
            record.control_id = crate::core::control::legacy_control_id(&commit.to_string());
        }
    }
}

/// The queue ledger.
pub struct QueueLedger;

impl LedgerKind for QueueLedger {
    type Record = crate::core::queue::QueueRecord;
    type State = crate::core::queue::QueueState;
    const REF: &'static str = crate::git::names::QUEUE;
    /// 2: failure counts of entries that left the queue are pruned.
    const FOLD_VERSION: u32 = 2;
    fn validate(record: &Self::Record) -> Result<(), String> {
        record.validate()
    }
    fn fold(state: Self::State, record: &Self::Record) -> Self::State {
        crate::core::queue::fold_queue(state, record)
    }
    fn fold_unreadable(state: Self::State) -> Self::State {
        crate::core::queue::fold_unreadable(state)
    }
    fn index_keys(record: &Self::Record) -> Vec<String> {
        crate::core::story::queue_index_keys(record)
    }
    fn summary(record: &Self::Record) -> String {
        record.summary()
    }
    fn actor(record: &Self::Record) -> &str {
        &record.actor
    }
    fn at(record: &Self::Record) -> &str {
        &record.at
    }
}

#[cfg(test)]
mod tests;
