//! Races made certain with real hooks: a pause landing while a pass is merging,
//! and coordinators, runners and an operator all writing at once.

mod common;
use common::{Clone, FAST_POLICY, World, wait_ok};

#[test]
fn a_pause_landing_mid_pass_stops_the_merge() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let ops = w.clone_as("ops");
    let head = dev.push_branch("feature/x", "x.txt", "x\n");
    dev.report_ci(&head, "success");
    dev.ok(&["request", "feature/x"]);
    let coord = w.clone_as("coord");
    // The moment the coordinator's first fetch lands, an operator pauses for real.
    let bin = assert_cmd::cargo::cargo_bin!("git-deploybot");
    let mark = w.dir.path().join("paused-once");
    let script = format!(
        "#!/bin/sh\n[ \"$1\" = committed ] || exit 0\n[ -e {mark} ] && exit 0\ntouch {mark}\nenv -u GIT_DIR -u GIT_INDEX_FILE -u GIT_WORK_TREE {bin} -C {ops} pause --reason 'operator stop' >/dev/null 2>&1\nexit 0\n",
        mark = mark.display(),
        bin = bin.display(),
        ops = ops.path.display()
    );
    let hook = coord.path.join(".git/hooks/reference-transaction");
    std::fs::write(&hook, script).expect("hook");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let before = w.server_ref("refs/heads/main");
    let r = coord.react();
    assert!(mark.exists(), "the race was staged");
    assert_eq!(ops.control("reason"), "operator stop", "the pause landed");
    assert_eq!(r["state"], "paused", "the pass saw the pause on retry: {r}");
    assert_eq!(
        w.server_ref("refs/heads/main"),
        before,
        "main did not move under the pause"
    );
    assert_eq!(
        coord.status()["queue"][0]["branch"],
        "feature/x",
        "the entry is still queued"
    );
}

#[test]
fn two_coordinators_ten_runners_and_an_operator_at_once() {
    let w = World::with_policy(
        "[queue]\nmax_batch_size = 2\n[pipeline]\nci_failure_grace_seconds = 0\n",
    );
    let dev = w.clone_as("dev");
    let mut heads = Vec::new();
    for i in 0..6 {
        let head = dev.push_branch(&format!("b{i}"), &format!("b{i}.txt"), "b\n");
        dev.report_ci(&head, "success");
        dev.ok(&["request", &format!("b{i}")]);
        heads.push(head);
    }
    let start = w.server_ref("refs/heads/main").expect("main");
    let coords: Vec<Clone> = (0..2).map(|i| w.clone_as(&format!("coord{i}"))).collect();
    let runners: Vec<Clone> = (0..10).map(|i| w.clone_as(&format!("runner{i}"))).collect();
    let ops = w.clone_as("ops");
    // Everyone at once: two coordinators react, ten runners report on the
    // starting main, the operator pauses.
    let mut children = Vec::new();
    for c in &coords {
        children.push(c.spawn(&["react", "--json"]));
    }
    for (i, r) in runners.iter().enumerate() {
        let check = format!("job{i}");
        children.push(r.spawn(&[
            "ci", "report", "--sha", &start, "--check", &check, "--status", "success", "--force",
        ]));
    }
    children.push(ops.spawn(&["pause", "--reason", "operator hold"]));
    for c in children {
        wait_ok(c);
    }
    // Then a second round of coordinators while paused, then unpause and drain.
    for c in &coords {
        assert_eq!(c.react()["state"], "paused");
    }
    let (id, sha) = ops.pause_ids();
    ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    for _ in 0..4 {
        coords[0].react();
    }
    // No record lost: all ten runner lines, the operator's pause and recovery.
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &start]);
    for i in 0..10 {
        assert!(
            note.contains(&format!("\"check\":\"job{i}\"")),
            "job{i} survived: {note}"
        );
    }
    let control = w.server_git(&["log", "--format=%s", "refs/deploybot/control"]);
    assert!(
        control.contains("pause: operator hold")
            && control.contains("unpause: recovering operator hold"),
        "{control}"
    );
    // Nothing merged twice: one merge commit and one merged record per branch.
    let merged = w.server_git(&["log", "--format=%s", "refs/deploybot/queue"]);
    for i in 0..6 {
        let n = merged
            .lines()
            .filter(|l| l.starts_with(&format!("merged: b{i} ")))
            .count();
        assert_eq!(n, 1, "b{i} merged exactly once: {merged}");
    }
    assert_eq!(
        w.server_git(&["rev-list", "--merges", "--count", &format!("{start}..main")]),
        "6"
    );
    for head in &heads {
        w.server_git(&["merge-base", "--is-ancestor", head, "main"]);
    }
    for ledger in [
        "refs/deploybot/control",
        "refs/deploybot/queue",
        "refs/notes/deploybot/ci",
    ] {
        assert_eq!(
            w.server_git(&["rev-list", "--merges", "--count", ledger]),
            "0",
            "{ledger} stays linear"
        );
    }
}

