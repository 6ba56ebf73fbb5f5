//! The delivery loop end to end: results as notes, the queue, react, repair leases and recovery.

mod common;
use common::{Clone, FAST_POLICY, World, wait_ok};

/// Two branches requested green and merged; returns the new main.
fn merge_two(w: &World, dev: &Clone, coord: &Clone) -> String {
    let a = dev.push_branch("feature/a", "a.txt", "a\n");
    let b = dev.push_branch("feature/b", "b.txt", "b\n");
    dev.report_ci(&a, "success");
    dev.report_ci(&b, "success");
    dev.ok(&["request", "feature/a"]);
    dev.ok(&["request", "feature/b"]);
    let r = coord.react();
    assert_eq!(r["state"], "complete", "{r}");
    let merged: Vec<&str> = r["merged"]
        .as_array()
        .expect("merged")
        .iter()
        .map(|m| m["branch"].as_str().expect("branch"))
        .collect();
    assert_eq!(merged, ["feature/a", "feature/b"], "FIFO order");
    let main = w.server_ref("refs/heads/main").expect("main");
    assert_eq!(r["new_base_sha"], main.as_str());
    main
}

/// A world whose main (two merged branches) failed CI: (world, dev, coord, failed sha).
fn failed_main() -> (World, Clone, Clone, String) {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    let failed = merge_two(&w, &dev, &coord);
    dev.report_ci(&failed, "failure");
    (w, dev, coord, failed)
}

#[test]
fn the_seed_story_end_to_end() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    let ops = w.clone_as("ops");
    // Merge work; CI fails on the new main; react pauses.
    let failed = merge_two(&w, &dev, &coord);
    dev.report_ci(&failed, "failure");
    let r = coord.react();
    assert_eq!(r["state"], "release-held");
    assert_eq!(r["paused_with"], format!("ci-failed on {failed}"));
    assert_eq!(ops.control("state"), "paused");
    // A repair is claimed, fixed, made green and requested.
    let claim: serde_json::Value =
        serde_json::from_str(&dev.ok(&["claim-repair", "--owner", "dev", "--json"])).expect("json");
    assert_eq!(claim["state"], "created");
    let repair_branch = format!("deploybot/repair/{}", &failed[..12]);
    assert_eq!(claim["branch"], repair_branch.as_str());
    assert_eq!(ops.status()["repair"]["owner"], "dev");
    dev.push_fix_to_repair(&failed);
    // While paused, nothing merges.
    let before = w.server_ref("refs/heads/main");
    assert_eq!(coord.react()["state"], "paused");
    assert_eq!(w.server_ref("refs/heads/main"), before);
    // The operator unpauses without waking.
    let (id, sha) = ops.pause_ids();
    assert_eq!(sha, failed);
    ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    // An older writer re-pauses, byte for byte, as a raw commit.
    let ledger = w.server_git(&["log", "--format=%H %s", "refs/deploybot/control"]);
    let pause_commit = ledger
        .lines()
        .find(|l| l.contains("pause: ci-failed"))
        .expect("pause commit")
        .split(' ')
        .next()
        .expect("sha")
        .to_string();
    w.replay_control_commit(&pause_commit, "pause: ci-failed (older worker)");
    // React merges the repair past the failed sha.
    let r = coord.react();
    assert_eq!(r["state"], "complete", "{r}");
    assert_eq!(r["repair"], true);
    assert_eq!(r["merged"][0]["branch"], repair_branch.as_str());
    assert_eq!(
        r["merged"].as_array().expect("list").len(),
        1,
        "the repair lands alone"
    );
    let new_main = w.server_ref("refs/heads/main").expect("main");
    assert_ne!(new_main, failed);
    assert_eq!(
        w.server_git(&["rev-parse", &format!("{new_main}^1")]),
        failed,
        "merged on top of the failed main"
    );
    // The new main is tracked: running, testing, its own release.
    let s = ops.status();
    assert_eq!(s["control"]["state"], "running");
    assert_eq!(s["main"]["sha"], new_main.as_str());
    assert_eq!(s["main"]["release"]["state"], "testing");
    assert_eq!(s["queue"].as_array().expect("queue").len(), 0);
    // A failure on the new sha is genuinely new: it pauses.
    dev.report_ci(&new_main, "failure");
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("ci-failed on {new_main}"));
}

