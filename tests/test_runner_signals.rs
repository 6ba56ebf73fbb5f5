//! A runner killed mid-run leaves nothing behind: SIGTERM stops its command's
//! whole process group and removes its worktree, and the worktree of a runner
//! killed outright (`kill -9`) is removed by the next run.

mod common;
use common::{World, signal, worktrees};
use std::path::{Path, PathBuf};

/// Waits (bounded) until `path` holds a line, then returns it.
fn wait_for_line(path: &Path) -> String {
    for _ in 0..600 {
        if let Ok(text) = std::fs::read_to_string(path)
            && text.ends_with('\n')
        {
            return text.trim().to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    panic!("{} was never written", path.display());
}

/// True while `pid` runs (a zombie counts as gone).
fn alive(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

/// Starts `ci run` of a command that records its worktree and a background
/// sleeper's pid, then sleeps; returns (runner, worktree, sleeper pid).
fn start_run(
    w: &World,
    runner: &common::Clone,
    sha: &str,
) -> (std::process::Child, PathBuf, String) {
    let marks = w.dir.path().join("marks");
    let script = format!(
        "pwd > {wt}.tmp && mv {wt}.tmp {wt}; sleep 30 & echo $! > {pid}.tmp; mv {pid}.tmp {pid}; wait",
        wt = marks.with_extension("wt").display(),
        pid = marks.with_extension("pid").display(),
    );
    let child = runner.spawn(&[
        "ci", "run", "--check", "CI", "--sha", sha, "--", "sh", "-c", &script,
    ]);
    let pid = wait_for_line(&marks.with_extension("pid"));
    let worktree = PathBuf::from(wait_for_line(&marks.with_extension("wt")));
    assert!(worktree.exists() && alive(&pid), "the run is under way");
    (child, worktree, pid)
}

#[test]
fn sigterm_stops_the_command_and_removes_the_worktree() {
    let w = World::new();
    let runner = w.clone_as("runner");
    let sha = runner.remote_main();
    let (child, worktree, sleeper) = start_run(&w, &runner, &sha);
    signal(child.id(), "TERM");
    let out = child.wait_with_output().expect("wait");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("stopped by SIGTERM"), "{stderr}");
    assert!(!alive(&sleeper), "the command's whole group was stopped");
    assert!(!worktree.exists(), "{} was removed", worktree.display());
    assert_eq!(worktrees(&runner), 1, "only the clone itself is left");
}

#[test]
fn a_run_after_a_killed_runner_removes_its_stale_worktree() {
    let w = World::new();
    let runner = w.clone_as("runner");
    let sha = runner.remote_main();
    let (mut child, worktree, sleeper) = start_run(&w, &runner, &sha);
    signal(child.id(), "KILL");
    child.wait().expect("reaped");
    signal(sleeper.parse().expect("pid"), "KILL");
    assert!(worktree.exists(), "kill -9 left the worktree behind");
    runner.ok(&["ci", "run", "--check", "CI", "--sha", &sha, "--", "true"]);
    assert!(
        !worktree.exists(),
        "the next run removed {}",
        worktree.display()
    );
    assert_eq!(worktrees(&runner), 1, "only the clone itself is left");
}
