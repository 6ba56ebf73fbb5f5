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

/// A branch name that is not valid.
pub fn bad_branch(branch: &str, why: &str) -> String {
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

/// --status is not one of the pinned statuses.
pub fn bad_status(status: &str) -> String {
    format!("--status `{status}` is not one of pending, success, failure, cancelled, skipped")
}

// ---- The server hook (`git deploybot hook …`): one line per refused ref. ----

/// One refusal line: `deploybot: <ref>: <why>; <what to do>`.
pub fn hook_line(refname: &str, why: &str, todo: &str) -> String {
    format!("deploybot: {refname}: {why}; {todo}")
}

/// A ledger, watermark or notes ref was deleted.
pub fn hook_deleted(refname: &str) -> String {
    hook_line(
        refname,
        "deleting it is refused (deploybot state is append-only)",
        "push a new record instead; an admin can delete it on the server itself",
    )
}

/// An update that is not a fast-forward.
pub fn hook_not_fast_forward(refname: &str, old: &str) -> String {
    hook_line(
        refname,
        &format!(
            "not a fast-forward of {} (rewriting history is refused)",
            short(old)
        ),
        "fetch, rebuild your change on top of the server's tip and push again",
    )
}

/// A ledger commit with other than one parent.
pub fn hook_ledger_parents(refname: &str, commit: &str, parents: usize) -> String {
    hook_line(
        refname,
        &format!(
            "commit {} has {parents} parents, but a ledger grows by single-parent commits on its tip",
            short(commit)
        ),
        "rewrite it as one commit per record on top of the server's tip (git deploybot does)",
    )
}

/// A ledger commit whose record cannot be used.
pub fn hook_bad_record(refname: &str, commit: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!("commit {}: {why}", short(commit)),
        "write records with git deploybot, or follow the record fields in DESIGN.md",
    )
}

/// A ledger commit whose state.json does not match its record.
pub fn hook_bad_snapshot(refname: &str, commit: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!(
            "commit {}: state.json disagrees with its record ({why})",
            short(commit)
        ),
        "drop state.json from the commit or let git deploybot write it",
    )
}

/// The watermark moved backwards.
pub fn hook_verified_backwards(refname: &str, old: &str, new: &str) -> String {
    hook_line(
        refname,
        &format!(
            "moves from {} to {}, which does not descend from it",
            short(old),
            short(new)
        ),
        "the verified watermark only moves forward; set it to a newer verified commit",
    )
}

/// The watermark points off the base branch.
pub fn hook_verified_off_base(refname: &str, new: &str, branch: &str) -> String {
    hook_line(
        refname,
        &format!("{} is not on {branch}", short(new)),
        &format!("the watermark must point at a commit of {branch}; push that commit first"),
    )
}

/// A note file in a notes tree that is not at a note path.
pub fn hook_not_a_note(refname: &str, path: &str) -> String {
    hook_line(
        refname,
        &format!("`{path}` is not a note (not a 40-hex object path)"),
        "add notes only with `git notes` or git deploybot",
    )
}

/// A note lost lines or was removed.
pub fn hook_note_rewritten(refname: &str, target: &str) -> String {
    hook_line(
        refname,
        &format!(
            "the note on {} loses lines (notes are append-only)",
            short(target)
        ),
        "fetch the notes ref and use `git notes append` on top of it",
    )
}

/// An appended note line that is not a valid record.
pub fn hook_bad_note_line(refname: &str, target: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!("a line added to the note on {} {why}", short(target)),
        "append one JSON object per line (see DESIGN.md), e.g. with `git deploybot ci report`",
    )
}

/// The base branch was deleted.
pub fn hook_base_deleted(refname: &str) -> String {
    hook_line(
        refname,
        "deleting the base branch is refused",
        "an admin can delete it on the server itself",
    )
}

/// The base branch moves while the pipeline is paused.
pub fn hook_base_paused(refname: &str, control_id: &str, reason: &str) -> String {
    hook_line(
        refname,
        &format!(
            "the pipeline is paused ({control_id}: {reason}), so the base branch may not move"
        ),
        "see `git deploybot status`; land the fix through the recovery after `git deploybot unpause`",
    )
}

/// An unknown ref under refs/deploybot/.
pub fn hook_unknown_deploybot_ref(refname: &str) -> String {
    hook_line(
        refname,
        "refs/deploybot/ holds only control, queue and verified",
        "push it under another name",
    )
}

/// A repair lease branch created without the lease format.
pub fn hook_bad_lease(refname: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!("not a repair lease ({why})"),
        "create lease branches with `git deploybot claim-repair`; repairs go on top of the lease",
    )
}