/// DESIGN "A recovery owns the failure it resumed, not every failure of its
/// sha" (corrected): the recovered CI failure never pauses again, but a
/// later deploy failure of the same sha is new and pauses; the next
/// recovery owns that one, its repair lands, and a failure of the newer main
/// pauses again.
#[test]
fn a_new_failure_on_the_recovered_sha_pauses_and_the_recovered_one_does_not() {
    let (w, dev, coord, failed) = failed_main();
    coord.react();
    let (id, sha) = coord.pause_ids();
    coord.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert_eq!(coord.control("recovered_state"), "ci-failed");
    // The recovered CI failure lingers: nothing re-pauses, the pass waits for the repair.
    let r = coord.react();
    assert_eq!(r["paused_with"], serde_json::Value::Null, "{r}");
    assert_eq!(coord.control("state"), "running");
    // A CI retry passes, then the deploy fails on the same sha: a new failure.
    dev.report_ci(&failed, "success");
    dev.ok(&[
        "deploy", "report", "--sha", &failed, "--check", "Deploy", "--status", "failure",
    ]);
    let r = coord.react();
    assert_eq!(
        r["paused_with"],
        format!("deploy-failed on {failed}"),
        "{r}"
    );
    assert_eq!(coord.control("state"), "paused");
    // The operator resumes that one too; its repair lands; a failure of the newer main pauses.
    let (id, sha) = coord.pause_ids();
    coord.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert_eq!(coord.control("recovered_state"), "deploy-failed");
    assert_eq!(coord.react()["paused_with"], serde_json::Value::Null);
    dev.ok(&["claim-repair", "--owner", "dev"]);
    dev.push_fix_to_repair(&failed);
    let r = coord.react();
    assert_eq!(r["repair"], true, "{r}");
    let new_main = w.server_ref("refs/heads/main").expect("main");
    dev.report_ci(&new_main, "failure");
    assert_eq!(
        coord.react()["paused_with"],
        format!("ci-failed on {new_main}")
    );
}

#[test]
fn unpause_wakes_the_reactor_and_merges_the_repair_before_returning() {
    let (w, dev, coord, failed) = failed_main();
    coord.react();
    dev.ok(&["claim-repair", "--owner", "dev"]);
    let (repair_branch, _) = dev.push_fix_to_repair(&failed);
    let (id, sha) = coord.pause_ids();
    let out = coord.ok(&["unpause", "--sha", &sha, "--control-id", &id]);
    assert!(out.contains(&format!("merged {repair_branch}")), "{out}");
    let main = w.server_ref("refs/heads/main").expect("main");
    assert_eq!(w.server_git(&["rev-parse", &format!("{main}^1")]), failed);
}

#[test]
fn a_wake_up_error_is_deferred_and_unpause_still_succeeds() {
    let (w, dev, coord, failed) = failed_main();
    coord.react();
    let (id, sha) = coord.pause_ids();
    // The wake-up's push will fail: the server refuses base-branch updates from now on.
    w.install_server_hook(
        "pre-receive",
        "#!/bin/sh\nwhile read old new ref; do [ \"$ref\" = refs/heads/main ] && { echo 'deploybot: refs/heads/main: frozen; try later' >&2; exit 1; }; done; exit 0\n",
    );
    dev.ok(&["claim-repair", "--owner", "dev"]);
    dev.push_fix_to_repair(&failed);
    let out = coord.ok(&["unpause", "--sha", &sha, "--control-id", &id]);
    assert!(out.contains("wake-up deferred"), "{out}");
    assert_eq!(
        coord.control("state"),
        "running",
        "the recovery is durable and not re-paused"
    );
}

