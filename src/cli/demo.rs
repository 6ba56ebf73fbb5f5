//! `git deploybot demo`: play the seed story against a throwaway world.

use super::GlobalArgs;
use crate::demo::{DemoOptions, run as play};
use crate::error::{CliError, CliResult};
use crate::messages;
use clap::Args;
use std::io::IsTerminal;
use std::path::PathBuf;

/// Arguments of `demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Build the world in DIR (new or empty) and keep it.
    #[arg(long, value_name = "DIR")]
    pub dir: Option<PathBuf>,
    /// Keep the temporary world afterwards (its path is printed).
    #[arg(long)]
    pub keep: bool,
}

/// Runs `demo`: exit 0 when every expectation held.
pub fn run(_global: &GlobalArgs, args: DemoArgs) -> CliResult {
    let binary = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| CliError::usage(format!("cannot find the running binary's path: {e}")))?;
    let stdout = std::io::stdout();
    let color = stdout.is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let options = DemoOptions {
        dir: args.dir,
        keep: args.keep,
        binary,
        color,
    };
    let summary = play(&options, &mut stdout.lock())?;
    if summary.passed() {
        Ok(())
    } else {
        Err(CliError::new(
            crate::error::ErrorKind::Runtime,
            messages::demo_failed(summary.missed.len()),
        ))
    }
}
