//! `git deploybot runner`: the long-running runner agent. Runs a CI check
//! (`--check`) or a deploy check (`--deploy`) on every commit that needs it,
//! `--jobs` at once, each in its own worktree, claimed with a lease renewed
//! while it runs; one line per run started and ended.

use super::GlobalArgs;
use crate::cli::output::outln;
use crate::error::{CliError, CliResult};
use crate::messages::{self, short};
use crate::ops::agent::{AgentEvent, AgentOptions, check_jobs, run_agent};
use crate::ops::runner::Pipeline;
use clap::Args;

/// Arguments of `runner`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["check", "deploy"])))]
pub struct RunnerArgs {
    /// Run this CI check (results in refs/notes/deploybot/ci).
    #[arg(long, value_name = "NAME")]
    pub check: Option<String>,
    /// Run this deploy check on the base tip (results in refs/notes/deploybot/deploy).
    #[arg(long, value_name = "NAME")]
    pub deploy: Option<String>,
    /// Runs at once, each in its own worktree.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub jobs: usize,
    /// Seconds between listings of the remote's refs (nothing is fetched unless they changed).
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    pub poll: u64,
    /// Each claim's lease: renewed while the run lives; a dead runner's claim is taken over this long after its last renewal.
    #[arg(long, default_value_t = 120, value_name = "SECONDS")]
    pub lease: u64,
    /// One JSON object per event, one per line.
    #[arg(long)]
    pub json: bool,
    /// Run a check the policy does not name (a deliberate extra).
    #[arg(long)]
    pub force: bool,
    /// The command to run in a worktree of each commit ($DEPLOYBOT_SHA, $DEPLOYBOT_CHECK set).
    #[arg(last = true, required = true, value_name = "COMMAND")]
    pub command: Vec<String>,
}

/// Runs the agent until SIGTERM or SIGINT (exit 0 once the runs in flight
/// stopped and gave their claims back).
pub fn run(global: &GlobalArgs, args: RunnerArgs) -> CliResult {
    let poll = crate::ops::limits::flag_seconds("--poll", args.poll)?;
    let lease = crate::ops::limits::flag_seconds("--lease", args.lease)?.as_secs() as i64;
    let jobs = check_jobs(args.jobs)?;
    let (pipeline, check) = match (args.check, args.deploy) {
        (Some(check), _) => (Pipeline::Ci, check),
        (None, Some(check)) => (Pipeline::Deploy, check),
        (None, None) => unreachable!("clap requires --check or --deploy"),
    };
    crate::ops::report::validate_check_name(&check)?;
    // A check the policy does not name would never be waited on: refuse it
    // now, judged by the policy as last fetched (a server that is down at
    // start is the agent's to wait for, not a reason to refuse).
    let mut last_fetched = global.session_options();
    last_fetched.cached = true;
    if let Ok(session) = crate::session::Session::open(&last_fetched) {
        let notes_ref = pipeline.notes_ref();
        crate::ops::report::resolve_check(&session.policy, notes_ref, Some(&check), args.force)?;
    }
    crate::ops::worktree_run::split_command(&args.command)
        .map_err(|e| CliError::usage(e.to_string()))?;
    let stop = super::coordinate::stop_flag()?;
    let options = AgentOptions {
        session: global.session_options(),
        pipeline,
        check,
        command: args.command,
        jobs,
        poll,
        lease,
        seed: crate::git::store::random_u64(),
    };
    eprintln!(
        "{}",
        messages::runner_agent_started(&options.check, jobs, lease)
    );
    let json = args.json;
    let ran = run_agent(&options, &stop, &mut |event| emit(json, event))?;
    let signal = super::coordinate::stopped_by(&stop);
    eprintln!("{}", messages::runner_agent_stopped(signal, ran));
    Ok(())
}

/// One event's line.
fn emit(json: bool, event: &AgentEvent) -> CliResult {
    if json {
        let text = serde_json::to_string(event)
            .map_err(|e| CliError::from(anyhow::anyhow!("cannot render JSON: {e}")))?;
        outln!("{text}")?;
    } else {
        outln!("{}", render_event(event))?;
    }
    Ok(())
}

/// The human line of an event.
pub fn render_event(event: &AgentEvent) -> String {
    match event {
        AgentEvent::Started {
            at,
            sha,
            source,
            branch,
        } => format!("{at} started {} ({source} {branch})", short(sha)),
        AgentEvent::Finished { at, outcome } => format!("{at} {}", outcome.message),
        AgentEvent::Lost { at, sha } => {
            format!("{at} {} was claimed by another runner first", short(sha))
        }
        AgentEvent::Failed { at, sha, error } => match sha {
            Some(sha) => format!("{at} {}: {error}", short(sha)),
            None => format!("{at} {error}"),
        },
    }
}
