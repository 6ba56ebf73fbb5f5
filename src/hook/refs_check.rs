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

/// Who pushes, for the lease rules.
pub struct LeaseContext<'a> {
    /// The policy the server enforces.
    pub policy: &'a crate::core::policy::Policy,
    /// The authenticated pusher, if the server knows.
    pub pusher: Option<&'a str>,
    /// The base branch tip as it is after the push.
    pub base_after: Option<ObjectId>,
}

/// A repair lease branch: created only as a lease commit owned by the pusher
/// and naming the current failed base, then fast-forward only; only its owner
/// (or a coordinator) may add to it or delete it; deleting it is allowed while
/// its tip is still the bare lease commit (claim-repair removes its own lease
/// when main moves during the claim).
pub fn check_lease(
    repo: &Repo,
    change: &RefChange,
    hex12: &str,
    ctx: &LeaseContext,
) -> Result<RefVerdict> {
    let mut verdict = RefVerdict::needing(Role::Trusted, "repair leases");
    let name = change.name.as_str();
    let checks_identity = ctx.policy.names_actors();
    let pusher = ctx.pusher.filter(|_| checks_identity);
    match (change.old, change.new) {
        (None, Some(new)) => match lease_commit(repo, new, hex12)? {
            Err(why) => verdict.problems.push(messages::hook_bad_lease(name, &why)),
            Ok(lease) => {
                if let Some(why) = claim_problem(repo, &lease, ctx, pusher)? {
                    verdict.problems.push(messages::hook_bad_lease(name, &why));
                }
            }
        },
        (Some(old), new) => {
            if let Some(new) = new
                && !super::fast_forward(repo, old, new)?
            {
                let line = messages::hook_not_fast_forward(name, &old.to_string());
                verdict.problems.push(line);
            }
            if new.is_none() && lease_commit(repo, old, hex12)?.is_err() {
                verdict.problems.push(messages::hook_lease_delete(name));
            }
            if let (Some(pusher), Some(owner)) = (pusher, lease_owner(repo, old, hex12)?) {
                let coordinator = ctx
                    .policy
                    .queue
                    .coordinator_actors
                    .iter()
                    .any(|c| c == pusher);
                if owner != pusher && !coordinator {
                    let line = messages::hook_lease_not_yours(name, &owner, pusher);
                    verdict.problems.push(line);
                }
            }
        }
        (None, None) => {}
    }
    Ok(verdict)
}

/// Why a new lease may not be claimed: its owner is not the pusher, or it
/// does not name the base branch's current, failed tip.
fn claim_problem(
    repo: &Repo,
    lease: &crate::ops::repair::Lease,
    ctx: &LeaseContext,
    pusher: Option<&str>,
) -> Result<Option<String>> {
    if let Some(pusher) = pusher
        && lease.owner != pusher
    {
        return Ok(Some(format!(
            "its owner is `{}` but the server authenticated `{pusher}`",
            crate::core::json::printable(&lease.owner)
        )));
    }
    let base = ctx.base_after.map(|b| b.to_string()).unwrap_or_default();
    if lease.main_sha != base {
        return Ok(Some(format!(
            "it names {} but the base branch is at {}",
            &lease.main_sha[..12],
            messages::short(&base)
        )));
    }
    let main = parse_oid(&lease.main_sha).expect("validated lease sha");
    if !super::authority::server_release_failed(repo, ctx.policy, main)? {
        return Ok(Some(format!(
            "main {} has not failed: a repair lease is only for a failed main",
            &lease.main_sha[..12]
        )));
    }
    Ok(None)
}

/// The owner of the lease under `tip`: the first lease commit on its first-parent line.
fn lease_owner(repo: &Repo, tip: ObjectId, hex12: &str) -> Result<Option<String>> {
    let mut cursor = Some(tip);
    for _ in 0..1000 {
        let Some(commit) = cursor else {
            break;
        };
        if let Ok(lease) = lease_commit(repo, commit, hex12)? {
            return Ok(Some(lease.owner));
        }
        cursor = repo.find_commit_info(commit)?.parents.first().copied();
    }
    Ok(None)
}

/// Whether `commit` is a bare lease commit: lease JSON message, the failed
/// sha as only parent, and the failed sha's tree.
fn lease_commit(
    repo: &Repo,
    commit: ObjectId,
    hex12: &str,
) -> Result<Result<crate::ops::repair::Lease, String>> {
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
    Ok(Ok(lease))
}

/// A reserved name (the tool's namespaces in another letter case, or a
/// branch where the tool needs a directory): never created or moved; a
/// coordinator may delete one to clear the way.
pub fn check_reserved(change: &RefChange) -> RefVerdict {
    let mut verdict = RefVerdict::needing(Role::Coordinator, "deploybot's reserved names");
    if change.new.is_some() {
        verdict
            .problems
            .push(messages::hook_reserved_name(&change.name));
    }
    verdict
}

/// Any other ref under `refs/deploybot/`: refused.
pub fn check_other_deploybot(change: &RefChange) -> RefVerdict {
    let mut verdict = RefVerdict::needing(Role::Coordinator, "deploybot refs");
    verdict
        .problems
        .push(messages::hook_unknown_deploybot_ref(&change.name));
    verdict
}
