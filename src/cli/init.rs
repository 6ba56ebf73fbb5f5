//! `git deploybot init`: a commented starter `.deploybot.toml` and the git
//! config that lets plain `git fetch` and `git log` show deploybot's state.

use super::GlobalArgs;
use crate::cli::output::outln;
use crate::error::CliResult;
use crate::messages;
use crate::ops::init::{PolicyWrite, init};
use clap::Args;

/// Arguments of `init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Replace an existing .deploybot.toml with the starter.
    #[arg(long)]
    pub force: bool,
}

/// Runs `init`.
pub fn run(global: &GlobalArgs, args: InitArgs) -> CliResult {
    let (repo, chosen) = crate::session::discover(&global.session_options())?;
    let remote = chosen.unwrap_or_else(|| "origin".to_string());
    let report = init(&repo, &remote, args.force)?;
    let path = report.policy_path.display().to_string();
    match report.policy {
        PolicyWrite::Written => outln!("wrote {path} (commit it to the base branch to use it)")?,
        PolicyWrite::Overwritten => outln!("replaced {path} with the starter (--force)")?,
        PolicyWrite::Kept => outln!("{}", messages::init_kept(&path))?,
    }
    if report.remote.is_none() {
        outln!("{}", messages::init_no_remote(&remote))?;
    }
    for value in &report.config {
        let verb = if value.added { "added" } else { "already set" };
        outln!("{verb}: git config {} {}", value.key, value.value)?;
    }
    Ok(())
}
