//! `git deploybot hook reference-transaction <state>`: with the ref locks held
//! (`prepared`), refuse a base-branch move while the pipeline is paused. This
//! closes the window between pre-receive's read of the pause state and the
//! moment the update lands. Other states (`committed`, `aborted`) do nothing.

use crate::error::{CliError, CliResult, ErrorKind};
use crate::git::quarantine::{HookObjectDirs, HookRepo};
use crate::hook::{check_transaction, input::parse_input};
use clap::Args;

/// Arguments of `hook reference-transaction`.
#[derive(Debug, Args)]
pub struct ReferenceTransactionArgs {
    /// The transaction state git passes: prepared, committed or aborted.
    pub state: String,
}

/// Runs the hook.
pub fn run(args: ReferenceTransactionArgs) -> CliResult {
    let text = super::read_stdin()?;
    if args.state != "prepared" {
        return Ok(());
    }
    // Symbolic updates are skipped by the parser; anything unreadable is not ours to judge.
    let Ok(changes) = parse_input(&text) else {
        return Ok(());
    };
    if !changes.iter().any(|c| c.name.starts_with("refs/heads/")) {
        return Ok(());
    }
    let dirs = HookObjectDirs::from_env(|name| std::env::var_os(name));
    let opened = HookRepo::open(&super::hook_git_dir(), &dirs)?;
    let problems = check_transaction(&opened.repo, &changes)?;
    if problems.is_empty() {
        return Ok(());
    }
    for line in &problems {
        eprintln!("{line}");
    }
    Err(CliError::new(
        ErrorKind::Refused,
        "git-deploybot refused the ref transaction (the pipeline is paused)",
    ))
}
