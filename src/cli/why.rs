//! `git deploybot why BRANCH`: an entry's whole story and where it stands now.

use super::GlobalArgs;
use super::render::{field, print_json};
use crate::cli::output::out;
use crate::error::CliResult;
use crate::ops::why::{WhyReport, why};
use crate::session::Session;
use clap::Args;

/// Arguments of `why`.
#[derive(Debug, Args)]
pub struct WhyArgs {
    /// The branch (as requested, e.g. feature/x).
    pub branch: String,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `why`.
pub fn run(global: &GlobalArgs, args: WhyArgs) -> CliResult {
    let session = Session::open(&global.session_options())?;
    let report = why(&session, &args.branch)?;
    if args.json {
        return print_json(&report);
    }
    out!("{}", render_text(&report))?;
    Ok(())
}

/// The human rendering: one line per event (time, kind, detail), then where it stands.
pub fn render_text(report: &WhyReport) -> String {
    let mut text = String::new();
    for event in &report.events {
        let at = event.at.as_deref().unwrap_or("-");
        let kind = serde_json::to_value(event.kind)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default();
        text.push_str(&format!("{at:<20} {kind:<10} {}\n", event.detail));
    }
    text.push_str(&field("now", format!("{} — {}", report.state, report.why)));
    text.push('\n');
    if let Some(tail) = &report.log_tail {
        text.push_str(&crate::messages::log_tail_block(tail));
    }
    text
}
