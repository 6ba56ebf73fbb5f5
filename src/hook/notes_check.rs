//! Checking a push to a notes ref under `refs/notes/deploybot/`: no deletes,
//! no rewrites, and every line it adds to a note is a valid record. Only the
//! notes trees of the old and new tips are compared, descending into changed
//! fan-out subtrees only, so the cost follows the notes the push touches.

use super::identity::Role;
use super::input::RefChange;
use super::rules::{
    MAX_NOTE_BYTES, appended_lines, check_receipt_line, check_recovery_line, check_result_line,
    note_target,
};
use crate::git::{ObjectId, Repo};
use crate::messages;
use anyhow::Result;
use std::collections::BTreeMap;

/// Most problems reported per notes ref.
const MAX_PROBLEMS: usize = 10;

/// What checking one notes update found.
#[derive(Debug, Default)]
pub struct NotesVerdict {
    /// One line per problem (empty: acceptable).
    pub problems: Vec<String>,
    /// The role the writer needs.
    pub needs: Vec<(Role, String)>,
}

/// Which rule the lines a notes ref gains must follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotesKind {
    /// CI and deploy results (`ci_runners`).
    Results,
    /// Recovery notes (`trusted_actors`).
    Recovery,
    /// Receipts (`coordinator_actors`).
    Receipts,
    /// Logs: plain UTF-8 text, appended only (`ci_runners`).
    Logs,
}

/// Checks one notes update under the line rule of `kind`.
pub fn check_notes(
    repo: &Repo,
    change: &RefChange,
    kind: NotesKind,
    reuse: bool,
) -> Result<NotesVerdict> {
    let name = change.name.as_str();
    // A success on the CI notes certifies a commit as tested: ci_runners only.
    let certifies = kind == NotesKind::Results && name == crate::git::names::NOTES_CI;
    let mut certified = false;
    let mut verdict = NotesVerdict::default();
    verdict.needs.push(match kind {
        NotesKind::Recovery => (Role::Trusted, "recovery notes".to_string()),
        NotesKind::Receipts => (Role::Coordinator, "receipt notes".to_string()),
        NotesKind::Results => (Role::CiRunner, "result notes".to_string()),
        NotesKind::Logs => (Role::RunnerOnly, "run logs".to_string()),
    });
    let Some(new) = change.new else {
        verdict.problems.push(messages::hook_deleted(name));
        return Ok(verdict);
    };
    if let Some(old) = change.old
        && !super::fast_forward(repo, old, new)?
    {
        if kind == NotesKind::Logs {
            return check_prune(repo, change.name.as_str(), old, new, verdict);
        }
        verdict
            .problems
            .push(messages::hook_not_fast_forward(name, &old.to_string()));
        return Ok(verdict);
    }
    let old_tree = match change.old {
        Some(old) => Some(repo.find_commit_info(old)?.tree),
        None => None,
    };
    let new_tree = repo.find_commit_info(new)?.tree;
    // Group by annotated object: `git notes` moves notes between fan-out levels.
    let mut by_target: BTreeMap<String, (Option<ObjectId>, Option<ObjectId>)> = BTreeMap::new();
    for change in repo.changed_blobs(old_tree, new_tree)? {
        let Some(target) = note_target(&change.path) else {
            if verdict.problems.len() < MAX_PROBLEMS {
                verdict
                    .problems
                    .push(messages::hook_not_a_note(name, &change.path));
            }
            continue;
        };
        let slot = by_target.entry(target).or_default();
        slot.0 = slot.0.or(change.old);
        slot.1 = slot.1.or(change.new);
    }
    for (target, (old_blob, new_blob)) in by_target {
        if verdict.problems.len() >= MAX_PROBLEMS {
            break;
        }
        if old_blob == new_blob {
            continue;
        }
        let Some(new_blob) = new_blob else {
            verdict
                .problems
                .push(messages::hook_note_rewritten(name, &target));
            continue;
        };
        let notes = repo.find_notes(new, &crate::git::parse_oid(&target).expect("40 hex"))?;
        if notes.len() > 1 {
            let paths: Vec<String> = notes.into_iter().map(|(p, _)| p).collect();
            verdict
                .problems
                .push(messages::hook_second_note(name, &target, &paths));
            continue;
        }
        if !repo.is_commit(crate::git::parse_oid(&target).expect("40 hex"))? {
            verdict
                .problems
                .push(messages::hook_note_not_on_commit(name, &target));
            continue;
        }
        let old_text = match old_blob {
            Some(blob) => String::from_utf8_lossy(&repo.find_blob(blob)?).into_owned(),
            None => String::new(),
        };
        let new_bytes = repo.find_blob(new_blob)?;
        if new_bytes.len() > MAX_NOTE_BYTES {
            let why = format!("is over {} KiB", MAX_NOTE_BYTES / 1024);
            verdict
                .problems
                .push(messages::hook_bad_note_blob(name, &target, &why));
            continue;
        }
        let Ok(new_text) = String::from_utf8(new_bytes) else {
            verdict.problems.push(messages::hook_bad_note_blob(
                name,
                &target,
                "is not valid UTF-8",
            ));
            continue;
        };
        let Some(added) = appended_lines(&old_text, &new_text) else {
            verdict
                .problems
                .push(messages::hook_note_rewritten(name, &target));
            continue;
        };
        if kind == NotesKind::Logs {
            // Plain text: a later run's entry appends; nothing is rewritten.
            if !new_text.starts_with(&old_text) {
                verdict
                    .problems
                    .push(messages::hook_note_rewritten(name, &target));
            }
            continue;
        }
        if kind == NotesKind::Receipts
            && let Err(why) = receipts_once_each(&old_text, &new_text)
        {
            verdict
                .problems
                .push(messages::hook_bad_note_line(name, &target, &why));
            continue;
        }
        let mut receipts_seen = receipt_merges(&old_text);
        for line in added {
            let checked = match kind {
                NotesKind::Recovery => check_recovery_line(&line),
                NotesKind::Receipts => check_receipt_line(&line)
                    .and_then(|()| one_receipt_per_merge(&line, &target, &mut receipts_seen)),
                NotesKind::Results => check_result_line(&line)
                    .and_then(|()| check_reuse(repo, change.old, &target, &line, reuse)),
                NotesKind::Logs => Ok(()),
            };
            if let Err(why) = checked {
                verdict
                    .problems
                    .push(messages::hook_bad_note_line(name, &target, &why));
                break;
            }
            certified |= certifies
                && crate::core::results::validate_line(&line)
                    .is_ok_and(|r| r.status == crate::core::results::ResultStatus::Success);
        }
    }
    if certified {
        verdict
            .needs
            .push((Role::RunnerOnly, "CI success results".to_string()));
    }
    Ok(verdict)
}