#[test]
fn two_coordinators_never_merge_twice_or_lose_records() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let c1 = w.clone_as("c1");
    let c2 = w.clone_as("c2");
    for i in 0..3 {
        let head = dev.push_branch(&format!("f{i}"), &format!("f{i}.txt"), "x\n");
        dev.report_ci(&head, "success");
        dev.ok(&["request", &format!("f{i}")]);
    }
    let (h1, h2) = (
        c1.spawn(&["react", "--json"]),
        c2.spawn(&["react", "--json"]),
    );
    let mut merged_total = 0;
    for h in [h1, h2] {
        let r: serde_json::Value = serde_json::from_str(&wait_ok(h)).expect("json");
        merged_total += r["merged"].as_array().expect("merged").len();
    }
    assert_eq!(
        merged_total, 3,
        "each entry merged exactly once across both coordinators"
    );
    let merges = w.server_git(&["rev-list", "--merges", "--count", "main"]);
    assert_eq!(merges, "3", "three merge commits on main");
    let log = w.server_git(&["log", "--format=%s", "refs/deploybot/queue"]);
    assert_eq!(
        log.lines().filter(|l| l.starts_with("merged")).count(),
        3,
        "{log}"
    );
    assert_eq!(
        log.lines().filter(|l| l.starts_with("request")).count(),
        3,
        "{log}"
    );
}

#[test]
fn two_claimers_get_one_lease() {
    let (w, _dev, _coord, _failed) = failed_main();
    let a = w.clone_as("a");
    let b = w.clone_as("b");
    let claim = |c: &Clone, owner: &str| c.spawn(&["claim-repair", "--owner", owner, "--json"]);
    let outs: Vec<serde_json::Value> = [claim(&a, "alice"), claim(&b, "bob")]
        .into_iter()
        .map(|h| serde_json::from_str(&wait_ok(h)).expect("json"))
        .collect();
    let created: Vec<_> = outs.iter().filter(|o| o["state"] == "created").collect();
    assert_eq!(created.len(), 1, "{outs:?}");
    let winner = created[0]["owner"].as_str().expect("owner");
    let loser = outs
        .iter()
        .find(|o| o["state"] != "created")
        .expect("a loser");
    assert_eq!(loser["state"], "claimed");
    assert_eq!(
        loser["owner"], winner,
        "the loser is told the recorded owner"
    );
    let again: serde_json::Value =
        serde_json::from_str(&a.ok(&["claim-repair", "--owner", winner, "--json"])).expect("json");
    assert_eq!(again["state"], "owned");
    let branches = w.server_git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/heads/deploybot/repair/",
    ]);
    assert_eq!(branches.lines().count(), 1, "never a second branch");
}

#[test]
fn claim_repair_refuses_a_healthy_main() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let out = dev.run(&["claim-repair", "--owner", "dev"]);
    assert_eq!(out.status.code(), Some(3));
    assert!(String::from_utf8_lossy(&out.stderr).contains("not failed"));
}

#[test]
fn a_conflict_is_blocked_while_independent_work_merges() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    let x = dev.push_branch("x", "same.txt", "from x\n");
    let y = dev.push_branch("y", "same.txt", "from y\n");
    let z = dev.push_branch("z", "z.txt", "z\n");
    for (b, h) in [("x", &x), ("y", &y), ("z", &z)] {
        dev.report_ci(h, "success");
        dev.ok(&["request", b]);
    }
    let r = coord.react();
    let merged: Vec<&str> = r["merged"]
        .as_array()
        .expect("merged")
        .iter()
        .map(|m| m["branch"].as_str().expect("b"))
        .collect();
    assert_eq!(merged, ["x", "z"]);
    assert_eq!(r["blocked"][0]["branch"], "y");
    let reason = r["blocked"][0]["reason"].as_str().expect("reason");
    assert!(
        reason.contains("same.txt") && reason.contains("rebase"),
        "{reason}"
    );
    let s = coord.status();
    assert_eq!(s["queue"][0]["branch"], "y");
    assert_eq!(s["queue"][0]["state"], "blocked");
}

