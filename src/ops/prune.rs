//! `prune --logs-older-than`: rewrite `refs/notes/deploybot/logs` without
//! the entries written before a cutoff. Logs are the one notes ref that may
//! be rewritten (a coordinator's, checked by the hook): the pruned history
//! is a new root commit, so old output stops taking space once git collects
//! it. Results, ledgers and every other ref are never touched.

use crate::core::logs::prune;
use crate::error::CliResult;
use crate::git::refs::RefUpdate;
use crate::git::store::Attempt;
use crate::git::{ObjectId, names};
use crate::session::Session;
use serde::Serialize;

/// What a prune did.
#[derive(Debug, Clone, Serialize)]
pub struct Pruned {
    /// Commits with a log before.
    pub notes_before: usize,
    /// Commits with a log after.
    pub notes_after: usize,
    /// Entries (runs) left out.
    pub entries_removed: usize,
    /// Where the logs ref points now (null: no logs).
    pub logs: Option<String>,
}

/// Prunes the log entries written before `cutoff` (Unix seconds).
pub fn prune_logs(session: &Session, cutoff: i64) -> CliResult<Pruned> {
    let pruned = session.store.transact("deploybot: prune logs", |store| {
        let tip = store.tip(names::NOTES_LOGS)?;
        let Some(tip) = tip else {
            let nothing = Pruned {
                notes_before: 0,
                notes_after: 0,
                entries_removed: 0,
                logs: None,
            };
            return Ok(Attempt::Done(nothing));
        };
        let tree = store.repo.find_commit_info(tip)?.tree;
        let mut kept: Vec<(String, ObjectId)> = Vec::new();
        let (mut before, mut removed) = (0, 0);
        for file in store.repo.changed_blobs(None, tree)? {
            let (Some(blob), Some(target)) = (file.new, note_target(&file.path)) else {
                continue;
            };
            before += 1;
            let text = String::from_utf8_lossy(&store.repo.find_blob(blob)?).into_owned();
            let all = crate::core::logs::entries(&text).len();
            match prune(&text, cutoff) {
                Some(left) => {
                    removed += all - crate::core::logs::entries(&left).len();
                    kept.push((target, store.repo.write_blob(left.as_bytes())?));
                }
                None => removed += all,
            }
        }
        let report = |logs: Option<ObjectId>| Pruned {
            notes_before: before,
            notes_after: kept.len(),
            entries_removed: removed,
            logs: logs.map(|l| l.to_string()),
        };
        if removed == 0 {
            return Ok(Attempt::Done(report(Some(tip))));
        }
        let files: Vec<(&str, ObjectId)> = kept.iter().map(|(p, b)| (p.as_str(), *b)).collect();
        let new_tree = store.repo.write_flat_tree(&files)?;
        let message = crate::messages::prune_subject(removed, cutoff);
        let commit = store
            .repo
            .write_commit(new_tree, &[], &message, &session.identity())?;
        let update = RefUpdate {
            name: names::NOTES_LOGS.into(),
            expected: Some(tip),
            new: Some(commit),
        };
        Ok(Attempt::Write(vec![update], report(Some(commit))))
    })?;
    Ok(pruned)
}

/// The commit a notes path names (`ab/cdef…` or the 40 hex flat).
fn note_target(path: &str) -> Option<String> {
    let hex: String = path.split('/').collect();
    crate::core::control::is_full_sha(&hex.to_ascii_lowercase()).then(|| hex.to_ascii_lowercase())
}
