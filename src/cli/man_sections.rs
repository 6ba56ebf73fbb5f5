//! What the manual says beyond `--help`: a synopsis that shows option values
//! (`--sha SHA`), and on the main page the concepts, examples and exit status.

use clap_mangen::roff::{Roff, bold, italic, roman};

/// `roff` text without the apostrophe preamble `Roff::render` starts with.
fn body(roff: &Roff) -> String {
    let preamble = Roff::new().render();
    let text = roff.render();
    text.strip_prefix(&preamble).unwrap_or(&text).to_string()
}

/// One argument as the synopsis shows it: `--sha SHA`, `[--json]`, `BRANCH`, `[-- COMMAND...]`.
fn synopsis_arg(arg: &clap::Arg, out: &mut Vec<clap_mangen::roff::Inline>) {
    let value = arg
        .get_value_names()
        .and_then(|names| names.first())
        .map(|name| name.to_string())
        .unwrap_or_else(|| arg.get_id().as_str().to_ascii_uppercase());
    let required = arg.is_required_set();
    let many = arg
        .get_num_args()
        .is_some_and(|n| n.max_values() > 1 || n.max_values() == 0);
    out.push(roman(if required { " " } else { " [" }));
    if arg.is_positional() {
        if arg.is_last_set() {
            out.push(bold("-- "));
        }
        out.push(italic(value));
        if many {
            out.push(roman("..."));
        }
    } else {
        let flag = match (arg.get_long(), arg.get_short()) {
            (Some(long), _) => format!("--{long}"),
            (None, Some(short)) => format!("-{short}"),
            (None, None) => return,
        };
        out.push(bold(flag));
        if arg.get_action().takes_values() {
            out.push(roman(" "));
            out.push(italic(value));
        }
    }
    if !required {
        out.push(roman("]"));
    }
}

/// The SYNOPSIS section of `cmd`'s page: its name, its own options with their
/// values (a subcommand's page leaves the global options to the main page),
/// and COMMAND when it has subcommands.
pub fn synopsis(cmd: &clap::Command, is_root: bool) -> String {
    let name = cmd.get_bin_name().unwrap_or(cmd.get_name()).to_string();
    let mut line = vec![bold(name)];
    let shown = cmd.get_arguments().filter(|a| {
        !a.is_hide_set()
            && !matches!(a.get_id().as_str(), "help" | "version")
            && (is_root || !a.is_global_set())
    });
    // Required options first, in definition order, then the optional ones.
    let (required, optional): (Vec<_>, Vec<_>) =
        shown.partition(|a| a.is_required_set() && !a.is_positional());
    for arg in required.into_iter().chain(optional) {
        synopsis_arg(arg, &mut line);
    }
    if cmd.has_subcommands() {
        line.push(roman(" "));
        line.push(italic("COMMAND"));
    }
    let mut roff = Roff::new();
    roff.control("SH", ["SYNOPSIS"]).text(line);
    body(&roff)
}

/// Paragraphs under one heading, each a list of inline pieces.
fn section(roff: &mut Roff, title: &str, paragraphs: &[&str]) {
    roff.control("SH", [title]);
    for (i, p) in paragraphs.iter().enumerate() {
        if i > 0 {
            roff.control("PP", [] as [&str; 0]);
        }
        roff.text([roman(*p)]);
    }
}

const CONCEPTS: &[&str] = &[
    "Everything is a ref on the server you already have; writers append, readers fold. \
     The control ledger (refs/deploybot/control) and the queue ledger (refs/deploybot/queue) \
     are chains of single-parent commits, one record each, with a snapshot of the state folded \
     after it; nothing is rewritten, so the history is the audit log.",
    "CI and deploy runners record results as JSON Lines notes (refs/notes/deploybot/ci, \
     refs/notes/deploybot/deploy) on the exact commit they tested, so a green head is green by \
     its sha. A release is the state of one exact main commit read from its notes: testing, \
     awaiting-deploy, deploying, verified, or ci-failed, deploy-failed, verify-failed.",
    "A failure pauses the pipeline. The repair lease (refs/heads/deploybot/repair/<sha12>, \
     taken with claim-repair) elects one repair; unpause records a durable recovery and wakes \
     the reactor, which lands the elected repair past the failed sha. A stale worker replaying \
     an old pause cannot undo a recovery: the fold ignores it.",
    "Every write is one atomic push with a lease on each ref it read, rebuilt from fresh state \
     and retried when another writer wins. The server's pre-receive hook (hook install) is the \
     final guard. Every --sha takes the full sha or an unambiguous abbreviation of 7 or more \
     hex digits, as status shows them.",
];

const EXAMPLES: &[(&str, &str)] = &[
    (
        "git deploybot init",
        "write a starter .deploybot.toml and the fetch refspecs",
    ),
    (
        "git deploybot doctor",
        "check the installation, one row each",
    ),
    (
        "git deploybot status",
        "the control state, main and its release, the queue, the next commands",
    ),
    (
        "git deploybot request feature/login",
        "ask for the branch's exact head to be merged",
    ),
    (
        "git deploybot react --follow",
        "one coordinator pass, then follow the new main",
    ),
    (
        "git deploybot ci run --check CI -- make test",
        "a runner: test a pending commit and report",
    ),
    (
        "git deploybot claim-repair",
        "main failed: take the repair lease (owner: you)",
    ),
    (
        "git deploybot unpause --sha 1a2b3c4d5e6f --control-id <id>",
        "resume with a recovery (status prints the exact line)",
    ),
];

const EXIT_STATUS: &[(&str, &str)] = &[
    ("0", "success (including \"nothing to do\")"),
    ("1", "git, I/O or network failure"),
    (
        "2",
        "bad input (flags, shas, reasons, policy); also a command given without its subcommand, which prints its help",
    ),
    (
        "3",
        "state changed or forbids this: refresh git deploybot status and retry",
    ),
    ("4", "the server's pre-receive hook refused the push"),
    ("5", "other writers kept winning the race; retry"),
    ("6", "a followed release failed"),
    ("7", "a wait timed out"),
];

/// CONCEPTS, EXAMPLES and EXIT STATUS for the main page.
pub fn main_sections() -> String {
    let mut roff = Roff::new();
    section(&mut roff, "CONCEPTS", CONCEPTS);
    roff.control("SH", ["EXAMPLES"]);
    for (command, what) in EXAMPLES {
        roff.control("TP", [] as [&str; 0])
            .text([bold(*command)])
            .text([roman(*what)]);
    }
    roff.control("SH", ["EXIT STATUS"]);
    for (code, meaning) in EXIT_STATUS {
        roff.control("TP", [] as [&str; 0])
            .text([bold(*code)])
            .text([roman(*meaning)]);
    }
    roff.control("SH", ["SEE ALSO"]).text([roman(
        "git deploybot <command> -h; the README and docs/commands.md of git-deploybot",
    )]);
    body(&roff)
}