#[test]
fn a_moved_branch_is_stale_and_never_merges() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    dev.push_green_request("s", "s.txt");
    let moved = dev.commit_file("s.txt", "2\n", "more");
    dev.git(&["push", "-q", "origin", "HEAD:refs/heads/s"]);
    dev.report_ci(&moved, "success");
    let before = w.server_ref("refs/heads/main");
    let r = coord.react();
    assert_eq!(r["merged"].as_array().expect("list").len(), 0);
    assert_eq!(w.server_ref("refs/heads/main"), before);
    let s = coord.status();
    assert_eq!(s["queue"][0]["state"], "stale");
    assert!(
        s["queue"][0]["why"]
            .as_str()
            .expect("why")
            .contains("request it again")
    );
    dev.ok(&["request", "s"]);
    assert_eq!(coord.react()["merged"][0]["head_sha"], moved.as_str());
}

#[test]
fn entries_wait_for_green_checks_on_their_exact_head() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    let head = dev.push_branch("w", "w.txt", "1\n");
    dev.ok(&["request", "w"]);
    let r = coord.react();
    assert_eq!(r["merged"].as_array().expect("list").len(), 0);
    assert_eq!(r["waiting"][0]["state"], "waiting-checks");
    dev.report_ci(&head, "failure");
    assert_eq!(coord.react()["merged"].as_array().expect("list").len(), 0);
    dev.report_ci(&head, "success");
    assert_eq!(coord.react()["merged"][0]["branch"], "w");
}

#[test]
fn queue_commands_cancel_block_unblock() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    dev.push_green_request("q", "q.txt");
    dev.ok(&["block", "q", "--reason", "needs review"]);
    let s = dev.status();
    assert_eq!(s["queue"][0]["state"], "blocked");
    assert_eq!(dev.react()["merged"].as_array().expect("list").len(), 0);
    dev.ok(&["unblock", "q"]);
    assert_eq!(dev.status()["queue"][0]["state"], "queued");
    dev.ok(&["cancel", "q"]);
    assert_eq!(dev.status()["queue"].as_array().expect("list").len(), 0);
    let out = dev.run(&["cancel", "q"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "cancelling what is not queued is refused"
    );
    let out = dev.run(&["request", "no-such-branch"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("does not exist on the remote"));
}

#[test]
fn eight_runners_reporting_at_once_all_survive() {
    let w = World::new();
    let main = w.server_ref("refs/heads/main").expect("main");
    let runners: Vec<_> = (0..8).map(|i| w.clone_as(&format!("r{i}"))).collect();
    let handles: Vec<_> = runners
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let check = format!("job{i}");
            c.spawn(&[
                "ci", "report", "--sha", &main, "--check", &check, "--status", "success", "--force",
            ])
        })
        .collect();
    for h in handles {
        wait_ok(h);
    }
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &main]);
    for i in 0..8 {
        assert!(
            note.contains(&format!("\"check\":\"job{i}\"")),
            "job{i} survived: {note}"
        );
    }
    assert_eq!(note.lines().filter(|l| !l.trim().is_empty()).count(), 8);
}

#[test]
fn notes_written_by_plain_git_are_read() {
    let w = World::with_policy(FAST_POLICY);
    let runner = w.clone_as("runner");
    let main = w.server_ref("refs/heads/main").expect("main");
    runner.git(&[
        "notes",
        "--ref=deploybot/ci",
        "append",
        "-m",
        r#"{"check":"CI","status":"pending","at":"2026-01-01T00:00:00Z"}"#,
        &main,
    ]);
    runner.git(&[
        "notes",
        "--ref=deploybot/ci",
        "append",
        "-m",
        r#"{"check":"CI","status":"failure","at":"2026-01-01T00:05:00Z"}"#,
        &main,
    ]);
    runner.git(&["push", "-q", "origin", "refs/notes/deploybot/ci"]);
    let s = runner.status();
    assert_eq!(s["main"]["release"]["state"], "ci-failed", "{s}");
}

