//! `git deploybot ci report` and `deploy report`: one JSON line on the exact commit's note.

use super::super::render::print_json;
use super::super::{GlobalArgs, parse_sha_arg};
use crate::cli::output::outln;
use crate::core::results::ResultStatus;
use crate::error::{CliError, CliResult};
use crate::messages::{self, short};
use crate::ops::report::{Report, append_report};
use crate::session::Session;
use clap::Args;

/// Arguments of `ci report` and `deploy report`.
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// The exact commit the result is for (a sha, or any revision git accepts: `HEAD`, a branch, a tag).
    #[arg(long, value_name = "SHA")]
    pub sha: String,
    /// The check's name, one the policy names [default: the only one it names].
    #[arg(long, value_name = "NAME")]
    pub check: Option<String>,
    /// Record a check the policy does not name (a deliberate extra).
    #[arg(long)]
    pub force: bool,
    /// pending, success, failure, cancelled or skipped.
    #[arg(long, value_name = "STATUS")]
    pub status: String,
    /// A link to the run.
    #[arg(long)]
    pub url: Option<String>,
    /// The runner's id for the run.
    #[arg(long, value_name = "ID")]
    pub run_id: Option<String>,
    /// Who ran it [default: the actor].
    #[arg(long)]
    pub runner: Option<String>,
    /// Print the recorded line as JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs a report into `notes_ref`.
pub fn run(global: &GlobalArgs, notes_ref: &str, args: ReportArgs) -> CliResult {
    let sha = parse_sha_arg("--sha", &args.sha)?;
    let status = ResultStatus::parse(&args.status)
        .ok_or_else(|| CliError::usage(messages::bad_status(&args.status)))?;
    if let Some(check) = &args.check {
        crate::ops::report::validate_check_name(check)?;
    }
    let session = Session::open(&global.session_options())?;
    let check = crate::ops::report::resolve_check(
        &session.policy,
        notes_ref,
        args.check.as_deref(),
        args.force,
    )?;
    let record = append_report(
        &session,
        notes_ref,
        &Report {
            sha,
            check,
            status,
            url: args.url,
            run_id: args.run_id,
            runner: args.runner,
        },
    )?;
    if args.json {
        return print_json(&record);
    }
    outln!(
        "recorded {} {} on {}",
        record.check,
        record.status.as_str(),
        short(&sha.to_string())
    )?;
    Ok(())
}
