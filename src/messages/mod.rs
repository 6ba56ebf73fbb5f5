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

/// A sha argument that is not 7 to 40 hex digits.
pub fn bad_sha(flag: &str, text: &str) -> String {
    format!(
        "{flag} `{text}` is not a sha (7 to 40 hex digits); copy it from `git deploybot status`"
    )
}

/// An abbreviated sha that several commits start with.
pub fn ambiguous_sha(flag: &str, text: &str) -> String {
    format!(
        "{flag} `{text}` is ambiguous: several commits start with it; give more hex digits (`git rev-parse --disambiguate={text}` lists them)"
    )
}

/// An abbreviated sha that names no commit here, even after fetching.
pub fn unknown_sha(flag: &str, text: &str) -> String {
    format!(
        "{flag} `{text}` names no commit in this repository; check it, or copy it from `git deploybot status`"
    )
}

/// A reason that cannot be stored.
pub fn bad_reason(why: &str) -> String {
    format!("--reason {why}; give a short single-line reason")
}
