//! First contact and daily use (issue 12): what a newcomer types first, and
//! the small frictions of every day, through the real binary.

mod common;
use common::{Clone, FAST_POLICY, World};
use serde_json::Value;

/// (exit code, stdout, stderr) of a run.
fn outcome(c: &Clone, args: &[&str]) -> (Option<i32>, String, String) {
    let out = c.run(args);
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The one stderr line of a run that must fail with `code`.
fn one_line(c: &Clone, args: &[&str], code: i32) -> String {
    let (got, _, stderr) = outcome(c, args);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{args:?}: one line, got {stderr}");
    assert_eq!(got, Some(code), "{args:?}: {stderr}");
    lines[0].to_string()
}

fn json(c: &Clone, args: &[&str]) -> Value {
    let text = c.ok(args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{args:?} is JSON ({e}): {text}"))
}

// ---- item 2: a bare command shows its help; real mistakes stay one line ----

#[test]
fn a_bare_command_prints_the_whole_help_and_exits_2() {
    let w = World::new();
    let dev = w.clone_as("dev");
    for args in [&[][..], &["ci"], &["deploy"], &["hook"]] {
        let (code, stdout, stderr) = outcome(&dev, args);
        assert_eq!(code, Some(2), "{args:?}: exit 2, as for any usage error");
        assert_eq!(stdout, "", "{args:?}: the help goes to stderr");
        let usage = format!("Usage: git deploybot {}", args.join(" "));
        assert!(
            stderr
                .lines()
                .any(|l| l.trim_end().starts_with(usage.trim_end())),
            "{args:?}: clap's usage line on its own: {stderr}"
        );
        assert!(
            stderr.lines().any(|l| l == "Commands:"),
            "{args:?}: {stderr}"
        );
        assert!(stderr.lines().count() > 8, "{args:?}: multi-line");
        assert!(!stderr.contains("error:"), "{args:?}: not an error line");
    }
    // `--help` is the same help on stdout, exit 0.
    let (code, stdout, _) = outcome(&dev, &["--help"]);
    assert_eq!(code, Some(0));
    assert!(stdout.contains("Commands:"), "{stdout}");
}

#[test]
fn a_typo_is_one_line_that_keeps_clap_suggestion() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let line = one_line(&dev, &["staus"], 2);
    assert!(
        line.starts_with("error: unrecognized subcommand 'staus'") && line.contains("'status'"),
        "{line}"
    );
    let sha = "a".repeat(40);
    let line = one_line(&dev, &["unpause", "--sha", &sha, "--contol-id", "x"], 2);
    assert!(
        line.starts_with("error: unexpected argument '--contol-id' found")
            && line.contains("a similar argument exists: '--control-id'")
            && line.contains("usage: git deploybot unpause"),
        "{line}"
    );
    let line = one_line(&dev, &["ci", "repor"], 2);
    assert!(line.contains("'report'"), "{line}");
}

#[test]
fn a_missing_directory_is_named_in_one_line() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let missing = w.dir.path().join("nope");
    let shown = missing.display().to_string();
    assert_eq!(
        one_line(&dev, &["-C", &shown, "status"], 2),
        format!("error: -C {shown}: the directory does not exist; pass a directory inside a clone")
    );
    let file = dev.path.join("README.md");
    let shown = file.display().to_string();
    assert_eq!(
        one_line(&dev, &["-C", &shown, "status"], 2),
        format!(
            "error: -C {shown}: the directory is not a directory; pass a directory inside a clone"
        )
    );
}

// ---- item 3: abbreviated shas, resolved as git does, recorded in full ----

