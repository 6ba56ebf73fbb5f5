//! Where the policy comes from: `.deploybot.toml` at the tip of the base
//! branch (never the working tree), shared by every command and the server hook.

use crate::core::policy::chain::{self, PolicyInForce};
use crate::core::policy::{POLICY_FILE, Policy, PolicyError, parse_policy};
use crate::git::{ObjectId, Repo, names};
use anyhow::Result;

/// The policy at the base branch tip. The base branch is `deploybot.baseBranch`
/// from git config, else `main`; when that policy names another base branch,
/// that branch's policy governs, never more openly than the one that named it
/// ([`crate::core::policy::chain`]). `tip_of` resolves a full ref name (the
/// local store, or the mirror of a remote). No file at all gives defaults.
pub fn policy_at_base(
    repo: &Repo,
    tip_of: &dyn Fn(&str) -> Result<Option<ObjectId>>,
) -> Result<Result<Policy, PolicyError>> {
    Ok(policy_in_force(repo, tip_of)?.map(|f| f.policy))
}

/// [`policy_at_base`] with where it was read from and the chain's root.
pub fn policy_in_force(
    repo: &Repo,
    tip_of: &dyn Fn(&str) -> Result<Option<ObjectId>>,
) -> Result<Result<PolicyInForce, PolicyError>> {
    let configured = configured_branch(repo);
    let root = match policy_at_branch(repo, tip_of, &configured)? {
        Some(Err(e)) => return Ok(Err(e)),
        found => found.map(|r| r.expect("errors returned above")),
    };
    let named = match &root {
        Some(policy) if policy.queue.base_branch != configured => {
            match policy_at_branch(repo, tip_of, &policy.queue.base_branch)? {
                Some(Err(e)) => return Ok(Err(e)),
                found => Some(found.map(|r| r.expect("errors returned above"))),
            }
        }
        _ => None,
    };
    Ok(Ok(chain::in_force(&configured, root, named)))
}

/// The branch the policy is read from: `deploybot.baseBranch`, else `main`.
pub fn configured_branch(repo: &Repo) -> String {
    repo.config_string("deploybot.baseBranch")
        .unwrap_or_else(|| Policy::default().queue.base_branch)
}

/// The policy file in `commit`'s tree, parsed (None when it has none);
/// `origin` (a branch name or sha) names it in errors.
pub fn policy_in_commit(
    repo: &Repo,
    commit: ObjectId,
    origin: &str,
) -> Result<Option<Result<Policy, PolicyError>>> {
    let tree = repo.find_commit_info(commit)?.tree;
    let Some(bytes) = repo.try_read_path(tree, POLICY_FILE)? else {
        return Ok(None);
    };
    let text = String::from_utf8_lossy(&bytes);
    Ok(Some(parse_checked(
        &text,
        &format!("{origin}:{POLICY_FILE}"),
    )))
}

/// Parses a policy file's text and checks the bounds the core does not
/// (seconds that would overflow clock arithmetic); `origin` starts every error.
pub fn parse_checked(text: &str, origin: &str) -> Result<Policy, PolicyError> {
    parse_policy(text, origin).and_then(|policy| super::limits::check_policy(policy, origin))
}

/// The policy file at `branch`'s tip: None when there is no branch or no file.
fn policy_at_branch(
    repo: &Repo,
    tip_of: &dyn Fn(&str) -> Result<Option<ObjectId>>,
    branch: &str,
) -> Result<Option<Result<Policy, PolicyError>>> {
    let Some(tip) = tip_of(&names::branch_ref(branch))? else {
        return Ok(None);
    };
    policy_in_commit(repo, tip, branch)
}
