//! Tested landing, executed: reads each live candidate's CI (for step 1 of a
//! pass), and turns the train's actions (step 3) into ref updates for
//! `react`'s one atomic push: try branches created and deleted,
//! `candidate`, `discarded`, `block` and `merged` records; the executor
//! fast-forwards the base to exactly the tip of a candidate that passed.

use super::landing::{Merged, block_entry, merge_one};
use super::outcome::{BlockedView, DiscardedView, MergedView, ReactReport, view_of};
use super::queue::record;
use crate::core::queue::{EntryState, EntryView, QueueAction, QueueRecord, QueueState};
use crate::core::release::{ReleaseInputs, ReleaseState, release_state};
use crate::core::results::{ResultStatus, latest_per_check};
use crate::core::train::{Candidate, CandidateCi, CandidateEntry, Discard, try_branch};
use crate::git::refs::RefUpdate;
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use crate::session::Session;

/// The CI of a candidate's tip: every `pipeline.ci_checks` and
/// `queue.required_checks` check, judged as a release's CI (grace, cancels).
pub fn candidate_ci(session: &Session, store: &Store, sha: &str) -> anyhow::Result<CandidateCi> {
    let Some(oid) = crate::git::parse_oid(sha) else {
        return Ok(CandidateCi::Testing);
    };
    let (records, _) = super::release::read_results(store, names::NOTES_CI, &oid)?;
    let policy = &session.policy;
    let reuse = policy.pipeline.reuse_results == crate::core::policy::ReuseResults::Tree;
    let tip = store.tip(names::NOTES_CI)?;
    let records = super::reuse::effective(&store.repo, tip, &oid, records, reuse)?;
    let mut checks = policy.pipeline.ci_checks.clone();
    for c in &policy.queue.required_checks {
        if !checks.contains(c) {
            checks.push(c.clone());
        }
    }
    let release = release_state(&ReleaseInputs {
        ci: &records,
        deploy: &[],
        ci_checks: &checks,
        deploy_checks: &[],
        verifications: &[],
        grace_seconds: policy.pipeline.ci_failure_grace_seconds,
        now: super::now_seconds(),
        is_watermark: false,
        failure_pauses: false,
        // A candidate's decided cancel fails it, as on the base tip.
        cancelled: crate::core::results::CancelRule::Fails,
    });
    Ok(match release.state {
        ReleaseState::CiFailed => {
            let latest = latest_per_check(&records);
            let failed = checks.iter().find_map(|c| {
                latest
                    .get(c)
                    .filter(|r| matches!(r.status, ResultStatus::Failure | ResultStatus::Cancelled))
            });
            CandidateCi::Failed {
                check: failed
                    .map(|r| r.check.clone())
                    .unwrap_or_else(|| "CI".into()),
                url: failed.and_then(|r| r.url.clone()),
            }
        }
        ReleaseState::Testing => CandidateCi::Testing,
        _ => CandidateCi::Passed,
    })
}

/// The live candidates with their CI, bottom first.
pub fn live_candidates(
    session: &Session,
    store: &Store,
    candidates: &[Candidate],
) -> anyhow::Result<Vec<(Candidate, CandidateCi)>> {
    candidates
        .iter()
        .map(|c| Ok((c.clone(), candidate_ci(session, store, &c.sha)?)))
        .collect()
}

/// Entries that sit in a live candidate read `testing`; a ready entry that
/// waits for a test of its own (a retry, or the entry left out of a failed
/// batch) says so.
pub fn overlay_testing(
    views: &mut [EntryView],
    candidates: &[(Candidate, CandidateCi)],
    queue: &QueueState,
) {
    let in_train: Vec<String> = candidates
        .iter()
        .flat_map(|(c, _)| &c.entries)
        .map(|e| crate::core::train::failure_key(&e.branch, &e.head_sha))
        .collect();
    let under_test = |k: &str| in_train.iter().any(|t| t == k);
    for view in views.iter_mut() {
        if view.state != EntryState::Queued {
            continue;
        }
        let key = crate::core::train::failure_key(&view.branch, &view.head_sha);
        let group = crate::core::train::held_by(&queue.suspects, &key, under_test, |_| false);
        let failures = queue.failures.get(&key).copied().unwrap_or(0);
        if group.is_some() || failures > 0 {
            view.why = crate::messages::held_for_solo_test(failures, group);
        }
    }
    overlay_candidates(views, candidates);
}

/// Entries under a probe (auto depth) read `testing` and say they are
/// tested alone beside the train, so later requests may land first.
pub fn overlay_probes(views: &mut [EntryView], probes: &[(Candidate, CandidateCi)]) {
    overlay_held(views, probes, crate::messages::in_probe);
}

fn overlay_candidates(views: &mut [EntryView], candidates: &[(Candidate, CandidateCi)]) {
    overlay_held(views, candidates, |id, state| {
        format!("in candidate {id} ({state})")
    });
}

/// Queued entries held by one of `held` read `testing`, with `why` from
/// the holder's id and CI state.
fn overlay_held(
    views: &mut [EntryView],
    held: &[(Candidate, CandidateCi)],
    why: impl Fn(&str, &str) -> String,
) {
    for view in views.iter_mut() {
        let holder = held.iter().find(|(c, _)| {
            c.entries
                .iter()
                .any(|e| e.branch == view.branch && e.head_sha == view.head_sha)
        });
        if let Some((c, ci)) = holder
            && view.state == EntryState::Queued
        {
            view.state = EntryState::Testing;
            view.why = why(&c.candidate_id, view_of(c, ci).state.as_str());
        }
    }
}

