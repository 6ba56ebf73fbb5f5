//! The command line: one module per command, each parse → core → render.

pub mod ci;
pub mod claim_repair;
pub mod coordinate;
pub mod demo;
pub mod deploy;
pub mod doctor;
pub mod follow;
pub mod hook;
pub mod init;
pub mod man;
pub mod man_sections;
pub mod output;
pub mod pause;
pub mod progress;
pub mod prune;
pub mod queue_edit;
pub mod react;
pub mod render;
pub mod request;
pub mod runner;
pub mod serve;
pub mod stats;
pub mod status;
pub mod unpause;
pub mod why;

use crate::cli::output::out;
use crate::core::queue::QueueAction;
use crate::error::{CliError, CliResult};
use crate::messages;
use crate::session::SessionOptions;
use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

/// git-deploybot: a git-native merge queue and delivery controller.
#[derive(Debug, Parser)]
#[command(
    name = "git-deploybot",
    bin_name = "git deploybot",
    version,
    about,
    max_term_width = 100
)]
pub struct Cli {
    /// Options every command takes.
    #[command(flatten)]
    pub global: GlobalArgs,
    /// The command to run.
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, Args, Clone)]
pub struct GlobalArgs {
    /// Run as if started in the given directory.
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub directory: Option<PathBuf>,
    /// Read the policy from this file instead of `.deploybot.toml` at the base branch tip.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The remote holding the shared state [default: deploybot.remote, else the policy's queue.remote, else origin].
    #[arg(long, global = true, value_name = "NAME")]
    pub remote: Option<String>,
    /// Use only local refs, even when the remote exists.
    #[arg(long, global = true)]
    pub offline: bool,
    /// Who writes records [default: deploybot.actor, user.email, user.name, $USER].
    #[arg(long, global = true, value_name = "NAME")]
    pub actor: Option<String>,
}

/// Every command.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Show the control state, the base sha and its release, the queue and the repair lease.
    Status(status::StatusArgs),
    /// Pause the pipeline: nothing merges until an operator unpauses.
    Pause(pause::PauseArgs),
    /// Resume a paused pipeline with a durable recovery of the failed sha.
    Unpause(unpause::UnpauseArgs),
    /// Ask for a branch's exact head to be merged.
    Request(request::RequestArgs),
    /// Remove a branch from the queue.
    Cancel(queue_edit::BranchArgs),
    /// Keep a queued branch from merging, with a reason.
    Block(queue_edit::BlockArgs),
    /// Let a blocked branch merge again.
    Unblock(queue_edit::BranchArgs),
    /// Tell a branch's whole story: requests, blocks, candidates, merge, release, verified, and what moves it now.
    Why(why::WhyArgs),
    /// One coordinator pass: merge ready work, pause on failure.
    React(react::ReactArgs),
    /// Follow the newest base sha through CI, deploy and verification.
    Follow(follow::FollowArgs),
    /// The long-running coordinator: a react pass whenever the remote's refs change, woken at once by a post-receive hook.
    Coordinate(coordinate::CoordinateArgs),
    /// The long-running runner agent: runs a check on every commit that needs it, N at once.
    Runner(runner::RunnerArgs),
    /// Take the repair lease for the failed main (one winner).
    ClaimRepair(claim_repair::ClaimRepairArgs),
    /// CI runner commands.
    Ci(ci::CiArgs),
    /// Deploy runner commands.
    Deploy(deploy::DeployArgs),
    /// Server-side hooks: `hook pre-receive`, `hook install <bare-repo>`.
    Hook(hook::HookArgs),
    /// Write a starter .deploybot.toml and the git config for fetching deploybot's refs.
    Init(init::InitArgs),
    /// Check this installation: PATH, remote, refspecs, policy, actors, hook, ledgers.
    Doctor(doctor::DoctorArgs),
    /// Play the whole story against a throwaway server and clones, checking each step.
    Demo(demo::DemoArgs),
    /// Serve a read-only queue page (and /status.json) over HTTP, refreshed from the remote.
    Serve(serve::ServeArgs),
    /// Delivery figures from the ledgers and notes: queue wait, time to live, CI, DORA.
    Stats(stats::StatsArgs),
    /// Drop old run logs (refs/notes/deploybot/logs; a coordinator's, results untouched).
    Prune(prune::PruneArgs),
    /// Print or install the man pages (for `git help deploybot`).
    Man(man::ManArgs),
    /// Print shell completions for git-deploybot.
    Completions(man::CompletionsArgs),
    /// Print docs/commands.md (the command reference) from the clap definitions.
    #[command(hide = true)]
    HelpMarkdown,
}

