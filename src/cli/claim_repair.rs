//! `git deploybot claim-repair`: take the repair lease for the failed main.

use super::render::print_json;
use super::{GlobalArgs, parse_optional_sha};
use crate::cli::output::outln;
use crate::error::CliResult;
use crate::messages::short;
use crate::ops::repair::{ClaimState, claim};
use crate::session::Session;
use clap::Args;

/// Arguments of `claim-repair`.
#[derive(Debug, Args)]
pub struct ClaimRepairArgs {
    /// Who will own the repair.
    #[arg(long)]
    pub owner: String,
    /// The failed base sha [default: the current base tip].
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `claim-repair`.
pub fn run(global: &GlobalArgs, args: ClaimRepairArgs) -> CliResult {
    let sha = parse_optional_sha("--sha", args.sha.as_deref())?;
    let session = Session::open(&global.session_options())?;
    let view = claim(&session, &args.owner, sha)?;
    if args.json {
        return print_json(&view);
    }
    let main = short(&view.lease.main_sha);
    match view.state {
        Some(ClaimState::Created) => {
            outln!(
                "claimed {} for {} (repairing {} on {main})",
                view.branch,
                view.lease.owner,
                view.lease.failure_state
            )?;
            outln!(
                "  push your fix to it, then: git deploybot request {}",
                view.branch
            )?;
        }
        Some(ClaimState::Owned) => {
            outln!("{} is already yours ({})", view.branch, view.lease.owner)?
        }
        _ => outln!(
            "{} is claimed by {} since {}",
            view.branch,
            view.lease.owner,
            view.lease.claimed_at
        )?,
    }
    Ok(())
}