/// A repair lease deleted after work was added on it.
pub fn hook_lease_delete(refname: &str) -> String {
    hook_line(
        refname,
        "the lease already has commits on top, so deleting it is refused",
        "finish the repair through the queue; an admin can delete it on the server itself",
    )
}

/// The pusher is not in the list that may write this.
pub fn hook_not_allowed(refname: &str, who: &str, what: &str, lists: &str) -> String {
    hook_line(
        refname,
        &format!("`{who}` may not write {what} (only {lists} may)"),
        "ask an admin to add you to that list in .deploybot.toml on the base branch",
    )
}

/// The policy names actors but the server did not say who pushes.
pub fn hook_no_identity(refname: &str, vars: &str) -> String {
    hook_line(
        refname,
        &format!("the policy names actors but the pusher is unknown (none of {vars} is set)"),
        "push through the server's authenticated access (gitolite, Gitea, GitLab, HTTP auth)",
    )
}

/// The policy on the base branch cannot be read.
pub fn hook_bad_policy(refname: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!("the server cannot read its policy: {why}"),
        "push a fast-forward of the base branch whose .deploybot.toml parses (the one push still accepted)",
    )
}

/// A stdin line the hook cannot read.
pub fn hook_bad_input(line: &str) -> String {
    format!(
        "deploybot: cannot read the hook input line `{line}`; expected `<old> <new> <ref>` from git"
    )
}

/// `hook install` found a different hook in place.
pub fn hook_install_exists(path: &str) -> String {
    format!(
        "{path} already exists and is not the deploybot hook; move it away or pass --force to replace it"
    )
}

/// `hook install` was pointed at something that is not a bare repository.
pub fn hook_install_not_bare(path: &str) -> String {
    format!(
        "{path} is not a bare git repository; give the server repository's path (e.g. /srv/git/project.git)"
    )
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

/// The reason of the running record that clears a superseded controller pause.
pub fn supersedes(new_main: &str, paused: &str) -> String {
    format!("newer verified main {new_main} supersedes paused {paused}")
}

// ---- init, doctor, demo, man (issue 6). ----

/// `init` in a bare repository.
pub fn init_bare(git_dir: &str) -> String {
    format!(
        "{git_dir} is a bare repository; run `git deploybot init` in a clone with a working tree"
    )
}

/// `init` kept an existing policy file.
pub fn init_kept(path: &str) -> String {
    format!("kept {path} (it exists; `git deploybot init --force` replaces it with the starter)")
}

/// `init` found no remote: the local refs are the source of truth.
pub fn init_no_remote(remote: &str) -> String {
    format!(
        "no remote `{remote}`: the local refs are the source of truth; run init again after `git remote add {remote} <url>`"
    )
}

/// `demo --dir` given a directory that holds something.
pub fn demo_dir_not_empty(dir: &str) -> String {
    format!("{dir} is not empty; give --dir a new or empty directory")
}

/// The demo missed expectations.
pub fn demo_failed(missed: usize) -> String {
    format!("the demo missed {missed} expectation(s) (listed above)")
}

/// `doctor` found failing rows.
pub fn doctor_failed(failed: usize) -> String {
    format!("{failed} check(s) failed; apply the fixes above and run `git deploybot doctor` again")
}

/// `man --install` could not find a place next to the binary.
pub fn man_no_prefix(binary: &str) -> String {
    format!(
        "cannot derive a man directory from {binary}; pass --dir DIR (a man1 directory on your MANPATH)"
    )
}

/// The reason of the first control record, written so merges can lease the ledger.
pub fn control_ledger_started() -> String {
    "control ledger started by the first merge".into()
}

/// A base-branch push whose new tip carries a policy that does not parse.
pub fn hook_base_bad_policy(refname: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!("the pushed policy is invalid: {why}"),
        "fix .deploybot.toml in your commit and push again",
    )
}

/// follow could not fetch; it will try again next poll.
pub fn fetch_retry(why: &str, attempt: u32) -> String {
    format!("fetch failed ({attempt} in a row), retrying next poll: {why}")
}

/// Next step: resume the current pause.
pub fn next_unpause(sha: &str, control_id: &str) -> String {
    format!(
        "git deploybot unpause --sha {sha} --control-id {control_id}   # once the failure is handled"
    )
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
    "git deploybot claim-repair --owner <you>   # main failed: take the repair lease".into()
}

/// Next step: request the claimed repair once it is fixed and green.
pub fn next_request_repair(branch: &str) -> String {
    format!("git deploybot request {branch}   # after pushing the fix there and CI is green")
}

/// Next step: merge what is ready.
pub fn next_react() -> String {
    "git deploybot react   # entries are ready to merge".into()
}
