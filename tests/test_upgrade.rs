//! Rolling upgrades (issue 22, item 5): a server and its coordinators are
//! upgraded one at a time, in either order, while the queue runs. The
//! fixture (`tests/fixtures/upgrade/`, made by `make.sh`) holds a server's
//! refs written by the release in `RELEASE`: its queue snapshots are queue
//! fold version 1, which keeps failure counts forever; this tree's fold
//! (version 2) prunes them when their entry leaves the queue, so the two
//! disagree on the state after the same records.
//!
//! - hook first: this tree's hook takes that release's coordinator's pushes
//!   (it verifies only snapshots of its own fold version and checks the
//!   records of others), and this tree's readers fold past those snapshots;
//! - coordinators first: that release's hook takes this tree's coordinator's
//!   pushes, that release's coordinator reads and writes on the same clone,
//!   then the hook is upgraded and this tree's coordinator lands the rest.

mod common;

use common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/upgrade")
}

/// A world whose server holds the fixture's refs at `moment` (`before`, `after`).
fn fixture_world(moment: &str) -> World {
    let dir = tempfile::tempdir().expect("tempdir");
    let home = dir.path().join("home");
    std::fs::create_dir_all(&home).expect("home");
    git_in(
        dir.path(),
        &home,
        &["init", "-q", "--bare", "-b", "main", "server.git"],
    );
    let server = dir.path().join("server.git");
    let bundle = fixture_dir().join("release.bundle");
    let spec = format!("refs/{moment}/*:refs/*");
    git_in(
        &server,
        &home,
        &["fetch", "-q", bundle.to_str().expect("utf-8"), &spec],
    );
    World { dir, server }
}

