//! `git deploybot react`: one coordinator pass, optionally followed.

use super::GlobalArgs;
use super::progress::Progress;
use super::render::print_json;
use crate::cli::output::out;
use crate::error::{CliError, CliResult, ErrorKind};
use crate::messages::short;
use crate::ops::follow::{FollowEnd, FollowOptions, FollowReport, Goal, follow};
use crate::ops::react::{ReactReport, ReactState, react_once};
use crate::session::Session;
use clap::Args;
use serde::Serialize;
use std::time::Duration;

/// Arguments of `react`.
#[derive(Debug, Args)]
pub struct ReactArgs {
    /// After merging, wait until the new base sha is admitted or fails.
    #[arg(long)]
    pub follow: bool,
    /// Add a `pending` CI note on the new base sha and run pipeline.ci_dispatch_command.
    #[arg(long)]
    pub dispatch_ci: bool,
    /// Bound on --follow's waiting, in seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub timeout: u64,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The react pass plus what following saw.
#[derive(Debug, Serialize)]
pub struct ReactOutput {
    /// The pass.
    #[serde(flatten)]
    pub pass: ReactReport,
    /// What --follow saw, if asked.
    pub follow: Option<FollowReport>,
}

/// Runs `react`.
pub fn run(global: &GlobalArgs, args: ReactArgs) -> CliResult {
    crate::ops::limits::flag_seconds("--timeout", args.timeout)?;
    let session = Session::open(&global.session_options())?;
    let output = react_and_follow(
        &session,
        args.follow,
        args.dispatch_ci,
        args.timeout,
        args.json,
    )?;
    if args.json {
        print_json(&output)?;
        return follow_exit(output.follow.as_ref());
    }
    out!("{}", render_text(&output))?;
    // The follow line above already said how the release ended: exit 6 or 7
    // without saying it again.
    follow_exit(output.follow.as_ref()).map_err(super::reported)
}

/// One pass, then (with `follow`) waiting for the new base sha; shared with unpause's wake-up.
pub fn react_and_follow(
    session: &Session,
    do_follow: bool,
    dispatch_ci: bool,
    timeout: u64,
    quiet: bool,
) -> CliResult<ReactOutput> {
    let pass = react_once(session, dispatch_ci)?;
    let follow = if do_follow && pass.state == ReactState::Complete {
        session.store.refresh()?;
        let mut progress = Progress::new(quiet);
        let options = FollowOptions {
            goal: Goal::Admitted,
            timeout: Duration::from_secs(timeout),
            poll: Duration::from_secs(2),
            if_needed: false,
        };
        let report = follow(session, options, &mut |line| progress.update(line))?;
        progress.finish();
        Some(report)
    } else {
        None
    };
    Ok(ReactOutput { pass, follow })
}

/// The exit status for a followed release: failed (6), timed out (7), else
/// success; the error says what the follow line says.
pub fn follow_exit(follow: Option<&FollowReport>) -> CliResult {
    let Some(f) = follow else { return Ok(()) };
    let kind = match f.outcome {
        FollowEnd::Failed => ErrorKind::ReleaseFailed,
        FollowEnd::TimedOut => ErrorKind::TimedOut,
        _ => return Ok(()),
    };
    Err(CliError::new(kind, follow_summary(f)))
}

/// How following ended, in words: `failed — main 1a2b3c4d5e6f is ci-failed after 12s`.
fn follow_summary(f: &FollowReport) -> String {
    let sha = f.sha.as_deref().map(short).unwrap_or("-");
    let release = f.release.as_ref().map(|r| r.state.as_str()).unwrap_or("-");
    let after = f.elapsed_seconds;
    match f.outcome {
        FollowEnd::Reached => {
            format!("reached — main {sha} admits the next merge ({release}, after {after}s)")
        }
        FollowEnd::Failed => match &f.paused_with {
            Some(reason) => {
                format!("failed — main {sha} is {release} after {after}s; paused: {reason}")
            }
            None => format!("failed — main {sha} is {release} after {after}s"),
        },
        FollowEnd::Paused => format!("paused — main {sha} is {release} after {after}s"),
        FollowEnd::TimedOut => {
            format!("timed out — main {sha} is still {release} after {after}s")
        }
        FollowEnd::NothingToFollow => format!("nothing to follow — main {sha} is {release}"),
    }
}

/// The follow line of a react (or unpause wake-up) text.
pub fn follow_line(f: &FollowReport) -> String {
    format!("follow: {}\n", follow_summary(f))
}

/// The human rendering: the pass, then how following ended.
pub fn render_text(output: &ReactOutput) -> String {
    let mut out = render_pass(&output.pass);
    if let Some(f) = &output.follow {
        out.push_str(&follow_line(f));
    }
    out
}

/// The pass alone, headline first.
pub fn render_pass(pass: &ReactReport) -> String {
    let mut out = String::new();
    let state = match pass.state {
        ReactState::Paused => "paused",
        ReactState::ReleaseHeld => "release-held",
        ReactState::Complete => "complete",
    };
    out.push_str(&format!("react: {state}"));
    let moved = pass
        .new_base_sha
        .as_ref()
        .filter(|new| pass.base_sha.as_ref() != Some(*new));
    match (&pass.base_sha, moved, pass.release) {
        // The headline names the new main: `main 1a2b3c4d5e6f → 9f8e7d6c5b4a, merged 2`.
        (Some(base), Some(new), _) => {
            // A landed candidate's entries are in `merged` already, one each.
            out.push_str(&format!(
                " — main {} → {}, merged {}",
                short(base),
                short(new),
                pass.merged.len()
            ));
            if pass.repair {
                out.push_str(" (the repair)");
            }
        }
        (Some(base), None, Some(release)) => {
            out.push_str(&format!(" — main {} is {}", short(base), release.as_str()))
        }
        _ => {}
    }
    if let Some(why) = &pass.why {
        out.push_str(&format!("; {why}"));
    }
    out.push('\n');
    if let Some(sha) = &pass.watermark_set {
        out.push_str(&format!(
            "  first install: verified watermark set to {}\n",
            short(sha)
        ));
    }
    if let Some(sha) = pass
        .watermark_advanced
        .as_ref()
        .filter(|_| pass.watermark_set.is_none())
    {
        out.push_str(&format!("  verified watermark moved to {}\n", short(sha)));
    }
    for line in super::status::render_history(&pass.history).lines() {
        out.push_str(&format!("  {}\n", line.trim_start()));
    }
    if let Some(reason) = &pass.superseded {
        out.push_str(&format!("  resumed: {reason}\n"));
    }
    if let Some(reason) = &pass.rebound_pause {
        let new = pass.new_base_sha.as_deref().map(short).unwrap_or("-");
        out.push_str(&format!(
            "  the pause `{reason}` landed during this merge; it now holds main at {new} (unpause that)\n"
        ));
    }
    if let Some(reason) = &pass.paused_with {
        out.push_str(&format!("  paused the pipeline: {reason}\n"));
    }
    for c in &pass.discarded {
        out.push_str(&format!(
            "  discarded candidate {}: {}\n",
            c.candidate_id, c.reason
        ));
    }
    for c in &pass.landed {
        let branches: Vec<&str> = c.entries.iter().map(|e| e.branch.as_str()).collect();
        out.push_str(&format!(
            "  landed candidate {} ({}): main fast-forwarded to {}, the commit its CI tested\n",
            c.candidate_id,
            branches.join(", "),
            short(&c.sha)
        ));
    }
    for c in &pass.built {
        let branches: Vec<&str> = c.entries.iter().map(|e| e.branch.as_str()).collect();
        out.push_str(&format!(
            "  built candidate {} ({}) at {} on {}: testing\n",
            c.candidate_id,
            branches.join(", "),
            short(&c.sha),
            short(&c.base_sha)
        ));
    }
    for m in &pass.merged {
        let tag = if pass.repair { " (repair)" } else { "" };
        out.push_str(&format!(
            "  merged {} at {} → {}{tag}\n",
            m.branch,
            short(&m.head_sha),
            short(&m.merge_sha)
        ));
    }
    for b in &pass.blocked {
        out.push_str(&format!("  blocked {}: {}\n", b.branch, b.reason));
    }
    // Blocked entries were announced when they were blocked (and `status`
    // lists them): a pass does not repeat them.
    let waiting = pass
        .waiting
        .iter()
        .filter(|w| w.state != crate::core::queue::EntryState::Blocked);
    for w in waiting {
        out.push_str(&format!("  {} {}: {}\n", w.state.as_str(), w.branch, w.why));
    }
    if pass.state == ReactState::Complete
        && pass.merged.is_empty()
        && pass.blocked.is_empty()
        && pass.built.is_empty()
        && pass.discarded.is_empty()
    {
        out.push_str("  nothing ready to merge\n");
    }
    out
}
