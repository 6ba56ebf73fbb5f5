//! Every sentence a user can see, built in one place so wording changes here
//! and tests can pin it. Each error names the problem and the next step.

use std::path::Path;

mod control;
mod hook;
mod insight;
mod next;
mod ops;
mod page;
mod queue;
mod runner;
mod setup;
mod stats;

pub use control::*;
pub use hook::*;
pub use insight::*;
pub use next::*;
pub use ops::*;
pub use page::*;
pub use queue::*;
pub use runner::*;
pub use setup::*;
pub use stats::*;

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

/// `-C <path>` names no directory (or a file).
pub fn no_such_directory(dir: &Path) -> String {
    let what = if dir.exists() {
        "is not a directory"
    } else {
        "does not exist"
    };
    format!(
        "-C {}: the directory {what}; pass a directory inside a clone",
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

/// A sha argument that cannot even be a revision.
pub fn bad_sha(flag: &str, text: &str) -> String {
    let shown = crate::core::json::printable(text);
    format!(
        "{flag} `{shown}` is not a sha or a revision (empty, spaces, control characters or a leading `-`); give a sha, a branch, a tag or `HEAD`, as to git"
    )
}

/// `status --offline` in a clone of `remote`.
pub fn offline_in_a_clone(remote: &str) -> String {
    format!(
        "note: --offline reads this clone's own refs/deploybot/*, not `{remote}`'s shared state (a clone has none of its own); `status --cached` shows `{remote}`'s as last fetched, without fetching"
    )
}

/// How to read the pages `man --dir` just wrote into `dir`: `man` finds
/// pages only in a folder named `man1` under a MANPATH entry.
pub fn man_try(dir: &std::path::Path) -> String {
    let named_man1 = dir.file_name().is_some_and(|n| n == "man1");
    match dir.parent() {
        Some(parent) if named_man1 => format!(
            "  try: man -M {} git-deploybot   (or add {} to MANPATH, and `git deploybot --help` opens it)",
            parent.display(),
            parent.display()
        ),
        _ => format!(
            "  try: man {}   (man searches only folders named man1: use --dir <somewhere>/man1 for `man git-deploybot` and `git deploybot --help`)",
            dir.join("git-deploybot.1").display()
        ),
    }
}

/// Where a usage error points for help on `command` ("" for the top level):
/// `-h` and `help` always work; `--help` opens git's man page viewer.
pub fn help_hint(command: &str) -> String {
    if command.is_empty() {
        "see `git deploybot -h` or `git deploybot help <command>`".to_owned()
    } else {
        format!("see `git deploybot {command} -h`")
    }
}

/// `--check` left out where the policy names no single check.
pub fn check_needed(known: &[String]) -> String {
    match known {
        [] => {
            "--check is needed: the policy names no check here; name the one you report".to_owned()
        }
        _ => format!(
            "--check is needed: the policy names {}; pick one",
            quote_list(known)
        ),
    }
}

/// A `--check` the policy does not name.
pub fn unknown_check(given: &str, known: &[String], alike: Option<&str>) -> String {
    let shown = crate::core::json::printable(given);
    let hint = alike
        .map(|a| format!("did you mean `{a}`? (names are case-sensitive) "))
        .unwrap_or_default();
    let names = if known.is_empty() {
        "none".to_owned()
    } else {
        quote_list(known)
    };
    format!(
        "check `{shown}` is not one the policy names (it names {names}): nothing would wait on it; {hint}or add --force to record it anyway"
    )
}

/// `` `a`, `b` `` for messages.
fn quote_list(names: &[String]) -> String {
    names
        .iter()
        .map(|n| format!("`{}`", crate::core::json::printable(n)))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Which commit a short or symbolic `--sha` named.
pub fn sha_named(flag: &str, text: &str, full: &str) -> String {
    format!("{flag} `{text}` is commit {full}")
}

/// An abbreviated sha that several commits start with.
pub fn ambiguous_sha(flag: &str, text: &str) -> String {
    format!(
        "{flag} `{text}` is ambiguous: several commits start with it; give more hex digits (`git rev-parse --disambiguate={text}` lists them)"
    )
}

/// A sha or revision that names no commit here, even after fetching.
pub fn unknown_sha(flag: &str, text: &str) -> String {
    format!(
        "{flag} `{text}` names no commit in this repository (as a sha, branch, tag or revision like `HEAD~1`); check it, or copy a sha from `git deploybot status`"
    )
}

/// A reason that cannot be stored.
pub fn bad_reason(why: &str) -> String {
    format!("--reason {why}; give a short single-line reason")
}
