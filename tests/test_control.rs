//! pause / unpause / status end to end against a real bare server.

mod common;
use common::World;
use predicates::prelude::*;

const OTHER: &str = "0123456789abcdef0123456789abcdef01234567";

#[test]
fn pause_binds_to_base_and_status_shows_it() {
    let w = World::new();
    let alice = w.clone_as("alice");
    let main = alice.remote_main();
    assert_eq!(alice.control("state"), "running", "a fresh repository runs");
    alice.ok(&["pause", "--reason", "ci-failed on main"]);
    let s = alice.status();
    assert_eq!(s["control"]["state"], "paused");
    assert_eq!(
        s["control"]["main_sha"],
        main.as_str(),
        "bound to the base tip by default"
    );
    assert_eq!(s["main"]["sha"], main.as_str());
    assert_eq!(s["control"]["actor"], "alice@example.com");
    assert_eq!(w.server_count("refs/deploybot/control"), 1);
    let log = w.server_git(&["log", "--format=%s", "refs/deploybot/control"]);
    assert_eq!(
        log, "pause: ci-failed on main",
        "the ledger reads as an audit log"
    );
}

#[test]
fn repeating_the_current_pause_writes_nothing() {
    let w = World::new();
    let alice = w.clone_as("alice");
    alice.ok(&["pause", "--reason", "hold"]);
    let before = w.server_refs();
    alice
        .deploybot(&["pause", "--reason", "hold"])
        .assert()
        .success()
        .stdout(predicate::str::contains("already paused"));
    assert_eq!(w.server_refs(), before);
}

#[test]
fn unpause_records_recovery_and_note() {
    let w = World::new();
    let alice = w.clone_as("alice");
    alice.ok(&["pause", "--reason", "ci-failed on x"]);
    let (id, sha) = alice.pause_ids();
    alice.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let s = alice.status();
    assert_eq!(s["control"]["state"], "running");
    assert_eq!(s["control"]["recovered_main_sha"], sha.as_str());
    assert_eq!(s["control"]["recovered_reason"], "ci-failed on x");
    let note = w.server_git(&["notes", "--ref=deploybot/recovery", "show", &sha]);
    let note: serde_json::Value = serde_json::from_str(&note).expect("the recovery note is JSON");
    assert_eq!(note["resumes_control_id"], id.as_str());
    assert_eq!(note["recovered_main_sha"], sha.as_str());
}

#[test]
fn stale_identical_repause_through_the_cli_is_ignored() {
    let w = World::new();
    let alice = w.clone_as("alice");
    alice.ok(&["pause", "--reason", "ci-failed on x"]);
    let (id, sha) = alice.pause_ids();
    alice.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let before = w.server_refs();
    alice
        .deploybot(&["pause", "--reason", "ci-failed on x", "--sha", &sha])
        .assert()
        .success()
        .stdout(predicate::str::contains("restates the failure"));
    assert_eq!(w.server_refs(), before, "an ignored pause writes nothing");
    // A different reason on the same sha is a new failure.
    alice.ok(&["pause", "--reason", "deploy-failed on x", "--sha", &sha]);
    assert_eq!(alice.control("state"), "paused");
}

#[test]
fn foreign_byte_identical_pause_commit_is_ignored() {
    // An older writer replays the original pause commit's tree (record.json
    // and its snapshot, byte for byte) on top of the recovery.
    let w = World::new();
    let alice = w.clone_as("alice");
    alice.ok(&["pause", "--reason", "ci-failed on x"]);
    let (id, sha) = alice.pause_ids();
    let pause_commit = w
        .server_ref("refs/deploybot/control")
        .expect("ledger exists");
    alice.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    w.replay_control_commit(&pause_commit, "pause: ci-failed on x");
    let s = alice.status();
    assert_eq!(
        s["control"]["state"], "running",
        "the replayed pause restates the recovered failure"
    );
    assert_eq!(s["control"]["recovered_main_sha"], sha.as_str());
    // Only record.json, no snapshot: also folded, also ignored.
    let record = w.server_git(&["rev-parse", &format!("{pause_commit}:record.json")]);
    let tree2 = mktree(&w, &[("record.json", &record)]);
    w.append_raw_control_tree(&tree2, "pause: ci-failed on x");
    assert_eq!(alice.control("state"), "running");
}

