//! Checking the plain refs the pipeline depends on: the base branch, the
//! verified watermark, repair lease branches, and unknown `refs/deploybot/*`.

use super::identity::Role;
use super::input::RefChange;
use super::rules::parse_lease;
use crate::core::control::ControlState;
use crate::git::{ObjectId, Repo, parse_oid};
use crate::messages;
use anyhow::Result;

/// What checking one ref update found.
#[derive(Debug, Default)]
pub struct RefVerdict {
    /// One line per problem (empty: acceptable).
    pub problems: Vec<String>,
    /// The role the writer needs.
    pub needs: Vec<(Role, String)>,
}

impl RefVerdict {
    fn needing(role: Role, what: &str) -> RefVerdict {
        RefVerdict {
            problems: Vec::new(),
            needs: vec![(role, what.to_string())],
        }
    }
}

/// The base branch: no delete, fast-forward only, frozen while `control_after` is paused.
pub fn check_base(
    repo: &Repo,
    change: &RefChange,
    control_after: &ControlState,
    protect_base: bool,
) -> Result<RefVerdict> {
    let role = if protect_base {
        Role::Coordinator
    } else {
        Role::Anyone
    };
    let mut verdict = RefVerdict::needing(role, "the base branch");
    let name = change.name.as_str();
    let Some(new) = change.new else {
        verdict.problems.push(messages::hook_base_deleted(name));
        return Ok(verdict);
    };
    if let Some(old) = change.old
        && !super::fast_forward(repo, old, new)?
    {
        let line = messages::hook_not_fast_forward(name, &old.to_string());
        verdict.problems.push(line);
    }
    if control_after.is_paused() {
        verdict.problems.push(paused_line(name, control_after));
    }
    Ok(verdict)
}

/// The refusal for moving `name` while `state` is paused.
pub fn paused_line(name: &str, state: &ControlState) -> String {
    messages::hook_base_paused(
        name,
        state.control_id.as_deref().unwrap_or("?"),
        state.reason.as_deref().unwrap_or(""),
    )
}

/// The watermark: no delete, forward only, and on the base branch as it is after the push.
pub fn check_verified(
    repo: &Repo,
    change: &RefChange,
    base_after: Option<ObjectId>,
    base_branch: &str,
) -> Result<RefVerdict> {
    let mut verdict = RefVerdict::needing(Role::Coordinator, "the verified watermark");
    let name = change.name.as_str();
    let Some(new) = change.new else {
        verdict.problems.push(messages::hook_deleted(name));
        return Ok(verdict);
    };
    if let Some(old) = change.old
        && !super::fast_forward(repo, old, new)?
    {
        let line = messages::hook_verified_backwards(name, &old.to_string(), &new.to_string());
        verdict.problems.push(line);
        return Ok(verdict);
    }
    let on_base = match base_after {
        Some(base) => super::fast_forward(repo, new, base)?,
        None => false,
    };
    if !on_base {
        let line = messages::hook_verified_off_base(name, &new.to_string(), base_branch);
        verdict.problems.push(line);
    }
    Ok(verdict)
}

/// A repair lease branch: created only as a lease commit, then fast-forward
/// only; deleting it is allowed while its tip is still the bare lease commit
/// (claim-repair removes its own lease when main moves during the claim).
pub fn check_lease(repo: &Repo, change: &RefChange, hex12: &str) -> Result<RefVerdict> {
    let mut verdict = RefVerdict::needing(Role::Trusted, "repair leases");
    let name = change.name.as_str();
    match (change.old, change.new) {
        (None, Some(new)) => {
            if let Err(why) = lease_commit(repo, new, hex12)? {
                verdict.problems.push(messages::hook_bad_lease(name, &why));
            }
        }
        (Some(old), Some(new)) => {
            if !super::fast_forward(repo, old, new)? {
                let line = messages::hook_not_fast_forward(name, &old.to_string());
                verdict.problems.push(line);
            }
        }
        (Some(old), None) => {
            if lease_commit(repo, old, hex12)?.is_err() {
                verdict.problems.push(messages::hook_lease_delete(name));
            }
        }
        (None, None) => {}
    }
    Ok(verdict)
}

/// Whether `commit` is a bare lease commit: lease JSON message, the failed
/// sha as only parent, and the failed sha's tree.
fn lease_commit(repo: &Repo, commit: ObjectId, hex12: &str) -> Result<Result<(), String>> {
    let info = repo.find_commit_info(commit)?;
    let lease = match parse_lease(&info.message, hex12) {
        Ok(lease) => lease,
        Err(why) => return Ok(Err(why)),
    };
    let Some(main) = parse_oid(&lease.main_sha) else {
        return Ok(Err("`main_sha` is not a sha".to_string()));
    };
    if info.parents != [main] {
        return Ok(Err(
            "its only parent must be the failed main_sha".to_string()
        ));
    }
    if !repo.has_object(main) || repo.find_commit_info(main)?.tree != info.tree {
        return Ok(Err(
            "its tree must be the failed main_sha's tree".to_string()
        ));
    }
    Ok(Ok(()))
}

/// Any other ref under `refs/deploybot/`: refused.
pub fn check_other_deploybot(change: &RefChange) -> RefVerdict {
    let mut verdict = RefVerdict::needing(Role::Coordinator, "deploybot refs");
    verdict
        .problems
        .push(messages::hook_unknown_deploybot_ref(&change.name));
    verdict
}
