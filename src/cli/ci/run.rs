//! `git deploybot ci run` / `deploy run`: claim a pending commit, run a command on it, report.

use super::super::render::print_json;
use super::super::{GlobalArgs, parse_optional_sha};
use crate::cli::output::outln;
use crate::core::results::ResultStatus;
use crate::error::{CliError, CliResult, ErrorKind};
use crate::ops::runner::{DEFAULT_RECLAIM_AFTER, Pipeline, RunRequest, run as run_check};
use crate::ops::worktree_run::Echo;
use crate::session::Session;
use clap::Args;

/// Arguments of `ci run` and `deploy run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The check this run reports, one the policy names [default: the only one it names].
    #[arg(long, value_name = "NAME")]
    pub check: Option<String>,
    /// Run a check the policy does not name (a deliberate extra).
    #[arg(long)]
    pub force: bool,
    /// The exact commit, a sha or any revision git accepts [default: the first one pending for the check].
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Take over another runner's claim once it is this many seconds old.
    #[arg(long, default_value_t = DEFAULT_RECLAIM_AFTER as u64, value_name = "SECONDS")]
    pub reclaim_after: u64,
    /// Print the outcome as JSON (the command's own output goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// The command to run in a temporary worktree of the commit.
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Runs the command; exits 6 when it failed (the failure is recorded either way).
pub fn run(global: &GlobalArgs, pipeline: Pipeline, args: RunArgs) -> CliResult {
    let sha = parse_optional_sha("--sha", args.sha.as_deref())?;
    let session = Session::open(&global.session_options())?;
    let check = crate::ops::report::resolve_check(
        &session.policy,
        pipeline.notes_ref(),
        args.check.as_deref(),
        args.force,
    )?;
    let request = RunRequest {
        pipeline,
        check,
        sha,
        command: args.command,
        echo: if args.json {
            Echo::StdoutToStderr
        } else {
            Echo::Both
        },
        reclaim_after: i64::try_from(args.reclaim_after).unwrap_or(i64::MAX),
        force: sha.is_some(),
        lease: None,
        claimed: None,
    };
    let outcome = run_check(&session, &request)?;
    let failed = outcome.status == ResultStatus::Failure;
    if args.json {
        print_json(&outcome)?;
    } else if !failed {
        // A failure is said once, by the error line below.
        outln!("{}", outcome.message)?;
    }
    match outcome.status {
        ResultStatus::Failure => Err(CliError::new(
            ErrorKind::ReleaseFailed,
            format!("{} (recorded)", outcome.message),
        )),
        _ => Ok(()),
    }
}
