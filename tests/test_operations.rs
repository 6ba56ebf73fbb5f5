//! Operations: no panics (huge durations, a closed stdout, a ledger ref on a
//! non-commit) and reading while the server is down (`status --cached`).

mod common;
use common::{FAST_POLICY, World};
use std::process::{Output, Stdio};

/// The stderr lines of a run that must fail with `code`.
fn fails(out: &Output, code: i32) -> Vec<String> {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert!(!stderr.contains("panicked"), "no panic: {stderr}");
    stderr.lines().map(str::to_string).collect()
}

#[test]
fn huge_seconds_are_usage_errors_naming_the_flag_and_the_range() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let huge = "18446744073709551615";
    let sha = dev.remote_main();
    let cases: [(&[&str], &str); 4] = [
        (&["react", "--timeout", huge], "--timeout"),
        (&["follow", "--timeout", "1", "--poll", huge], "--poll"),
        (&["follow", "--timeout", "31536001"], "--timeout"),
        (
            &[
                "unpause",
                "--sha",
                &sha,
                "--control-id",
                "x",
                "--timeout",
                huge,
            ],
            "--timeout",
        ),
    ];
    for (args, flag) in cases {
        let lines = fails(&dev.run(args), 2);
        assert_eq!(lines.len(), 1, "{args:?}: one line: {lines:?}");
        assert!(
            lines[0].starts_with(&format!("error: {flag} "))
                && lines[0].contains("give 1 to 31536000 seconds"),
            "{args:?}: names the flag and the range: {}",
            lines[0]
        );
    }
}

#[test]
fn a_huge_verification_timeout_is_a_policy_error_naming_the_key() {
    let w = World::with_policy(
        "[[pipeline.verifications]]\nname = \"health\"\nurl = \"http://127.0.0.1:9/\"\ntimeout_seconds = 18446744073709551615\n",
    );
    let dev = w.clone_as("dev");
    for args in [&["status"][..], &["follow", "--timeout", "1"]] {
        let lines = fails(&dev.run(args), 2);
        assert_eq!(lines.len(), 1, "{lines:?}");
        assert!(
            lines[0].contains("`pipeline.verifications[0].timeout_seconds`")
                && lines[0].contains("give 1 to 31536000 seconds"),
            "{}",
            lines[0]
        );
    }
}

/// Runs the binary with its stdout's reader already gone (like `| head -c0`).
fn with_closed_stdout(c: &common::Clone, args: &[&str]) -> Output {
    let mut cmd = c.std_command(args);
    cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    // The reader goes away before the command has done anything, so its write
    // certainly meets a closed pipe.
    drop(child.stdout.take());
    child.wait_with_output().expect("wait")
}

#[test]
fn a_closed_stdout_never_panics_and_the_work_is_done() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let head = dev.push_green_request("feature/a", "a.txt");
    let before = w.server_ref("refs/heads/main");
    let out = with_closed_stdout(&dev, &["react", "--json"]);
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains("panicked"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "a closed reader is not a failure"
    );
    assert_ne!(w.server_ref("refs/heads/main"), before, "the merge landed");
    w.server_git(&["merge-base", "--is-ancestor", &head, "main"]);
    for args in [
        &["status"][..],
        &["status", "--json"],
        &["doctor", "--json"],
    ] {
        let out = with_closed_stdout(&dev, args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?}: {stderr}");
        assert_ne!(out.status.code(), Some(101), "{args:?}: {stderr}");
    }
}