/// Parses arguments, runs the command, prints errors, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err)
            if err.kind() == clap::error::ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand =>
        {
            // A bare `git deploybot` (or `ci`, `deploy`, `hook`) asks what
            // there is: clap's whole help, on stderr, exit 2 (no command ran).
            let _ = err.print();
            return ExitCode::from(2);
        }
        Err(err) if err.use_stderr() => {
            // Bad input is one line: what is wrong and the usage to follow.
            output::warn_lines(&[&condense_usage_error(&err.render().to_string())]);
            return ExitCode::from(2);
        }
        Err(err) => {
            let _ = err.print();
            return ExitCode::SUCCESS;
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        // Already said on stdout (a followed release's end): only the exit code.
        Err(err) if err.message.is_empty() => ExitCode::from(err.kind.exit_code()),
        Err(err) => {
            let mut lines = vec![format!("error: {}", err.message)];
            lines.extend(err.details.iter().map(|line| format!("  {line}")));
            output::warn_lines(&lines.iter().map(String::as_str).collect::<Vec<_>>());
            ExitCode::from(err.kind.exit_code())
        }
    }
}

/// An error whose news the command already printed (its text output ends
/// with it): it sets the exit code and prints nothing more.
pub fn reported(err: CliError) -> CliError {
    CliError {
        message: String::new(),
        ..err
    }
}

impl GlobalArgs {
    /// The session options these flags describe.
    pub fn session_options(&self) -> SessionOptions {
        SessionOptions {
            directory: self.directory.clone(),
            config: self.config.clone(),
            remote: self.remote.clone(),
            offline: self.offline,
            actor: self.actor.clone(),
            cached: false,
            moved: false,
        }
    }
}

/// Folds clap's multi-line usage error into one line: the problem (with any
/// listed arguments) and the usage line.
pub fn condense_usage_error(rendered: &str) -> String {
    let mut problem = String::new();
    let mut listed = Vec::new();
    let mut tips = Vec::new();
    let mut usage = None;
    for line in rendered.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with("For more information") {
            continue;
        }
        if let Some(u) = trimmed.strip_prefix("Usage: ") {
            usage = Some(u.to_string());
        } else if problem.is_empty() {
            problem = trimmed.trim_start_matches("error: ").to_string();
        } else if let Some(tip) = trimmed.strip_prefix("tip: ") {
            // "did you mean": `a similar subcommand exists: 'status'`.
            if tip.contains("similar") {
                tips.push(tip.to_string());
            }
        } else {
            listed.push(trimmed.to_string());
        }
    }
    let mut out = format!("error: {}", problem.trim_end_matches(':'));
    if !listed.is_empty() {
        out.push_str(&format!(": {}", listed.join(", ")));
    }
    for tip in tips {
        out.push_str(&format!("; {tip}"));
    }
    // `ci run --check CI ./ci.sh`: the command belongs after `--`.
    let stray = problem
        .strip_prefix("unexpected argument '")
        .and_then(|rest| rest.strip_suffix("' found"))
        .filter(|arg| !arg.starts_with('-'));
    if let (Some(arg), Some(usage)) = (stray, usage.as_deref())
        && usage.contains("-- <COMMAND>")
    {
        out.push_str(&format!("; the command to run goes after `--`: … -- {arg}"));
    }
    // `git deploybot --help` is git's `git help deploybot` (the man page, which
    // may not be installed): point at what always works.
    let command = usage.as_deref().map(command_of_usage).unwrap_or_default();
    let help = messages::help_hint(&command);
    match usage {
        Some(usage) => out.push_str(&format!("; usage: {usage} ({help})")),
        None => out.push_str(&format!("; {help}")),
    }
    out
}

/// The subcommand words of a usage line: `git deploybot ci report --sha …`
/// → `ci report`.
fn command_of_usage(usage: &str) -> String {
    let words: Vec<&str> = usage
        .split_whitespace()
        .skip_while(|w| *w == "git" || *w == "deploybot" || *w == "git-deploybot")
        .take_while(|w| !w.starts_with(['-', '<', '[']))
        .collect();
    words.join(" ")
}