/// What executing train actions collects: the queue records to append (in
/// order), the report, and the ref updates of the pass.
pub struct TrainOut<'a> {
    /// Queue records, in order.
    pub records: &'a mut Vec<QueueRecord>,
    /// The pass's report.
    pub report: &'a mut ReactReport,
    /// The pass's ref updates.
    pub updates: &'a mut Vec<RefUpdate>,
}

/// Executes a discard: the try branch deleted, a `discarded` record.
pub fn discard(
    session: &Session,
    store: &Store,
    c: &Candidate,
    d: &Discard,
    out: &mut TrainOut,
) -> anyhow::Result<()> {
    delete_try_branch(store, c, out.updates)?;
    let mut rec = record(
        session,
        QueueAction::Discarded,
        &try_branch(&c.candidate_id),
    );
    rec.candidate_id = Some(c.candidate_id.clone());
    rec.reason = Some(d.reason.clone());
    rec.outcome = Some(
        match (d.failed, d.passed) {
            (true, _) => "failed",
            (false, true) => "passed",
            (false, false) => "stale",
        }
        .into(),
    );
    rec.entries = Some(c.entries.clone());
    out.records.push(rec);
    out.report.discarded.push(DiscardedView {
        candidate_id: c.candidate_id.clone(),
        reason: d.reason.clone(),
    });
    Ok(())
}

/// Executes a block of an entry whose retries are spent.
pub fn block(session: &Session, branch: &str, head: &str, reason: &str, out: &mut TrainOut) {
    let mut rec = record(session, QueueAction::Block, branch);
    rec.head_sha = Some(head.to_owned());
    rec.reason = Some(reason.to_owned());
    out.records.push(rec);
    out.report.blocked.push(BlockedView {
        branch: branch.to_owned(),
        reason: reason.to_owned(),
    });
}

/// Executes a landing: the try branch deleted, a `merged` record per entry;
/// returns the candidate's tip, which the base fast-forwards to.
pub fn land(
    session: &Session,
    store: &Store,
    c: &Candidate,
    out: &mut TrainOut,
) -> anyhow::Result<Option<ObjectId>> {
    delete_try_branch(store, c, out.updates)?;
    for e in &c.entries {
        let mut rec = record(session, QueueAction::Merged, &e.branch);
        rec.head_sha = Some(e.head_sha.clone());
        rec.merge_sha = Some(e.merge_sha.clone());
        rec.candidate_id = Some(c.candidate_id.clone());
        out.records.push(rec);
        out.report.merged.push(MergedView {
            branch: e.branch.clone(),
            head_sha: e.head_sha.clone(),
            merge_sha: e.merge_sha.clone(),
        });
    }
    out.report.landed.push(view_of(c, &CandidateCi::Passed));
    Ok(crate::git::parse_oid(&c.sha))
}

/// Executes a build: `group` merged in memory on `below` (an entry that
/// conflicts is blocked), its try branch created and a `candidate` record,
/// marked `probe` for a probe (built on main beside the train, never
/// landed); returns its tip (`below` when nothing was built).
pub fn build(
    session: &Session,
    store: &Store,
    group: &[String],
    below: ObjectId,
    views: &[EntryView],
    out: &mut TrainOut,
    is_probe: bool,
) -> anyhow::Result<ObjectId> {
    let id = format!(
        "{}{:012x}",
        if is_probe { 'p' } else { 'c' },
        crate::git::store::random_u64() & 0xffff_ffff_ffff
    );
    let mut tip = below;
    let mut entries = Vec::new();
    store.repo.with_merger(|merger| {
        for branch in group {
            let view = views
                .iter()
                .find(|v| &v.branch == branch)
                .expect("planned from views");
            let head = crate::git::parse_oid(&view.head_sha).expect("validated ledger sha");
            let label = format!("{branch} (candidate {id})");
            match merge_one(session, store, merger, tip, head, &label)? {
                Merged::Into(next) => {
                    tip = next;
                    entries.push(CandidateEntry {
                        branch: branch.clone(),
                        head_sha: view.head_sha.clone(),
                        merge_sha: next.to_string(),
                    });
                }
                Merged::Blocked(reason) => {
                    block_entry(session, view, reason, out.records, out.report);
                }
            }
        }
        Ok(())
    })?;
    if entries.is_empty() || tip == below {
        return Ok(below);
    }
    out.updates.push(RefUpdate {
        name: names::branch_ref(&try_branch(&id)),
        expected: None,
        new: Some(tip),
    });
    let candidate = Candidate {
        candidate_id: id.clone(),
        sha: tip.to_string(),
        base_sha: below.to_string(),
        entries,
    };
    let mut rec = record(session, QueueAction::Candidate, &try_branch(&id));
    rec.candidate_id = Some(id);
    rec.sha = Some(candidate.sha.clone());
    rec.base_sha = Some(candidate.base_sha.clone());
    rec.entries = Some(candidate.entries.clone());
    rec.probe = is_probe.then_some(true);
    out.records.push(rec);
    out.report.built.push(crate::ops::outcome::CandidateView {
        probe: is_probe,
        ..view_of(&candidate, &CandidateCi::Testing)
    });
    Ok(tip)
}

/// Deletes a candidate's try branch (compare-and-swap on its tip) when it exists.
fn delete_try_branch(
    store: &Store,
    candidate: &Candidate,
    updates: &mut Vec<RefUpdate>,
) -> anyhow::Result<()> {
    let name = names::branch_ref(&try_branch(&candidate.candidate_id));
    if let Some(current) = store.tip(&name)? {
        updates.push(RefUpdate {
            name,
            expected: Some(current),
            new: None,
        });
    }
    Ok(())
}