#[test]
fn abbreviated_shas_resolve_to_the_full_commit_everywhere() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let main = dev.remote_main();

    // ci report with the 12 hex `status` shows: the note is on the full sha.
    dev.ok(&[
        "ci",
        "report",
        "--sha",
        &main[..12],
        "--check",
        "CI",
        "--status",
        "failure",
    ]);
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &main]);
    assert!(note.contains("\"failure\""), "{note}");

    // claim-repair and pause with 7 hex record the full sha.
    let claim = json(&dev, &["claim-repair", "--sha", &main[..7], "--json"]);
    assert_eq!(claim["main_sha"], main.as_str(), "{claim}");
    let paused = json(
        &dev,
        &["pause", "--reason", "stop", "--sha", &main[..7], "--json"],
    );
    assert_eq!(paused["main_sha"], main.as_str(), "{paused}");
    let (id, paused_sha) = dev.pause_ids();
    assert_eq!(paused_sha, main);

    // unpause with an upper-case abbreviation: it resumes the pause on the full sha.
    let unpaused = json(
        &dev,
        &[
            "unpause",
            "--sha",
            &main[..10].to_ascii_uppercase(),
            "--control-id",
            &id,
            "--no-wake",
            "--json",
        ],
    );
    assert_eq!(unpaused["recovery"]["recovered_main_sha"], main.as_str());

    // request with an abbreviation of the branch head.
    let head = dev.push_branch("feature", "f.txt", "f\n");
    let requested = json(&dev, &["request", "feature", "--sha", &head[..8], "--json"]);
    assert_eq!(requested["head_sha"], head.as_str(), "{requested}");
}

#[test]
fn an_abbreviation_known_only_to_the_server_resolves_after_the_fetch() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let other = w.clone_as("other");
    let head = other.push_branch("elsewhere", "e.txt", "e\n");
    assert!(
        !dev.try_git(&["cat-file", "-e", &head]).status.success(),
        "dev has not fetched it yet"
    );
    dev.ok(&[
        "ci",
        "report",
        "--sha",
        &head[..9],
        "--check",
        "CI",
        "--status",
        "success",
    ]);
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &head]);
    assert!(note.contains("\"success\""), "{note}");
    let requested = json(
        &dev,
        &["request", "elsewhere", "--sha", &head[..7], "--json"],
    );
    assert_eq!(requested["head_sha"], head.as_str(), "{requested}");
}

/// Two commits whose shas share the 7 hex `8f00065` (found by search; the
/// bodies are fixed, so the shas are too).
fn write_colliding_commits(c: &Clone) -> (String, String) {
    let write = |n: u32| {
        let body = format!(
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 0 +0000\ncommitter A <a@example.com> 0 +0000\n\nambiguous {n}\n"
        );
        c.git_stdin(&["hash-object", "-t", "commit", "-w", "--stdin"], &body)
    };
    (write(271), write(23204))
}

#[test]
fn an_ambiguous_or_unknown_abbreviation_is_one_line_naming_it() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let (a, b) = write_colliding_commits(&dev);
    assert_eq!(&a[..7], &b[..7], "the fixture collides");
    assert_ne!(a, b);
    for args in [
        &["pause", "--reason", "x", "--sha", "8f00065"][..],
        &[
            "ci", "report", "--sha", "8f00065", "--check", "CI", "--status", "success",
        ],
    ] {
        assert_eq!(
            one_line(&dev, args, 2),
            "error: --sha `8f00065` is ambiguous: several commits start with it; give more hex digits (`git rev-parse --disambiguate=8f00065` lists them)",
            "{args:?}"
        );
    }
    // One more digit tells them apart.
    let out = dev.ok(&[
        "ci",
        "report",
        "--sha",
        &a[..8],
        "--check",
        "CI",
        "--status",
        "success",
    ]);
    assert_eq!(out.trim(), format!("recorded CI success on {}", &a[..12]));

    let w = World::new();
    let dev = w.clone_as("dev");
    let unknown = "0000000dead";
    for args in [
        &[
            "deploy", "report", "--sha", unknown, "--check", "Deploy", "--status", "success",
        ][..],
        &["claim-repair", "--sha", unknown],
    ] {
        assert_eq!(
            one_line(&dev, args, 2),
            format!(
                "error: --sha `{unknown}` names no commit in this repository (as a sha, branch, tag or revision like `HEAD~1`); check it, or copy a sha from `git deploybot status`"
            ),
            "{args:?}"
        );
    }
    assert_eq!(
        one_line(&dev, &["pause", "--reason", "x", "--sha", "abc123"], 2),
        "error: --sha `abc123` names no commit in this repository (as a sha, branch, tag or revision like `HEAD~1`); check it, or copy a sha from `git deploybot status`"
    );
}

// ---- item 9: completions for `git deploybot <TAB>`, a manual beyond --help ----

