//! Every sentence a user can see, built in one place so wording changes here
//! and tests can pin it. Each error names the problem and the next step.

use std::path::Path;

/// Shortens a sha for display.
pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}

/// Not inside a git repository.
pub fn not_a_repository(dir: &Path) -> String {
    format!(
        "{} is not inside a git repository; run from a clone or pass -C <path>",
        dir.display()
    )
}

/// `--remote NAME` names no remote.
pub fn no_such_remote(remote: &str) -> String {
    format!(
        "no remote named `{remote}`; add it with `git remote add {remote} <url>` or pass --offline"
    )
}

/// The base branch does not exist where truth lives.
pub fn no_base_branch(branch: &str) -> String {
    format!(
        "the base branch `{branch}` does not exist; push it first or set queue.base_branch in .deploybot.toml"
    )
}

/// A sha argument that is not 40 hex digits.
pub fn bad_sha(flag: &str, text: &str) -> String {
    format!("{flag} `{text}` is not a full 40-hex sha; copy it from `git deploybot status`")
}

/// A reason that cannot be stored.
pub fn bad_reason(why: &str) -> String {
    format!("--reason {why}; give a short single-line reason")
}

/// The pause would be ignored by the fold (it restates the recovered failure).
pub fn pause_ignored(sha: &str) -> String {
    format!(
        "not paused: this restates the failure on {} that the current recovery resumed; nothing written",
        short(sha)
    )
}

/// The same pause is already in force.
pub fn already_paused(control_id: &str) -> String {
    format!("already paused by {control_id} for the same sha and reason; nothing written")
}

/// unpause while running.
pub fn unpause_not_paused() -> String {
    "the pipeline is not paused; nothing to unpause (refresh with `git deploybot status`)".into()
}

/// unpause with a control id that is not the current pause.
pub fn unpause_wrong_id(given: &str, current: &str) -> String {
    format!(
        "--control-id {given} is not the current pause ({current}); refresh with `git deploybot status` and retry"
    )
}

/// unpause with a sha that is not the current pause's.
pub fn unpause_wrong_sha(given: &str, paused: &str) -> String {
    format!(
        "--sha {} is not the sha the pause is bound to ({}); refresh with `git deploybot status` and retry",
        short(given),
        short(paused)
    )
}

/// The base branch is no longer at the paused sha.
pub fn unpause_base_moved(branch: &str, paused: &str, now: &str) -> String {
    format!(
        "{branch} moved from {} to {} since the pause; refresh with `git deploybot status` and retry",
        short(paused),
        short(now)
    )
}

/// A newer pause won the race with our unpause.
pub fn pause_changed_during_unpause() -> String {
    "pause changed during unpause; refresh with `git deploybot status`".into()
}

/// The reason of the compensating conditional pause.
pub fn main_advanced_reason(old: &str, new: &str) -> String {
    format!("main advanced during unpause from {old} to {new}")
}

/// The error after writing the compensating pause.
pub fn main_advanced_error(old: &str, new: &str) -> String {
    format!(
        "main advanced during unpause from {} to {}; pipeline remains paused; refresh with `git deploybot status`",
        short(old),
        short(new)
    )
}

/// The wake-up after unpause could not run.
pub fn wake_deferred(why: &str) -> String {
    format!(
        "wake-up deferred: {why}; the recovery is recorded, run `git deploybot react` to continue"
    )
}
