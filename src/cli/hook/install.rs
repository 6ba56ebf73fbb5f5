//! `git deploybot hook install <bare-repo>`: write the hook scripts into a server repository.

use crate::cli::output::outln;
use crate::error::{CliError, CliResult};
use clap::Args;
use std::path::PathBuf;

/// Arguments of `hook install`.
#[derive(Debug, Args)]
pub struct InstallArgs {
    /// The bare server repository (e.g. /srv/git/project.git).
    pub repository: PathBuf,
    /// Replace existing hooks that were not installed by git-deploybot.
    #[arg(long)]
    pub force: bool,
    /// Install only pre-receive (skip the reference-transaction re-check).
    #[arg(long)]
    pub pre_receive_only: bool,
    /// Also install a post-receive hook that wakes `coordinate` and `runner` running on this host at once after each push.
    #[arg(long)]
    pub wake: bool,
}

/// Runs `hook install`.
pub fn run(args: InstallArgs) -> CliResult {
    let binary = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| CliError::usage(format!("cannot find the running binary's path: {e}")))?;
    let choice = crate::ops::hook_install::InstallChoice {
        force: args.force,
        pre_receive_only: args.pre_receive_only,
        wake: args.wake,
    };
    let written = crate::ops::hook_install::install(&args.repository, &binary, choice)?;
    for path in written {
        outln!("installed {}", path.display())?;
    }
    Ok(())
}
