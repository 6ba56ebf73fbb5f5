//! `git deploybot hook …`: the server-side guard and its installer.

pub mod install;
pub mod pre_receive;
pub mod reference_transaction;

use super::GlobalArgs;
use crate::error::CliResult;
use clap::{Args, Subcommand};

/// Arguments of `hook`.
#[derive(Debug, Args)]
pub struct HookArgs {
    /// Which hook.
    #[command(subcommand)]
    pub command: HookCommand,
}

/// The hooks.
#[derive(Debug, Subcommand)]
pub enum HookCommand {
    /// Validate a push on the server (reads `<old> <new> <ref>` lines on stdin).
    PreReceive,
    /// Re-check, with ref locks held, that the base branch does not move while paused.
    ReferenceTransaction(reference_transaction::ReferenceTransactionArgs),
    /// Install the hooks into a bare server repository.
    Install(install::InstallArgs),
}

/// Runs `hook`.
pub fn run(_global: &GlobalArgs, args: HookArgs) -> CliResult {
    match args.command {
        HookCommand::PreReceive => pre_receive::run(),
        HookCommand::ReferenceTransaction(args) => reference_transaction::run(args),
        HookCommand::Install(args) => install::run(args),
    }
}

/// The repository a hook runs in: `$GIT_DIR` (git sets it for hooks), else the current directory.
pub fn hook_git_dir() -> std::path::PathBuf {
    std::env::var_os("GIT_DIR")
        .filter(|v| !v.is_empty())
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from("."))
}

/// Reads all of stdin.
pub fn read_stdin() -> CliResult<String> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::io::stdin()
        .read_to_end(&mut bytes)
        .map_err(|e| crate::error::CliError::usage(format!("cannot read the hook input: {e}")))?;
    // A ref name need not be UTF-8: each is judged by the name it reads as
    // (bytes that are not UTF-8 read as U+FFFD), so a name no rule governs
    // passes and one in a governed namespace is judged there, instead of the
    // whole push failing to parse.
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}