/// Runs `script` in a real, non-interactive bash; returns its stdout.
fn bash(script: &str) -> String {
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", script])
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "bash failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn bash_completes_git_deploybot_and_git_space_deploybot() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let script = dev.ok(&["completions", "bash"]);
    assert!(
        script.contains("\n_git_deploybot() {"),
        "defines _git_deploybot"
    );
    let file = w.dir.path().join("git-deploybot.bash");
    std::fs::write(&file, &script).expect("write the script");
    let complete = |words: &str, cword: usize, call: &str| {
        bash(&format!(
            "source '{}'; COMP_WORDS=({words}); COMP_CWORD={cword}; {call}; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            file.display()
        ))
    };
    // `git deploybot statu<TAB>`, as git's completion calls it (no arguments).
    let got = complete("git deploybot statu", 2, "_git_deploybot");
    assert_eq!(
        got, "status \n",
        "a subcommand, with the space git leaves out"
    );
    // Past global options, into a subcommand's flags.
    let got = complete("git -C . deploybot unpause --cont", 5, "_git_deploybot");
    assert_eq!(got, "--control-id \n");
    let got = complete("git deploybot ci ''", 3, "_git_deploybot");
    for sub in ["report ", "pending ", "run "] {
        assert!(got.lines().any(|l| l == sub), "{sub} in {got}");
    }
    // `git-deploybot claim-repair --o<TAB>` through the registered completer.
    let registered = bash(&format!(
        "source '{}'; complete -p git-deploybot",
        file.display()
    ));
    let function = registered
        .split_whitespace()
        .skip_while(|w| *w != "-F")
        .nth(1)
        .expect("complete -F <function>")
        .to_string();
    let got = complete(
        "git-deploybot claim-repair --o",
        2,
        &format!("{function} git-deploybot --o claim-repair"),
    );
    assert!(got.lines().any(|l| l == "--owner"), "{got}");

    // Through git's own bash completion, when it is installed here.
    let git_completion = std::path::Path::new("/usr/share/bash-completion/completions/git");
    if git_completion.exists() {
        let got = bash(&format!(
            "source '{}'; source '{}'; COMP_WORDS=(git deploybot statu); COMP_CWORD=2; \
             COMP_LINE='git deploybot statu'; COMP_POINT=${{#COMP_LINE}}; \
             __git_wrap__git_main git statu deploybot; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            git_completion.display(),
            file.display()
        ));
        assert_eq!(got, "status \n");
    }
}

#[test]
fn the_manual_has_concepts_examples_exit_status_and_option_values() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let page = dev.ok(&["man"]);
    for section in [
        ".SH CONCEPTS",
        ".SH EXAMPLES",
        ".SH \"EXIT STATUS\"",
        ".SH OPTIONS",
    ] {
        assert!(page.contains(section), "{section} in the main page");
    }
    for code in 0..=7 {
        assert!(
            page.contains(&format!(".TP\n\\fB{code}\\fR\n")),
            "exit code {code} listed"
        );
    }
    assert!(
        page.contains("[\\fB\\-C\\fR \\fIPATH\\fR]"),
        "synopsis shows option values"
    );
    let dir = w.dir.path().join("man1");
    dev.ok(&["man", "--dir", dir.to_str().expect("utf-8")]);
    let unpause = std::fs::read_to_string(dir.join("git-deploybot-unpause.1")).expect("page");
    assert!(
        unpause.contains(
            "\\fBgit deploybot unpause\\fR \\fB\\-\\-sha\\fR \\fISHA\\fR \\fB\\-\\-control\\-id\\fR \\fIID\\fR"
        ),
        "{unpause}"
    );
    // `-h` works before any page is installed.
    let help = dev.ok(&["-h"]);
    assert!(help.contains("Usage: git deploybot"), "{help}");
}

// ---- item 10: one voice ----

/// A world where `a` and `b` are requested with green CI on their heads.
fn two_green_requests(policy: &str) -> (World, Clone) {
    let w = World::with_policy(policy);
    let dev = w.clone_as("dev");
    for (branch, file) in [("a", "a.txt"), ("b", "b.txt")] {
        let head = dev.push_branch(branch, file, &format!("{branch}\n"));
        dev.report_ci(&head, "success");
        dev.ok(&["request", branch]);
    }
    (w, dev)
}

