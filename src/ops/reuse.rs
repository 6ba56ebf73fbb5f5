//! Results reused for identical trees (`pipeline.reuse_results = "tree"`):
//! which reuse lines hold (readers and the hook judge them by one rule,
//! [`crate::core::results::reuse_holds`]), and which commit a runner may
//! reuse a result from instead of running.

use super::runner::{Pipeline, RunOutcome, RunRequest, report_line, result};
use crate::core::results::{ResultRecord, ResultStatus, parse_note, reuse_holds, reused_from};
use crate::error::CliResult;
use crate::git::{ObjectId, Repo, names};
use crate::messages;
use crate::session::Session;
use anyhow::Result;

/// The tree of commit `oid`, if it is a commit here.
fn tree_of(repo: &Repo, oid: ObjectId) -> Option<ObjectId> {
    repo.find_commit_info(oid).ok().map(|c| c.tree)
}

/// True when the reuse line `line` on `sha` holds, judged from the notes at
/// `notes_tip` (the commit it names must be here, with the same tree, and
/// its own deciding result must have the line's status).
pub fn holds(
    repo: &Repo,
    notes_tip: Option<ObjectId>,
    sha: &ObjectId,
    line: &ResultRecord,
) -> Result<bool> {
    let Some(from) = reused_from(line).and_then(crate::git::parse_oid) else {
        return Ok(false);
    };
    let same_tree = match (tree_of(repo, *sha), tree_of(repo, from)) {
        (Some(a), Some(b)) => a == b,
        _ => false,
    };
    if !same_tree {
        return Ok(false);
    }
    let source = parse_note(&repo.read_note(notes_tip, &from)?).records;
    Ok(reuse_holds(line, same_tree, &source))
}

/// `records` of `sha` as they count: a reuse line is kept only when reuse is
/// `enabled` and it [`holds`]; every other line as it is.
pub fn effective(
    repo: &Repo,
    notes_tip: Option<ObjectId>,
    sha: &ObjectId,
    records: Vec<ResultRecord>,
    enabled: bool,
) -> Result<Vec<ResultRecord>> {
    if records.iter().all(|r| reused_from(r).is_none()) {
        return Ok(records);
    }
    let mut out = Vec::with_capacity(records.len());
    for r in records {
        if reused_from(&r).is_none() || (enabled && holds(repo, notes_tip, sha, &r)?) {
            out.push(r);
        }
    }
    Ok(out)
}

/// The results on `sha` in `notes_ref` as they count under `policy` (a
/// reuse line only when it holds): what a runner decides a run on.
pub fn counted_results(
    store: &crate::git::store::Store,
    policy: &crate::core::policy::Policy,
    notes_ref: &str,
    sha: &ObjectId,
) -> Result<Vec<ResultRecord>> {
    let (records, _) = super::release::read_results(store, notes_ref, sha)?;
    let enabled = policy.pipeline.reuse_results == crate::core::policy::ReuseResults::Tree;
    effective(&store.repo, store.tip(notes_ref)?, sha, records, enabled)
}

/// A commit with the same tree as `sha` whose own deciding result for
/// `check` is a success, among `candidates` (bounded: a merge's parents, the
/// queued heads, the live candidates): the one a runner may reuse.
pub fn proven_twin(
    repo: &Repo,
    notes_tip: Option<ObjectId>,
    sha: &ObjectId,
    check: &str,
    candidates: &[ObjectId],
) -> Result<Option<ObjectId>> {
    let Some(tree) = tree_of(repo, *sha) else {
        return Ok(None);
    };
    for twin in candidates.iter().filter(|c| *c != sha) {
        if tree_of(repo, *twin) != Some(tree) {
            continue;
        }
        let records = parse_note(&repo.read_note(notes_tip, twin)?).records;
        let own: Vec<ResultRecord> = records
            .into_iter()
            .filter(|r| reused_from(r).is_none())
            .collect();
        let decided = crate::core::results::latest_per_check(&own);
        if decided
            .get(check)
            .is_some_and(|r| r.status == crate::core::results::ResultStatus::Success)
        {
            return Ok(Some(*twin));
        }
    }
    Ok(None)
}

/// With `pipeline.reuse_results = "tree"`, a CI check whose result is
/// already proven on a commit with the identical tree (a merge's parent, a
/// queued head, a live candidate) is recorded as reused from it instead of
/// run: a `success` line with `reused_from`, which the hook checks.
pub fn reuse_instead(
    session: &Session,
    request: &RunRequest,
    sha: ObjectId,
    run_id: &str,
) -> CliResult<Option<RunOutcome>> {
    let reuse = session.policy.pipeline.reuse_results == crate::core::policy::ReuseResults::Tree;
    if !reuse || request.pipeline != Pipeline::Ci {
        return Ok(None);
    }
    let store = &session.store;
    let mut twins: Vec<ObjectId> = store.repo.find_commit_info(sha)?.parents;
    let queue = super::queue::read_queue(store)?;
    let state = &queue.state;
    let heads = state.entries.iter().map(|e| e.head_sha.as_str());
    let tips = state
        .candidates
        .iter()
        .chain(&state.probes)
        .map(|c| c.sha.as_str());
    twins.extend(heads.chain(tips).filter_map(crate::git::parse_oid));
    let notes = store.tip(names::NOTES_CI)?;
    let check = request.check.as_str();
    let Some(twin) = proven_twin(&store.repo, notes, &sha, check, &twins)? else {
        return Ok(None);
    };
    let mut line = result(session, check, ResultStatus::Success, run_id);
    line.extra.insert(
        crate::core::results::REUSED_FROM.into(),
        twin.to_string().into(),
    );
    super::claim::one_writer(|| report_line(session, Pipeline::Ci, sha, &line))?;
    Ok(Some(RunOutcome {
        sha: sha.to_string(),
        check: check.into(),
        status: ResultStatus::Success,
        run_id: run_id.to_owned(),
        duration_seconds: 0.0,
        message: messages::reused_result(check, &sha.to_string(), &twin.to_string()),
    }))
}
