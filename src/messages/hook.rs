//! The server hook: one `deploybot: <ref>: <why>; <what to do>` line per problem.

use super::short;

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
        "write records with git deploybot, or follow the record fields in docs/contract.md",
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
        "append one JSON object per line (see docs/contract.md), e.g. with `git deploybot ci report`",
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
        "see `git deploybot status`; if main failed, `git deploybot claim-repair`, push the fix to the lease branch and request it, then `git deploybot unpause` lands it",
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

/// A base-branch push whose new tip carries a policy that does not parse.
pub fn hook_base_bad_policy(refname: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!("the pushed policy is invalid: {why}"),
        "fix .deploybot.toml in your commit and push again",
    )
}

/// A second note for one commit at another fan-out path.
pub fn hook_second_note(refname: &str, target: &str, paths: &[String]) -> String {
    hook_line(
        refname,
        &format!(
            "{} has {} notes (at {}): one commit has one note",
            short(target),
            paths.len(),
            paths.join(", ")
        ),
        "append to the existing note with `git notes append` after fetching the notes ref",
    )
}

/// A note on an object that is not a commit in the repository.
pub fn hook_note_not_on_commit(refname: &str, target: &str) -> String {
    hook_line(
        refname,
        &format!("the note names {target}, which is not a commit here"),
        "note the exact commit that was tested, after pushing it",
    )
}

/// A note blob that is too large or not UTF-8.
pub fn hook_bad_note_blob(refname: &str, target: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!("the note on {} {why}", short(target)),
        "keep notes to JSON Lines records in UTF-8",
    )
}

/// A push carries more ledger records than the hook judges at once.
pub fn hook_too_many_records(refname: &str, max: usize) -> String {
    hook_line(
        refname,
        &format!(
            "the push appends more than {max} records (or is not a fast-forward of the ledger)"
        ),
        "push the ledger in parts of fewer records, each on top of the last",
    )
}

/// A control record reuses an id already in the ledger.
pub fn hook_duplicate_control_id(refname: &str, id: &str) -> String {
    hook_line(
        refname,
        &format!(
            "control_id `{}` is already used in the ledger: ids are unique",
            crate::core::json::printable(id)
        ),
        "write the record with a new random control_id (git deploybot does)",
    )
}

/// A pushed name is a symbolic ref to a ref deploybot governs.
pub fn hook_symref(refname: &str, target: &str) -> String {
    hook_line(
        refname,
        &format!(
            "is a symbolic ref to {target} on the server: a governed ref is reached by one name only"
        ),
        &format!("push to {target} itself"),
    )
}

/// What a policy change needs, for the not-allowed line.
pub fn policy_change_what(path: &str) -> String {
    format!("a change of `{path}` on the base branch")
}

/// A record names another actor than the authenticated pusher.
pub fn hook_actor_mismatch(refname: &str, actor: &str, pusher: &str) -> String {
    hook_line(
        refname,
        &format!(
            "a record says it was written by `{}`, but the server authenticated `{}`",
            crate::core::json::printable(actor),
            crate::core::json::printable(pusher)
        ),
        &format!(
            "write records as yourself: `git config deploybot.actor {pusher}`, then write them again"
        ),
    )
}

/// A repair lease is claimed for someone else, or not for the failed base.
pub fn hook_lease_not_yours(refname: &str, owner: &str, pusher: &str) -> String {
    hook_line(
        refname,
        &format!(
            "the repair lease is owned by `{}`; `{}` may not change or delete it",
            crate::core::json::printable(owner),
            crate::core::json::printable(pusher)
        ),
        "ask the owner (or a coordinator) to land the repair, or wait for the lease to be released",
    )
}

/// The push repairing a broken policy does not come from a coordinator.
pub fn hook_policy_repair_not_allowed(
    refname: &str,
    pusher: Option<&str>,
    coordinators: &[String],
) -> String {
    let who = pusher.map_or("an unidentified pusher".to_owned(), |p| {
        format!("`{}`", crate::core::json::printable(p))
    });
    if coordinators.is_empty() {
        return hook_line(
            refname,
            "the policy on the base branch is broken and its coordinators cannot be read (nor any earlier readable policy's), so no push may repair it",
            "an admin fixes .deploybot.toml on the server itself (the hooks judge pushes only)",
        );
    }
    hook_line(
        refname,
        &format!(
            "the policy on the base branch is broken and only a coordinator ({}) may repair it, not {who}",
            coordinators.join(", ")
        ),
        "ask a coordinator to push the fixed .deploybot.toml",
    )
}

/// A control record that does not count under signed controls.
pub fn hook_unsigned_record(refname: &str, commit: &str, why: &str) -> String {
    hook_line(
        refname,
        &format!("commit {} does not count: {why}", short(commit)),
        "sign control records (`git config gpg.format ssh` and `user.signingkey`; git deploybot signs them) with a key the allowed-signers file lists for you",
    )
}

/// The base branch moves to a commit without green CI under `hook.require_tested_base`;
/// `lacking` pairs each check with what decides it instead (`failure`, `none`, …).
pub fn hook_base_untested(refname: &str, commit: &str, lacking: &[(String, String)]) -> String {
    let checks: Vec<String> = lacking
        .iter()
        .map(|(check, status)| format!("`{check}` ({status})"))
        .collect();
    hook_line(
        refname,
        &format!(
            "{} has no `success` CI result for {} in refs/notes/deploybot/ci, and hook.require_tested_base is on",
            short(commit),
            checks.join(", ")
        ),
        "land it through the queue (`queue.landing = \"tested\"`), push its green CI notes with it, or ask one of hook.base_override_actors (break-glass)",
    )
}

/// A try branch whose name is not `deploybot/try/<candidate_id>`.
pub fn hook_bad_try_branch(refname: &str) -> String {
    hook_line(
        refname,
        "refs/heads/deploybot/try/ holds only `<candidate_id>` branches (1 to 64 of A-Z a-z 0-9 . _ -)",
        "try branches are the coordinator's (git deploybot react); push your work under another name",
    )
}

/// A push creating or moving a name in the tool's namespaces (any letter case).
pub fn hook_reserved_name(refname: &str) -> String {
    hook_line(
        refname,
        "is in deploybot's namespace (in any letter case, or a branch where deploybot needs a folder): only try branches and repair leases live there",
        "push your work under another name",
    )
}
