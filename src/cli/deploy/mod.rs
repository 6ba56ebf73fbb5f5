//! `git deploybot deploy …`: the deploy runner side.

use super::GlobalArgs;
use super::ci::{pending, report, run as runner};
use crate::error::CliResult;
use crate::ops::runner::Pipeline;
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
    /// List the base commit when it awaits a deploy.
    Pending(pending::PendingArgs),
    /// Deploy the base tip with a command (an older sha is recorded as skipped).
    Run(runner::RunArgs),
}

/// Runs `deploy`.
pub fn run(global: &GlobalArgs, args: DeployArgs) -> CliResult {
    match args.command {
        DeployCommand::Report(a) => report::run(global, crate::git::names::NOTES_DEPLOY, a),
        DeployCommand::Pending(a) => pending::run(global, Pipeline::Deploy, a),
        DeployCommand::Run(a) => runner::run(global, Pipeline::Deploy, a),
    }
}
