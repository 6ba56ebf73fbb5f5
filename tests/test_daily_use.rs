//! Daily use of runners and waits (issue 12, items 4 to 6): a command that
//! cannot start is not a test result, a failure within the grace is pending
//! for one retry, and long waits show progress on stderr.

mod common;
use common::{Clone, FAST_POLICY, World};
use serde_json::Value;
use std::process::{Output, Stdio};
use std::time::Duration;

/// Merges one green branch so main has a fresh sha with no results; returns it.
fn fresh_main(w: &World, dev: &Clone) -> String {
    let n = w.server_count("refs/heads/main");
    dev.push_green_request(&format!("f{n}"), &format!("f{n}.txt"));
    let r = dev.react();
    assert_eq!(r["merged"].as_array().expect("merged").len(), 1, "{r}");
    w.server_ref("refs/heads/main").expect("main")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The server's note on `sha` in `refs/notes/deploybot/<kind>` ("" when none).
fn note(w: &World, kind: &str, sha: &str) -> String {
    let out = common::git_output(
        &w.server,
        &w.home(),
        &["notes", &format!("--ref=deploybot/{kind}"), "show", sha],
    );
    text(&out.stdout)
}

fn pending_json(c: &Clone, pipeline: &str) -> Value {
    serde_json::from_str(&c.ok(&[pipeline, "pending", "--json"])).expect("pending --json")
}

fn lists(pending: &Value, sha: &str) -> bool {
    pending
        .as_array()
        .expect("a list")
        .iter()
        .any(|p| p["sha"] == sha)
}

/// Asserts exit `code` and a one-line error containing every needle; returns it.
fn one_line_error(out: &Output, code: i32, needles: &[&str]) -> String {
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(code), "{stderr}");
    assert_eq!(stderr.trim().lines().count(), 1, "one line: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "{needle:?} in {stderr}");
    }
    stderr
}

#[test]
fn a_runner_command_that_cannot_start_records_nothing() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    let out = dev.run(&["ci", "run", "--check", "CI", "--", "maek", "test"]);
    one_line_error(
        &out,
        2,
        &["cannot start `maek` (not found on PATH)", "still pending"],
    );
    assert_eq!(note(&w, "ci", &main), "", "no claim, no failure");
    assert!(lists(&pending_json(&dev, "ci"), &main), "still pending");
    let status = dev.status();
    assert_eq!(status["main"]["release"]["state"], "testing");
    assert_eq!(status["control"]["state"], "running", "nothing paused");
    // A path that is not in the commit, or not executable, is the same.
    let out = dev.run(&["ci", "run", "--check", "CI", "--", "./ci.sh"]);
    one_line_error(
        &out,
        2,
        &["cannot start `./ci.sh` (no such file in the commit)"],
    );
    let out = dev.run(&["ci", "run", "--check", "CI", "--", "./README.md"]);
    one_line_error(&out, 2, &["(not executable)"]);
    assert_eq!(note(&w, "ci", &main), "");

    // deploy run: the same, and the base tip still awaits its deploy.
    dev.ok(&["ci", "run", "--check", "CI", "--", "true"]);
    let out = dev.run(&["deploy", "run", "--check", "Deploy", "--", "./deploy.sh"]);
    one_line_error(
        &out,
        2,
        &["cannot start `./deploy.sh`", "deploy run --check Deploy"],
    );
    assert_eq!(note(&w, "deploy", &main), "");
    assert!(lists(&pending_json(&dev, "deploy"), &main));
    assert_eq!(dev.status()["main"]["release"]["state"], "awaiting-deploy");
}

#[test]
fn a_spawn_that_fails_after_the_claim_gives_the_claim_back() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    fresh_main(&w, &dev);
    // An executable script whose #! interpreter does not exist: it looks
    // startable until exec fails, after the claim was written.
    dev.git(&["fetch", "-q", "origin"]);
    dev.git(&["checkout", "-q", "-B", "main", "origin/main"]);
    dev.commit_file(
        "bad.sh",
        "#!/nonexistent/sh\necho hi\n",
        "bad runner script",
    );
    dev.git(&["update-index", "--chmod=+x", "bad.sh"]);
    dev.git(&["commit", "-q", "-m", "make it executable"]);
    dev.git(&["push", "-q", "origin", "main"]);
    let main = w.server_ref("refs/heads/main").expect("main");
    let out = dev.run(&["ci", "run", "--check", "CI", "--", "./bad.sh"]);
    one_line_error(&out, 2, &["cannot start `./bad.sh`", "claim released"]);
    let lines = note(&w, "ci", &main);
    assert!(!lines.contains("\"failure\""), "no failure: {lines}");
    assert!(lines.contains("\"released_run_id\""), "{lines}");
    assert!(lists(&pending_json(&dev, "ci"), &main), "pending again");
    assert_eq!(dev.control("state"), "running");
    dev.ok(&["ci", "run", "--check", "CI", "--", "true"]);
    assert_eq!(dev.status()["main"]["release"]["state"], "awaiting-deploy");
}

