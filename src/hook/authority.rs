//! Authority comes from the server's identity, never from what a push says:
//! who may change the policy, which names reach the base branch, whose name a
//! record may carry, and who owns a repair lease. Everything here reads.

use super::identity::Role;
use super::input::RefChange;
use super::rules::{RefKind, classify_ref};
use crate::core::policy::{POLICY_FILE, Policy};
use crate::git::{ObjectId, Repo, names};
use crate::messages;
use anyhow::Result;

/// One line per pushed name that is a symbolic ref on the server to a ref
/// deploybot governs: the base branch (or a ledger) by another name is
/// refused, so every rule holds for every name a ref can be reached by.
pub fn symref_problems(
    repo: &Repo,
    changes: &[RefChange],
    classify: &dyn Fn(&str) -> RefKind,
) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    for change in changes {
        if let Some(target) = repo.try_find_symref_target(&change.name)?
            && classify(&target).is_governed()
        {
            problems.push(messages::hook_symref(&change.name, &target));
        }
    }
    Ok(problems)
}

/// The paths whose change on the base branch needs a coordinator: the policy
/// file and the allowed-signers file it names.
fn guarded_paths(policy: &Policy) -> Vec<String> {
    vec![
        POLICY_FILE.to_string(),
        policy.control.allowed_signers.clone(),
    ]
}

/// The coordinator need of a base-branch update that changes the policy (or
/// the allowed signers), whatever `hook.protect_base` says: whoever changes
/// the policy would otherwise hold every role.
pub fn policy_change_need(
    repo: &Repo,
    change: &RefChange,
    policy: &Policy,
) -> Result<Option<(Role, String)>> {
    let tree_of = |commit: Option<ObjectId>| -> Result<Option<ObjectId>> {
        Ok(match commit {
            Some(c) => Some(repo.find_commit_info(c)?.tree),
            None => None,
        })
    };
    let (old, new) = (tree_of(change.old)?, tree_of(change.new)?);
    for path in guarded_paths(policy) {
        let blob = |tree: Option<ObjectId>| -> Result<Option<ObjectId>> {
            Ok(match tree {
                Some(t) => repo.try_find_path_id(t, &path)?,
                None => None,
            })
        };
        if blob(old)? != blob(new)? {
            return Ok(Some((
                Role::Coordinator,
                messages::policy_change_what(&path),
            )));
        }
    }
    Ok(None)
}

/// When the configured branch's policy names another base branch, its own
/// file is still the root of the chain: a change of it (which could point
/// the base elsewhere) needs a coordinator of that root policy too, not only
/// of the policy in force. One line when the pusher is not one.
pub fn root_policy_change_problem(
    repo: &Repo,
    change: &RefChange,
    in_force: &crate::core::policy::chain::PolicyInForce,
    pusher: Option<&str>,
) -> Result<Option<String>> {
    let root = &in_force.root;
    let configured = names::branch_ref(&crate::ops::policy::configured_branch(repo));
    let chained = in_force.policy.base_ref() != configured;
    if !chained || change.name != configured || !root.names_actors() {
        return Ok(None);
    }
    let Some((_, what)) = policy_change_need(repo, change, root)? else {
        return Ok(None);
    };
    Ok(
        match super::identity::authorize(root, pusher, Role::Coordinator) {
            Ok(()) => None,
            Err(super::identity::Denied::NoIdentity) => Some(messages::hook_no_identity(
                &change.name,
                &root.hook.identity_env.join(", "),
            )),
            Err(super::identity::Denied::NotListed { who, .. }) => {
                let lists = format!(
                    "queue.coordinator_actors of {}:{POLICY_FILE}",
                    crate::ops::policy::configured_branch(repo)
                );
                Some(messages::hook_not_allowed(
                    &change.name,
                    &who,
                    &what,
                    &lists,
                ))
            }
        },
    )
}

/// The base refs the hook judges as the base branch: the policy's, and the
/// branch the server is configured to read it from when that differs (a
/// policy that points elsewhere does not unguard the branch it lives on),
/// and, when either is a symbolic ref on the server, the ref it points at
/// (the branch that really moves).
pub fn base_refs(repo: &Repo, policy: &Policy) -> Result<Vec<String>> {
    let mut refs = vec![policy.base_ref()];
    let configured = names::branch_ref(&crate::ops::policy::configured_branch(repo));
    if !refs.contains(&configured) {
        refs.push(configured);
    }
    for name in refs.clone() {
        if let Some(target) = repo.try_find_symref_target(&name)?
            && !refs.contains(&target)
        {
            refs.push(target);
        }
    }
    Ok(refs)
}

/// One line per pushed record whose `actor` is not the pusher, when the
/// server knows who pushes and the policy names actors.
pub fn actor_problems<'a>(
    refname: &str,
    actors: impl IntoIterator<Item = &'a str>,
    policy: &Policy,
    pusher: Option<&str>,
) -> Vec<String> {
    let Some(pusher) = pusher.filter(|_| policy.names_actors()) else {
        return Vec::new();
    };
    let mut problems = Vec::new();
    for actor in actors {
        let line = messages::hook_actor_mismatch(refname, actor, pusher);
        if actor != pusher && !problems.contains(&line) {
            problems.push(line);
        }
    }
    problems
}