#[test]
fn a_ledger_ref_on_a_non_commit_is_named_with_its_fix() {
    let w = World::new();
    let ops = w.clone_as("ops");
    ops.ok(&["pause", "--reason", "hold"]);
    let blob = w.server_git_stdin(&["hash-object", "-w", "--stdin"], "junk\n");
    w.server_git(&["update-ref", "refs/deploybot/control", &blob]);
    let tree = w.server_git(&["rev-parse", "main^{tree}"]);
    w.server_git(&["update-ref", "refs/deploybot/queue", &tree]);
    for args in [&["status"][..], &["react"], &["pause", "--reason", "x"]] {
        let lines = fails(&ops.run(args), 1);
        assert_eq!(lines.len(), 1, "{args:?}: {lines:?}");
        assert!(
            lines[0].contains("refs/deploybot/control on `origin` points at a blob")
                && lines[0].contains("git update-ref refs/deploybot/control <commit>"),
            "{args:?}: {}",
            lines[0]
        );
    }
    let out = ops.run(&["doctor", "--json"]);
    assert_eq!(out.status.code(), Some(1), "a failing row");
    let report: serde_json::Value =
        serde_json::from_slice(&out.stdout).expect("doctor --json is JSON");
    let rows = report["rows"].as_array().expect("rows");
    for (check, kind, name) in [
        ("control ledger", "blob", "refs/deploybot/control"),
        ("queue ledger", "tree", "refs/deploybot/queue"),
    ] {
        let row = rows.iter().find(|r| r["check"] == check).expect(check);
        assert_eq!(row["level"], "fail", "{row}");
        let detail = row["detail"].as_str().expect("detail");
        assert!(detail.contains(name) && detail.contains(kind), "{detail}");
        assert!(
            row["fix"].as_str().expect("fix").contains("git update-ref"),
            "{row}"
        );
    }
}

/// The git commands a run of `args` in `clone` started (`GIT_TRACE`), and its stdout.
fn traced(clone: &common::Clone, args: &[&str]) -> (String, String) {
    let trace = clone.path.join("trace.log");
    let _ = std::fs::remove_file(&trace);
    let out = clone
        .deploybot(args)
        .env("GIT_TRACE", &trace)
        .output()
        .expect("binary runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let log = std::fs::read_to_string(&trace).unwrap_or_default();
    (log, String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn a_read_lists_the_remote_and_fetches_only_when_it_moved() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let ops = w.clone_as("ops");
    dev.ok(&["status"]);
    let (log, _) = traced(&dev, &["status", "--json"]);
    assert!(log.contains("built-in: git ls-remote"), "{log}");
    assert!(!log.contains("built-in: git fetch"), "nothing moved: {log}");
    ops.ok(&["pause", "--reason", "hold"]);
    let (log, out) = traced(&dev, &["status", "--json"]);
    assert!(
        log.contains("built-in: git fetch"),
        "the control ledger moved: {log}"
    );
    let status: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(status["control"]["state"], "paused", "{status}");
    // A branch that moved is news too.
    ops.push_branch("feature/x", "x.txt", "x\n");
    let (log, _) = traced(&dev, &["status", "--json"]);
    assert!(log.contains("built-in: git fetch"), "a branch moved: {log}");
    let (log, _) = traced(&dev, &["status", "--json"]);
    assert!(!log.contains("built-in: git fetch"), "{log}");
}

#[test]
fn status_cached_reads_the_last_fetched_state_while_the_server_is_down() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let ops = w.clone_as("ops");
    ops.ok(&["pause", "--reason", "hold"]);
    let fresh = dev.status();
    assert_eq!(fresh["cached"], false, "{fresh}");
    assert_eq!(fresh["control"]["state"], "paused");
    // The server goes away.
    std::fs::rename(&w.server, w.dir.path().join("server.down")).expect("down");
    let lines = fails(&dev.run(&["status"]), 1);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("error: cannot fetch from remote `origin`")
            && lines[0].contains("git deploybot status --cached"),
        "suggests --cached: {}",
        lines[0]
    );
    let out = dev.run(&["status", "--cached", "--json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let cached: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(cached["cached"], true, "{cached}");
    assert_eq!(
        cached["control"]["state"], "paused",
        "the last fetched state"
    );
    assert!(
        cached["fetched_at"]
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{cached}"
    );
    assert!(cached["age_seconds"].as_u64().is_some(), "{cached}");
    let warning = String::from_utf8_lossy(&out.stderr);
    assert_eq!(warning.lines().count(), 1, "{warning}");
    assert!(
        warning.starts_with("warning: showing the state last fetched from `origin`")
            && warning.contains("may be stale"),
        "{warning}"
    );
    let text = dev.ok(&["status", "--cached"]);
    assert!(
        text.lines()
            .any(|l| l.starts_with("cached") && l.contains("fetched")),
        "{text}"
    );
}
