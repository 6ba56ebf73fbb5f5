//! `git deploybot claim-repair`: take the repair lease for the failed main.

use super::render::print_json;
use super::{GlobalArgs, sha_syntax};
use crate::cli::output::outln;
use crate::error::CliResult;
use crate::messages::short;
use crate::ops::repair::{ClaimState, claim};
use crate::session::Session;
use clap::Args;

/// Arguments of `claim-repair`.
#[derive(Debug, Args)]
pub struct ClaimRepairArgs {
    /// Who will own the repair [default: the actor (--actor, deploybot.actor, user.email, …)].
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// The failed base sha, or any revision git accepts [default: the current base tip].
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Print JSON instead of text (`"state": "created" | "owned" | "claimed"`).
    #[arg(long)]
    pub json: bool,
}

/// Runs `claim-repair`.
pub fn run(global: &GlobalArgs, args: ClaimRepairArgs) -> CliResult {
    let sha_arg = (args.sha.as_deref())
        .map(|t| sha_syntax("--sha", t))
        .transpose()?;
    let session = Session::open(&global.session_options())?;
    let sha = super::session_sha(&session, "--sha", sha_arg.as_ref())?;
    let owner = args.owner.unwrap_or_else(|| session.actor.clone());
    let view = claim(&session, &owner, sha)?;
    if args.json {
        return print_json(&view);
    }
    // The same word as the JSON `state`: created, owned, claimed.
    let main = short(&view.lease.main_sha);
    let lease = &view.lease;
    match view.state {
        Some(ClaimState::Created) => outln!(
            "created: {} for {} (repairing {} on {main})",
            view.branch,
            lease.owner,
            lease.failure_state
        )?,
        Some(ClaimState::Owned) => outln!(
            "owned: {} is already yours ({}, repairing {} on {main})",
            view.branch,
            lease.owner,
            lease.failure_state
        )?,
        _ => {
            return outln!(
                "claimed: {} belongs to {} since {}; ask them, or help on their branch",
                view.branch,
                lease.owner,
                lease.claimed_at
            );
        }
    }
    outln!(
        "  push your fix to it, then: git deploybot request {}",
        view.branch
    )?;
    Ok(())
}
