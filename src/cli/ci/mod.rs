//! `git deploybot ci …`: the CI runner side.

pub mod report;

use super::GlobalArgs;
use crate::error::CliResult;
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
}

/// Runs `ci`.
pub fn run(global: &GlobalArgs, args: CiArgs) -> CliResult {
    match args.command {
        CiCommand::Report(a) => report::run(global, crate::git::names::NOTES_CI, a),
    }
}
