//! Results, runners and following releases.

use super::short;

/// A check name that cannot be stored.
pub fn bad_check_name(check: &str) -> String {
    format!(
        "--check `{check}` must be 1 to 200 printable characters; use the check's name from .deploybot.toml"
    )
}

/// A sha that names no commit known here.
pub fn unknown_commit(sha: &str) -> String {
    format!("commit {sha} is not known here; push it (or fetch it) first, or check the sha")
}

/// --status is not one of the pinned statuses.
pub fn bad_status(status: &str) -> String {
    format!("--status `{status}` is not one of pending, success, failure, cancelled, skipped")
}

/// `ci run` without --sha found nothing to do.
pub fn nothing_pending(check: &str) -> String {
    format!(
        "no commit needs a run of `{check}` (see `git deploybot ci pending`); pass --sha to run one anyway"
    )
}

/// Another runner holds the claim.
pub fn already_claimed(check: &str, sha: &str) -> String {
    format!(
        "`{check}` on {} is already claimed or has a result; pass --sha explicitly to run it again",
        short(sha)
    )
}

/// A deploy for a sha that is no longer the base tip.
pub fn superseded(base: &str) -> String {
    format!(
        "superseded: main is now {}; never deploy an older sha after a newer one",
        short(base)
    )
}

/// follow stopped because the pipeline is paused.
pub fn follow_paused() -> String {
    "the pipeline is paused; see `git deploybot status`, fix and unpause, then follow again".into()
}

/// follow could not fetch; it will try again next poll.
pub fn fetch_retry(why: &str, attempt: u32) -> String {
    format!("fetch failed ({attempt} in a row), retrying next poll: {why}")
}
