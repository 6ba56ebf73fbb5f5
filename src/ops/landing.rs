//! Merge-mode landing helpers: merging entries onto a tip in memory (a
//! conflict, or a policy that would not parse, blocks the entry), the pending
//! CI lines a dispatching pass adds, and the dispatch command.

use super::outcome::{BlockedView, MergedView, ReactReport};
use super::queue::record;
use crate::core::policy::MergeMethod;
use crate::core::queue::{EntryView, QueueAction, QueueRecord};
use crate::core::results::{ResultRecord, ResultStatus};
use crate::git::merge::{MergeOutcome, Merger};
use crate::git::refs::RefUpdate;
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use crate::messages::{self, short};
use crate::session::Session;

/// Merges `branches` (FIFO) one on top of the other in memory, starting at
/// `base`; a conflicting entry is blocked (naming the commit it conflicts
/// with) and the rest go on. Returns the new tip and the queue records.
pub(crate) fn merge_batch(
    session: &Session,
    store: &Store,
    base: ObjectId,
    branches: &[String],
    views: &[EntryView],
    report: &mut ReactReport,
) -> anyhow::Result<(ObjectId, Vec<QueueRecord>)> {
    let mut tip = base;
    let mut records = Vec::new();
    store.repo.with_merger(|merger| {
        for branch in branches {
            let view = views
                .iter()
                .find(|v| &v.branch == branch)
                .expect("planned from views");
            let head = crate::git::parse_oid(&view.head_sha).expect("validated ledger sha");
            match merge_one(session, store, merger, tip, head, branch)? {
                Merged::Into(new_tip) => {
                    tip = new_tip;
                    let mut rec = record(session, QueueAction::Merged, branch);
                    rec.head_sha = Some(view.head_sha.clone());
                    rec.merge_sha = Some(new_tip.to_string());
                    records.push(rec);
                    report.merged.push(MergedView {
                        branch: branch.clone(),
                        head_sha: view.head_sha.clone(),
                        merge_sha: new_tip.to_string(),
                    });
                }
                Merged::Blocked(reason) => {
                    block_entry(session, view, reason, &mut records, report);
                }
            }
        }
        Ok(())
    })?;
    Ok((tip, records))
}

/// Records a block of `view`'s entry with `reason` and reports it.
pub(crate) fn block_entry(
    session: &Session,
    view: &EntryView,
    reason: String,
    records: &mut Vec<QueueRecord>,
    report: &mut ReactReport,
) {
    let mut rec = record(session, QueueAction::Block, &view.branch);
    rec.head_sha = Some(view.head_sha.clone());
    rec.reason = Some(reason.clone());
    records.push(rec);
    report.blocked.push(BlockedView {
        branch: view.branch.clone(),
        reason,
    });
}

/// One entry merged onto a tip, or the paths it conflicts on.
pub(crate) enum Merged {
    /// The new tip (the tip itself when the head was already in it).
    Into(ObjectId),
    /// The entry cannot land on this tip: why (a conflict naming the tip it
    /// conflicts with, or a policy file that would not parse once merged).
    Blocked(String),
}

/// Merges `head` onto `tip` in memory as `queue.merge_method` says.
pub(crate) fn merge_one(
    session: &Session,
    store: &Store,
    merger: &mut Merger<'_>,
    tip: ObjectId,
    head: ObjectId,
    branch: &str,
) -> anyhow::Result<Merged> {
    let repo = &store.repo;
    let message = messages::merge_message(branch, &head.to_string(), &session.actor);
    match merger.merge(tip, head, &message, &session.identity())? {
        MergeOutcome::Contained => Ok(Merged::Into(tip)),
        MergeOutcome::Conflict(paths) => Ok(Merged::Blocked(messages::merge_conflict(
            &tip.to_string(),
            &paths,
        ))),
        MergeOutcome::Merged(commit) => {
            let commit = if session.policy.queue.merge_method == MergeMethod::Squash {
                let tree = repo.find_commit_info(commit)?.tree;
                repo.write_commit(tree, &[tip], &message, &session.identity())?
            } else {
                commit
            };
            // The server refuses a base whose policy does not parse: check it
            // here, so one bad branch is blocked instead of stalling the queue.
            if let Some(Err(e)) = super::policy::policy_in_commit(repo, commit, branch)? {
                return Ok(Merged::Blocked(messages::merged_policy_broken(
                    &e.to_string(),
                )));
            }
            Ok(Merged::Into(commit))
        }
    }
}

/// The notes update adding a `pending` line per CI check on `sha`, so runners find it.
pub(crate) fn pending_ci_update(
    session: &Session,
    store: &Store,
    sha: ObjectId,
) -> anyhow::Result<Option<RefUpdate>> {
    let tip = store.tip(names::NOTES_CI)?;
    let mut current = tip;
    let at = super::now_rfc3339();
    for check in &session.policy.pipeline.ci_checks {
        let mut line = ResultRecord::new(check, ResultStatus::Pending, &at);
        line.runner = Some(session.actor.clone());
        let subject = format!("ci: {check} pending on {}", short(&sha.to_string()));
        current = Some(store.repo.append_note_commit(
            current,
            &sha,
            &line.to_line(),
            &subject,
            &session.identity(),
        )?);
    }
    Ok((current != tip).then(|| RefUpdate {
        name: names::NOTES_CI.into(),
        expected: tip,
        new: current,
    }))
}

/// Runs `pipeline.ci_dispatch_command` with the new base sha; its failure is a warning.
pub(crate) fn run_dispatch_command(session: &Session, report: &ReactReport) {
    let command = session.policy.pipeline.ci_dispatch_command.trim();
    let Some(sha) = &report.new_base_sha else {
        return;
    };
    if command.is_empty() {
        return;
    }
    let status = std::process::Command::new("sh")
        .arg("-c")
        .arg(command)
        .env("DEPLOYBOT_SHA", sha)
        .env("DEPLOYBOT_BRANCH", &session.policy.queue.base_branch)
        .status();
    match status {
        Ok(s) if s.success() => {}
        Ok(s) => eprintln!("{}", messages::dispatch_failed(&format!("exit status {s}"))),
        Err(e) => eprintln!("{}", messages::dispatch_failed(&e.to_string())),
    }
}