/// Dispatches to the command's module.
pub fn run(cli: Cli) -> CliResult {
    let global = cli.global;
    if let Some(dir) = global.directory.as_deref().filter(|d| !d.is_dir()) {
        return Err(CliError::usage(messages::no_such_directory(dir)));
    }
    remember_global(&global);
    match cli.command {
        Command::Status(args) => status::run(&global, args),
        Command::Pause(args) => pause::run(&global, args),
        Command::Unpause(args) => unpause::run(&global, args),
        Command::Request(args) => request::run(&global, args),
        Command::Cancel(a) => {
            queue_edit::run(&global, QueueAction::Cancel, &a.branch, None, a.json)
        }
        Command::Block(a) => queue_edit::run(
            &global,
            QueueAction::Block,
            &a.branch,
            Some(&a.reason),
            a.json,
        ),
        Command::Unblock(a) => {
            queue_edit::run(&global, QueueAction::Unblock, &a.branch, None, a.json)
        }
        Command::Why(args) => why::run(&global, args),
        Command::React(args) => react::run(&global, args),
        Command::Coordinate(args) => coordinate::run(&global, args),
        Command::Runner(args) => runner::run(&global, args),
        Command::Follow(args) => follow::run(&global, args),
        Command::ClaimRepair(args) => claim_repair::run(&global, args),
        Command::Ci(args) => ci::run(&global, args),
        Command::Deploy(args) => deploy::run(&global, args),
        Command::Hook(args) => hook::run(&global, args),
        Command::Init(args) => init::run(&global, args),
        Command::Doctor(args) => doctor::run(&global, args),
        Command::Demo(args) => demo::run(&global, args),
        Command::Serve(args) => serve::run(&global, args),
        Command::Stats(args) => stats::run(&global, args),
        Command::Prune(args) => prune::run(&global, args),
        Command::Man(args) => man::run(args),
        Command::Completions(args) => man::completions(args),
        Command::HelpMarkdown => {
            out!("{}", man::commands_markdown())?;
            Ok(())
        }
    }
}

/// The global options of this run, for [`parse_sha_arg`] (set by [`run`]).
static GLOBAL: std::sync::Mutex<Option<SessionOptions>> = std::sync::Mutex::new(None);

fn remember_global(global: &GlobalArgs) {
    if let Ok(mut slot) = GLOBAL.lock() {
        *slot = Some(global.session_options());
    }
}

/// A `--sha` as typed: a full sha, an abbreviation, or any other revision
/// git accepts (`HEAD`, `origin/main`, a tag, `main~1`), still to resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ShaArg {
    /// 40 hex digits.
    Full(crate::git::ObjectId),
    /// 7 to 39 hex digits (lowercased).
    Abbrev(String),
    /// Anything else that could be a revision.
    Rev(String),
}

/// Checks a `--sha` without touching the repository: a sha, an
/// abbreviation, or text that could be a revision (not empty, no spaces or
/// control characters, not starting with `-`, at most 1024 bytes).
pub fn sha_syntax(flag: &str, text: &str) -> CliResult<ShaArg> {
    let hex = text.to_ascii_lowercase();
    let is_hex = hex.bytes().all(|b| b.is_ascii_hexdigit());
    if is_hex
        && hex.len() == 40
        && let Some(oid) = crate::git::parse_oid(&hex)
    {
        return Ok(ShaArg::Full(oid));
    }
    if is_hex && (7..40).contains(&hex.len()) {
        return Ok(ShaArg::Abbrev(hex));
    }
    let revision = !text.is_empty()
        && text.len() <= 1024
        && !text.starts_with('-')
        && !text.chars().any(|c| c.is_whitespace() || c.is_control());
    if revision {
        Ok(ShaArg::Rev(text.to_owned()))
    } else {
        Err(CliError::usage(messages::bad_sha(flag, text)))
    }
}

/// Resolves a checked `--sha` in `repo`: an abbreviation must name exactly one
/// commit among the objects present (after the session fetched).
pub fn resolve_sha(
    repo: &crate::git::Repo,
    flag: &str,
    arg: &ShaArg,
) -> CliResult<Option<crate::git::ObjectId>> {
    use crate::git::revparse::Abbrev;
    let (typed, found) = match arg {
        ShaArg::Full(oid) => return Ok(Some(*oid)),
        ShaArg::Abbrev(hex) => match repo.resolve_commit_abbrev(hex)? {
            Abbrev::Commit(oid) => (hex, oid),
            Abbrev::Ambiguous => return Err(CliError::usage(messages::ambiguous_sha(flag, hex))),
            Abbrev::Unknown => return Ok(None),
        },
        ShaArg::Rev(rev) => match repo.resolve_revision(rev)? {
            Some(oid) => (rev, oid),
            None => return Ok(None),
        },
    };
    // Say which commit a short or symbolic name stood for.
    output::warn_lines(&[&messages::sha_named(flag, typed, &found.to_string())]);
    Ok(Some(found))
}

