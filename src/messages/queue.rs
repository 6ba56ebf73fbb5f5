//! The queue, react and repair leases.

use super::short;

/// A branch name that is not valid.
pub fn bad_branch(branch: &str, why: &str) -> String {
    let branch = crate::core::json::printable(branch);
    format!("branch `{branch}` is not valid ({why}); give the branch's short name, e.g. feature/x")
}

/// Requesting the base branch itself.
pub fn request_base_branch(branch: &str) -> String {
    format!("`{branch}` is the base branch; request the branch you want merged into it")
}

/// Requesting a branch the remote does not have.
pub fn unknown_branch(branch: &str) -> String {
    format!(
        "branch `{branch}` does not exist on the remote; push it first (git push origin {branch})"
    )
}

/// Requesting a remote-tracking name (`origin/feature/d`) for a branch the
/// remote has as `feature/d`.
pub fn remote_tracking_branch(typed: &str, branch: &str) -> String {
    format!(
        "`{typed}` is the remote-tracking name of branch `{branch}`; request the branch: git deploybot request {branch}"
    )
}

/// `--sha` is not the branch's tip.
pub fn request_not_tip(branch: &str, sha: &str, tip: &str) -> String {
    format!(
        "--sha {} is not the tip of `{branch}` ({}); push that exact head or request the current tip",
        short(sha),
        short(tip)
    )
}

/// The same head is already queued.
pub fn already_requested(branch: &str, sha: &str) -> String {
    format!(
        "`{branch}` is already queued at {}; nothing written",
        short(sha)
    )
}

/// A request was recorded.
pub fn requested(branch: &str, sha: &str) -> String {
    format!("requested `{branch}` at {}", short(sha))
}

/// The branch is not in the queue.
pub fn not_queued(branch: &str) -> String {
    format!("`{branch}` is not in the queue; see `git deploybot status` for queued branches")
}

/// A block/unblock that changes nothing.
pub fn queue_unchanged(branch: &str, action: &str) -> String {
    format!("`{branch}`: {action} changes nothing; nothing written")
}

/// A cancel/block/unblock was recorded.
pub fn queue_changed(branch: &str, action: &str) -> String {
    let done = match action {
        "cancel" => "cancelled",
        "block" => "blocked",
        "unblock" => "unblocked",
        other => other,
    };
    format!("{done} `{branch}`")
}

/// Why react did nothing: the pipeline is paused.
pub fn react_paused(control: &crate::core::control::ControlState) -> String {
    format!(
        "paused by {}: {}; unpause with `git deploybot unpause --sha {} --control-id {}`",
        control.actor.as_deref().unwrap_or("?"),
        control.reason.as_deref().unwrap_or(""),
        control.main_sha.as_deref().unwrap_or("?"),
        control.control_id.as_deref().unwrap_or("?")
    )
}

/// The block reason for a conflicting entry.
pub fn merge_conflict(base: &str, paths: &[String]) -> String {
    let mut listed: Vec<&str> = paths.iter().map(String::as_str).take(5).collect();
    if paths.len() > 5 {
        listed.push("…");
    }
    format!(
        "conflicts with main at {} in {}; rebase and request again",
        short(base),
        listed.join(", ")
    )
}

/// The message of a merge commit made by react.
pub fn merge_message(branch: &str, head: &str, actor: &str) -> String {
    format!(
        "Merge {branch} at {}\n\nDeploybot-Head: {head}\nDeploybot-Coordinator: {actor}\n",
        short(head)
    )
}

/// `ci_dispatch_command` failed.
pub fn dispatch_failed(why: &str) -> String {
    format!(
        "warning: pipeline.ci_dispatch_command failed ({why}); runners can still find the pending note"
    )
}

/// claim-repair --sha names a sha that is not the current base.
pub fn claim_not_base(sha: &str, base: &str) -> String {
    format!(
        "--sha {} is not the current main ({}); refresh with `git deploybot status`",
        short(sha),
        short(base)
    )
}

/// claim-repair while the base release has not failed.
pub fn claim_not_failed(base: &str, state: &str) -> String {
    format!(
        "main {} is {state}, not failed; claim-repair is only for a failed main (refresh with `git deploybot status`)",
        short(base)
    )
}

/// The lease branch exists but carries no lease.
pub fn lease_branch_malformed(branch: &str) -> String {
    format!(
        "branch `{branch}` exists but holds no repair lease; ask an admin to remove it, then claim again"
    )
}

/// The base moved while claiming: the lease was removed again.
pub fn claim_base_moved(old: &str, new: &str) -> String {
    format!(
        "main moved from {} to {} during the claim; the lease was removed, refresh with `git deploybot status`",
        short(old),
        short(new)
    )
}

/// Re-requesting the same head of a blocked entry.
pub fn request_blocked(branch: &str, reason: &str) -> String {
    format!(
        "`{branch}` is blocked at this head ({reason}); unblock it (git deploybot unblock {branch}) or push a new head and request that"
    )
}

/// A queue entry whose `.deploybot.toml` would not parse once merged.
pub fn merged_policy_broken(error: &str) -> String {
    format!(
        "{error}; the server refuses such a base branch: fix the policy on the branch and request it again"
    )
}

/// An entry the server refuses to merge, on its own.
pub fn server_refused_entry(lines: &[String]) -> String {
    let first = lines
        .first()
        .map(String::as_str)
        .unwrap_or("no reason given");
    let first = first.trim().trim_start_matches("deploybot:").trim();
    format!(
        "the server refuses main with this entry merged ({first}); fix the branch and request it again"
    )
}

/// An entry under a probe beside the train (auto depth).
pub fn in_probe(probe_id: &str, state: &str) -> String {
    format!(
        "in probe {probe_id} ({state}): tested alone on main beside the train after a failure; \
         entries requested later may land first, and it rejoins the train in request order once cleared"
    )
}

/// Why a ready entry waits for a test of its own (tested landing): it failed
/// alone before (`failures` times), or it is suspected in failed candidate
/// `group` whose other entries passed or are under test.
pub fn held_for_solo_test(failures: u32, group: Option<&str>) -> String {
    match group {
        Some(id) => format!(
            "suspected in failed candidate {id} (its other entries passed without it or are \
             under test): tested alone, after the other entries"
        ),
        None => {
            format!("failed CI alone {failures} time(s): retried alone, after the other entries")
        }
    }
}
