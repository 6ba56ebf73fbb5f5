//! The command line: one module per command, each parse → core → render.

pub mod hook;
pub mod pause;
pub mod render;
pub mod status;
pub mod unpause;

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
    /// Run as if started in <PATH>.
    #[arg(short = 'C', global = true, value_name = "PATH")]
    pub directory: Option<PathBuf>,
    /// Read the policy from this file instead of `.deploybot.toml` at the base branch tip.
    #[arg(long, global = true, value_name = "PATH")]
    pub config: Option<PathBuf>,
    /// The remote holding the shared state [default: deploybot.remote or origin].
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
    /// Server-side hooks: `hook pre-receive`, `hook install <bare-repo>`.
    Hook(hook::HookArgs),
}

/// Parses arguments, runs the command, prints errors, and returns the exit code.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let code = if err.use_stderr() { 2 } else { 0 };
            let _ = err.print();
            return ExitCode::from(code);
        }
    };
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", err.message);
            for line in &err.details {
                eprintln!("  {line}");
            }
            ExitCode::from(err.kind.exit_code())
        }
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
        }
    }
}

/// Dispatches to the command's module.
pub fn run(cli: Cli) -> CliResult {
    let global = cli.global;
    match cli.command {
        Command::Status(args) => status::run(&global, args),
        Command::Pause(args) => pause::run(&global, args),
        Command::Unpause(args) => unpause::run(&global, args),
        Command::Hook(args) => hook::run(&global, args),
    }
}

/// Parses a full 40-hex sha given on the command line.
pub fn parse_sha_arg(flag: &str, text: &str) -> CliResult<crate::git::ObjectId> {
    crate::git::parse_oid(text).ok_or_else(|| CliError::usage(messages::bad_sha(flag, text)))
}
