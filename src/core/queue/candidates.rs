//! The tested-landing train as the queue ledger records it: candidates and
//! their entries, the failure counts, and the fold of `candidate` and
//! `discarded` records into the queue state. The planner
//! (`core::train::plan_train`) reads these; it lives above them.

use serde::{Deserialize, Serialize};

use super::suspects::{note_cleared, note_discarded};
use super::{QueueAction, QueueRecord, QueueState};

/// The try-branch prefix, under `refs/heads/`.
pub const TRY_PREFIX: &str = "deploybot/try/";

/// One entry merged into a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CandidateEntry {
    /// The branch.
    pub branch: String,
    /// Its requested head.
    pub head_sha: String,
    /// The candidate commit that merged it.
    pub merge_sha: String,
}

/// A candidate under test (from its `candidate` record).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Candidate {
    /// Its id (the try branch is `deploybot/try/<id>`).
    pub candidate_id: String,
    /// Its tip: the commit under test.
    pub sha: String,
    /// What it is built on.
    pub base_sha: String,
    /// Its entries, in merge order.
    pub entries: Vec<CandidateEntry>,
}

/// The try branch of a candidate.
pub fn try_branch(candidate_id: &str) -> String {
    format!("{TRY_PREFIX}{candidate_id}")
}

/// True when `id` is a valid candidate id: 1 to 64 of `[A-Za-z0-9._-]`.
pub fn valid_candidate_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && !id.starts_with('.')
        && !id.ends_with(".lock")
        && !id.contains("..")
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// The key of an entry's failure count: `branch head_sha`.
pub fn failure_key(branch: &str, head_sha: &str) -> String {
    format!("{branch} {head_sha}")
}

/// Checks the tested-landing fields of a queue record (called by `validate`).
pub fn validate_train_fields(record: &QueueRecord) -> Result<(), String> {
    let is_train = matches!(
        record.action,
        QueueAction::Candidate | QueueAction::Discarded
    );
    let id = record.candidate_id.as_deref();
    if let Some(id) = id
        && !valid_candidate_id(id)
    {
        return Err("`candidate_id` must be 1 to 64 of A-Z a-z 0-9 . _ -".to_owned());
    }
    if !is_train {
        return Ok(());
    }
    let Some(id) = id else {
        return Err(format!("`{}` needs `candidate_id`", record.action.as_str()));
    };
    if record.branch != try_branch(id) {
        return Err(format!("`branch` must be `{}`", try_branch(id)));
    }
    let sha_ok = |s: &Option<String>| s.as_deref().is_some_and(crate::core::queue::is_full_sha);
    match record.action {
        QueueAction::Candidate => {
            if !sha_ok(&record.sha) || !sha_ok(&record.base_sha) {
                return Err("`candidate` needs `sha` and `base_sha` (40 hex)".to_owned());
            }
            let entries = record.entries.as_deref().unwrap_or_default();
            if entries.is_empty() || entries.len() > 1000 {
                return Err("`candidate` needs 1 to 1000 `entries`".to_owned());
            }
            for e in entries {
                crate::core::queue::validate_branch_name(&e.branch)
                    .map_err(|why| format!("entry branch `{}` is not valid: {why}", e.branch))?;
                let shas = [&e.head_sha, &e.merge_sha];
                if !shas.iter().all(|s| crate::core::queue::is_full_sha(s)) {
                    return Err("entry shas must be 40 lowercase hex".to_owned());
                }
            }
        }
        _ => {
            if record.reason.is_none() {
                return Err("`discarded` needs a reason".to_owned());
            }
            if let Some(outcome) = &record.outcome
                && outcome != "failed"
                && outcome != "stale"
                && outcome != "passed"
            {
                return Err("`outcome` must be `failed`, `stale` or `passed`".to_owned());
            }
        }
    }
    Ok(())
}

/// Folds a `candidate` or `discarded` record into the queue state.
pub fn fold_train(state: &mut QueueState, record: &QueueRecord) {
    let Some(id) = &record.candidate_id else {
        return;
    };
    match record.action {
        QueueAction::Candidate => {
            let known = |list: &[Candidate]| list.iter().any(|c| &c.candidate_id == id);
            if known(&state.candidates) || known(&state.probes) {
                return;
            }
            let (Some(sha), Some(base), Some(entries)) =
                (&record.sha, &record.base_sha, &record.entries)
            else {
                return;
            };
            let candidate = Candidate {
                candidate_id: id.clone(),
                sha: sha.clone(),
                base_sha: base.clone(),
                entries: entries.clone(),
            };
            if record.probe == Some(true) {
                state.probes.push(candidate);
            } else {
                state.candidates.push(candidate);
            }
        }
        QueueAction::Discarded => {
            let position = |list: &[Candidate]| list.iter().position(|c| &c.candidate_id == id);
            let gone = match (position(&state.candidates), position(&state.probes)) {
                (Some(at), _) => state.candidates.remove(at),
                (None, Some(at)) => state.probes.remove(at),
                (None, None) => return,
            };
            match record.outcome.as_deref() {
                // A probe that passed: its entries are innocent.
                Some("passed") => {
                    for e in &gone.entries {
                        let key = failure_key(&e.branch, &e.head_sha);
                        note_cleared(
                            &mut state.suspects,
                            &state.failures,
                            &mut state.cleared,
                            &key,
                        );
                    }
                }
                outcome => {
                    let failed = outcome == Some("failed");
                    note_discarded(&mut state.suspects, &mut state.failures, &gone, failed);
                }
            }
        }
        _ => {}
    }
}
