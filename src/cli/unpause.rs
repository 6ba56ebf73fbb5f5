//! `git deploybot unpause`: resume with a durable recovery, then wake the reactor.

use super::react::{ReactOutput, follow_exit, follow_line, react_and_follow, render_pass};
use super::render::print_json;
use super::{GlobalArgs, sha_syntax};
use crate::cli::output::out;
use crate::error::{CliError, CliResult};
use crate::messages::{self, short};
use crate::ops::unpause::{Unpaused, unpause};
use crate::session::Session;
use clap::Args;
use serde::Serialize;

/// Arguments of `unpause`.
#[derive(Debug, Args)]
pub struct UnpauseArgs {
    /// The sha the current pause is bound to (from `status`; any revision git accepts).
    #[arg(long, value_name = "SHA")]
    pub sha: String,
    /// The current pause's control id (from `status`).
    #[arg(long, value_name = "ID")]
    pub control_id: String,
    /// Record the recovery but do not run the reactor now.
    #[arg(long)]
    pub no_wake: bool,
    /// Let the wake-up follow the new base sha until admitted or failed.
    #[arg(long)]
    pub follow: bool,
    /// Let the wake-up dispatch CI for the new base sha.
    #[arg(long)]
    pub dispatch_ci: bool,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
    /// Bound on the wake-up's waiting, in seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub timeout: u64,
}

/// Runs `unpause`.
pub fn run(global: &GlobalArgs, args: UnpauseArgs) -> CliResult {
    let sha_arg = sha_syntax("--sha", &args.sha)?;
    if args.control_id.trim().is_empty() {
        return Err(CliError::usage(
            "--control-id is empty; copy it from `git deploybot status`",
        ));
    }
    crate::ops::limits::flag_seconds("--timeout", args.timeout)?;
    let session = Session::open(&global.session_options())?;
    let sha = super::resolve_or_unknown(session.repo(), "--sha", &sha_arg)?;
    let recovery = unpause(&session, sha, &args.control_id)?;
    let mut output = UnpauseOutput {
        recovery,
        woke: !args.no_wake,
        wake_up: None,
        wake_up_deferred: None,
        wake_up_refused: Vec::new(),
    };
    if !args.no_wake {
        // The recovery is durable: a wake-up failure is reported, never
        // re-pauses, and unpause still succeeds.
        match react_and_follow(
            &session,
            args.follow,
            args.dispatch_ci,
            args.timeout,
            args.json,
        ) {
            Ok(woke) => {
                if let Err(err) = follow_exit(woke.follow.as_ref()) {
                    output.wake_up_deferred = Some(messages::wake_deferred(&err.message, None));
                }
                output.wake_up = Some(woke);
            }
            Err(err) => {
                let who = continuing_coordinators(&session);
                let why = match err.kind {
                    crate::error::ErrorKind::Refused => messages::wake_refused(),
                    _ => err.message.clone(),
                };
                output.wake_up_deferred = Some(messages::wake_deferred(&why, who.as_deref()));
                output.wake_up_refused = err.details;
            }
        }
    }
    if args.json {
        return print_json(&output);
    }
    out!("{}", render_text(&output))?;
    Ok(())
}

/// What unpause recorded and what its wake-up did (`unpause --json`).
#[derive(Debug, Serialize)]
pub struct UnpauseOutput {
    /// The durable recovery.
    pub recovery: Unpaused,
    /// False with --no-wake.
    pub woke: bool,
    /// The wake-up's react pass (and follow), when it ran.
    pub wake_up: Option<ReactOutput>,
    /// Why the wake-up could not finish, when it could not.
    pub wake_up_deferred: Option<String>,
    /// The server's reasons, one per line, when it refused the wake-up's push.
    pub wake_up_refused: Vec<String>,
}

/// The coordinators who can continue a recovery that this clone may not
/// (the policy names coordinators and this clone's actor is none of them).
fn continuing_coordinators(session: &Session) -> Option<String> {
    let coordinators = &session.policy.queue.coordinator_actors;
    (!coordinators.is_empty() && !coordinators.contains(&session.actor))
        .then(|| coordinators.join(", "))
}

/// The human rendering.
pub fn render_text(output: &UnpauseOutput) -> String {
    let r = &output.recovery;
    let mut out = match &r.recovered_main_sha {
        Some(sha) => format!(
            "unpaused: recovery {} resumes {} on {} (paused for: {})\n",
            r.control_id,
            r.resumes_control_id,
            short(sha),
            r.recovered_reason,
        ),
        None => format!(
            "unpaused: recovery {} resumes {} (paused for: {}; the pause named no sha, so nothing is recovered)\n",
            r.control_id, r.resumes_control_id, r.recovered_reason,
        ),
    };
    if !output.woke {
        out.push_str("not waking the reactor (--no-wake); run `git deploybot react` when ready\n");
    }
    if let Some(wake) = &output.wake_up {
        out.push_str(&format!("wake-up {}", render_pass(&wake.pass)));
        // A failed or timed-out follow is said once, by the deferred line.
        if let Some(f) = wake
            .follow
            .as_ref()
            .filter(|_| output.wake_up_deferred.is_none())
        {
            out.push_str(&follow_line(f));
        }
    }
    if let Some(deferred) = &output.wake_up_deferred {
        out.push_str(deferred);
        out.push('\n');
    }
    for reason in &output.wake_up_refused {
        out.push_str(&format!("  {reason}\n"));
    }
    out
}
