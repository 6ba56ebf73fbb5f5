//! `git deploybot man`, `completions` and the hidden `help-markdown`: the
//! manual, shell completions and docs/commands.md, all rendered from the one
//! clap definition, so `git help deploybot`, `--help` and the docs agree.

use super::Cli;
use crate::cli::output::outln;
use crate::error::{CliError, CliResult};
use crate::messages;
use clap::{Args, CommandFactory};
use std::path::{Path, PathBuf};

/// Arguments of `man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// Write the pages into DIR (e.g. ~/.local/share/man/man1) instead of printing git-deploybot.1.
    #[arg(long, value_name = "DIR", conflicts_with = "install")]
    pub dir: Option<PathBuf>,
    /// Write the pages to <binary's dir>/../share/man/man1, where `man` finds them for a binary on PATH.
    #[arg(long)]
    pub install: bool,
}

/// Arguments of `completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for.
    pub shell: clap_complete::Shell,
}

/// The whole command tree, built (subcommands carry their full display names).
fn built_command() -> clap::Command {
    let mut cmd = Cli::command().disable_help_subcommand(true);
    cmd.build();
    cmd
}

/// Every man page: `git-deploybot.1` and one `git-deploybot-<sub>.1` per visible subcommand.
pub fn man_pages() -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, Vec<u8>)>) -> std::io::Result<()> {
        let man = clap_mangen::Man::new(cmd.clone());
        let mut page = Vec::new();
        man.render(&mut page)?;
        out.push((man.get_filename(), page));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out)?;
        }
        Ok(())
    }
    let mut pages = Vec::new();
    walk(&built_command(), &mut pages)?;
    Ok(pages)
}

/// Runs `man`.
pub fn run(args: ManArgs) -> CliResult {
    let io = |path: &Path, e: std::io::Error| {
        CliError::usage(format!("cannot write {}: {e}", path.display()))
    };
    let pages =
        man_pages().map_err(|e| CliError::usage(format!("cannot render the manual: {e}")))?;
    let dir = match (args.dir, args.install) {
        (Some(dir), _) => dir,
        (None, true) => install_dir()?,
        (None, false) => {
            let (_, main) = &pages[0];
            return crate::cli::output::emit(main);
        }
    };
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    for (name, page) in &pages {
        let path = dir.join(name);
        std::fs::write(&path, page).map_err(|e| io(&path, e))?;
    }
    outln!("wrote {} man pages to {}", pages.len(), dir.display())?;
    outln!(
        "  try: git help deploybot   (or: man -M {} git-deploybot)",
        dir.parent().unwrap_or(&dir).display()
    )?;
    Ok(())
}

/// `<dir of the binary>/../share/man/man1`: man-db searches `<p>/../share/man`
/// for every `<p>` on PATH, so a binary in ~/.cargo/bin finds ~/.cargo/share/man.
fn install_dir() -> CliResult<PathBuf> {
    let binary = std::env::current_exe()
        .and_then(|p| p.canonicalize())
        .map_err(|e| CliError::usage(format!("cannot find the running binary's path: {e}")))?;
    binary
        .parent()
        .and_then(Path::parent)
        .map(|prefix| prefix.join("share").join("man").join("man1"))
        .ok_or_else(|| CliError::usage(messages::man_no_prefix(&binary.display().to_string())))
}

/// Runs `completions`.
pub fn completions(args: CompletionsArgs) -> CliResult {
    let mut cmd = Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut cmd, "git-deploybot", &mut script);
    crate::cli::output::emit(&script)
}

/// docs/commands.md: every command's `--help`, as clap renders it.
pub fn commands_markdown() -> String {
    fn walk(cmd: &mut clap::Command, path: &str, out: &mut String) {
        out.push_str(&format!("\n## `{path}`\n\n```text\n"));
        let help = cmd.render_help().to_string();
        for line in help.lines() {
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out.push_str("```\n");
        let subs: Vec<clap::Command> = cmd
            .get_subcommands()
            .filter(|s| !s.is_hide_set())
            .cloned()
            .collect();
        for mut sub in subs {
            let name = format!("{path} {}", sub.get_name());
            walk(&mut sub, &name, out);
        }
    }
    let mut out = String::from(
        "# Command reference\n\n\
         Generated from the clap definitions by `git deploybot help-markdown`;\n\
         `tests/test_docs.rs` fails when this file and the binary disagree\n\
         (regenerate with `DEPLOYBOT_UPDATE_DOCS=1 cargo test --test test_docs`).\n",
    );
    walk(&mut built_command(), "git deploybot", &mut out);
    out
}
