//! `git deploybot prune --logs-older-than DURATION`: drop old run logs.

use super::GlobalArgs;
use super::render::print_json;
use crate::cli::output::outln;
use crate::error::{CliError, CliResult};
use crate::messages;
use crate::ops::prune::prune_logs;
use crate::session::Session;
use clap::Args;

/// Arguments of `prune`.
#[derive(Debug, Args)]
pub struct PruneArgs {
    /// Drop the run logs (refs/notes/deploybot/logs) written longer ago than this: 90d, 12h, 30m, 3600s. Results are never touched.
    #[arg(long, value_name = "DURATION")]
    pub logs_older_than: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `prune`.
pub fn run(global: &GlobalArgs, args: PruneArgs) -> CliResult {
    let seconds = crate::core::logs::parse_duration(&args.logs_older_than)
        .ok_or_else(|| CliError::usage(messages::bad_duration(&args.logs_older_than)))?;
    let session = Session::open(&global.session_options())?;
    let cutoff = crate::ops::now_seconds().saturating_sub(seconds);
    let pruned = prune_logs(&session, cutoff)?;
    if args.json {
        return print_json(&pruned);
    }
    outln!(
        "pruned {} run log(s) written before {}: {} commit(s) had logs, {} still have",
        pruned.entries_removed,
        crate::core::time::format_rfc3339(cutoff),
        pruned.notes_before,
        pruned.notes_after
    )?;
    Ok(())
}
