//! Bad input everywhere: one line naming the problem and the next step, non-zero exit, nothing written.

mod common;
use common::World;

fn one_line_error(out: &std::process::Output) -> String {
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "exactly one line: {stderr}");
    lines[0].to_string()
}

#[test]
fn unknown_flag_is_a_usage_error() {
    let w = World::new();
    let alice = w.clone_as("alice");
    let out = alice.run(&["pause", "--reason", "x", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    let line = one_line_error(&out);
    assert!(
        line.contains("'--bogus'") && line.contains("usage: git deploybot pause"),
        "{line}"
    );
    let out = alice.run(&["ci", "report", "--sha", "abc"]);
    let line = one_line_error(&out);
    assert!(
        line.contains("--status <STATUS>"),
        "missing flags listed: {line}"
    );
    assert_eq!(w.server_ref("refs/deploybot/control"), None);
}

#[test]
fn a_short_name_that_names_no_commit_is_refused() {
    let w = World::new();
    let alice = w.clone_as("alice");
    let out = alice.run(&["pause", "--reason", "x", "--sha", "abc123"]);
    assert_eq!(out.status.code(), Some(2));
    let line = one_line_error(&out);
    assert!(
        line.contains("names no commit") && line.contains("status"),
        "{line}"
    );
    assert_eq!(w.server_ref("refs/deploybot/control"), None);
}

#[test]
fn empty_and_multiline_reasons_are_refused() {
    let w = World::new();
    let alice = w.clone_as("alice");
    for reason in ["", "   ", "two\nlines"] {
        let out = alice.run(&["pause", "--reason", reason]);
        assert_eq!(out.status.code(), Some(2), "reason {reason:?}");
        let line = one_line_error(&out);
        assert!(line.contains("--reason"), "{line}");
    }
    assert_eq!(w.server_ref("refs/deploybot/control"), None);
}

#[test]
fn not_a_repository() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("git-deploybot"))
        .current_dir(dir.path())
        .env(
            "GIT_CEILING_DIRECTORIES",
            dir.path().parent().expect("parent"),
        )
        .args(["status"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let line = one_line_error(&out);
    assert!(
        line.contains("not inside a git repository") && line.contains("-C"),
        "{line}"
    );
}

#[test]
fn unreachable_remote() {
    let w = World::new();
    let alice = w.clone_as("alice");
    alice.git(&["remote", "set-url", "origin", "/nonexistent/server.git"]);
    let out = alice.run(&["pause", "--reason", "x"]);
    assert_eq!(out.status.code(), Some(1));
    let line = one_line_error(&out);
    assert!(
        line.contains("cannot fetch from remote `origin`") && line.contains("--offline"),
        "{line}"
    );
}

#[test]
fn unknown_remote_name() {
    let w = World::new();
    let alice = w.clone_as("alice");
    let out = alice.run(&["--remote", "upstream", "status"]);
    assert_eq!(out.status.code(), Some(2));
    let line = one_line_error(&out);
    assert!(line.contains("no remote named `upstream`"), "{line}");
}

#[test]
fn unpause_timeout_below_one_is_a_usage_error() {
    let w = World::new();
    let alice = w.clone_as("alice");
    let sha = alice.remote_main();
    let out = alice.run(&[
        "unpause",
        "--sha",
        &sha,
        "--control-id",
        "x",
        "--timeout",
        "0",
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(one_line_error(&out).contains("--timeout"));
}

#[test]
fn a_relative_dash_c_path_works() {
    let w = World::new();
    let _alice = w.clone_as("alice");
    let out = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("git-deploybot"))
        .current_dir(w.dir.path())
        .env("HOME", w.home())
        .args(["-C", "alice", "status", "--json"])
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn config_flag_reads_a_policy_file_and_names_a_bad_key() {
    let w = World::new();
    let alice = w.clone_as("alice");
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/policies");
    let good = fixtures.join("every-key.toml");
    let out = alice.run(&[
        "--config",
        good.to_str().expect("utf8"),
        "--offline",
        "status",
        "--json",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let s: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    assert_eq!(
        s["main"]["branch"], "trunk",
        "the policy from --config governs"
    );
    let bad = fixtures.join("unknown-key.toml");
    let out = alice.run(&["--config", bad.to_str().expect("utf8"), "status"]);
    assert_eq!(out.status.code(), Some(2));
    let line = one_line_error(&out);
    assert!(
        line.contains("unknown key `queue.max_batch_sise`") && line.contains("unknown-key.toml"),
        "{line}"
    );
}
