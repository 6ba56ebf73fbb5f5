//! `git deploybot doctor`: check an installation, one row per thing, each with its fix.

use super::GlobalArgs;
use super::render::print_json;
use crate::cli::output::out;
use crate::error::{CliError, CliResult, ErrorKind};
use crate::messages;
use crate::ops::doctor::{DoctorContext, DoctorReport, Level, diagnose};
use clap::Args;

/// Arguments of `doctor`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// Runs `doctor`: exit 1 when any row fails.
pub fn run(global: &GlobalArgs, args: DoctorArgs) -> CliResult {
    let (repo, chosen) = crate::session::discover(&global.session_options())?;
    let remote = chosen.unwrap_or_else(|| "origin".to_string());
    let binary = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| CliError::usage(format!("cannot find the running binary's path: {e}")))?;
    let actor = global.actor.clone().unwrap_or_else(|| repo.default_actor());
    let report = diagnose(DoctorContext {
        repo,
        remote,
        offline: global.offline,
        binary,
        actor,
    })?;
    if args.json {
        print_json(&report)?;
    } else {
        out!("{}", render_text(&report))?;
    }
    let failed = report
        .rows
        .iter()
        .filter(|r| r.level == Level::Fail)
        .count();
    if failed > 0 {
        return Err(CliError::new(
            ErrorKind::Runtime,
            messages::doctor_failed(failed),
        ));
    }
    Ok(())
}

/// One line per row, `  fix:` lines under warnings and failures.
pub fn render_text(report: &DoctorReport) -> String {
    let width = report.rows.iter().map(|r| r.check.len()).max().unwrap_or(0);
    let mut out = String::new();
    for row in &report.rows {
        out.push_str(&format!(
            "{:<4}  {:<width$}  {}\n",
            row.level.as_str(),
            row.check,
            row.detail
        ));
        if let Some(fix) = &row.fix {
            out.push_str(&format!("{:<4}  {:<width$}  fix: {fix}\n", "", ""));
        }
    }
    out
}
