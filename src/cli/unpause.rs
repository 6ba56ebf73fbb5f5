//! `git deploybot unpause`: resume with a durable recovery, then wake the reactor.

use super::{GlobalArgs, parse_sha_arg};
use crate::error::{CliError, CliResult};
use crate::messages::{self, short};
use crate::ops::control::unpause;
use crate::session::Session;
use clap::Args;

/// Arguments of `unpause`.
#[derive(Debug, Args)]
pub struct UnpauseArgs {
    /// The sha the current pause is bound to (from `status`).
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
    /// Bound on the wake-up's waiting, in seconds.
    #[arg(long, default_value_t = 1800, value_name = "SECONDS")]
    pub timeout: u64,
}

/// Runs `unpause`.
pub fn run(global: &GlobalArgs, args: UnpauseArgs) -> CliResult {
    let sha = parse_sha_arg("--sha", &args.sha)?;
    if args.control_id.trim().is_empty() {
        return Err(CliError::usage(
            "--control-id is empty; copy it from `git deploybot status`",
        ));
    }
    if args.timeout < 1 {
        return Err(CliError::usage("--timeout must be at least 1 second"));
    }
    let session = Session::open(&global.session_options())?;
    let done = unpause(&session, sha, &args.control_id)?;
    println!(
        "unpaused: recovery {} resumes {} ({} on {})",
        done.control_id,
        done.resumes_control_id,
        done.recovered_reason,
        short(&done.recovered_main_sha)
    );
    if args.no_wake {
        println!("not waking the reactor (--no-wake); run `git deploybot react` when ready");
        return Ok(());
    }
    // The recovery is durable: a wake-up failure is reported, never re-pauses, and unpause succeeds.
    match super::react::react_and_follow(
        &session,
        args.follow,
        args.dispatch_ci,
        args.timeout,
        false,
    ) {
        Ok(output) => {
            print!("wake-up {}", super::react::render_text(&output));
            if let Err(err) = super::react::follow_exit(output.follow.as_ref()) {
                println!("{}", messages::wake_deferred(&err.message));
            }
        }
        Err(err) => println!("{}", messages::wake_deferred(&err.message)),
    }
    Ok(())
}
