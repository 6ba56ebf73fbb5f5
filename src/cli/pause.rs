//! `git deploybot pause`: stop merging until an operator unpauses.

use super::{GlobalArgs, sha_syntax};
use crate::cli::output::outln;
use crate::error::CliResult;
use crate::messages::{self, short};
use crate::ops::control::{PauseOutcome, pause};
use crate::session::Session;
use clap::Args;

/// Arguments of `pause`.
#[derive(Debug, Args)]
pub struct PauseArgs {
    /// Why (shown in status and the audit log).
    #[arg(long)]
    pub reason: String,
    /// The base sha the pause is bound to, or any revision git accepts [default: the current base tip].
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Print the outcome as JSON (`{"outcome": "paused" | "already-paused" | "ignored", …}`).
    #[arg(long)]
    pub json: bool,
}

/// Runs `pause`.
pub fn run(global: &GlobalArgs, args: PauseArgs) -> CliResult {
    let sha_arg = (args.sha.as_deref())
        .map(|t| sha_syntax("--sha", t))
        .transpose()?;
    crate::ops::control::validate_reason(&args.reason)?;
    let session = Session::open(&global.session_options())?;
    let sha = super::session_sha(&session, "--sha", sha_arg.as_ref())?;
    // A pause binds to a main: the sha must name a commit this clone has
    // (after the fetch), or no unpause could ever resume it.
    if let Some(oid) = sha
        && !session.repo().is_commit(oid)?
    {
        let given = args.sha.as_deref().unwrap_or_default();
        return Err(crate::error::CliError::usage(messages::unknown_sha(
            "--sha", given,
        )));
    }
    let outcome = pause(&session, &args.reason, sha)?;
    if args.json {
        return super::render::print_json(&outcome);
    }
    match outcome {
        PauseOutcome::Paused {
            control_id,
            main_sha,
            reason,
        } => {
            outln!("paused: {reason}")?;
            outln!("  control id {control_id}, bound to {}", short(&main_sha))?;
            outln!(
                "  resume with: git deploybot unpause --sha {main_sha} --control-id {control_id}"
            )?;
        }
        PauseOutcome::AlreadyPaused { control_id } => {
            outln!("{}", crate::messages::already_paused(&control_id))?;
        }
        PauseOutcome::Ignored { main_sha } => {
            outln!("{}", crate::messages::pause_ignored(&main_sha))?;
        }
    }
    Ok(())
}