#[test]
fn the_react_headline_names_the_new_main_and_follow_speaks_lower_case() {
    let (w, dev) = two_green_requests(FAST_POLICY);
    let before = dev.remote_main();
    let text = dev.ok(&["react", "--follow", "--timeout", "30"]);
    let after = w.server_ref("refs/heads/main").expect("main");
    let mut lines = text.lines();
    assert_eq!(
        lines.next(),
        Some(
            format!(
                "react: complete — main {} → {}, merged 2",
                &before[..12],
                &after[..12]
            )
            .as_str()
        ),
        "{text}"
    );
    let follow = text
        .lines()
        .find(|l| l.starts_with("follow: "))
        .unwrap_or_else(|| panic!("a follow line: {text}"));
    assert_eq!(
        follow.split(" after ").next(),
        Some(
            format!(
                "follow: reached — main {} admits the next merge (testing,",
                &after[..12]
            )
            .as_str()
        ),
        "{follow}"
    );
    assert!(!text.contains("Reached"), "{text}");

    // Nothing to merge: the headline names main and its release.
    let text = dev.ok(&["react"]);
    assert_eq!(
        text.lines().next(),
        Some(format!("react: complete — main {} is testing", &after[..12]).as_str()),
        "{text}"
    );
}

#[test]
fn a_followed_failure_is_printed_once() {
    let bin = assert_cmd::cargo::cargo_bin!("git-deploybot");
    let policy = format!(
        "{FAST_POLICY}ci_dispatch_command = \"'{}' ci report --sha $DEPLOYBOT_SHA --check CI --status failure\"\n",
        bin.display()
    );
    let (w, dev) = two_green_requests(&policy);
    let (code, stdout, stderr) = outcome(
        &dev,
        &["react", "--follow", "--dispatch-ci", "--timeout", "30"],
    );
    let main = w.server_ref("refs/heads/main").expect("main");
    assert_eq!(code, Some(6), "{stdout}{stderr}");
    let failed: Vec<&str> = stdout
        .lines()
        .chain(stderr.lines())
        .filter(|l| l.contains("ci-failed"))
        .collect();
    assert_eq!(failed.len(), 1, "said once: {stdout}{stderr}");
    assert!(
        failed[0].starts_with(&format!(
            "follow: failed — main {} is ci-failed after ",
            &main[..12]
        )),
        "{}",
        failed[0]
    );
    assert!(!stderr.contains("error:"), "{stderr}");
}

#[test]
fn claim_repair_defaults_to_the_actor_and_says_the_json_word() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let main = dev.remote_main();
    dev.report_ci(&main, "failure");
    let branch = format!("deploybot/repair/{}", &main[..12]);

    let text = dev.ok(&["claim-repair"]);
    assert!(
        text.starts_with(&format!(
            "created: {branch} for dev@example.com (repairing ci-failed on {})\n",
            &main[..12]
        )),
        "{text}"
    );
    let text = dev.ok(&["claim-repair"]);
    assert!(
        text.starts_with(&format!("owned: {branch} is already yours")),
        "{text}"
    );
    let other = w.clone_as("other");
    let text = other.ok(&["claim-repair"]);
    assert!(
        text.starts_with(&format!(
            "claimed: {branch} belongs to dev@example.com since "
        )),
        "{text}"
    );
    let view = json(&other, &["claim-repair", "--json"]);
    assert_eq!(view["state"], "claimed");
    assert_eq!(view["owner"], "dev@example.com");

    // The lease commit reads as a sentence in `git log`, its JSON below.
    let message = w.server_git(&["log", "-1", "--format=%B", &format!("refs/heads/{branch}")]);
    let (subject, rest) = message
        .split_once("\n\n")
        .expect("a blank line after the subject");
    assert_eq!(
        subject,
        format!(
            "repair lease for {} (ci-failed), owner dev@example.com",
            &main[..12]
        )
    );
    let lease: Value = serde_json::from_str(rest.trim()).expect("lease JSON");
    assert_eq!(lease["main_sha"], main.as_str());
    // status reads it back.
    assert_eq!(dev.status()["repair"]["owner"], "dev@example.com");
}
