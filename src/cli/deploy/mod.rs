//! `git deploybot deploy …`: the deploy runner side.

use super::GlobalArgs;
use super::ci::report;
use crate::error::CliResult;
use clap::{Args, Subcommand};

/// Arguments of `deploy`.
#[derive(Debug, Args)]
pub struct DeployArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: DeployCommand,
}

/// Deploy subcommands.
#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Record a deploy or verification result on an exact commit.
    Report(report::ReportArgs),
}

/// Runs `deploy`.
pub fn run(global: &GlobalArgs, args: DeployArgs) -> CliResult {
    match args.command {
        DeployCommand::Report(a) => report::run(global, crate::git::names::NOTES_DEPLOY, a),
    }
}