#[test]
fn a_claim_is_undone_when_main_moves_during_it() {
    let (w, dev, _coord, failed) = failed_main();
    let other = dev.push_branch("racer", "r.txt", "r\n");
    // The server moves main the moment the lease branch lands (a real race, made certain).
    w.install_server_hook(
        "post-receive",
        &format!(
            "#!/bin/sh\nwhile read old new ref; do\n  case \"$ref\" in refs/heads/deploybot/repair/*) [ -e race-done ] || {{ touch race-done; git update-ref refs/heads/main {other} {failed}; }};; esac\ndone\n"
        ),
    );
    let out = dev.run(&["claim-repair", "--owner", "dev"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("main moved"));
    let branches = w.server_git(&[
        "for-each-ref",
        "--format=%(refname)",
        "refs/heads/deploybot/repair/",
    ]);
    assert_eq!(branches, "", "the lease was deleted again");
}

#[test]
fn a_large_batch_is_stored_as_one_pack_and_the_server_stays_consistent() {
    let w = World::with_policy(
        "[queue]\nmax_batch_size = 16\n[pipeline]\nci_failure_grace_seconds = 0\n",
    );
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    for i in 0..16 {
        let head = dev.push_branch(&format!("p{i:02}"), &format!("p{i}.txt"), "x\n");
        dev.report_ci(&head, "success");
        dev.ok(&["request", &format!("p{i:02}")]);
    }
    coord.status(); // fetch everything first, so the only new pack is react's own
    let packs_before = coord.git(&["count-objects", "-v"]);
    let r = coord.react();
    assert_eq!(r["merged"].as_array().expect("merged").len(), 16);
    let packs_after = coord.git(&["count-objects", "-v"]);
    let packs = |text: &str| -> u64 {
        text.lines()
            .find_map(|l| l.strip_prefix("packs: "))
            .expect("packs line")
            .parse()
            .expect("number")
    };
    assert_eq!(
        packs(&packs_after),
        packs(&packs_before) + 1,
        "one new pack for the whole pass"
    );
    w.server_git(&["fsck", "--strict", "--no-progress"]);
    coord.git(&["fsck", "--no-progress"]);
    assert_eq!(
        w.server_git(&["rev-list", "--merges", "--count", "main"]),
        "16"
    );
}

#[test]
fn squash_merge_method_lands_one_parent_commits() {
    let w = World::with_policy(
        "[queue]\nmerge_method = \"squash\"\n[pipeline]\nci_failure_grace_seconds = 0\n",
    );
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    let before = w.server_ref("refs/heads/main").expect("main");
    let head = dev.push_branch("sq", "sq.txt", "squashed\n");
    dev.report_ci(&head, "success");
    dev.ok(&["request", "sq"]);
    assert_eq!(coord.react()["merged"][0]["branch"], "sq");
    let main = w.server_ref("refs/heads/main").expect("main");
    assert_eq!(
        w.server_git(&["rev-list", "--parents", "-n1", &main]),
        format!("{main} {before}"),
        "one parent: the old main"
    );
    assert_eq!(
        w.server_git(&["show", &format!("{main}:sq.txt")]),
        "squashed"
    );
}

#[test]
fn dispatch_ci_leaves_a_pending_note_and_runs_the_dispatch_command() {
    let dir = tempfile::tempdir().expect("tempdir");
    let marker = dir.path().join("dispatched");
    let policy = format!(
        "[pipeline]\nci_failure_grace_seconds = 0\nci_dispatch_command = \"echo $DEPLOYBOT_SHA > {}\"\n",
        marker.display()
    );
    let w = World::with_policy(&policy);
    let dev = w.clone_as("dev");
    let head = dev.push_branch("d", "d.txt", "d\n");
    dev.report_ci(&head, "success");
    dev.ok(&["request", "d"]);
    dev.ok(&["react", "--dispatch-ci"]);
    let main = w.server_ref("refs/heads/main").expect("main");
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &main]);
    assert!(
        note.contains("\"check\":\"CI\"") && note.contains("\"status\":\"pending\""),
        "{note}"
    );
    assert_eq!(
        std::fs::read_to_string(&marker)
            .expect("the command ran")
            .trim(),
        main
    );
    let pending = dev.ok(&["ci", "pending", "--json"]);
    assert!(
        pending.contains(&main),
        "a dispatched (unclaimed) pending request is still pending for runners: {pending}"
    );
}

