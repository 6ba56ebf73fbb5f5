//! `git deploybot ci pending` / `deploy pending`: commits that need a run of a check.

use super::super::GlobalArgs;
use super::super::render::print_json;
use crate::error::CliResult;
use crate::messages::short;
use crate::ops::runner::{Pipeline, pending};
use crate::session::Session;
use clap::Args;

/// Arguments of `ci pending`.
#[derive(Debug, Args)]
pub struct PendingArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `pending` for a pipeline.
pub fn run(global: &GlobalArgs, pipeline: Pipeline, args: PendingArgs) -> CliResult {
    let session = Session::open(&global.session_options())?;
    let items = pending(&session, pipeline)?;
    if args.json {
        return print_json(&items);
    }
    if items.is_empty() {
        println!("nothing pending");
    }
    for item in &items {
        println!(
            "{} {:<12} {} ({} {})",
            short(&item.sha),
            item.check,
            item.sha,
            item.source,
            item.branch
        );
    }
    Ok(())
}
