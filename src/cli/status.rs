//! `git deploybot status`: the control state, the base sha and its release, the queue, the repair lease.

use super::GlobalArgs;
use super::render::{field, or_dash, print_json};
use crate::error::CliResult;
use crate::messages::short;
use crate::ops::status::{StatusReport, gather};
use crate::session::Session;
use clap::Args;

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `status`.
pub fn run(global: &GlobalArgs, args: StatusArgs) -> CliResult {
    let session = Session::open(&global.session_options())?;
    let report = gather(&session)?;
    if args.json {
        return print_json(&report);
    }
    print!("{}", render_text(&report));
    Ok(())
}

/// The human rendering of a status report.
pub fn render_text(report: &StatusReport) -> String {
    let mut out = String::new();
    let c = &report.control;
    let mut control = c.state.as_str().to_string();
    if c.is_paused() {
        control.push_str(&format!(
            ": {} (control id {}, sha {})",
            or_dash(c.reason.as_deref()),
            or_dash(c.control_id.as_deref()),
            or_dash(c.main_sha.as_deref())
        ));
        if let Some(req) = &c.requires_control_id {
            control.push_str(&format!(", applies while {req} is current"));
        }
    } else if let Some(sha) = &c.recovered_main_sha {
        let reason = or_dash(c.recovered_reason.as_deref());
        let what = if reason.contains(sha.as_str()) {
            reason.to_string()
        } else {
            format!("{reason} on {}", short(sha))
        };
        if report.main.sha.as_deref() == Some(sha.as_str()) {
            control.push_str(&format!(": recovering from {what}"));
        } else {
            control.push_str(&format!(" (last recovery: {what})"));
        }
    }
    out.push_str(&field("control", control));
    out.push('\n');
    let main = match (&report.main.sha, &report.main.release) {
        (Some(sha), Some(release)) => format!(
            "{} at {} — {} ({})",
            report.main.branch,
            short(sha),
            release.state.as_str(),
            release.why
        ),
        _ => format!("{} does not exist yet", report.main.branch),
    };
    out.push_str(&field("main", main));
    out.push('\n');
    out.push_str(&field(
        "verified",
        or_dash(report.verified_sha.as_deref().map(short)),
    ));
    out.push('\n');
    if report.queue.is_empty() {
        out.push_str(&field("queue", "empty"));
        out.push('\n');
    }
    for (i, entry) in report.queue.iter().enumerate() {
        let label = if i == 0 { "queue" } else { "" };
        let line = format!(
            "{} {} {} — {}",
            entry.state.as_str(),
            entry.branch,
            short(&entry.head_sha),
            entry.why
        );
        out.push_str(&field(label, line));
        out.push('\n');
    }
    if let Some(repair) = &report.repair {
        let line = format!(
            "{} owned by {} since {}",
            repair.branch, repair.lease.owner, repair.lease.claimed_at
        );
        out.push_str(&field("repair", line));
        out.push('\n');
    }
    out.push_str(&field("source", &report.source));
    out.push('\n');
    for problem in &report.problems {
        out.push_str(&format!("warning: {problem}\n"));
    }
    for (i, step) in report.next.iter().enumerate() {
        let label = if i == 0 { "next" } else { "" };
        out.push_str(&field(label, step));
        out.push('\n');
    }
    out
}
