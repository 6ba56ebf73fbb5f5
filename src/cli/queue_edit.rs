//! `git deploybot cancel | block | unblock`: edit a queued entry.

use super::GlobalArgs;
use super::render::print_json;
use crate::cli::output::outln;
use crate::core::queue::QueueAction;
use crate::error::CliResult;
use crate::ops::queue::change;
use crate::session::Session;
use clap::Args;

/// Arguments of `cancel` and `unblock`.
#[derive(Debug, Args)]
pub struct BranchArgs {
    /// The queued branch.
    pub branch: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Arguments of `block`.
#[derive(Debug, Args)]
pub struct BlockArgs {
    /// The queued branch.
    pub branch: String,
    /// Why it must not merge.
    #[arg(long)]
    pub reason: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `cancel`, `block` (with a reason) or `unblock`.
pub fn run(
    global: &GlobalArgs,
    action: QueueAction,
    branch: &str,
    reason: Option<&str>,
    json: bool,
) -> CliResult {
    if let Some(reason) = reason {
        crate::ops::control::validate_reason(reason)?;
    }
    let session = Session::open(&global.session_options())?;
    let done = change(&session, action, branch, reason)?;
    if json {
        return print_json(&done);
    }
    outln!("{}", done.message)?;
    Ok(())
}
