//! `git deploybot follow`: follow the newest base sha through CI, deploy and verification.

use super::GlobalArgs;
use super::progress::Progress;
use super::render::print_json;
use crate::cli::output::outln;
use crate::error::{CliError, CliResult, ErrorKind};
use crate::messages::{self, short};
use crate::ops::follow::{FollowEnd, FollowOptions, FollowReport, Goal, follow};
use crate::session::Session;
use clap::Args;

/// Arguments of `follow`.
#[derive(Debug, Args)]
pub struct FollowArgs {
    /// Return at once (exit 0) when the base sha is already verified.
    #[arg(long)]
    pub if_needed: bool,
    /// Give up after this many seconds (exit 7).
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub timeout: u64,
    /// Re-read the remote this often, in seconds.
    #[arg(long, default_value_t = 5, value_name = "SECONDS")]
    pub poll: u64,
    /// Print only the final JSON.
    #[arg(long)]
    pub json: bool,
}

/// Runs `follow`.
pub fn run(global: &GlobalArgs, args: FollowArgs) -> CliResult {
    let timeout = crate::ops::limits::flag_seconds("--timeout", args.timeout)?;
    let poll = crate::ops::limits::flag_seconds("--poll", args.poll)?;
    let session = Session::open(&global.session_options())?;
    let options = FollowOptions {
        goal: Goal::Verified,
        timeout,
        poll,
        if_needed: args.if_needed,
    };
    let mut progress = Progress::new(args.json);
    let report = follow(&session, options, &mut |line| progress.update(line))?;
    progress.finish();
    if args.json {
        print_json(&report)?;
        return exit_for(&report);
    }
    outln!("{}", render_text(&report))?;
    // The summary line said it: the exit status carries it, said once.
    exit_for(&report).map_err(super::reported)
}

/// The one-line human summary.
pub fn render_text(report: &FollowReport) -> String {
    let sha = report.sha.as_deref().map(short).unwrap_or("-");
    let state = report
        .release
        .as_ref()
        .map(|r| r.state.as_str())
        .unwrap_or("-");
    let why = report
        .release
        .as_ref()
        .map(|r| r.why.as_str())
        .unwrap_or("");
    match report.outcome {
        FollowEnd::Reached | FollowEnd::NothingToFollow => format!(
            "verified: {sha} (refs/deploybot/verified at {})",
            report.verified_sha.as_deref().map(short).unwrap_or("-")
        ),
        FollowEnd::Failed => match (&report.paused_with, &report.pause_left_to_coordinator) {
            (Some(reason), _) => format!("failed: {sha} is {state} ({why}); paused: {reason}"),
            (None, Some(refused)) => format!(
                "failed: {sha} is {state} ({why}); {}",
                messages::pause_left_to_coordinator(refused)
            ),
            (None, None) => format!("failed: {sha} is {state} ({why})"),
        },
        FollowEnd::Paused => format!("paused: {sha} is {state}; {}", messages::follow_paused()),
        FollowEnd::TimedOut => format!(
            "timed out after {}s: {sha} is still {state} ({why})",
            report.elapsed_seconds
        ),
    }
}

/// Exit codes scripts branch on: 0 verified, 6 failed, 7 timed out, 3 paused.
pub fn exit_for(report: &FollowReport) -> CliResult {
    match report.outcome {
        FollowEnd::Reached | FollowEnd::NothingToFollow => Ok(()),
        FollowEnd::Failed => Err(CliError::new(
            ErrorKind::ReleaseFailed,
            "the followed release failed",
        )),
        FollowEnd::TimedOut => Err(CliError::new(
            ErrorKind::TimedOut,
            "timed out following the release",
        )),
        FollowEnd::Paused => Err(CliError::precondition(messages::follow_paused())),
    }
}
