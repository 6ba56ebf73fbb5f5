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

/// `ci run` / `deploy run` (`pipeline`: `ci` or `deploy`) without --sha found nothing to do.
pub fn nothing_pending(pipeline: &str, check: &str) -> String {
    let kind = if pipeline == "ci" { "CI" } else { pipeline };
    format!(
        "nothing pending for {kind} check `{check}`; see `git deploybot {pipeline} pending` (pass --sha to run one anyway)"
    )
}

/// A runner's command could not be started: no result was recorded (and,
/// when `released`, the claim was given back), so the commit stays pending.
pub fn command_cannot_start(
    program: &str,
    why: &str,
    pipeline: &str,
    check: &str,
    sha: &str,
    released: bool,
) -> String {
    let recorded = if released {
        "claim released, no result recorded"
    } else {
        "no result recorded"
    };
    format!(
        "cannot start `{program}` ({why}): {recorded}, `{check}` on {} is still pending; fix the command after `--` (`git deploybot {pipeline} run --check {check} -- <command>`)",
        short(sha)
    )
}

/// `pipeline.deploy_command` could not be started (the shell's exit 126/127, or no shell).
pub fn deploy_command_cannot_start(why: &str, sha: &str) -> String {
    format!(
        "pipeline.deploy_command could not start ({why}): no deploy result recorded, {} still awaits its deploy; fix pipeline.deploy_command in .deploybot.toml (or pass --config)",
        short(sha)
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

/// `coordinate`'s first line (stderr): what it watches and how it is woken.
pub fn coordinating(base: &str, poll: u64, wake: Option<&std::path::Path>) -> String {
    let woken = match wake {
        Some(path) => format!(
            "; woken at once by {} (git deploybot hook install --wake)",
            path.display()
        ),
        None => "; no wake file (the remote is not on this host): polling only".to_owned(),
    };
    format!("coordinating {base}: listing the remote's refs every {poll}s{woken}")
}

/// `coordinate`'s last line (stderr).
pub fn coordinator_stopped(signal: &str, passes: u64) -> String {
    format!("stopped by {signal} after {passes} passes; no pass was cut short")
}

/// A pass whose pushes lost races to other writers (each retried).
pub fn lost_races(n: u32) -> String {
    let races = if n == 1 { "race" } else { "races" };
    format!("; lost {n} {races} to other writers, retried")
}

/// A pass (or a listing) failed: it is retried after a back-off.
pub fn pass_failed(error: &str, retry_in: u64) -> String {
    format!("failed: {error}; retrying in {retry_in}s")
}

/// The remote's refs cannot be listed.
pub fn cannot_list_remote(remote: &str, why: &str) -> String {
    format!("cannot list the refs of remote `{remote}`: {why}; check the remote URL and network")
}

/// `runner --jobs` out of range.
pub fn bad_jobs(jobs: usize) -> String {
    format!("--jobs {jobs} is out of range: give 1 to 64 runs at once")
}

/// `runner`'s first line (stderr).
pub fn runner_agent_started(check: &str, jobs: usize, lease: i64) -> String {
    format!(
        "running `{check}`, {jobs} at once; each claim leased for {lease}s and renewed while it runs"
    )
}

/// `runner`'s last line (stderr).
pub fn runner_agent_stopped(signal: &str, runs: u64) -> String {
    format!(
        "stopped by {signal} after {runs} runs; runs cut short gave their claims back, no worktree is left"
    )
}

/// A CI result reused from a commit with the identical tree.
pub fn reused_result(check: &str, sha: &str, from: &str) -> String {
    format!(
        "{check} reused on {} from {} (the identical tree passed there; pipeline.reuse_results = \"tree\")",
        super::short(sha),
        super::short(from)
    )
}
