//! Logs in git (issue 21, item 3): a run's output tail is a note on the
//! exact commit in `refs/notes/deploybot/logs`, written with its result in
//! one push; `status` and `why` show the failing tail; the server lets only
//! runners write it, and only by appending. Real runs, real pushes, the hook.

mod common;
use common::World;
use serde_json::Value;

const ACTORS: &str = r#"[queue]
trusted_actors = ["dev"]
coordinator_actors = ["coord"]
ci_runners = ["ci"]

[pipeline]
ci_failure_grace_seconds = 0
"#;

#[test]
fn a_failed_runs_tail_is_in_git_and_status_and_why_show_it() {
    let w = World::with_policy(ACTORS);
    w.install_deploybot_hooks();
    let (dev, coord, ci) = (w.clone_as("dev"), w.clone_as("coord"), w.clone_as("ci"));
    let head = dev.push_branch("feature/a", "a.txt", "a\n");
    ci.ok_as(
        "ci",
        &[
            "ci", "report", "--sha", &head, "--check", "CI", "--status", "success",
        ],
    );
    dev.ok_as("dev", &["request", "feature/a"]);
    coord.ok_as("coord", &["react"]);
    let main = w.server_ref("refs/heads/main").expect("main");
    // The runner runs main's CI: it fails, saying why on stderr.
    let script = "echo compiling; echo 'assertion failed: left == right' >&2; exit 1";
    let out = ci.run_as(
        "ci",
        &[
            "ci", "run", "--check", "CI", "--sha", &main, "--", "sh", "-c", script,
        ],
    );
    assert!(!out.status.success());
    // The log is a note on the exact commit, readable with plain git.
    ci.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/notes/deploybot/logs:refs/notes/deploybot/logs",
    ]);
    let note = ci.git(&["notes", "--ref=deploybot/logs", "show", &main]);
    assert!(note.starts_with("== CI failure · run "), "{note}");
    assert!(
        note.contains("compiling") && note.contains("assertion failed"),
        "{note}"
    );
    // status and why show the failing tail.
    let s: Value = serde_json::from_str(&dev.ok_as("dev", &["status", "--json"])).expect("json");
    let tail = s["main"]["log_tail"].as_str().unwrap_or_default();
    assert!(tail.contains("assertion failed"), "{s}");
    assert!(dev.ok_as("dev", &["status"]).contains("assertion failed"));
    let why: Value =
        serde_json::from_str(&dev.ok_as("dev", &["why", "feature/a", "--json"])).expect("json");
    assert!(
        why["log_tail"]
            .as_str()
            .unwrap_or_default()
            .contains("assertion failed"),
        "{why}"
    );
    assert!(
        dev.ok_as("dev", &["why", "feature/a"])
            .contains("assertion failed")
    );
}

#[test]
fn only_runners_write_logs_and_only_by_appending() {
    let w = World::with_policy(ACTORS);
    w.install_deploybot_hooks();
    let c = w.clone_as("coord");
    let main = w.server_ref("refs/heads/main").expect("main");
    let logs = "refs/notes/deploybot/logs";
    c.git(&[
        "notes",
        "--ref=deploybot/logs",
        "add",
        "-m",
        "== CI success · run x · t ==\nall good",
        &main,
    ]);
    w.assert_refused(
        &c,
        &["push", "origin", logs],
        &[("GL_USER", "coord")],
        "may not write run logs",
    );
    c.assert_git_ok(&["push", "origin", logs], &[("GL_USER", "ci")]);
    // A rewrite of a log is refused, even from a runner.
    c.git(&[
        "notes",
        "--ref=deploybot/logs",
        "add",
        "-f",
        "-m",
        "rewritten",
        &main,
    ]);
    w.assert_refused(
        &c,
        &["push", "-f", "origin", logs],
        &[("GL_USER", "ci")],
        "deploybot: refs/notes/deploybot/logs",
    );
}

/// `prune --logs-older-than`: a coordinator drops old run logs in a rewrite
/// of the logs ref alone; results stay; a runner may not prune, and a
/// rewrite that changes a kept entry is refused.
#[test]
fn old_logs_are_pruned_by_a_coordinator_and_results_stay() {
    let w = World::with_policy(ACTORS);
    w.install_deploybot_hooks();
    let (coord, ci) = (w.clone_as("coord"), w.clone_as("ci"));
    let main = w.server_ref("refs/heads/main").expect("main");
    let run = |script: &str| {
        let _ = ci.run_as(
            "ci",
            &[
                "ci", "run", "--check", "CI", "--sha", &main, "--", "sh", "-c", script,
            ],
        );
    };
    run("echo the old run; exit 1");
    std::thread::sleep(std::time::Duration::from_secs(3));
    run("echo the new run; exit 0");
    let results = w.server_ref("refs/notes/deploybot/ci");
    let out = ci.run_as("ci", &["prune", "--logs-older-than", "2s"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "a runner may not prune: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = coord.ok_as("coord", &["prune", "--logs-older-than", "2s"]);
    assert!(text.contains("pruned 1 run log(s)"), "{text}");
    coord.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/notes/deploybot/logs:refs/notes/deploybot/logs",
    ]);
    let note = coord.git(&["notes", "--ref=deploybot/logs", "show", &main]);
    assert!(
        note.contains("the new run") && !note.contains("the old run"),
        "{note}"
    );
    assert_eq!(
        w.server_ref("refs/notes/deploybot/ci"),
        results,
        "results untouched"
    );
    let out = coord.run_as("coord", &["prune", "--logs-older-than", "ten days"]);
    assert_eq!(out.status.code(), Some(2));
    // A rewrite that forges a kept entry is refused, even from a coordinator.
    let logs = "refs/notes/deploybot/logs";
    coord.git(&[
        "notes",
        "--ref=deploybot/logs",
        "add",
        "-f",
        "-m",
        "== CI success · run x · 2026-12-05T00:00:00Z ==\nforged",
        &main,
    ]);
    let orphan = coord.git(&["commit-tree", &format!("{logs}^{{tree}}"), "-m", "forged"]);
    w.assert_refused(
        &coord,
        &["push", "-f", "origin", &format!("{orphan}:{logs}")],
        &[("GL_USER", "coord")],
        "deploybot: refs/notes/deploybot/logs",
    );
}
