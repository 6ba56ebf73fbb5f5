//! Pausing, unpausing, recovery, and the next steps status suggests.

use super::short;

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

/// Why a wake-up was deferred when the server refused its push.
pub fn wake_refused() -> String {
    "the server refused the wake-up's push (its reasons below)".into()
}

/// The wake-up could not finish: the recovery stands, and who continues it.
pub fn wake_deferred(why: &str, coordinators: Option<&str>) -> String {
    match coordinators {
        Some(who) => format!(
            "wake-up deferred: {why}; the recovery is recorded, and a coordinator ({who}) continues it with `git deploybot react`"
        ),
        None => format!(
            "wake-up deferred: {why}; the recovery is recorded, run `git deploybot react` to continue"
        ),
    }
}

/// The reason of the running record that clears a superseded controller pause.
pub fn supersedes(new_main: &str, paused: &str) -> String {
    format!("newer verified main {new_main} supersedes paused {paused}")
}

/// The reason of the first control record, written so merges can lease the ledger.
pub fn control_ledger_started() -> String {
    "control ledger started by the first merge".into()
}

/// Next step: resume the current pause.
pub fn next_unpause(sha: &str, control_id: &str) -> String {
    format!("git deploybot unpause --sha {sha} --control-id {control_id}   # when ready to resume")
}

/// Next step: the pause is bound to a main that moved on.
pub fn next_rebind_pause(reason: &str) -> String {
    format!(
        "git deploybot pause --reason '{}'   # main moved since the pause: bind a pause to it, then unpause that",
        reason.replace('\'', "")
    )
}

/// Next step: elect a repair for the failed main.
pub fn next_claim_repair() -> String {
    "git deploybot claim-repair   # main failed: take the repair lease (--owner NAME for someone else)".into()
}

/// The first line of a repair lease commit (the lease JSON follows a blank line).
pub fn lease_subject(main_sha: &str, failure_state: &str, owner: &str) -> String {
    format!(
        "repair lease for {} ({failure_state}), owner {owner}",
        short(main_sha)
    )
}

/// Next step: request the claimed repair once it is fixed and green.
pub fn next_request_repair(branch: &str) -> String {
    format!("git deploybot request {branch}   # after pushing the fix there and CI is green")
}

/// Next step: merge what is ready.
pub fn next_react() -> String {
    "git deploybot react   # entries are ready to merge".into()
}

/// Why a tip with no evidence and no merge behind it reads as verified (first install).
pub fn first_install_why() -> String {
    "first install: nothing is known against this main and the queue has merged nothing yet, so it is the baseline".to_owned()
}

/// What a recovery recovered from, naming the sha once: the paused
/// reason, with `on <short>` unless the reason already names the sha.
pub fn recovered_what(reason: &str, sha: &str) -> String {
    if reason.contains(sha) || reason.contains(super::short(sha)) {
        reason.to_string()
    } else {
        format!("{reason} on {}", super::short(sha))
    }
}

/// Why a failed main does not pause: a recovery owns this failure of it.
pub fn recovery_owns_why(sha: &str, recovered_reason: &str, state: &str) -> String {
    format!(
        "a recovery owns {} {state} (resumed from `{recovered_reason}`): this failure does not pause again; the elected repair lands first",
        super::short(sha)
    )
}

/// A recovery resumed this main, which is not failed now (or failed anew).
pub fn recovery_resumed_why(sha: &str, recovered_reason: &str, state: &str) -> String {
    format!(
        "a recovery resumed {} (from `{recovered_reason}`); it is {state} now, and a new failure of it pauses as any failure does",
        super::short(sha)
    )
}

/// Why an older main's failure no longer matters.
pub fn superseded_failure_why(sha: &str, state: &str, by: &str) -> String {
    format!("{} was {state}; superseded by {by}", super::short(sha))
}

/// Next step: the requested repair is not ready yet, and why.
pub fn next_repair_waits(branch: &str, why: &str) -> String {
    format!("# the repair `{branch}` waits: {why}")
}

/// Next step: main is verified but the watermark does not name it yet.
pub fn next_follow_watermark() -> String {
    "git deploybot follow   # main is verified; this records it in refs/deploybot/verified".into()
}

/// A follow whose controller pause the server refused: the failure stays on
/// record and a coordinator pauses for it.
pub fn pause_left_to_coordinator(refused: &str) -> String {
    format!(
        "the server refused this clone's pause ({refused}); the failure is in the notes, and a coordinator's next `git deploybot react` pauses for it"
    )
}
