//! `git deploybot status`: the control state, the base sha and its release, the queue, the repair lease.

use super::GlobalArgs;
use super::render::{field, or_dash, print_json};
use crate::cli::output::{out, outln, warn_lines};
use crate::error::CliResult;
use crate::git::store::Sync;
use crate::messages;
use crate::messages::short;
use crate::ops::status::{StatusReport, gather};
use crate::session::Session;
use clap::Args;
use serde::Serialize;

/// Arguments of `status`.
#[derive(Debug, Args)]
pub struct StatusArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Show the state last fetched from the remote, without fetching (works while the server is down).
    #[arg(long)]
    pub cached: bool,
}

/// `status --json`: the report, plus how fresh the state it was read from is.
#[derive(Debug, Serialize)]
pub struct StatusOutput<'a> {
    /// The status report itself.
    #[serde(flatten)]
    pub report: &'a StatusReport,
    /// True when read from the mirror without fetching (`--cached`).
    pub cached: bool,
    /// When the mirror was last fetched (RFC 3339; null for local state or when unknown).
    pub fetched_at: Option<String>,
    /// Seconds since that fetch (null when `fetched_at` is).
    pub age_seconds: Option<u64>,
}

/// Runs `status`.
pub fn run(global: &GlobalArgs, args: StatusArgs) -> CliResult {
    let mut options = global.session_options();
    options.cached = args.cached;
    let session = Session::open(&options)?;
    let report = gather(&session)?;
    let remote = match &session.store.sync {
        Sync::Remote(name) => Some(name.as_str()),
        Sync::Local => None,
    };
    let fetched = remote.and_then(|r| session.repo().last_fetch(r));
    let age = fetched.map(|at| (crate::ops::now_seconds() - at).max(0) as u64);
    let fetched_at = fetched.map(crate::core::time::format_rfc3339);
    if args.cached {
        let remote = remote.expect("--cached needs a remote (checked by Session::open)");
        warn_lines(&[&messages::cached_warning(remote, age)]);
    }
    // --offline in a clone: this clone's own refs, which a clone never has;
    // the remote's state is in the mirror (`--cached`).
    // The remote a fetching run would read: --remote, deploybot.remote, the policy's.
    let configured = global
        .remote
        .clone()
        .or_else(|| session.repo().config_string("deploybot.remote"))
        .unwrap_or_else(|| session.policy.queue.remote.clone());
    if global.offline && session.repo().has_remote(&configured) {
        warn_lines(&[&messages::offline_in_a_clone(&configured)]);
    }
    if args.json {
        return print_json(&StatusOutput {
            report: &report,
            cached: args.cached,
            fetched_at,
            age_seconds: age,
        });
    }
    out!("{}", render_text(&report))?;
    if let (true, Some(remote)) = (args.cached, remote) {
        let line = messages::cached_line(remote, fetched_at.as_deref(), age);
        outln!("{}", field("cached", line))?;
    }
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
        let what = messages::recovered_what(reason, sha);
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
    if let Some(tail) = &report.main.log_tail {
        out.push_str(&messages::log_tail_block(tail));
    }
    // The watermark, never to be confused with main's own release above.
    let mut verified = match report.verified_sha.as_deref() {
        Some(sha) if report.main.sha.as_deref() == Some(sha) => {
            format!("{} (refs/deploybot/verified: this main)", short(sha))
        }
        Some(sha) => format!("{} (refs/deploybot/verified: an older main)", short(sha)),
        None => "- (refs/deploybot/verified: nothing yet)".to_owned(),
    };
    if let Some(next) = &report.watermark_next {
        verified.push_str(&format!(" (the next react moves it to {})", short(next)));
    }
    out.push_str(&field("watermark", verified));
    out.push('\n');
    if let Some(why) = &report.recovery_why {
        out.push_str(&field("recovery", why));
        out.push('\n');
    }
    out.push_str(&render_history(&report.history));
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
    for (i, c) in report.candidates.iter().enumerate() {
        let label = if i == 0 { "train" } else { "" };
        let branches: Vec<&str> = c.entries.iter().map(|e| e.branch.as_str()).collect();
        let line = format!(
            "{} {} {} ({}) — {}",
            c.state,
            c.candidate_id,
            short(&c.sha),
            branches.join(", "),
            c.why
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

/// The older mains' lines: the failure the next pass pauses for, and the
/// failures a newer verified or recovered main superseded.
pub fn render_history(history: &crate::core::judgement::HistoryVerdict) -> String {
    let mut out = String::new();
    if let Some(f) = &history.failure {
        let line = format!(
            "{} on older main {} — {}; react pauses for it",
            f.state.as_str(),
            short(&f.sha),
            f.why
        );
        out.push_str(&field("older", line));
        out.push('\n');
    }
    let by = match (&history.verified, &history.recovered) {
        (Some(v), _) => format!("verified {}", short(&v.sha)),
        (None, Some(r)) => format!("the recovery of {}", short(r)),
        (None, None) => "the tip".to_owned(),
    };
    for s in &history.superseded {
        let line = crate::messages::superseded_failure_why(&s.sha, s.state.as_str(), &by);
        out.push_str(&field("superseded", format!("{line} ({})", s.why)));
        out.push('\n');
    }
    out
}
