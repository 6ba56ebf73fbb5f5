//! Rows a newcomer trips over: whether `git deploybot --help` works (git
//! turns it into `git help deploybot`, which needs the man pages), who this
//! clone writes as and what the policy lets it write, and whether a working
//! tree's `.deploybot.toml` is edited or only behind the base branch.

use super::{Level, Row, row};
use crate::core::policy::{POLICY_FILE, Policy};
use crate::core::roles::{Role, authorize};
use crate::git::{ObjectId, Repo};
use std::path::Path;

/// The man pages: installed where `man` finds them, or how to install them.
pub fn manual_row(binary: &Path) -> Row {
    let check = "manual";
    let found = std::process::Command::new("man")
        .args(["-w", "git-deploybot"])
        .env("LC_ALL", "C")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
    let beside = binary
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("share/man/man1/git-deploybot.1"))
        .filter(|page| page.is_file());
    match (found, beside) {
        (Some(page), _) => row(
            check,
            Level::Ok,
            format!("`git deploybot --help` opens {page}"),
            None,
        ),
        (None, Some(page)) => row(
            check,
            Level::Ok,
            format!("man pages at {} (found by `man` for a binary on PATH)", page.display()),
            None,
        ),
        (None, None) => row(
            check,
            Level::Warn,
            "the man pages are not installed: `git deploybot --help` (git's `git help deploybot`) finds no manual",
            Some("run `git deploybot man --install` (or `git deploybot man --dir <a man1 directory on MANPATH>`); meanwhile `git deploybot -h` and `git deploybot help <command>` work".to_string()),
        ),
    }
}

/// Who this clone writes as, and the roles the policy gives that name.
pub fn writer_row(policy: &Policy, actor: &str) -> Row {
    let check = "writer";
    if !policy.names_actors() {
        let detail =
            format!("writes as `{actor}`; the policy names no actors, so every role is open");
        return row(check, Level::Ok, detail, None);
    }
    let roles: Vec<&str> = [
        (Role::Trusted, "trusted (request, pause, unpause)"),
        (Role::Coordinator, "coordinator (react, the base branch)"),
        (Role::CiRunner, "runner (results)"),
    ]
    .into_iter()
    .filter(|(role, _)| authorize(policy, Some(actor), *role).is_ok())
    .map(|(_, name)| name)
    .collect();
    if roles.is_empty() {
        let q = &policy.queue;
        let lists = format!(
            "trusted_actors: {}; coordinator_actors: {}; ci_runners: {}",
            listed(&q.trusted_actors),
            listed(&q.coordinator_actors),
            listed(&q.ci_runners)
        );
        return row(
            check,
            Level::Warn,
            format!(
                "writes as `{actor}`, whom the policy gives no role: the server refuses every record this clone writes"
            ),
            Some(format!(
                "`git config deploybot.actor <a name the policy lists>` ({lists}), the same name the server knows you by; or add `{actor}` to the policy"
            )),
        );
    }
    let detail = format!(
        "writes as `{actor}`: {} (the server also checks that it is who you push as)",
        roles.join(", ")
    );
    row(check, Level::Ok, detail, None)
}

fn listed(names: &[String]) -> String {
    if names.is_empty() {
        "anyone".to_string()
    } else {
        names.join(", ")
    }
}

/// How the working tree's `.deploybot.toml` stands against the base branch's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorktreePolicy {
    /// The same bytes.
    Same,
    /// Unchanged since the checked-out commit, which the base branch has
    /// moved past: an older version, not an edit.
    Behind,
    /// Edited, or committed where the base branch does not have it.
    Edited,
}

/// Compares `local` (the working tree's file) with `in_base` (the base
/// tip's) given the checked-out commit: behind when the file is what HEAD
/// holds and HEAD is an ancestor of the base tip.
pub fn worktree_policy(
    repo: &Repo,
    local: &str,
    in_base: Option<&str>,
    base_tip: Option<ObjectId>,
) -> WorktreePolicy {
    if Some(local) == in_base {
        return WorktreePolicy::Same;
    }
    let head = repo.resolve_revision("HEAD").ok().flatten();
    let (Some(head), Some(base)) = (head, base_tip) else {
        return WorktreePolicy::Edited;
    };
    let committed = repo
        .find_commit_info(head)
        .ok()
        .and_then(|info| repo.try_read_path(info.tree, POLICY_FILE).ok().flatten());
    let unchanged = committed.as_deref() == Some(local.as_bytes());
    if unchanged && repo.is_ancestor(head, base).unwrap_or(false) {
        WorktreePolicy::Behind
    } else {
        WorktreePolicy::Edited
    }
}
