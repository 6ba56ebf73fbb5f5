//! `git deploybot ci run` / `deploy run`: claim a pending commit, run a command on it, report.

use super::super::render::print_json;
use super::super::{GlobalArgs, parse_sha_arg};
use crate::core::results::ResultStatus;
use crate::error::{CliError, CliResult, ErrorKind};
use crate::ops::runner::{Pipeline, run as run_check};
use crate::session::Session;
use clap::Args;

/// Arguments of `ci run` and `deploy run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The check this run reports.
    #[arg(long, value_name = "NAME")]
    pub check: String,
    /// The exact commit [default: the first one pending for the check].
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Print the outcome as JSON (the command's own output goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// The command to run in a temporary worktree of the commit.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Runs the command; exits 6 when it failed (the failure is recorded either way).
pub fn run(global: &GlobalArgs, pipeline: Pipeline, args: RunArgs) -> CliResult {
    let sha = args
        .sha
        .as_deref()
        .map(|s| parse_sha_arg("--sha", s))
        .transpose()?;
    let session = Session::open(&global.session_options())?;
    let outcome = run_check(
        &session,
        pipeline,
        &args.check,
        sha,
        &args.command,
        args.json,
    )?;
    if args.json {
        print_json(&outcome)?;
    } else {
        println!("{}", outcome.message);
    }
    match outcome.status {
        ResultStatus::Failure => Err(CliError::new(
            ErrorKind::ReleaseFailed,
            format!("{} (recorded)", outcome.message),
        )),
        _ => Ok(()),
    }
}
