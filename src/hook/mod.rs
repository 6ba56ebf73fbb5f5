//! The server as the final guard: validating a push inside git's hooks.
//!
//! [`check_push`] judges every ref of a push (pre-receive) and returns one
//! line per problem; [`check_transaction`] re-checks, with the ref locks held
//! (reference-transaction `prepared`), that the base branch does not move
//! while the pipeline is paused. The pure rules live in [`rules`] and
//! [`identity`]; the checks that read objects in [`ledger_check`],
//! [`notes_check`], [`refs_check`] and [`tested`]. Everything here reads;
//! nothing writes.

pub mod authority;
pub mod identity;
pub mod input;
pub mod ledger_check;
pub mod notes_check;
pub mod refs_check;
pub mod rules;
pub mod tested;

use crate::core::control::ControlState;
use crate::core::policy::Policy;
use crate::git::history::Ancestry;
use crate::git::{ObjectId, Repo, names};
use crate::ledger::{self, ControlLedger, QueueLedger};
use crate::messages;
use anyhow::Result;
use identity::{Denied, Role, authorize};
use input::RefChange;
use rules::{RefKind, classify_ref};

/// Commits read breadth-first before a fast-forward question falls back to a merge-base.
pub const ANCESTRY_BUDGET: usize = 10_000;

/// True when `new` descends from `old` (or is it): a bounded walk first, then a merge-base.
pub fn fast_forward(repo: &Repo, old: ObjectId, new: ObjectId) -> Result<bool> {
    Ok(match repo.ancestry_within(old, new, ANCESTRY_BUDGET)? {
        Ancestry::Ancestor => true,
        Ancestry::NotAncestor => false,
        Ancestry::Unknown => repo.is_ancestor(old, new)?,
    })
}

/// The policy the server enforces: `.deploybot.toml` at the current tip of the
/// base branch (see [`crate::ops::policy::policy_at_base`]).
/// The inner `Err` is one line saying why it cannot be read.
pub fn server_policy(repo: &Repo) -> Result<Result<Policy, String>> {
    Ok(server_policy_in_force(repo)?.map(|f| f.policy))
}

/// [`server_policy`] with the chain's root and where it was read from.
pub fn server_policy_in_force(
    repo: &Repo,
) -> Result<Result<crate::core::policy::chain::PolicyInForce, String>> {
    let tip_of = |name: &str| repo.try_find_ref(name);
    Ok(crate::ops::policy::policy_in_force(repo, &tip_of)?.map_err(|e| e.to_string()))
}

/// True when `change` fast-forwards the base branch to a commit whose policy parses.
fn repairs_policy(repo: &Repo, change: &RefChange) -> Result<bool> {
    let Some(new) = change.new else {
        return Ok(false);
    };
    let forward = match change.old {
        Some(old) => fast_forward(repo, old, new)?,
        None => true,
    };
    let readable = !matches!(
        crate::ops::policy::policy_in_commit(repo, new, &new.to_string())?,
        Some(Err(_))
    );
    Ok(forward && readable)
}

