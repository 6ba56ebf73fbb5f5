//! `git deploybot ci pending` / `deploy pending`: commits that need a run of a check.

use super::super::GlobalArgs;
use super::super::render::print_json;
use crate::cli::output::outln;
use crate::error::CliResult;
use crate::messages::short;
use crate::ops::runner::{DEFAULT_RECLAIM_AFTER, Pipeline, pending};
use crate::session::Session;
use clap::Args;

/// Arguments of `ci pending`.
#[derive(Debug, Args)]
pub struct PendingArgs {
    /// List commits whose claim by another runner is at least this many seconds old.
    #[arg(long, default_value_t = DEFAULT_RECLAIM_AFTER as u64, value_name = "SECONDS")]
    pub reclaim_after: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `pending` for a pipeline.
pub fn run(global: &GlobalArgs, pipeline: Pipeline, args: PendingArgs) -> CliResult {
    let session = Session::open(&global.session_options())?;
    let items = pending(
        &session,
        pipeline,
        i64::try_from(args.reclaim_after).unwrap_or(i64::MAX),
    )?;
    if args.json {
        return print_json(&items);
    }
    if items.is_empty() {
        outln!("nothing pending")?;
        return Ok(());
    }
    let mut rows = vec![["source", "branch", "sha", "check"].map(String::from)];
    rows.extend(items.iter().map(|item| {
        [
            item.source.clone(),
            item.branch.clone(),
            short(&item.sha).to_string(),
            item.check.clone(),
        ]
    }));
    for line in aligned(&rows) {
        outln!("{line}")?;
    }
    Ok(())
}

/// The rows as lines of columns padded to their widest cell, two spaces apart.
fn aligned(rows: &[[String; 4]]) -> Vec<String> {
    let mut widths = [0; 4];
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    rows.iter()
        .map(|row| {
            let cells: Vec<String> = row
                .iter()
                .zip(widths)
                .map(|(cell, width)| format!("{cell:<width$}"))
                .collect();
            cells.join("  ").trim_end().to_string()
        })
        .collect()
}
