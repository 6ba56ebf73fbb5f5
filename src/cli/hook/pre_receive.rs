//! `git deploybot hook pre-receive`: judge a whole push, refusing it with one line per problem.

use crate::error::{CliError, CliResult, ErrorKind};
use crate::git::quarantine::{HookObjectDirs, HookRepo};
use crate::hook::{check_push, input::parse_input};
use crate::messages;

/// Runs the hook: reads git's input, prints problems to stderr, fails when there are any.
pub fn run() -> CliResult {
    let text = super::read_stdin()?;
    let changes = match parse_input(&text) {
        Ok(changes) => changes,
        Err(line) => {
            eprintln!("{}", messages::hook_bad_input(&line));
            return Err(refused(1));
        }
    };
    if changes.is_empty() {
        return Ok(());
    }
    let dirs = HookObjectDirs::from_env(|name| std::env::var_os(name));
    let opened = HookRepo::open(&super::hook_git_dir(), &dirs)?;
    let problems = check_push(&opened.repo, &changes, &|name| std::env::var(name).ok())?;
    if problems.is_empty() {
        return Ok(());
    }
    for line in &problems {
        eprintln!("{line}");
    }
    Err(refused(problems.len()))
}

/// The final error of a refused push.
fn refused(problems: usize) -> CliError {
    CliError::new(
        ErrorKind::Refused,
        format!(
            "git-deploybot refused the push ({problems} problem(s) above); nothing was updated"
        ),
    )
}