/// Judges a whole push (pre-receive). `var` reads the hook's environment.
/// Returns one `deploybot: <ref>: <why>; <what to do>` line per problem; empty accepts.
pub fn check_push(
    repo: &Repo,
    changes: &[RefChange],
    var: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<String>> {
    let in_force = match server_policy_in_force(repo)? {
        Ok(in_force) => in_force,
        Err(why) => return check_push_without_policy(repo, changes, var, &why),
    };
    let policy = in_force.policy.clone();
    let pusher = identity::pusher(&policy.hook.identity_env, var);
    let pusher = pusher.as_deref();
    let classify = authority::classifier(repo, &policy)?;
    let signed = signed_controls(repo, &policy)?;
    let signed = signed.as_ref().map(|s| s as &dyn ledger::CommitCheck);
    let kinds: Vec<RefKind> = changes.iter().map(|c| classify(&c.name)).collect();
    let mut problems = authority::symref_problems(repo, changes, &classify)?;
    let mut needs: Vec<(&str, Role, String)> = Vec::new();
    // The ledgers first: the base branch is judged by the control state after this push.
    let mut control_after: Option<ControlState> = None;
    for (change, kind) in changes.iter().zip(&kinds) {
        let name = change.name.as_str();
        match kind {
            RefKind::Control => {
                let v = ledger_check::check_ledger::<ControlLedger>(repo, change, signed)?;
                if v.problems.is_empty() {
                    problems.extend(duplicate_ids(repo, change, &v.pushed)?);
                }
                let actors = v.pushed.iter().map(|r| r.actor.as_str());
                problems.extend(authority::actor_problems(name, actors, &policy, pusher));
                problems.extend(v.problems);
                for ((_, what), record) in v.needs.into_iter().zip(&v.pushed) {
                    let role = authority::control_record_role(repo, &policy, record)?;
                    needs.push((name, role, what));
                }
                control_after = Some(v.state_after);
            }
            RefKind::Queue => {
                let v = ledger_check::check_ledger::<QueueLedger>(repo, change, None)?;
                let actors = v.pushed.iter().map(|r| r.actor.as_str());
                problems.extend(authority::actor_problems(name, actors, &policy, pusher));
                problems.extend(v.problems);
                needs.extend(v.needs.into_iter().map(|(r, w)| (name, r, w)));
            }
            _ => {}
        }
    }
    let base_ref = policy.base_ref();
    let base_after = match changes.iter().find(|c| c.name == base_ref) {
        Some(change) => change.new,
        None => repo.try_find_ref(&base_ref)?,
    };
    // The CI notes as this push leaves them (pushed notes are in the quarantine).
    let ci_notes_after = match changes.iter().find(|c| c.name == names::NOTES_CI) {
        Some(change) => change.new,
        None => repo.try_find_ref(names::NOTES_CI)?,
    };
    for (change, kind) in changes.iter().zip(&kinds) {
        let name = change.name.as_str();
        let verdict = match kind {
            RefKind::Control | RefKind::Queue | RefKind::Unrelated => continue,
            RefKind::Base => {
                let control = match &control_after {
                    Some(state) => state.clone(),
                    None => {
                        let tip = repo.try_find_ref(names::CONTROL)?;
                        ledger::read_state_checked::<ControlLedger>(repo, tip, signed)?.state
                    }
                };
                let protect = policy.hook.protect_base;
                let mut verdict = refs_check::check_base(repo, change, &control, protect)?;
                verdict
                    .needs
                    .extend(authority::policy_change_need(repo, change, &policy)?);
                verdict
                    .problems
                    .extend(authority::root_policy_change_problem(
                        repo, change, &in_force, pusher,
                    )?);
                if let Some(new) = change.new
                    && let Some(Err(e)) =
                        crate::ops::policy::policy_in_commit(repo, new, &new.to_string())?
                {
                    verdict
                        .problems
                        .push(messages::hook_base_bad_policy(name, &e.to_string()));
                }
                verdict.problems.extend(tested::untested_base_problem(
                    repo,
                    change,
                    &policy,
                    pusher,
                    ci_notes_after,
                )?);
                verdict
            }
            RefKind::Verified => {
                let branch = &policy.queue.base_branch;
                refs_check::check_verified(repo, change, base_after, branch)?
            }
            RefKind::Lease(hex12) => {
                let ctx = refs_check::LeaseContext {
                    policy: &policy,
                    pusher,
                    base_after,
                };
                refs_check::check_lease(repo, change, hex12, &ctx)?
            }
            RefKind::Try(candidate_id) => tested::check_try(change, candidate_id),
            RefKind::OtherDeploybot => refs_check::check_other_deploybot(change),
            RefKind::Reserved => refs_check::check_reserved(change),
            RefKind::ResultNotes
            | RefKind::RecoveryNotes
            | RefKind::ReceiptNotes
            | RefKind::LogNotes => {
                let notes_kind = match kind {
                    RefKind::RecoveryNotes => notes_check::NotesKind::Recovery,
                    RefKind::ReceiptNotes => notes_check::NotesKind::Receipts,
                    RefKind::LogNotes => notes_check::NotesKind::Logs,
                    _ => notes_check::NotesKind::Results,
                };
                let reuse =
                    policy.pipeline.reuse_results == crate::core::policy::ReuseResults::Tree;
                let v = notes_check::check_notes(repo, change, notes_kind, reuse)?;
                refs_check::RefVerdict {
                    problems: v.problems,
                    needs: v.needs,
                }
            }
        };
        problems.extend(verdict.problems);
        needs.extend(verdict.needs.into_iter().map(|(r, w)| (name, r, w)));
    }
    for (name, role, what) in needs {
        let line = match authorize(&policy, pusher, role) {
            Ok(()) => continue,
            Err(Denied::NoIdentity) => {
                messages::hook_no_identity(name, &policy.hook.identity_env.join(", "))
            }
            Err(Denied::NotListed { who, lists }) => {
                messages::hook_not_allowed(name, &who, &what, &lists)
            }
        };
        if !problems.contains(&line) {
            problems.push(line);
        }
    }
    Ok(problems)
}

/// A push while the policy on the base branch does not parse: nothing
/// deploybot governs can be judged, so those refs are refused, except the one
/// way out, a fast-forward of the base branch to a readable policy, and that
/// only from a coordinator the broken file names (read leniently) when the
/// server knows who pushes.
fn check_push_without_policy(
    repo: &Repo,
    changes: &[RefChange],
    var: &dyn Fn(&str) -> Option<String>,
    why: &str,
) -> Result<Vec<String>> {
    let defaults = Policy::default();
    let configured = crate::ops::policy::configured_branch(repo);
    let base = names::branch_ref(&configured);
    let prefix = &defaults.pipeline.repair_branch_prefix;
    let tip = repo.try_find_ref(&base)?;
    let text = match tip {
        Some(tip) => {
            let tree = repo.find_commit_info(tip)?.tree;
            let bytes = repo.try_read_path(tree, crate::core::policy::POLICY_FILE)?;
            String::from_utf8_lossy(&bytes.unwrap_or_default()).into_owned()
        }
        None => String::new(),
    };
    // The base branch the configured file names, when it reads as TOML: the
    // broken file may be there (the repair is a push to it).
    let named = text
        .parse::<toml::Table>()
        .ok()
        .and_then(|t| {
            t.get("queue")?
                .get("base_branch")?
                .as_str()
                .map(names::branch_ref)
        })
        .filter(|named| *named != base);
    // Who may repair: the coordinators the file names, read leniently; when
    // they cannot be read, the last readable policy's; when neither can be
    // known, nobody (fail closed: an admin repairs on the server).
    let coordinators = match (authority::lenient_coordinators(&text), tip) {
        (Some(list), _) if !list.is_empty() => Some(list),
        (Some(_), _) if !mentions_actors(&text) => Some(Vec::new()),
        (_, Some(tip)) => {
            authority::last_readable_coordinators(repo, tip)?.filter(|list| !list.is_empty())
        }
        (_, None) => None,
    };
    let pusher = identity::pusher(&defaults.hook.identity_env, var);
    let mut problems = Vec::new();
    for change in changes {
        let is_base = change.name == base || Some(&change.name) == named.as_ref();
        if !is_base && !classify_ref(&change.name, &base, prefix).is_governed() {
            continue;
        }
        if is_base && repairs_policy(repo, change)? {
            let allowed = match &coordinators {
                Some(list) => list.is_empty() || pusher.as_ref().is_some_and(|p| list.contains(p)),
                None => false,
            };
            if allowed {
                continue;
            }
            problems.push(messages::hook_policy_repair_not_allowed(
                &change.name,
                pusher.as_deref(),
                coordinators.as_deref().unwrap_or_default(),
            ));
            continue;
        }
        problems.push(messages::hook_bad_policy(&change.name, why));
    }
    Ok(problems)
}

/// True when a policy text mentions an actor list or the identity settings
/// (so a lenient read that finds no coordinators must not read as "none").
fn mentions_actors(text: &str) -> bool {
    ["actors", "ci_runners", "identity_env"]
        .iter()
        .any(|key| text.contains(key))
}

/// Signed controls as the server enforces them: the allowed-signers file at
/// the base branch tip on the server (before this push).
fn signed_controls(
    repo: &Repo,
    policy: &Policy,
) -> Result<Option<crate::ops::control::SignedControls>> {
    let base = repo.try_find_ref(&policy.base_ref())?;
    crate::ops::control::SignedControls::at(repo, policy, base)
}

/// One line per pushed control record whose `control_id` is already in the
/// ledger (or twice in the push): ids are unique, so an unpause can only ever
/// resume the pause it names.
fn duplicate_ids(
    repo: &Repo,
    change: &RefChange,
    pushed: &[crate::core::control::ControlRecord],
) -> Result<Vec<String>> {
    if pushed.is_empty() {
        return Ok(Vec::new());
    }
    let known = crate::ops::control_ids::known_ids(repo, change.old)?;
    let mut seen = std::collections::HashSet::new();
    let mut problems = Vec::new();
    for record in pushed {
        if known.contains(&record.control_id) || !seen.insert(record.control_id.as_str()) {
            problems.push(messages::hook_duplicate_control_id(
                &change.name,
                &record.control_id,
            ));
        }
    }
    Ok(problems)
}

/// Re-checks a ref transaction about to commit (reference-transaction
/// `prepared`, locks held): the base branch must not move while the control
/// state, as this transaction leaves it, is paused. Everything else was judged
/// by pre-receive (`hook.require_tested_base` too: notes are only ever added,
/// so a commit tested then is tested now); transactions that touch no branch
/// cost nothing.
pub fn check_transaction(repo: &Repo, changes: &[RefChange]) -> Result<Vec<String>> {
    let Ok(policy) = server_policy(repo)? else {
        return Ok(Vec::new());
    };
    let base_refs = authority::base_refs(repo, &policy)?;
    let Some(base) = changes
        .iter()
        .find(|c| base_refs.contains(&c.name) && c.new.is_some() && c.new != c.old)
    else {
        return Ok(Vec::new());
    };
    let control_tip = match changes.iter().find(|c| c.name == names::CONTROL) {
        Some(change) => change.new,
        None => repo.try_find_ref(names::CONTROL)?,
    };
    let signed = signed_controls(repo, &policy)?;
    let signed = signed.as_ref().map(|s| s as &dyn ledger::CommitCheck);
    let state = ledger::read_state_checked::<ControlLedger>(repo, control_tip, signed)?.state;
    if state.is_paused() {
        return Ok(vec![refs_check::paused_line(&base.name, &state)]);
    }
    Ok(Vec::new())
}

#[cfg(test)]
mod agreement_tests;
