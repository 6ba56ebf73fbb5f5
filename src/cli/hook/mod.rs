//! `git deploybot hook …`: server-side hooks (being written; see issue 4).

use super::GlobalArgs;
use crate::error::{CliError, CliResult, ErrorKind};
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
}

/// Runs `hook`.
pub fn run(_global: &GlobalArgs, _args: HookArgs) -> CliResult {
    Err(CliError::new(
        ErrorKind::Runtime,
        "hook pre-receive is not available in this build",
    ))
}