fn mktree(w: &World, files: &[(&str, &str)]) -> String {
    use std::io::Write;
    let mut child = std::process::Command::new("git")
        .current_dir(&w.server)
        .args(["mktree"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("git mktree");
    let mut input = String::new();
    for (name, blob) in files {
        input.push_str(&format!("100644 blob {blob}\t{name}\n"));
    }
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("mktree");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[test]
fn unpause_refusals_write_nothing_and_say_refresh() {
    let w = World::new();
    let alice = w.clone_as("alice");
    // Not paused.
    let main = alice.remote_main();
    let before = w.server_refs();
    alice
        .deploybot(&["unpause", "--sha", &main, "--control-id", "x", "--no-wake"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("not paused").and(predicate::str::contains("status")));
    assert_eq!(w.server_refs(), before);
    alice.ok(&["pause", "--reason", "hold"]);
    let (id, sha) = alice.pause_ids();
    let before = w.server_refs();
    // Wrong id.
    alice
        .deploybot(&[
            "unpause",
            "--sha",
            &sha,
            "--control-id",
            "wrong",
            "--no-wake",
        ])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("not the current pause")
                .and(predicate::str::contains("refresh")),
        );
    // Wrong sha.
    alice
        .deploybot(&["unpause", "--sha", OTHER, "--control-id", &id, "--no-wake"])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("not the sha the pause is bound to")
                .and(predicate::str::contains("refresh")),
        );
    // Malformed sha.
    alice
        .deploybot(&["unpause", "--sha", "abc", "--control-id", &id, "--no-wake"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("`abc` names no commit"));
    assert_eq!(w.server_refs(), before, "no refusal moved a ref");
    // Base moved.
    let bob = w.clone_as("bob");
    bob.commit_file("b.txt", "b\n", "advance main");
    bob.git(&["push", "-q", "origin", "main"]);
    let before = w.server_refs();
    alice
        .deploybot(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"])
        .assert()
        .code(3)
        .stderr(predicate::str::contains("moved").and(predicate::str::contains("refresh")));
    assert_eq!(w.server_refs(), before);
}

#[test]
fn base_moving_during_unpause_leaves_a_conditional_pause() {
    let w = World::new();
    let alice = w.clone_as("alice");
    alice.ok(&["pause", "--reason", "ci-failed on x"]);
    let (id, sha) = alice.pause_ids();
    // A second commit sits on the server, unreferenced until the race.
    let bob = w.clone_as("bob");
    let next = bob.commit_file("b.txt", "b\n", "racing commit");
    bob.git(&["push", "-q", "origin", "HEAD:refs/heads/racer"]);
    // The server moves main the moment the recovery lands (a real race, made certain).
    w.install_server_hook(
        "post-receive",
        &format!(
            "#!/bin/sh\nwhile read old new ref; do\n  if [ \"$ref\" = refs/deploybot/control ] && [ ! -e race-done ]; then\n    touch race-done\n    git update-ref refs/heads/main {next} {sha}\n  fi\ndone\n"
        ),
    );
    alice
        .deploybot(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"])
        .assert()
        .code(3)
        .stderr(
            predicate::str::contains("main advanced during unpause")
                .and(predicate::str::contains("remains paused")),
        );
    let s = alice.status();
    assert_eq!(
        s["control"]["state"], "paused",
        "the compensating pause holds the new main"
    );
    assert_eq!(s["control"]["main_sha"], next.as_str());
    let requires = s["control"]["requires_control_id"]
        .as_str()
        .expect("conditional")
        .to_string();
    let log = w.server_git(&["log", "--format=%s", "refs/deploybot/control"]);
    assert_eq!(
        log.lines().count(),
        3,
        "pause, recovery, conditional pause: {log}"
    );
    assert!(
        log.lines()
            .next()
            .expect("tip")
            .starts_with("pause (conditional): main advanced during unpause from")
    );
    assert_ne!(
        requires, id,
        "it requires the recovery record, not the old pause"
    );
}

#[test]
fn four_clones_pausing_at_once_all_land() {
    let w = World::new();
    let clones: Vec<_> = (0..4).map(|i| w.clone_as(&format!("op{i}"))).collect();
    for (i, c) in clones.iter().enumerate() {
        c.ok(&["pause", "--reason", &format!("operator hold {i}")]);
    }
    // Then all four at once, racing for the same ledger tip.
    let handles: Vec<_> = clones
        .iter()
        .enumerate()
        .map(|(i, c)| c.spawn(&["pause", "--reason", &format!("concurrent hold {i}")]))
        .collect();
    for h in handles {
        common::wait_ok(h);
    }
    assert_eq!(
        w.server_count("refs/deploybot/control"),
        8,
        "four sequential and four concurrent records"
    );
    let log = w.server_git(&["log", "--format=%s", "refs/deploybot/control"]);
    for i in 0..4 {
        assert!(
            log.contains(&format!("concurrent hold {i}")),
            "record {i} landed: {log}"
        );
    }
    let tip_reason = log
        .lines()
        .next()
        .expect("tip")
        .trim_start_matches("pause: ")
        .to_string();
    assert_eq!(
        clones[0].control("reason"),
        tip_reason,
        "the fold takes the newest pause"
    );
    assert_eq!(
        w.server_git(&["rev-list", "--merges", "--count", "refs/deploybot/control"]),
        "0",
        "the ledger stays linear"
    );
}

#[test]
fn offline_on_a_repository_with_no_remote() {
    let w = World::new();
    let solo = w.standalone("solo");
    let head = solo.git(&["rev-parse", "HEAD"]);
    solo.ok(&["pause", "--reason", "local hold"]);
    let s = solo.status();
    assert_eq!(s["source"], "local");
    assert_eq!(s["control"]["main_sha"], head.as_str());
    let (id, sha) = solo.pause_ids();
    solo.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert_eq!(solo.control("state"), "running");
    assert_eq!(
        solo.git(&["rev-list", "--count", "refs/deploybot/control"]),
        "2"
    );
    // --offline in a clone ignores the remote.
    let alice = w.clone_as("alice");
    alice.ok(&["--offline", "pause", "--reason", "offline hold"]);
    assert_eq!(
        w.server_ref("refs/deploybot/control"),
        None,
        "nothing pushed"
    );
    assert_eq!(
        alice.status()["control"]["state"],
        "running",
        "online status reads the server"
    );
    let offline = alice.ok(&["--offline", "status", "--json"]);
    assert!(
        offline.contains("offline hold"),
        "--offline reads local refs: {offline}"
    );
}

#[test]
fn the_policy_can_name_the_remote_that_holds_the_shared_state() {
    let w = World::with_policy("[queue]\nremote = \"upstream\"\n");
    // `upstream` is a second server with the same history; `origin` stays a plain mirror.
    let upstream = w.dir.path().join("upstream.git");
    w.server_git(&[
        "clone",
        "-q",
        "--bare",
        ".",
        upstream.to_str().expect("utf8"),
    ]);
    let alice = w.clone_as("alice");
    alice.git(&[
        "remote",
        "add",
        "upstream",
        upstream.to_str().expect("utf8"),
    ]);
    alice.ok(&["pause", "--reason", "hold"]);
    assert_eq!(
        w.server_ref("refs/deploybot/control"),
        None,
        "nothing written to origin"
    );
    let on_upstream = common::git_in(
        &upstream,
        &w.home(),
        &["rev-parse", "refs/deploybot/control"],
    );
    assert_eq!(on_upstream.len(), 40, "the record landed on upstream");
    assert_eq!(alice.status()["source"], "upstream");
    // An explicit --remote wins over the policy.
    let explicit = alice.ok(&["--remote", "origin", "status", "--json"]);
    assert!(explicit.contains("\"source\": \"origin\""), "{explicit}");
}

#[test]
fn pause_and_unpause_speak_json_for_agents() {
    let w = World::new();
    let alice = w.clone_as("alice");
    let out: serde_json::Value =
        serde_json::from_str(&alice.ok(&["pause", "--reason", "hold", "--json"])).expect("JSON");
    assert_eq!(out["outcome"], "paused");
    let id = out["control_id"].as_str().expect("control id").to_string();
    let sha = out["main_sha"].as_str().expect("main sha").to_string();
    assert_eq!(
        alice.control("control_id"),
        id,
        "the JSON names the pause status shows"
    );
    let again: serde_json::Value =
        serde_json::from_str(&alice.ok(&["pause", "--reason", "hold", "--json"])).expect("JSON");
    assert_eq!(again["outcome"], "already-paused");
    let text = alice.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--json"]);
    let out: serde_json::Value = serde_json::from_str(&text).expect("only JSON on stdout");
    assert_eq!(out["recovery"]["resumes_control_id"], id.as_str());
    assert_eq!(out["woke"], true);
    assert_eq!(out["wake_up"]["state"], "complete", "{out}");
}
