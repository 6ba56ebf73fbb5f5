//! Tested landing, as the server proves it (`hook.require_tested_base`): the
//! base branch only moves to a commit whose CI notes say `success` for every
//! `pipeline.ci_checks` check, and try branches are the coordinator's.
//!
//! Cost follows the push: one note is read per pushed base update (from the
//! notes tip this push leaves, in the quarantine or on the server); history
//! is never walked.

use super::identity::Role;
use super::input::RefChange;
use super::refs_check::RefVerdict;
use super::rules::valid_candidate_id;
use crate::core::policy::Policy;
use crate::core::results::{ResultStatus, latest_per_check, parse_note};
use crate::git::{ObjectId, Repo};
use crate::messages;
use anyhow::Result;

/// The checks of `ci_checks` (in order, without repeats) that `note` does not
/// decide as `success`, each with what decides it instead (`failure`,
/// `pending`, …, or `none` when it has no report).
pub fn lacking_success(note: &str, ci_checks: &[String]) -> Vec<(String, String)> {
    let latest = latest_per_check(&parse_note(note).records);
    let mut lacking: Vec<(String, String)> = Vec::new();
    for check in ci_checks {
        if lacking.iter().any(|(c, _)| c == check) {
            continue;
        }
        match latest.get(check).map(|r| r.status) {
            Some(ResultStatus::Success) => {}
            Some(status) => lacking.push((check.clone(), status.as_str().to_string())),
            None => lacking.push((check.clone(), "none".to_string())),
        }
    }
    lacking
}

/// The refusal of a base-branch update to an untested commit, if it is one:
/// with `hook.require_tested_base`, the new tip needs a deciding `success`
/// for every `pipeline.ci_checks` check in the CI notes at `ci_notes_after`
/// (the notes tip as this push leaves it), unless `pusher` is one of
/// `hook.base_override_actors`. Deletes are judged elsewhere.
pub fn untested_base_problem(
    repo: &Repo,
    change: &RefChange,
    policy: &Policy,
    pusher: Option<&str>,
    ci_notes_after: Option<ObjectId>,
) -> Result<Option<String>> {
    let hook = &policy.hook;
    if !hook.require_tested_base {
        return Ok(None);
    }
    let Some(new) = change.new else {
        return Ok(None);
    };
    if pusher.is_some_and(|p| hook.base_override_actors.iter().any(|a| a == p)) {
        return Ok(None);
    }
    let note = repo.read_note(ci_notes_after, &new)?;
    let lacking = lacking_success(&note, &policy.pipeline.ci_checks);
    if lacking.is_empty() {
        return Ok(None);
    }
    Ok(Some(messages::hook_base_untested(
        &change.name,
        &new.to_string(),
        &lacking,
    )))
}

/// A try branch (`refs/heads/deploybot/try/<candidate_id>`): created, moved
/// and deleted by the coordinator only, and only under a valid candidate id.
pub fn check_try(change: &RefChange, candidate_id: &str) -> RefVerdict {
    let mut verdict = RefVerdict {
        problems: Vec::new(),
        needs: vec![(Role::Coordinator, "try branches".to_string())],
    };
    if !valid_candidate_id(candidate_id) {
        verdict
            .problems
            .push(messages::hook_bad_try_branch(&change.name));
    }
    verdict
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(check: &str, status: &str, at: &str) -> String {
        format!(r#"{{"check":"{check}","status":"{status}","at":"{at}"}}"#)
    }

    fn checks(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn every_ci_check_needs_a_deciding_success() {
        let t1 = "2026-01-01T00:00:00Z";
        let t2 = "2026-01-01T00:01:00Z";
        let green = line("CI", "success", t1);
        assert!(lacking_success(&green, &checks(&["CI"])).is_empty());
        assert_eq!(
            lacking_success("", &checks(&["CI", "CI"])),
            vec![("CI".to_string(), "none".to_string())],
            "no note, and one line per check"
        );
        let red_later = format!("{green}\n{}", line("CI", "failure", t2));
        assert_eq!(
            lacking_success(&red_later, &checks(&["CI"])),
            vec![("CI".to_string(), "failure".to_string())]
        );
        let pending = format!("{green}\n{}", line("Lint", "pending", t2));
        assert_eq!(
            lacking_success(&pending, &checks(&["CI", "Lint"])),
            vec![("Lint".to_string(), "pending".to_string())]
        );
        let other = line("Deploy", "success", t1);
        assert_eq!(lacking_success(&other, &checks(&["CI"])).len(), 1);
    }
}
