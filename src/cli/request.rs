//! `git deploybot request`: ask for a branch's exact head to be merged.

use super::render::print_json;
use super::{GlobalArgs, sha_syntax};
use crate::cli::output::outln;
use crate::error::CliResult;
use crate::ops::queue::request;
use crate::session::Session;
use clap::Args;

/// Arguments of `request`.
#[derive(Debug, Args)]
pub struct RequestArgs {
    /// The branch to merge (its short name).
    pub branch: String,
    /// The exact head to bind to (a sha or any revision git accepts); must be the branch's current tip [default: that tip].
    #[arg(long, value_name = "SHA")]
    pub sha: Option<String>,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `request`.
pub fn run(global: &GlobalArgs, args: RequestArgs) -> CliResult {
    let sha_arg = (args.sha.as_deref())
        .map(|t| sha_syntax("--sha", t))
        .transpose()?;
    let session = Session::open(&global.session_options())?;
    let sha = super::session_sha(&session, "--sha", sha_arg.as_ref())?;
    let change = request(&session, &args.branch, sha)?;
    if args.json {
        return print_json(&change);
    }
    outln!("{}", change.message)?;
    Ok(())
}
