//! Where the policy comes from: `.deploybot.toml` at the tip of the base
//! branch (never the working tree), shared by every command and the server hook.

use crate::core::policy::{POLICY_FILE, Policy, PolicyError, parse_policy};
use crate::git::{ObjectId, Repo, names};
use anyhow::Result;

/// The policy at the base branch tip. The base branch is `deploybot.baseBranch`
/// from git config, else `main`; when that policy names another base branch,
/// that branch's policy governs. `tip_of` resolves a full ref name (the local
/// store, or the mirror of a remote). A missing branch or file gives defaults.
pub fn policy_at_base(
    repo: &Repo,
    tip_of: &dyn Fn(&str) -> Result<Option<ObjectId>>,
) -> Result<Result<Policy, PolicyError>> {
    let configured = repo
        .config_string("deploybot.baseBranch")
        .unwrap_or_else(|| Policy::default().queue.base_branch);
    let policy = match policy_at_branch(repo, tip_of, &configured)? {
        Ok(policy) => policy,
        Err(e) => return Ok(Err(e)),
    };
    if policy.queue.base_branch != configured {
        return policy_at_branch(repo, tip_of, &policy.queue.base_branch);
    }
    Ok(Ok(policy))
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

fn policy_at_branch(
    repo: &Repo,
    tip_of: &dyn Fn(&str) -> Result<Option<ObjectId>>,
    branch: &str,
) -> Result<Result<Policy, PolicyError>> {
    let mut default = Policy::default();
    default.queue.base_branch = branch.to_string();
    let Some(tip) = tip_of(&names::branch_ref(branch))? else {
        return Ok(Ok(default));
    };
    Ok(policy_in_commit(repo, tip, branch)?.unwrap_or(Ok(default)))
}
