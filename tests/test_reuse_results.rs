//! `pipeline.reuse_results = "tree"`: a result proven on a commit counts for
//! another commit with the identical tree, recorded as a line naming the
//! commit it was proven on; the server accepts such a line only when the
//! trees match and the named commit's own result on the server is that
//! status. Through the real binary against a bare server with the hook.

mod common;
use common::{Clone, guarded_team};

const REUSE: &str = "[pipeline]\nci_failure_grace_seconds = 0\nreuse_results = \"tree\"\n";

/// Appends `line` to `sha`'s CI note with plain git and pushes it.
fn push_raw_line(c: &Clone, sha: &str, line: &str) -> Vec<&'static str> {
    c.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/notes/deploybot/ci:refs/notes/deploybot/ci",
    ]);
    c.git(&["notes", "--ref=deploybot/ci", "append", "-m", line, sha]);
    vec!["push", "origin", "refs/notes/deploybot/ci"]
}

#[test]
fn a_merge_of_a_branch_tested_on_the_tip_reuses_its_result_and_runs_nothing() {
    let (w, dev, coord) = guarded_team(REUSE);
    let head = dev.push_green_request("feature/a", "a.txt");
    let r = coord.react();
    let main = r["new_base_sha"].as_str().expect("merged").to_string();
    assert_ne!(main, head, "a merge commit");
    let tree = |c: &str| dev.git(&["rev-parse", &format!("{c}^{{tree}}")]);
    dev.git(&["fetch", "-q", "origin"]);
    assert_eq!(tree(&main), tree(&head), "the merge has the branch's tree");
    // The runner's command would fail if it ran: the result is reused.
    let ran = w.dir.path().join("ran");
    let script = format!("touch {}; exit 1", ran.display());
    let out = dev.ok(&["ci", "run", "--check", "CI", "--", "sh", "-c", &script]);
    assert!(out.contains("reused"), "{out}");
    assert!(!ran.exists(), "nothing ran for the same bytes");
    let lines = w.note_lines("ci", &main);
    let last = lines.last().expect("a line");
    assert_eq!(last["status"], "success");
    assert_eq!(last["reused_from"], head.as_str());
    assert_eq!(dev.status()["main"]["release"]["state"], "awaiting-deploy");
}

#[test]
fn the_server_refuses_a_forged_reuse_line_and_readers_ignore_one_past_it() {
    let (w, dev, _coord) = guarded_team(REUSE);
    let green = dev.push_branch("feature/green", "g.txt", "g\n");
    dev.report_ci(&green, "success");
    let other = dev.push_branch("feature/other", "o.txt", "o\n");
    let forged = format!(
        "{{\"check\":\"CI\",\"status\":\"success\",\"at\":\"2026-01-01T00:00:00Z\",\"reused_from\":\"{green}\"}}"
    );
    // Another tree: refused.
    let push = push_raw_line(&dev, &other, &forged);
    let stderr = w.assert_refused(&dev, &push, &[], "tree differs");
    assert!(stderr.contains("reuses the result of"), "{stderr}");
    // A commit with no success of its own to repeat: refused too.
    let untested = dev.push_branch("feature/untested", "u.txt", "u\n");
    dev.git(&["update-ref", "-d", "refs/notes/deploybot/ci"]);
    let twin = dev.git(&["commit-tree", &format!("{untested}^{{tree}}"), "-m", "twin"]);
    dev.git(&["push", "-q", "origin", &format!("{twin}:refs/heads/twin")]);
    let copy = forged.replace(&green, &untested);
    let push = push_raw_line(&dev, &twin, &copy);
    w.assert_refused(&dev, &push, &[], "is not `success`");
    // A line past the hook (an admin on disk) that does not hold counts for nothing.
    dev.git(&["update-ref", "-d", "refs/notes/deploybot/ci"]);
    let push = push_raw_line(&dev, &other, &forged);
    w.push_past_the_hook(&dev, &push);
    dev.ok(&["request", "feature/other"]);
    let status = dev.status();
    let entry = &status["queue"].as_array().expect("queue")[0];
    assert_eq!(entry["branch"], "feature/other");
    assert_eq!(entry["state"], "waiting-checks", "{status}");
    // And runners still run it: the line is no result of it.
    let pending = dev.ok(&["ci", "pending", "--json"]);
    assert!(pending.contains(&other), "{pending}");
}

#[test]
fn with_reuse_off_the_server_refuses_reuse_lines() {
    let (w, dev, _coord) = guarded_team("[pipeline]\nci_failure_grace_seconds = 0\n");
    let green = dev.push_branch("feature/green", "g.txt", "g\n");
    dev.report_ci(&green, "success");
    let twin = dev.git(&["commit-tree", &format!("{green}^{{tree}}"), "-m", "twin"]);
    dev.git(&["push", "-q", "origin", &format!("{twin}:refs/heads/twin")]);
    let line = format!(
        "{{\"check\":\"CI\",\"status\":\"success\",\"at\":\"2026-01-01T00:00:00Z\",\"reused_from\":\"{green}\"}}"
    );
    let push = push_raw_line(&dev, &twin, &line);
    w.assert_refused(&dev, &push, &[], "reuse_results");
}
