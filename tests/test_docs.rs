//! The docs cannot drift from the binary: docs/commands.md is every command's
//! `--help` as clap renders it, the man pages name every subcommand, and the
//! README's "Try it" runs exactly what CI runs.

use assert_cmd::Command;
use std::path::Path;

fn bin() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin!("git-deploybot"))
}

fn stdout(args: &[&str]) -> String {
    let out = bin().args(args).output().expect("runs");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Every visible subcommand path, e.g. `status`, `ci report`.
fn subcommands() -> Vec<String> {
    use clap::CommandFactory;
    fn walk(cmd: &clap::Command, prefix: &str, out: &mut Vec<String>) {
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            let path = format!("{prefix}{}", sub.get_name());
            out.push(path.clone());
            walk(sub, &format!("{path} "), out);
        }
    }
    let mut out = Vec::new();
    walk(&deploybot::cli::Cli::command(), "", &mut out);
    out
}

#[test]
fn docs_commands_md_is_the_binarys_help() {
    let generated = stdout(&["help-markdown"]);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/commands.md");
    if std::env::var_os("DEPLOYBOT_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &generated).expect("write docs/commands.md");
    }
    let on_disk = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        on_disk == generated,
        "docs/commands.md is stale; regenerate with `DEPLOYBOT_UPDATE_DOCS=1 cargo test --test test_docs`"
    );
    for sub in subcommands() {
        assert!(
            generated.contains(&format!("## `git deploybot {sub}`")),
            "{sub}"
        );
    }
    // Each section really is that command's help.
    let status_help = stdout(&["status", "-h"]);
    assert!(generated.contains(status_help.trim_end()), "{status_help}");
}

#[test]
fn the_man_pages_name_every_subcommand() {
    let main_page = stdout(&["man"]);
    assert!(
        main_page.starts_with(".ie") || main_page.contains(".TH git-deploybot 1"),
        "{main_page}"
    );
    for sub in subcommands().iter().filter(|s| !s.contains(' ')) {
        assert!(
            main_page.contains(&format!("git\\-deploybot\\-{}", sub.replace('-', "\\-")))
                || main_page.contains(sub.as_str()),
            "{sub} in the man page"
        );
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let man1 = dir.path().join("man1");
    let out = stdout(&["man", "--dir", man1.to_str().expect("utf-8")]);
    assert!(out.contains("man pages to"), "{out}");
    for sub in subcommands() {
        let page = man1.join(format!("git-deploybot-{}.1", sub.replace(' ', "-")));
        assert!(page.exists(), "{}", page.display());
    }
    assert_eq!(
        std::fs::read_to_string(man1.join("git-deploybot.1")).expect("page"),
        main_page
    );
    // Where `man` exists, `git help deploybot` finds and renders the page through MANPATH.
    if std::process::Command::new("man")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        // git maps `deploybot` to the page git-deploybot only when git-deploybot is on PATH.
        let bin_dir = assert_cmd::cargo::cargo_bin!("git-deploybot")
            .parent()
            .expect("dir");
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = std::process::Command::new("git")
            .args(["help", "deploybot"])
            .env("PATH", path)
            .env("MANPATH", dir.path())
            .env("MANPAGER", "cat")
            .env("PAGER", "cat")
            .output()
            .expect("git help");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("claim-repair"),
            "{text}"
        );
    }
}

#[test]
fn completions_cover_the_commands() {
    let bash = stdout(&["completions", "bash"]);
    for sub in ["status", "unpause", "claim-repair", "demo"] {
        assert!(bash.contains(sub), "{sub}");
    }
    assert!(bash.contains("git__deploybot") || bash.contains("git-deploybot"));
    assert!(stdout(&["completions", "zsh"]).contains("#compdef git-deploybot"));
}

#[test]
fn readme_try_it_runs_what_ci_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README");
    let ci = std::fs::read_to_string(root.join(".ci/run")).expect(".ci/run");
    let test_command = ci
        .lines()
        .rfind(|l| l.starts_with("cargo test"))
        .expect("a cargo test line in .ci/run");
    let try_it = readme
        .split("\n## ")
        .find(|s| s.starts_with("Try it"))
        .expect("a `## Try it` section");
    assert!(
        readme.find("\n## Try it").expect("section")
            < readme.find("\n## ").map_or(usize::MAX, |i| i + 1),
        "Try it is the first section"
    );
    let commands: Vec<&str> = try_it.lines().filter(|l| l.starts_with("cargo ")).collect();
    assert_eq!(
        commands,
        ["cargo run --release -- demo", test_command],
        "{try_it}"
    );
    // Every visible command is in the reference's command list.
    let reference =
        std::fs::read_to_string(root.join("docs/reference.md")).expect("docs/reference.md");
    for sub in subcommands().iter().filter(|s| !s.contains(' ')) {
        assert!(
            reference.contains(&format!("git deploybot {sub}")),
            "docs/reference.md names `git deploybot {sub}`"
        );
    }
}

mod common;

/// Every key `status --json` and `react --json` produce is documented in the reference's "JSON output".
#[test]
fn the_reference_documents_every_json_field() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let readme = std::fs::read_to_string(root.join("docs/reference.md")).expect("reference");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("JSON output"))
        .expect("a `## JSON output` section");
    let w = common::World::with_policy(common::FAST_POLICY);
    let dev = w.clone_as("dev");
    let head = dev.push_branch("feature/a", "a.txt", "a\n");
    dev.report_ci(&head, "success");
    dev.ok(&["request", "feature/a"]);
    let react = dev.react();
    let status = dev.status();
    let mut keys: Vec<String> = Vec::new();
    for value in [
        &react,
        &status,
        &status["control"],
        &status["main"],
        &status["main"]["release"],
    ] {
        keys.extend(value.as_object().expect("object").keys().cloned());
    }
    for entry in react["merged"].as_array().expect("merged") {
        keys.extend(entry.as_object().expect("object").keys().cloned());
    }
    for key in keys {
        assert!(
            section.contains(&format!("\"{key}\"")),
            "docs/reference.md's JSON output documents `{key}`"
        );
    }
}