/// The release that wrote the fixture, built once from this repository's
/// history (or `$DEPLOYBOT_OLD_RELEASE_BIN`).
fn old_release() -> PathBuf {
    if let Some(bin) = std::env::var_os("DEPLOYBOT_OLD_RELEASE_BIN") {
        return bin.into();
    }
    let out = std::process::Command::new("bash")
        .arg(fixture_dir().join("build-release.sh"))
        .output()
        .expect("bash runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    PathBuf::from(String::from_utf8_lossy(&out.stdout).trim())
}

/// The server's queue snapshot at `rev` (a commit of `refs/deploybot/queue`).
fn snapshot_at(w: &World, rev: &str) -> Value {
    let text = w.server_git(&["show", &format!("{rev}:state.json")]);
    serde_json::from_str(&text).expect("state.json is JSON")
}

fn queue_of(c: &Clone) -> Vec<(String, String)> {
    let status = c.status();
    status["queue"]
        .as_array()
        .expect("queue")
        .iter()
        .map(|e| {
            let field = |k: &str| e[k].as_str().unwrap_or_default().to_string();
            (field("branch"), field("state"))
        })
        .collect()
}

/// Drives `coord` (with `bin`, this tree's when None) until nothing is
/// queued, reporting CI success on every candidate under test; returns the
/// heads of `main` it went through.
fn land_everything(w: &World, dev: &Clone, coord: &Clone, bin: Option<&Path>) -> Vec<String> {
    let mut mains = Vec::new();
    for _ in 0..6 {
        match bin {
            Some(bin) => {
                let out = coord.command_of(bin, &["react"]).output().expect("runs");
                assert!(
                    out.status.success(),
                    "the old coordinator's react: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
            None => {
                coord.react();
            }
        }
        mains.push(w.server_ref("refs/heads/main").expect("main"));
        let status = dev.status();
        if status["queue"].as_array().is_some_and(|q| q.is_empty()) {
            return mains;
        }
        for c in status["candidates"].as_array().into_iter().flatten() {
            if c["state"] == "testing" {
                dev.report_ci(c["sha"].as_str().expect("sha"), "success");
            }
        }
    }
    panic!("the queue did not empty: {}", dev.status());
}

/// The fixture's failure bookkeeping: b failed twice (its probe and its
/// retry) and was blocked, a was cleared by its probe and landed.
fn assert_fold_version_1_kept_the_counts(snapshot: &Value) {
    assert_eq!(snapshot["schema"], 1, "{snapshot}");
    let failures = snapshot["state"]["failures"].as_object().expect("failures");
    assert!(
        failures.keys().any(|k| k.starts_with("feature/b ")),
        "{failures:?}"
    );
    let cleared = snapshot["state"]["cleared"].as_object().expect("cleared");
    assert!(
        cleared.keys().any(|k| k.starts_with("feature/a ")),
        "{cleared:?}"
    );
}

fn assert_pruned(snapshot: &Value) {
    assert_eq!(snapshot["schema"], 2, "{snapshot}");
    let state = &snapshot["state"];
    let empty = |v: &Value| v.is_null() || v.as_object().is_some_and(|o| o.is_empty());
    assert!(empty(&state["failures"]), "{state}");
    assert!(empty(&state["cleared"]), "{state}");
}

#[test]
fn the_hook_upgraded_first_takes_the_old_coordinators_snapshots_and_readers_fold_past_them() {
    let w = fixture_world("before");
    w.install_deploybot_hooks();
    // The old coordinator goes on where the fixture stopped: b cancelled,
    // d requested. Its queue commits carry fold-version-1 snapshots that
    // disagree with this hook's fold (they keep b's count), and this hook
    // takes them: it checks their records only.
    let old = w.clone_as("old");
    let bundle = fixture_dir().join("release.bundle");
    old.git(&[
        "fetch",
        "-q",
        bundle.to_str().expect("utf-8"),
        "refs/after/*:refs/fixture-after/*",
    ]);
    let after_queue = old.git(&["rev-parse", "refs/fixture-after/deploybot/queue"]);
    let pushed = old.try_git(&[
        "push",
        "--atomic",
        "origin",
        "refs/fixture-after/deploybot/queue:refs/deploybot/queue",
        "refs/fixture-after/heads/feature/d:refs/heads/feature/d",
        "refs/fixture-after/notes/deploybot/ci:refs/notes/deploybot/ci",
    ]);
    assert!(
        pushed.status.success(),
        "the new hook refused the old coordinator's push: {}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    assert_fold_version_1_kept_the_counts(&snapshot_at(&w, &after_queue));

    // This tree's readers fold past those snapshots.
    let dev = w.clone_as("dev");
    assert_eq!(
        queue_of(&dev),
        [("feature/d".to_string(), "queued".to_string())]
    );
    // This tree's coordinator lands d; its snapshots are version 2, pruned.
    let coord = w.clone_as("coordinator");
    land_everything(&w, &dev, &coord, None);
    let files = w.server_git(&["ls-tree", "--name-only", "refs/heads/main"]);
    assert!(
        files.contains("d.txt") && !files.contains("b.txt"),
        "{files}"
    );
    assert_pruned(&snapshot_at(&w, "refs/deploybot/queue"));

    // A snapshot of another version is not verified, so it cannot mislead a
    // reader of this version either: a request whose fold-1 snapshot claims
    // an empty queue still queues e.
    let e_head = dev.push_branch("feature/e", "e.txt", "e\n");
    dev.report_ci(&e_head, "success");
    let tip = w.server_ref("refs/deploybot/queue").expect("queue");
    dev.git(&["fetch", "-q", "origin", "refs/deploybot/queue"]);
    let mut record: Value =
        serde_json::from_str(&dev.git(&["show", &format!("{after_queue}:record.json")]))
            .expect("record");
    record["branch"] = "feature/e".into();
    record["head_sha"] = e_head.as_str().into();
    let record_blob = dev.git_stdin(
        &["hash-object", "-w", "--stdin"],
        &serde_json::to_string(&record).expect("json"),
    );
    let mut lie: Value =
        serde_json::from_str(&dev.git(&["show", &format!("{after_queue}:state.json")]))
            .expect("snapshot");
    lie["record_blob"] = record_blob.as_str().into();
    lie["parent"] = tip.as_str().into();
    lie["commits"] = (w.server_count("refs/deploybot/queue") as u64 + 1).into();
    lie["state"]["entries"] = serde_json::json!([]);
    let lie_blob = dev.git_stdin(
        &["hash-object", "-w", "--stdin"],
        &serde_json::to_string(&lie).expect("json"),
    );
    let tree = dev.git_stdin(
        &["mktree"],
        &format!("100644 blob {record_blob}\trecord.json\n100644 blob {lie_blob}\tstate.json\n"),
    );
    let commit = dev.git(&["commit-tree", &tree, "-p", &tip, "-m", "request: feature/e"]);
    let pushed = dev.try_git(&["push", "origin", &format!("{commit}:refs/deploybot/queue")]);
    assert!(
        pushed.status.success(),
        "a valid record under another version's snapshot: {}",
        String::from_utf8_lossy(&pushed.stderr)
    );
    assert_eq!(
        queue_of(&dev),
        [("feature/e".to_string(), "queued".to_string())],
        "folded from the record, not read from the other version's snapshot"
    );
}

#[test]
fn coordinators_upgraded_first_write_snapshots_the_old_hook_and_old_readers_fold_past() {
    let old_bin = old_release();
    let w = fixture_world("before");
    w.install_hooks_of(&old_bin, &[]);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coordinator");
    let old_run = |c: &Clone, args: &[&str]| -> String {
        let out = c.command_of(&old_bin, args).output().expect("runs");
        assert!(
            out.status.success(),
            "the old release's {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };

    // This tree's coordinator and dev write version-2 snapshots (b's count
    // pruned when it is cancelled); the old hook takes them.
    dev.ok(&["cancel", "feature/b"]);
    dev.push_green_request("feature/d", "d.txt");
    land_everything(&w, &dev, &coord, None);
    assert_pruned(&snapshot_at(&w, "refs/deploybot/queue"));

    // The old coordinator, on the same clone (fold caches apart per
    // version), reads past them and writes version-1 snapshots the old hook
    // verifies against its own fold of the version-2 commits.
    let status: Value = serde_json::from_str(&old_run(&dev, &["status", "--json"])).expect("json");
    assert_eq!(status["queue"], serde_json::json!([]), "{status}");
    let e_head = dev.push_branch("feature/e", "e.txt", "e\n");
    old_run(
        &dev,
        &[
            "ci", "report", "--sha", &e_head, "--check", "CI", "--status", "success",
        ],
    );
    old_run(&dev, &["request", "feature/e"]);
    old_run(&coord, &["react"]);
    let snapshot = snapshot_at(&w, "refs/deploybot/queue");
    assert_eq!(
        snapshot["schema"], 1,
        "written by the old release: {snapshot}"
    );

    // The hook is upgraded; this tree's coordinator lands e.
    w.install_deploybot_hooks();
    let mains = land_everything(&w, &dev, &coord, None);
    let files = w.server_git(&["ls-tree", "--name-only", "refs/heads/main"]);
    assert!(
        files.contains("d.txt") && files.contains("e.txt"),
        "{files}"
    );
    assert!(!files.contains("b.txt"), "{files}");
    assert!(!mains.is_empty());
    assert_pruned(&snapshot_at(&w, "refs/deploybot/queue"));
    // A full re-fold by this tree agrees with its snapshot at the tip.
    let doctor = coord.ok(&["doctor"]);
    assert!(
        doctor.contains("a full re-fold matches the snapshot"),
        "{doctor}"
    );
}