/// A merge with more receipts in `new` than in `old` beyond the first (a
/// byte-identical copy adds no new line, so the set of lines cannot tell).
fn receipts_once_each(old: &str, new: &str) -> Result<(), String> {
    let (before, after) = (receipt_merges(old), receipt_merges(new));
    for merge in &after {
        let count = |list: &[String]| list.iter().filter(|m| *m == merge).count();
        if count(&after) > count(&before).max(1) {
            return Err(format!(
                "is a second receipt for the merge {}",
                crate::messages::short(merge)
            ));
        }
    }
    Ok(())
}

/// The `merge_sha` of each receipt already in a note.
fn receipt_merges(text: &str) -> Vec<String> {
    text.lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v.get("merge_sha")?.as_str().map(str::to_owned))
        .collect()
}

/// A receipt sits on the head it names, once per merge of that head: a
/// second receipt (or one naming another head) would skew `stats`.
fn one_receipt_per_merge(line: &str, target: &str, seen: &mut Vec<String>) -> Result<(), String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("is not JSON: {e}"))?;
    let field = |name: &str| value.get(name).and_then(|v| v.as_str()).unwrap_or_default();
    if field("head_sha") != target {
        return Err(format!(
            "names head {} but sits on {}: a receipt goes on the head it names",
            crate::messages::short(field("head_sha")),
            crate::messages::short(target)
        ));
    }
    let merge = field("merge_sha").to_owned();
    if seen.contains(&merge) {
        return Err(format!(
            "is a second receipt for the merge {}",
            crate::messages::short(&merge)
        ));
    }
    seen.push(merge);
    Ok(())
}

/// A rewrite of the logs ref (`prune --logs-older-than`): a coordinator's,
/// and it may only leave entries out. Every entry of every note it keeps was
/// in that commit's note before, word for word, so a rewrite never forges
/// a run's output.
fn check_prune(
    repo: &Repo,
    name: &str,
    old: ObjectId,
    new: ObjectId,
    mut verdict: NotesVerdict,
) -> Result<NotesVerdict> {
    verdict.needs = vec![(Role::Coordinator, "pruned run logs".to_string())];
    let tree = repo.find_commit_info(new)?.tree;
    for file in repo.changed_blobs(None, tree)? {
        let (Some(blob), Some(target)) = (file.new, note_target(&file.path)) else {
            verdict
                .problems
                .push(messages::hook_not_a_note(name, &file.path));
            continue;
        };
        let oid = crate::git::parse_oid(&target).expect("40 hex");
        let before: Vec<String> = repo
            .find_notes(old, &oid)?
            .into_iter()
            .flat_map(|(_, bytes)| crate::core::logs::entries(&String::from_utf8_lossy(&bytes)))
            .collect();
        let after = String::from_utf8_lossy(&repo.find_blob(blob)?).into_owned();
        if crate::core::logs::entries(&after)
            .iter()
            .any(|e| !before.contains(e))
        {
            verdict
                .problems
                .push(messages::hook_note_rewritten(name, &target));
        }
        if verdict.problems.len() >= MAX_PROBLEMS {
            break;
        }
    }
    Ok(verdict)
}

/// A result line carrying `reused_from` (`pipeline.reuse_results`): refused
/// unless the policy turns reuse on, the named commit has the same tree as
/// the note's commit, and that commit's own deciding result on the server
/// (the notes before this push) has the line's status.
fn check_reuse(
    repo: &Repo,
    server_notes: Option<ObjectId>,
    target: &str,
    line: &str,
    reuse: bool,
) -> Result<(), String> {
    let Ok(record) = crate::core::results::validate_line(line) else {
        return Ok(());
    };
    let Some(from) = crate::core::results::reused_from(&record) else {
        return Ok(());
    };
    if !reuse {
        return Err(format!(
            "reuses the result of {} but `pipeline.reuse_results` is \"off\"",
            crate::messages::short(from)
        ));
    }
    let Some(target) = crate::git::parse_oid(target) else {
        return Err("is on an object that is not a commit".to_owned());
    };
    match crate::ops::reuse::holds(repo, server_notes, &target, &record) {
        Ok(true) => Ok(()),
        _ => Err(format!(
            "reuses the result of {} but that commit's tree differs or its own `{}` result on the server is not `{}`",
            crate::messages::short(from),
            record.check,
            record.status.as_str()
        )),
    }
}