#[test]
fn a_pause_overtaken_by_a_merge_is_rebound_so_unpause_can_resume_it() {
    let w = World::with_policy(FAST_POLICY);
    let ops = w.clone_as("ops");
    let dev = w.clone_as("dev");
    let old = w.server_ref("refs/heads/main").expect("main");
    let next = dev.push_branch("racer", "r.txt", "r\n");
    // The server moves main the moment the pause lands (a merge that won the race).
    w.install_server_hook(
        "post-receive",
        &format!(
            "#!/bin/sh\nwhile read o n ref; do\n  if [ \"$ref\" = refs/deploybot/control ] && [ ! -e moved ]; then touch moved; git update-ref refs/heads/main {next} {old}; fi\ndone\n"
        ),
    );
    ops.ok(&["pause", "--reason", "operator hold"]);
    let (id, sha) = ops.pause_ids();
    assert_eq!(sha, next, "the pause follows main to where it is now");
    let log = w.server_git(&["log", "--format=%s", "refs/deploybot/control"]);
    assert_eq!(
        log.lines().count(),
        2,
        "first binding, then the rebinding: {log}"
    );
    ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert_eq!(ops.control("state"), "running");
}

#[test]
fn a_pause_landing_inside_a_merge_push_is_rebound_to_the_new_main() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let ops = w.clone_as("ops");
    let head = dev.push_branch("feature/y", "y.txt", "y\n");
    dev.report_ci(&head, "success");
    dev.ok(&["request", "feature/y"]);
    // The control ledger exists, so the merge only leases it (checked against
    // what the server advertised; a missing ledger would be created in the push,
    // which the server itself checks).
    ops.ok(&["pause", "--reason", "earlier hold"]);
    let (id, sha) = ops.pause_ids();
    ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let coord = w.clone_as("coord");
    coord.status(); // fetched before the hook goes in
    // The server's pre-receive runs after the coordinator's push was advertised
    // and before main is updated: an operator's pause lands right there.
    let bin = assert_cmd::cargo::cargo_bin!("git-deploybot");
    let mark = w.dir.path().join("crossed-once");
    w.install_server_hook(
        "pre-receive",
        &format!(
            "#!/bin/sh\ngrep -q ' refs/heads/main$' || exit 0\n[ -e {mark} ] && exit 0\ntouch {mark}\nenv -u GIT_DIR -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES {bin} -C {ops} pause --reason 'operator stop' >&2\nexit 0\n",
            mark = mark.display(),
            bin = bin.display(),
            ops = ops.path.display()
        ),
    );
    let old_main = w.server_ref("refs/heads/main").expect("main");
    let r = coord.react();
    assert!(mark.exists(), "the crossing was staged");
    let new_main = w.server_ref("refs/heads/main").expect("main");
    assert_ne!(
        new_main, old_main,
        "the merge landed (the lease was checked before the pause)"
    );
    assert_eq!(r["rebound_pause"], "operator stop", "{r}");
    let (id, sha) = ops.pause_ids();
    assert_eq!(
        sha, new_main,
        "the pause now holds the main that is really there"
    );
    ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert_eq!(ops.control("state"), "running");
}
