//! `git deploybot ci …`: the CI runner side.

pub mod pending;
pub mod report;
pub mod run;

use super::GlobalArgs;
use crate::error::CliResult;
use crate::ops::runner::Pipeline;
use clap::{Args, Subcommand};

/// Arguments of `ci`.
#[derive(Debug, Args)]
pub struct CiArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: CiCommand,
}

/// CI subcommands.
#[derive(Debug, Subcommand)]
pub enum CiCommand {
    /// Record a CI result on an exact commit.
    Report(report::ReportArgs),
    /// List commits that need a CI run (the base tip and requested heads).
    Pending(pending::PendingArgs),
    /// Claim a pending commit, run a command in a worktree of it, report the result.
    Run(run::RunArgs),
}

/// Runs `ci`.
pub fn run(global: &GlobalArgs, args: CiArgs) -> CliResult {
    match args.command {
        CiCommand::Report(a) => report::run(global, crate::git::names::NOTES_CI, a),
        CiCommand::Pending(a) => pending::run(global, Pipeline::Ci, a),
        CiCommand::Run(a) => run::run(global, Pipeline::Ci, a),
    }
}