#[test]
fn notes_interleaved_with_plain_git_keep_every_line() {
    let w = World::with_policy(FAST_POLICY);
    let runner = w.clone_as("runner");
    let main = w.server_ref("refs/heads/main").expect("main");
    runner.report_ci(&main, "pending");
    // Plain git appends to the tree the tool wrote (it may lay the tree out its own way).
    runner.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/notes/deploybot/ci:refs/notes/deploybot/ci",
    ]);
    let line = r#"{"check":"lint","status":"success","at":"2026-01-01T00:00:00Z"}"#;
    runner.git(&["notes", "--ref=deploybot/ci", "append", "-m", line, &main]);
    runner.git(&["push", "-q", "origin", "refs/notes/deploybot/ci"]);
    runner.report_ci(&main, "success");
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &main]);
    let lines: Vec<&str> = note.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 3, "{note}");
    assert!(
        lines[0].contains("pending") && lines[1].contains("lint") && lines[2].contains("success"),
        "{note}"
    );
    let tree = w.server_git(&["ls-tree", "-r", "--name-only", "refs/notes/deploybot/ci"]);
    assert_eq!(
        tree.lines().count(),
        1,
        "one note, wherever it sits: {tree}"
    );
}

#[test]
fn status_names_the_next_step_at_each_turn_of_the_story() {
    let (_w, dev, coord, failed) = failed_main();
    let next = |c: &Clone| -> Vec<String> {
        c.status()["next"]
            .as_array()
            .expect("next")
            .iter()
            .map(|s| s.as_str().expect("str").to_string())
            .collect()
    };
    assert!(
        next(&coord)[0].starts_with("git deploybot claim-repair"),
        "main failed: {:?}",
        next(&coord)
    );
    coord.react();
    let (id, sha) = coord.pause_ids();
    let steps = next(&coord);
    // The repair first, then the unpause that lands it.
    assert!(
        steps[0].starts_with("git deploybot claim-repair"),
        "{steps:?}"
    );
    assert!(
        steps[1].starts_with(&format!(
            "git deploybot unpause --sha {sha} --control-id {id}"
        )),
        "{steps:?}"
    );
    dev.ok(&["claim-repair", "--owner", "dev"]);
    let branch = format!("deploybot/repair/{}", &failed[..12]);
    assert!(
        next(&coord)
            .iter()
            .any(|s| s.starts_with(&format!("git deploybot request {branch}"))),
        "{:?}",
        next(&coord)
    );
    dev.push_fix_to_repair(&failed);
    coord.ok(&["unpause", "--sha", &sha, "--control-id", &id]);
    assert_eq!(
        next(&coord),
        Vec::<String>::new(),
        "nothing needs a person once the repair landed"
    );
    let text = coord.ok(&["status"]);
    assert!(!text.contains("next"), "{text}");
}

#[test]
fn a_block_is_lifted_by_unblock_or_a_new_head_not_by_asking_again() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    dev.push_green_request("q", "q.txt");
    dev.ok(&["block", "q", "--reason", "needs review"]);
    let before = w.server_refs();
    let out = dev.run(&["request", "q"]);
    assert_eq!(out.status.code(), Some(3));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is blocked at this head (needs review)") && stderr.contains("unblock"),
        "{stderr}"
    );
    assert_eq!(w.server_refs(), before, "nothing written");
    // A new head (a rebase, a fix) is a new request and clears the block.
    let newer = dev.commit_file("q.txt", "2\n", "address review");
    dev.git(&["push", "-q", "origin", "HEAD:refs/heads/q"]);
    dev.ok(&["request", "q"]);
    let entry = dev.status()["queue"][0].clone();
    assert_eq!(entry["head_sha"], newer.as_str());
    assert_ne!(entry["state"], "blocked");
}
