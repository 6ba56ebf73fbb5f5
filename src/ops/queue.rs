//! The queue: requesting exact heads, cancelling, blocking, and reading entries with their state.

use crate::core::queue::{
    EntryView, QueueAction, QueueRecord, QueueState, entry_state, validate_branch_name,
};
use crate::core::results::{checks_green, parse_note};
use crate::error::{CliError, CliResult};
use crate::git::refs::RefUpdate;
use crate::git::store::{Attempt, Store};
use crate::git::{ObjectId, names};
use crate::ledger::{self, Folded, QueueLedger};
use crate::messages;
use crate::session::Session;
use serde::Serialize;

/// The queue ledger folded at its current tip.
pub fn read_queue(store: &Store) -> anyhow::Result<Folded<QueueState>> {
    ledger::read_state::<QueueLedger>(&store.repo, store.tip(names::QUEUE)?)
}

/// The ref update appending `records` (in order) to the queue ledger.
pub fn append_updates(
    store: &Store,
    session: &Session,
    current: &Folded<QueueState>,
    records: &[QueueRecord],
) -> anyhow::Result<Option<RefUpdate>> {
    if records.is_empty() {
        return Ok(None);
    }
    let folded =
        ledger::append_commits::<QueueLedger>(&store.repo, current, records, &session.identity())?;
    Ok(Some(RefUpdate {
        name: names::QUEUE.to_string(),
        expected: current.tip,
        new: folded.tip,
    }))
}

/// A new queue record by the session's actor, now.
pub fn record(session: &Session, action: QueueAction, branch: &str) -> QueueRecord {
    QueueRecord::new(action, branch, &session.actor, &super::now_rfc3339())
}

/// What a queue command did.
#[derive(Debug, Clone, Serialize)]
pub struct QueueChange {
    /// The branch.
    pub branch: String,
    /// The action recorded, or null when nothing needed writing.
    pub recorded: Option<String>,
    /// The exact head (requests).
    pub head_sha: Option<String>,
    /// What happened, for people.
    pub message: String,
}

/// Requests `branch` at its exact head (the remote tip, or `sha` which must be that tip).
pub fn request(session: &Session, branch: &str, sha: Option<ObjectId>) -> CliResult<QueueChange> {
    validate_branch_name(branch)
        .map_err(|why| CliError::usage(messages::bad_branch(branch, &why)))?;
    if branch == session.policy.queue.base_branch {
        return Err(CliError::usage(messages::request_base_branch(branch)));
    }
    let out = session.store.transact("deploybot: request", |store| {
        let tip = store.tip(&names::branch_ref(branch))?;
        let Some(tip) = tip else {
            let remote = store.remote_name().unwrap_or("origin");
            let tracked = branch
                .strip_prefix(&format!("{remote}/"))
                .filter(|rest| store.tip(&names::branch_ref(rest)).ok().flatten().is_some());
            let why = match tracked {
                Some(rest) => messages::remote_tracking_branch(branch, rest),
                None => messages::unknown_branch(branch),
            };
            return Err(CliError::usage(why).into());
        };
        let head = sha.unwrap_or(tip);
        if head != tip {
            return Err(CliError::precondition(messages::request_not_tip(
                branch,
                &head.to_string(),
                &tip.to_string(),
            ))
            .into());
        }
        let head_hex = head.to_string();
        let current = read_queue(store)?;
        let same_head = current
            .state
            .entries
            .iter()
            .find(|e| e.branch == branch && e.head_sha == head_hex);
        // The same head, blocked: a block is lifted by `unblock` (or by a new
        // head, e.g. a rebase after a conflict), not by asking again.
        if let Some(reason) = same_head.and_then(|e| e.blocked.as_deref()) {
            return Err(CliError::precondition(messages::request_blocked(branch, reason)).into());
        }
        if same_head.is_some() {
            return Ok(Attempt::Done(QueueChange {
                branch: branch.to_string(),
                recorded: None,
                head_sha: Some(head_hex.clone()),
                message: messages::already_requested(branch, &head_hex),
            }));
        }
        let mut rec = record(session, QueueAction::Request, branch);
        rec.head_sha = Some(head_hex.clone());
        let update = append_updates(store, session, &current, &[rec])?.expect("one record");
        Ok(Attempt::Write(
            vec![update],
            QueueChange {
                branch: branch.to_string(),
                recorded: Some("request".into()),
                head_sha: Some(head_hex.clone()),
                message: messages::requested(branch, &head_hex),
            },
        ))
    })?;
    Ok(out)
}

/// Cancels, blocks or unblocks a queued branch.
pub fn change(
    session: &Session,
    action: QueueAction,
    branch: &str,
    reason: Option<&str>,
) -> CliResult<QueueChange> {
    validate_branch_name(branch)
        .map_err(|why| CliError::usage(messages::bad_branch(branch, &why)))?;
    if let Some(reason) = reason {
        super::control::validate_reason(reason)?;
    }
    let out = session.store.transact("deploybot: queue", |store| {
        let current = read_queue(store)?;
        let Some(entry) = current.state.entries.iter().find(|e| e.branch == branch) else {
            return Err(CliError::precondition(messages::not_queued(branch)).into());
        };
        let nothing_to_do = match action {
            QueueAction::Block => entry.blocked.as_deref() == reason,
            QueueAction::Unblock => entry.blocked.is_none(),
            _ => false,
        };
        if nothing_to_do {
            return Ok(Attempt::Done(QueueChange {
                branch: branch.to_string(),
                recorded: None,
                head_sha: Some(entry.head_sha.clone()),
                message: messages::queue_unchanged(branch, action.as_str()),
            }));
        }
        let mut rec = record(session, action, branch);
        rec.reason = reason.map(str::to_string);
        rec.head_sha = Some(entry.head_sha.clone());
        let update = append_updates(store, session, &current, &[rec])?.expect("one record");
        Ok(Attempt::Write(
            vec![update],
            QueueChange {
                branch: branch.to_string(),
                recorded: Some(action.as_str().to_string()),
                head_sha: Some(entry.head_sha.clone()),
                message: messages::queue_changed(branch, action.as_str()),
            },
        ))
    })?;
    Ok(out)
}

/// Every queue entry with its state (queued, waiting-checks, blocked, stale) and why, FIFO.
pub fn entry_views(
    store: &Store,
    policy: &crate::core::policy::Policy,
    state: &QueueState,
) -> anyhow::Result<Vec<EntryView>> {
    let required_checks = &policy.queue.required_checks;
    let reuse = policy.pipeline.reuse_results == crate::core::policy::ReuseResults::Tree;
    let notes = store.tip(names::NOTES_CI)?;
    // One reading of the notes tree for every entry's head.
    let notes_at = store.repo.notes_at(notes)?;
    let mut views = Vec::with_capacity(state.entries.len());
    for entry in &state.entries {
        let tip = store
            .tip(&names::branch_ref(&entry.branch))?
            .map(|o| o.to_string());
        let head = crate::git::parse_oid(&entry.head_sha);
        let records = match head {
            Some(head) => {
                let records = parse_note(&notes_at.text(&head)?).records;
                super::reuse::effective(&store.repo, notes, &head, records, reuse)?
            }
            None => Vec::new(),
        };
        let checks = checks_green(&records, required_checks);
        views.push(entry_state(entry, tip.as_deref(), &checks));
    }
    Ok(views)
}