/// The coordinators a policy text that does not parse as a policy names,
/// read leniently so a broken policy on the base branch is no open door:
/// any TOML (dotted keys, inline tables, multi-line arrays), else every
/// `coordinator_actors = [ … ]` assignment however it is spread over lines.
/// `None` when the text names coordinators in a way that cannot be read: the
/// caller must then fail closed.
pub fn lenient_coordinators(text: &str) -> Option<Vec<String>> {
    if let Ok(value) = text.parse::<toml::Table>() {
        return Some(
            value
                .get("queue")
                .and_then(|q| q.get("coordinator_actors"))
                .and_then(|a| a.as_array())
                .map(|list| strings(list))
                .unwrap_or_default(),
        );
    }
    let key = "coordinator_actors";
    let mut found = Vec::new();
    for (at, _) in text.match_indices(key) {
        let rest = text[at + key.len()..].trim_start_matches(['"', '\'', ' ', '\t']);
        let rest = rest.strip_prefix('=')?;
        let rest = rest.trim_start();
        let end = rest.find(']').filter(|_| rest.starts_with('['))?;
        let value = format!("v = {}", &rest[..=end]);
        let list = value
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("v").and_then(|v| v.as_array()).map(|l| strings(l)))?;
        found.extend(list);
    }
    Some(found)
}

fn strings(list: &[toml::Value]) -> Vec<String> {
    list.iter()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect()
}

/// Most first-parent commits searched for the last readable policy.
pub const POLICY_HISTORY_LIMIT: usize = 1000;

/// The coordinators of the newest readable policy below `tip` on its
/// first-parent history (bounded): when the tip's policy is broken in a way
/// that hides its coordinators, the last policy that could be read keeps
/// governing who may repair it.
pub fn last_readable_coordinators(repo: &Repo, tip: ObjectId) -> Result<Option<Vec<String>>> {
    for commit in repo.first_parents_until(tip, None, POLICY_HISTORY_LIMIT)? {
        let hex = commit.to_string();
        if let Some(Ok(policy)) = crate::ops::policy::policy_in_commit(repo, commit, &hex)? {
            return Ok(Some(policy.queue.coordinator_actors));
        }
    }
    Ok(None)
}

/// The role a pushed control record needs. A pause is a trusted actor's,
/// except an evidence-bound pause (DESIGN.md's controller pause
/// `<state> on <sha>`, unconditional, bound to the server's base tip) that
/// the server's own notes prove: the base tip's release is in exactly that
/// failed state, and `pipeline.pause_on_failure` is on. That pause is what
/// any coordinator would write next; a CI or deploy runner, whose notes are
/// the evidence, may write it too, so a runner's `follow` never ends in a
/// refused push. Authority comes from the server's notes, not the record.
pub fn control_record_role(
    repo: &Repo,
    policy: &Policy,
    record: &crate::core::control::ControlRecord,
) -> Result<Role> {
    use crate::core::control::{ControlMode, controller_reason_state};
    let Some(sha) = record.main_sha.as_deref() else {
        return Ok(Role::Trusted);
    };
    let claimed = controller_reason_state(&record.reason, sha);
    let (Some(claimed), ControlMode::Paused, None, true) = (
        claimed,
        record.state,
        &record.requires_control_id,
        policy.pipeline.pause_on_failure,
    ) else {
        return Ok(Role::Trusted);
    };
    let base = repo.try_find_ref(&policy.base_ref())?;
    let Some(base) = base.filter(|b| Some(*b) == crate::git::parse_oid(sha)) else {
        return Ok(Role::Trusted);
    };
    let state = server_release(repo, policy, base)?;
    Ok(if state == claimed {
        Role::CiRunner
    } else {
        Role::Trusted
    })
}

/// `sha`'s release state as the base tip, from the notes on the server.
fn server_release(
    repo: &Repo,
    policy: &Policy,
    sha: ObjectId,
) -> Result<crate::core::release::ReleaseState> {
    let tip_of = |name: &str| repo.try_find_ref(name);
    let release = crate::ops::release::release_in(
        repo,
        &tip_of,
        policy,
        &sha,
        crate::ops::now_seconds(),
        crate::core::results::CancelRule::Fails,
    )?;
    Ok(release.state)
}

/// Whether `sha`'s release failed, from the notes on the server (for leases).
pub fn server_release_failed(repo: &Repo, policy: &Policy, sha: ObjectId) -> Result<bool> {
    Ok(server_release(repo, policy, sha)?.is_failed())
}

/// Classifies a ref name for this policy (any of the base refs is the base).
/// Every name that reaches a governed ref is judged as that ref: the target
/// of a governed name that is a symbolic ref on the server (the base branch,
/// a ledger, a notes ref) is classified as the name pointing at it.
pub fn classifier(repo: &Repo, policy: &Policy) -> Result<impl Fn(&str) -> RefKind> {
    let bases = base_refs(repo, policy)?;
    let prefix = policy.pipeline.repair_branch_prefix.clone();
    let fixed = [
        names::CONTROL,
        names::QUEUE,
        names::VERIFIED,
        names::NOTES_CI,
        names::NOTES_DEPLOY,
        names::NOTES_RECOVERY,
        names::NOTES_RECEIPTS,
    ];
    let mut aliases = Vec::new();
    for name in fixed {
        if let Some(target) = repo.try_find_symref_target(name)? {
            aliases.push((target, classify_ref(name, &bases[0], &prefix)));
        }
    }
    Ok(move |name: &str| {
        if bases.iter().any(|b| b == name) {
            return RefKind::Base;
        }
        if let Some((_, kind)) = aliases.iter().find(|(target, _)| target == name) {
            return kind.clone();
        }
        classify_ref(name, &bases[0], &prefix)
    })
}