/// Checks and resolves an optional `--sha` in an opened session (the commands
/// that open their session first: pause, unpause, request, claim-repair).
pub fn session_sha(
    session: &crate::session::Session,
    flag: &str,
    arg: Option<&ShaArg>,
) -> CliResult<Option<crate::git::ObjectId>> {
    arg.map(|arg| resolve_or_unknown(session.repo(), flag, arg))
        .transpose()
}

/// [`resolve_sha`], with an abbreviation that names nothing as an error.
pub fn resolve_or_unknown(
    repo: &crate::git::Repo,
    flag: &str,
    arg: &ShaArg,
) -> CliResult<crate::git::ObjectId> {
    match (resolve_sha(repo, flag, arg)?, arg) {
        (Some(oid), _) => Ok(oid),
        (None, ShaArg::Abbrev(text) | ShaArg::Rev(text)) => {
            Err(CliError::usage(messages::unknown_sha(flag, text)))
        }
        (None, ShaArg::Full(oid)) => Ok(*oid),
    }
}

/// Parses an optional `--sha` (see [`parse_sha_arg`]).
pub fn parse_optional_sha(
    flag: &str,
    text: Option<&str>,
) -> CliResult<Option<crate::git::ObjectId>> {
    text.map(|t| parse_sha_arg(flag, t)).transpose()
}

/// Parses a `--sha` before the command opens its session (`ci`/`deploy`
/// `report` and `run`): a full sha as given; an abbreviation resolved in the
/// repository `-C` names, first among the objects already present and, when
/// none matches, again after the session's fetch.
pub fn parse_sha_arg(flag: &str, text: &str) -> CliResult<crate::git::ObjectId> {
    let arg = sha_syntax(flag, text)?;
    if let ShaArg::Full(oid) = arg {
        return Ok(oid);
    }
    let options = GLOBAL
        .lock()
        .ok()
        .and_then(|slot| slot.clone())
        .unwrap_or_default();
    let (repo, _) = crate::session::discover(&options)?;
    if let Some(oid) = resolve_sha(&repo, flag, &arg)? {
        return Ok(oid);
    }
    let session = crate::session::Session::open(&options)?;
    resolve_or_unknown(session.repo(), flag, &arg)
}

#[cfg(test)]
mod tests {
    use super::condense_usage_error;

    #[test]
    fn a_usage_error_becomes_one_line_with_the_usage() {
        let rendered = "error: the following required arguments were not provided:\n  --check <NAME>\n  --status <STATUS>\n\nUsage: git deploybot ci report --sha <SHA> --check <NAME> --status <STATUS>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            condense_usage_error(rendered),
            "error: the following required arguments were not provided: --check <NAME>, --status <STATUS>; usage: git deploybot ci report --sha <SHA> --check <NAME> --status <STATUS> (see `git deploybot ci report -h`)"
        );
    }

    #[test]
    fn a_command_without_the_double_dash_is_told_where_it_goes() {
        let rendered = "error: unexpected argument './ci.sh' found\n\nUsage: git deploybot ci run [OPTIONS] -- <COMMAND>...\n\nFor more information, try '--help'.\n";
        assert_eq!(
            condense_usage_error(rendered),
            "error: unexpected argument './ci.sh' found; the command to run goes after `--`: … -- ./ci.sh; usage: git deploybot ci run [OPTIONS] -- <COMMAND>... (see `git deploybot ci run -h`)"
        );
    }

    #[test]
    fn did_you_mean_is_kept() {
        let rendered = "error: unrecognized subcommand 'staus'\n\n  tip: a similar subcommand exists: 'status'\n\nUsage: git deploybot [OPTIONS] <COMMAND>\n\nFor more information, try '--help'.\n";
        assert_eq!(
            condense_usage_error(rendered),
            "error: unrecognized subcommand 'staus'; a similar subcommand exists: 'status'; usage: git deploybot [OPTIONS] <COMMAND> (see `git deploybot -h` or `git deploybot help <command>`)"
        );
    }

    #[test]
    fn tips_are_dropped_and_a_missing_usage_still_points_to_help() {
        let rendered = "error: unexpected argument '--bogus' found\n\n  tip: to pass '--bogus' as a value, use '-- --bogus'\n";
        assert_eq!(
            condense_usage_error(rendered),
            "error: unexpected argument '--bogus' found; see `git deploybot -h` or `git deploybot help <command>`"
        );
    }
}