#[test]
fn a_deploy_command_the_shell_cannot_find_is_not_a_deploy_failure() {
    let w = World::with_policy(&format!("{FAST_POLICY}deploy_command = \"maek-deploy\"\n"));
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    dev.report_ci(&main, "success");
    let out = dev.run(&["follow", "--timeout", "10", "--poll", "1"]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("pipeline.deploy_command could not start (sh exited 127"),
        "{stderr}"
    );
    let lines = note(&w, "deploy", &main);
    assert!(!lines.contains("\"failure\""), "no failure: {lines}");
    assert_eq!(dev.control("state"), "running", "nothing paused");
}

#[test]
fn a_failure_within_the_grace_is_pending_for_one_retry() {
    let w = World::with_policy("[pipeline]\nci_failure_grace_seconds = 120\n");
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    let out = dev.run(&["ci", "run", "--check", "CI", "--", "false"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    assert!(
        lists(&pending_json(&dev, "ci"), &main),
        "pending for a retry"
    );
    let why = dev.status()["main"]["release"]["why"].to_string();
    assert!(
        why.contains("a retry is pending until") && why.contains("then main fails (ci-failed)"),
        "{why}"
    );
    // The retry: picked without --sha, reported as attempt 2.
    let out = dev.run(&["ci", "run", "--check", "CI", "--json", "--", "false"]);
    assert_eq!(out.status.code(), Some(6), "{}", text(&out.stderr));
    let ran: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(ran["sha"], main.as_str());
    let last = note(&w, "ci", &main);
    let last: Value = serde_json::from_str(last.lines().last().expect("a line")).expect("json");
    assert_eq!(
        (&last["status"], &last["attempt"]),
        (&"failure".into(), &2.into())
    );
    // One retry only.
    assert!(!lists(&pending_json(&dev, "ci"), &main), "retried once");
    let release = &dev.status()["main"]["release"];
    assert_eq!(release["state"], "testing", "still within the grace");
    assert!(
        release["why"].to_string().contains("retried once"),
        "{release}"
    );
}

#[test]
fn a_retry_within_the_grace_absorbs_a_flaky_failure() {
    let w = World::with_policy("[pipeline]\nci_failure_grace_seconds = 120\n");
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    let out = dev.run(&["ci", "run", "--check", "CI", "--", "false"]);
    assert_eq!(out.status.code(), Some(6));
    dev.ok(&["ci", "run", "--check", "CI", "--", "true"]);
    assert_eq!(dev.status()["main"]["release"]["state"], "awaiting-deploy");
    assert!(note(&w, "ci", &main).contains("\"status\":\"success\",\"at\""));
}

#[test]
fn nothing_pending_names_the_right_pending_command() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    fresh_main(&w, &dev);
    let out = dev.run(&["deploy", "run", "--check", "Deploy", "--", "true"]);
    one_line_error(
        &out,
        3,
        &["nothing pending for deploy check `Deploy`; see `git deploybot deploy pending`"],
    );
}

#[test]
fn follow_shows_each_change_and_a_heartbeat_on_stderr_and_only_json_on_stdout() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let main = fresh_main(&w, &dev);
    let follower = w.clone_as("follower");
    let mut cmd = follower.std_command(&["follow", "--json", "--poll", "1", "--timeout", "20"]);
    cmd.env("DEPLOYBOT_PROGRESS_HEARTBEAT_SECONDS", "2")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("follow starts");
    std::thread::sleep(Duration::from_secs(4));
    dev.report_ci(&main, "success");
    std::thread::sleep(Duration::from_secs(3));
    dev.ok(&[
        "deploy", "report", "--sha", &main, "--check", "Deploy", "--status", "success",
    ]);
    let out = child.wait_with_output().expect("follow ends");
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let report: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is only JSON ({e}): {}", text(&out.stdout)));
    assert_eq!(report["outcome"], "reached");
    let short = &main[..12];
    let testing = format!("{short}: testing — waiting for CI `CI`");
    let awaiting = format!("{short}: awaiting-deploy — CI passed");
    let lines: Vec<&str> = stderr.lines().collect();
    let at = |needle: &str| lines.iter().position(|l| l.starts_with(needle));
    let (first, changed) = (at(&testing), at(&awaiting));
    assert!(
        first.is_some() && changed.is_some() && first < changed,
        "a line per state change, in order: {stderr}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("still {testing}"))),
        "a heartbeat while nothing changed: {stderr}"
    );
}
