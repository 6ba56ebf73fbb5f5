//! Tested landing, executed: reads each live candidate's CI, asks the pure
//! planner (`core::train::plan_train`) what to do, and turns the plan into
//! ref updates for `react`'s one atomic push: try branches created and
//! deleted, `candidate`, `discarded`, `block` and `merged` records, and the
//! base branch fast-forwarded to exactly the tip of a candidate that passed.

use super::landing::{Merged, block_entry, merge_one};
use super::queue::record;
use super::react::{BlockedView, MergedView, ReactReport};
use crate::core::queue::{EntryState, EntryView, QueueAction, QueueRecord, QueueState};
use crate::core::release::{ReleaseInputs, ReleaseState, release_state};
use crate::core::results::{ResultStatus, latest_per_check};
use crate::core::train::{
    Candidate, CandidateCi, CandidateEntry, TrainInputs, TrainPlan, plan_train, try_branch,
};
use crate::git::refs::RefUpdate;
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use crate::session::Session;
use serde::Serialize;

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

/// The CI of a candidate's tip: every `pipeline.ci_checks` and
/// `queue.required_checks` check, judged as a release's CI (grace, cancels).
pub fn candidate_ci(session: &Session, store: &Store, sha: &str) -> anyhow::Result<CandidateCi> {
    let Some(oid) = crate::git::parse_oid(sha) else {
        return Ok(CandidateCi::Testing);
    };
    let (records, _) = super::release::read_results(store, names::NOTES_CI, &oid)?;
    let policy = &session.policy;
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
    queue: &QueueState,
) -> anyhow::Result<Vec<(Candidate, CandidateCi)>> {
    queue
        .candidates
        .iter()
        .map(|c| Ok((c.clone(), candidate_ci(session, store, &c.sha)?)))
        .collect()
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
    }
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

fn overlay_candidates(views: &mut [EntryView], candidates: &[(Candidate, CandidateCi)]) {
    for view in views.iter_mut() {
        let holder = candidates.iter().find(|(c, _)| {
            c.entries
                .iter()
                .any(|e| e.branch == view.branch && e.head_sha == view.head_sha)
        });
        if let Some((c, ci)) = holder
            && view.state == EntryState::Queued
        {
            view.state = EntryState::Testing;
            view.why = format!("in candidate {} ({})", c.candidate_id, view_of(c, ci).state);
        }
    }
}

/// What lets this pass land and build.
pub struct TrainGate<'a> {
    /// Landing is allowed (admission, or the recovery's repair).
    pub may_land: bool,
    /// Building is allowed.
    pub may_build: bool,
    /// During a recovery, the only branch that may be built.
    pub only: Option<&'a str>,
}

/// One tested-landing pass on top of `base`: fills `report` and returns the
/// ref updates (queue records are returned separately, to append in order).
#[allow(clippy::too_many_arguments)]
pub fn pass(
    session: &Session,
    store: &Store,
    base: ObjectId,
    queue: &QueueState,
    views: &[EntryView],
    gate: &TrainGate,
    report: &mut ReactReport,
    updates: &mut Vec<RefUpdate>,
) -> anyhow::Result<(Option<ObjectId>, Vec<QueueRecord>)> {
    let policy = &session.policy;
    let train = live_candidates(session, store, queue)?;
    let base_hex = base.to_string();
    let plan: TrainPlan = plan_train(&TrainInputs {
        base_sha: &base_hex,
        entries: views,
        candidates: &train,
        failures: &queue.failures,
        suspects: &queue.suspects,
        may_land: gate.may_land,
        may_build: gate.may_build,
        only: gate.only,
        max_batch: policy.queue.max_batch_size,
        depth: policy.queue.speculation_depth,
        max_retries: policy.queue.max_retries,
    });
    let find = |id: &str| {
        train
            .iter()
            .find(|(c, _)| c.candidate_id == id)
            .map(|(c, _)| c)
    };
    let mut records = Vec::new();
    for d in &plan.discard {
        let c = find(&d.candidate_id).expect("the plan discards live candidates");
        delete_try_branch(store, c, updates)?;
        let mut rec = record(
            session,
            QueueAction::Discarded,
            &try_branch(&c.candidate_id),
        );
        rec.candidate_id = Some(c.candidate_id.clone());
        rec.reason = Some(d.reason.clone());
        rec.outcome = Some(if d.failed { "failed" } else { "stale" }.into());
        rec.entries = Some(c.entries.clone());
        records.push(rec);
        report.discarded.push(DiscardedView {
            candidate_id: c.candidate_id.clone(),
            reason: d.reason.clone(),
        });
    }
    for (branch, head, reason) in &plan.block {
        let mut rec = record(session, QueueAction::Block, branch);
        rec.head_sha = Some(head.clone());
        rec.reason = Some(reason.clone());
        records.push(rec);
        report.blocked.push(BlockedView {
            branch: branch.clone(),
            reason: reason.clone(),
        });
    }
    // Land: main fast-forwards to exactly the tip of the last passed candidate.
    let mut new_base = None;
    for id in &plan.land {
        let c = find(id).expect("the plan lands live candidates");
        delete_try_branch(store, c, updates)?;
        for e in &c.entries {
            let mut rec = record(session, QueueAction::Merged, &e.branch);
            rec.head_sha = Some(e.head_sha.clone());
            rec.merge_sha = Some(e.merge_sha.clone());
            rec.candidate_id = Some(c.candidate_id.clone());
            records.push(rec);
            report.merged.push(MergedView {
                branch: e.branch.clone(),
                head_sha: e.head_sha.clone(),
                merge_sha: e.merge_sha.clone(),
            });
        }
        report.landed.push(view_of(c, &CandidateCi::Passed));
        new_base = crate::git::parse_oid(&c.sha);
    }
    // Build on top of what stays.
    let gone: Vec<&str> = plan
        .discard
        .iter()
        .map(|d| d.candidate_id.as_str())
        .chain(plan.land.iter().map(String::as_str))
        .collect();
    let top = train
        .iter()
        .rev()
        .find(|(c, _)| !gone.contains(&c.candidate_id.as_str()))
        .and_then(|(c, _)| crate::git::parse_oid(&c.sha));
    let mut below = top.or(new_base).unwrap_or(base);
    for group in &plan.build {
        let id = format!(
            "c{:012x}",
            crate::git::store::random_u64() & 0xffff_ffff_ffff
        );
        let mut tip = below;
        let mut entries = Vec::new();
        for branch in group {
            let view = views
                .iter()
                .find(|v| &v.branch == branch)
                .expect("planned from views");
            let head = crate::git::parse_oid(&view.head_sha).expect("validated ledger sha");
            let label = format!("{branch} (candidate {id})");
            match merge_one(session, store, tip, head, &label)? {
                Merged::Into(next) => {
                    tip = next;
                    entries.push(CandidateEntry {
                        branch: branch.clone(),
                        head_sha: view.head_sha.clone(),
                        merge_sha: next.to_string(),
                    });
                }
                Merged::Blocked(reason) => {
                    block_entry(session, view, reason, &mut records, report);
                }
            }
        }
        if entries.is_empty() || tip == below {
            continue;
        }
        updates.push(RefUpdate {
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
        records.push(rec);
        report
            .built
            .push(view_of(&candidate, &CandidateCi::Testing));
        below = tip;
    }
    Ok((new_base, records))
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
