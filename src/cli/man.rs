//! `git deploybot man`, `completions` and the hidden `help-markdown`: the
//! manual, shell completions and docs/commands.md, all rendered from the one
//! clap definition, so `git help deploybot`, `--help` and the docs agree.

use super::{Cli, man_sections};
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
    fn walk(
        cmd: &clap::Command,
        is_root: bool,
        out: &mut Vec<(String, Vec<u8>)>,
    ) -> std::io::Result<()> {
        let man = clap_mangen::Man::new(cmd.clone());
        let mut page = Vec::new();
        man.render(&mut page)?;
        let page = with_sections(&String::from_utf8_lossy(&page), cmd, is_root);
        out.push((man.get_filename(), page.into_bytes()));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, false, out)?;
        }
        Ok(())
    }
    let mut pages = Vec::new();
    walk(&built_command(), true, &mut pages)?;
    Ok(pages)
}

/// clap_mangen's page with our synopsis (option values shown) in place of
/// its own, and on the main page CONCEPTS, EXAMPLES and EXIT STATUS before
/// the version.
fn with_sections(page: &str, cmd: &clap::Command, is_root: bool) -> String {
    let mut out = String::with_capacity(page.len() + 4096);
    let mut sections = page.split_inclusive('\n').peekable();
    while let Some(line) = sections.next() {
        if line.starts_with(".SH SYNOPSIS") {
            out.push_str(&man_sections::synopsis(cmd, is_root));
            while sections.next_if(|l| !l.starts_with(".SH ")).is_some() {}
            continue;
        }
        if is_root && line.starts_with(".SH VERSION") {
            out.push_str(&man_sections::main_sections());
        }
        out.push_str(line);
    }
    out
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
    outln!("{}", messages::man_try(&dir))?;
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
    if args.shell == clap_complete::Shell::Bash {
        // clap_complete names a subcommand's case `git__subcmd__deploybot__…`
        // (it turns the `-` of the binary's name into a separator after the
        // space) where its word loop sets `git__deploybot__…`: unified, the
        // subcommands' flags complete too.
        let mut text =
            String::from_utf8_lossy(&script).replace("git__subcmd__deploybot", "git__deploybot");
        if let Some(wrapper) = git_subcommand_wrapper(&text) {
            text.push_str(&wrapper);
        }
        script = text.into_bytes();
    }
    crate::cli::output::emit(&script)
}

/// `git deploybot <TAB>`: git's bash completion calls `_git_deploybot` with
/// the words as typed (`git -C dir deploybot sta`); this hands the words from
/// `deploybot` on, as `git-deploybot …`, to the function clap generated (its
/// name read from the script's `complete -F` line), and adds the space git's
/// completion (registered `-o nospace`) leaves to each word.
fn git_subcommand_wrapper(script: &str) -> Option<String> {
    let completer = script
        .split("complete -F ")
        .nth(1)?
        .split_whitespace()
        .next()?;
    Some(format!(
        r#"
# `git deploybot <TAB>` (git's completion calls _git_deploybot).
_git_deploybot() {{
    local i start=0
    for ((i = 1; i < COMP_CWORD; i++)); do
        if [[ "${{COMP_WORDS[i]}}" == deploybot ]]; then
            start=$i
            break
        fi
    done
    ((start > 0)) || return 0
    local -a words=("git-deploybot" "${{COMP_WORDS[@]:start+1}}")
    local cword=$((COMP_CWORD - start))
    local -a COMP_WORDS=("${{words[@]}}")
    local COMP_CWORD=$cword
    {completer} git-deploybot "${{words[cword]}}" "${{words[cword-1]}}"
    for i in "${{!COMPREPLY[@]}}"; do
        [[ -d "${{COMPREPLY[i]}}" || "${{COMPREPLY[i]}}" == *= ]] || COMPREPLY[i]+=" "
    done
}}
"#
    ))
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
