//! The seed's rule, exactly (issue 18): a recovery owns the failure it
//! resumed, not every failure of its sha; a cancel on a superseded main
//! coalesces; a deferred wake-up says why and who continues; a runner's
//! follow never ends in a refused push. Through the real binary against real
//! bare remotes (with the hook installed where actors are named).

mod common;
use common::{Clone, FAST_POLICY, World};
use serde_json::Value;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON ({e}): {text}"))
}

/// Merges one green branch through the queue and returns the new main.
fn merge_one(dev: &Clone, coord: &Clone, branch: &str) -> String {
    dev.push_green_request(branch, &format!("{}.txt", branch.replace('/', "-")));
    let r = coord.react();
    assert_eq!(r["merged"][0]["branch"], branch, "{r}");
    r["new_base_sha"].as_str().expect("new main").to_string()
}

/// An older worker (one that knows nothing of `recovered_state`) appends
/// the controller pause it reads from the lingering failure, straight into
/// the server's ledger as such a tool wrote it.
fn older_worker_pause(w: &World, sha: &str, reason: &str) {
    let record = format!(
        r#"{{"schema":1,"control_id":"older-worker-1","state":"paused","reason":"{reason}","main_sha":"{sha}","actor":"older-worker","at":"2026-06-22T00:00:00Z"}}"#
    );
    let blob = w.server_git_stdin(&["hash-object", "-w", "--stdin"], &record);
    let tree = w.server_git_stdin(&["mktree"], &format!("100644 blob {blob}\trecord.json\n"));
    w.append_raw_control_tree(&tree, &format!("pause: {reason}"));
}

/// Item 1, the operator's door: main A is red, an operator pauses it in
/// their own words before any coordinator does, and unpauses. An older
/// worker then writes the byte-for-byte controller pause `ci-failed on A`.
/// It restates the failure the recovery owns: the fold skips it, and the
/// repair lands. (Before: the stale pause overwrote the recovery.)
#[test]
fn an_older_workers_stale_pause_cannot_overwrite_an_operator_paused_recovery() {
    let w = World::with_policy(FAST_POLICY);
    let (dev, coord, ops) = (w.clone_as("dev"), w.clone_as("coord"), w.clone_as("ops"));
    let failed = merge_one(&dev, &coord, "feature/a");
    dev.report_ci(&failed, "failure");
    ops.ok(&["pause", "--reason", "hold: main is red", "--sha", &failed]);
    let (id, sha) = ops.pause_ids();
    let out = json(&ops.ok(&[
        "unpause",
        "--sha",
        &sha,
        "--control-id",
        &id,
        "--no-wake",
        "--json",
    ]));
    assert_eq!(out["recovery"]["recovered_state"], "ci-failed", "{out}");
    assert_eq!(out["recovery"]["recovered_reason"], "hold: main is red");
    // The running record on the server says which failure it owns.
    let record = json(&w.server_git(&["show", "refs/deploybot/control:record.json"]));
    assert_eq!(record["recovered_state"], "ci-failed", "{record}");
    older_worker_pause(&w, &failed, &format!("ci-failed on {failed}"));
    let s = ops.status();
    assert_eq!(s["control"]["state"], "running", "{s}");
    assert_eq!(s["control"]["control_id"], out["recovery"]["control_id"]);
    // The repair lands past the failure, and nothing re-pauses.
    dev.ok(&["claim-repair", "--owner", "dev"]);
    let (repair, _) = dev.push_fix_to_repair(&failed);
    let r = coord.react();
    assert_eq!(r["repair"], true, "{r}");
    assert_eq!(r["merged"][0]["branch"], repair.as_str());
    assert_eq!(r["paused_with"], Value::Null);
    assert_eq!(ops.control("state"), "running");
}

/// Item 1, the other door: an older worker's stale pause of a DIFFERENT
/// failed state of the recovered sha is a genuinely new failure and pauses.
#[test]
fn a_new_failed_state_of_the_recovered_sha_pauses_whoever_writes_it() {
    let w = World::with_policy(FAST_POLICY);
    let (dev, coord, ops) = (w.clone_as("dev"), w.clone_as("coord"), w.clone_as("ops"));
    let failed = merge_one(&dev, &coord, "feature/a");
    dev.report_ci(&failed, "failure");
    coord.react();
    let (id, sha) = ops.pause_ids();
    ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    older_worker_pause(&w, &failed, &format!("deploy-failed on {failed}"));
    let s = ops.status();
    assert_eq!(s["control"]["state"], "paused", "{s}");
    assert_eq!(
        s["control"]["reason"],
        format!("deploy-failed on {failed}").as_str()
    );
}

/// Item 2: under `merged` admission A lands with CI pending, B lands on
/// top, and A's run is cancelled (CI systems cancel a superseded main's
/// run). That coalesces: no pause, no failure in the history. A decided
/// cancel on the tip still fails it.
#[test]
fn a_cancelled_run_on_a_superseded_main_coalesces_and_on_the_tip_it_fails() {
    let w = World::with_policy(FAST_POLICY);
    let (dev, coord) = (w.clone_as("dev"), w.clone_as("coord"));
    let a = merge_one(&dev, &coord, "feature/a");
    dev.report_ci(&a, "pending");
    let b = merge_one(&dev, &coord, "feature/b");
    dev.report_ci(&a, "cancelled");
    let s = dev.status();
    assert_eq!(s["history"]["failure"], Value::Null, "{s}");
    let r = coord.react();
    assert_eq!(r["paused_with"], Value::Null, "{r}");
    assert_eq!(r["state"], "complete", "{r}");
    assert_eq!(coord.control("state"), "running");
    // B's own run, cancelled with nothing newer to cover it, fails B.
    dev.report_ci(&b, "cancelled");
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("ci-failed on {b}"), "{r}");
    let _ = w;
}

/// Actors named for every role, main protected: the team of items 3 and 5.
const ACTORS: &str = r#"[queue]
trusted_actors = ["dev", "ops"]
coordinator_actors = ["coord"]
ci_runners = ["ci"]

[pipeline]
ci_failure_grace_seconds = 0

[hook]
protect_base = true
"#;

/// A guarded server where `coord` merged feature/a and `ci` reported it
/// green; returns the world, the clones (dev, coord, ops, ci) and the main.
fn guarded_main() -> (World, [Clone; 4], String) {
    let w = World::with_policy(ACTORS);
    w.install_deploybot_hooks();
    let clones = ["dev", "coord", "ops", "ci"].map(|n| w.clone_as(n));
    let [dev, coord, _, ci] = &clones;
    let head = dev.push_branch("feature/a", "a.txt", "a\n");
    ci.ok_as(
        "ci",
        &[
            "ci", "report", "--sha", &head, "--check", "CI", "--status", "success",
        ],
    );
    dev.ok_as("dev", &["request", "feature/a"]);
    let r = json(&coord.ok_as("coord", &["react", "--json"]));
    let main = r["new_base_sha"].as_str().expect("merged").to_string();
    (w, clones, main)
}

/// Main failed and was paused by the coordinator; ops (trusted, not a
/// coordinator) claimed the repair, pushed a fix that `ci` reported green,
/// and requested it. Returns the clones (coord, ops), the pause's (id, sha)
/// and the repair branch.
fn repair_ready_for_ops() -> (World, Clone, Clone, (String, String), String) {
    let (w, [_dev, coord, ops, ci], failed) = guarded_main();
    let report = |sha: &str, status: &str| {
        ci.ok_as(
            "ci",
            &[
                "ci", "report", "--sha", sha, "--check", "CI", "--status", status,
            ],
        );
    };
    report(&failed, "failure");
    coord.ok_as("coord", &["react"]);
    ops.ok_as("ops", &["claim-repair", "--owner", "ops"]);
    let branch = format!("deploybot/repair/{}", &failed[..12]);
    ops.git(&["fetch", "-q", "origin"]);
    ops.git(&["checkout", "-q", "-B", &branch, &format!("origin/{branch}")]);
    let fix = ops.commit_file("fix.txt", "fixed\n", "fix main");
    let push = ops.git_env(
        &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")],
        &[("GL_USER", "ops")],
    );
    assert!(
        push.status.success(),
        "{}",
        String::from_utf8_lossy(&push.stderr)
    );
    report(&fix, "success");
    ops.ok_as("ops", &["request", &branch]);
    let ids = ops.pause_ids();
    (w, coord, ops, ids, branch)
}

/// Item 3: ops unpauses; the wake-up's push (the repair's merge) is refused
/// by the server. unpause still succeeds, shows the server's reasons and
/// names who continues; the coordinator then lands the repair.
#[test]
fn a_refused_wake_up_shows_the_servers_reasons_and_who_continues() {
    let (_w, coord, ops, (id, sha), branch) = repair_ready_for_ops();
    let text = ops.ok_as("ops", &["unpause", "--sha", &sha, "--control-id", &id]);
    assert!(
        text.contains(
            "wake-up deferred: the server refused the wake-up's push (its reasons below)"
        ),
        "{text}"
    );
    assert!(
        text.contains("a coordinator (coord) continues it with `git deploybot react`"),
        "{text}"
    );
    let reasons: Vec<&str> = text
        .lines()
        .skip_while(|l| !l.starts_with("wake-up deferred"))
        .skip(1)
        .collect();
    assert!(
        reasons
            .iter()
            .any(|l| l.contains("deploybot: ") && l.contains("ops")),
        "the server's reasons follow: {text}"
    );
    assert_eq!(ops.control("state"), "running", "the recovery is durable");
    let r = json(&coord.ok_as("coord", &["react", "--json"]));
    assert_eq!(r["repair"], true, "{r}");
    assert_eq!(r["merged"][0]["branch"], branch.as_str());
}

/// Item 3, `--json`: `wake_up_refused` carries the server's reasons.
#[test]
fn a_refused_wake_up_carries_the_reasons_in_json() {
    let (_w, _coord, ops, (id, sha), _) = repair_ready_for_ops();
    let out = json(&ops.ok_as(
        "ops",
        &["unpause", "--sha", &sha, "--control-id", &id, "--json"],
    ));
    let deferred = out["wake_up_deferred"].as_str().unwrap_or_default();
    assert!(deferred.contains("a coordinator (coord)"), "{out}");
    let refused = out["wake_up_refused"].as_array().expect("a list");
    assert!(!refused.is_empty(), "{out}");
    assert!(
        refused
            .iter()
            .all(|l| l.as_str().is_some_and(|l| l.starts_with("deploybot: "))),
        "{out}"
    );
}

/// Item 5: with actors named, the README's runner loop (`follow
/// --if-needed`) run by a CI runner after a failed deploy records the pause
/// (an evidence-bound pause the server's notes prove) instead of ending in a
/// refused push; exit 6 says the release failed.
#[test]
fn a_runners_follow_pauses_on_the_servers_evidence() {
    let (w, [_dev, coord, ops, ci], main) = guarded_main();
    ci.ok_as(
        "ci",
        &[
            "ci", "report", "--sha", &main, "--check", "CI", "--status", "success",
        ],
    );
    ci.ok_as(
        "ci",
        &[
            "deploy", "report", "--sha", &main, "--check", "Deploy", "--status", "failure",
        ],
    );
    let out = ci.run_as(
        "ci",
        &["follow", "--if-needed", "--timeout", "20", "--poll", "1"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains(&format!("paused: deploy-failed on {main}")),
        "{stdout}"
    );
    assert_eq!(ops.control("state"), "paused");
    assert_eq!(ops.control("actor"), "ci");
    let _ = (w, coord);
}

/// Item 5, the guard: a runner's pause that the server's notes do not prove
/// (the release is not in that state) is still a trusted actor's to write.
#[test]
fn a_runners_unproven_pause_is_refused() {
    let (w, [_dev, _coord, _ops, ci], main) = guarded_main();
    ci.ok_as(
        "ci",
        &[
            "ci", "report", "--sha", &main, "--check", "CI", "--status", "success",
        ],
    );
    let before = w.server_refs();
    let out = ci.run_as(
        "ci",
        &[
            "pause",
            "--reason",
            &format!("deploy-failed on {main}"),
            "--sha",
            &main,
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("queue.trusted_actors"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.server_refs(), before, "nothing written");
}

/// Item 4: while paused, `why` says the entry moves once the pause is
/// resumed, never that the next react merges it or that follow takes its
/// release on (follow exits 3 while paused); status says only the unpause.
#[test]
fn while_paused_why_and_status_suggest_only_what_works() {
    let w = World::with_policy(FAST_POLICY);
    let (dev, coord, ops) = (w.clone_as("dev"), w.clone_as("coord"), w.clone_as("ops"));
    let main = merge_one(&dev, &coord, "feature/a");
    dev.push_green_request("feature/b", "b.txt");
    ops.ok(&["pause", "--reason", "change freeze", "--sha", &main]);
    let queued = json(&dev.ok(&["why", "feature/b", "--json"]));
    let why = queued["why"].as_str().expect("why");
    assert!(!why.contains("react` merges it"), "{why}");
    assert!(why.contains("paused"), "{why}");
    let merged = json(&dev.ok(&["why", "feature/a", "--json"]));
    let why = merged["why"].as_str().expect("why");
    assert!(!why.contains("follow` takes it"), "{why}");
    assert!(why.contains("paused"), "{why}");
    let s = dev.status();
    let next: Vec<&str> = s["next"]
        .as_array()
        .expect("next")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(
        next.iter().any(|l| l.starts_with("git deploybot unpause")),
        "{next:?}"
    );
    assert!(
        !next
            .iter()
            .any(|l| l.contains("deploybot react") || l.contains("deploybot follow")),
        "{next:?}"
    );
    // What status suggested works: follow while paused would not.
    let follow = dev.run(&["follow", "--timeout", "1"]);
    assert_eq!(follow.status.code(), Some(3));
}

/// Item 4: a clone whose actor is no coordinator is told who runs react;
/// runners' work (entries waiting for CI) is a next step too.
#[test]
fn status_tells_a_non_coordinator_who_reacts_and_runners_what_waits() {
    let w = World::with_policy(ACTORS);
    let (dev, coord) = (w.clone_as("dev"), w.clone_as("coord"));
    let head = dev.push_branch("feature/a", "a.txt", "a\n");
    dev.ok(&["--actor", "dev", "request", "feature/a"]);
    let next = |c: &Clone, actor: &str| -> Vec<String> {
        let s = json(&c.ok(&["--actor", actor, "status", "--json"]));
        s["next"]
            .as_array()
            .expect("next")
            .iter()
            .filter_map(|l| l.as_str().map(str::to_string))
            .collect()
    };
    let waiting = next(&dev, "dev");
    assert!(
        waiting
            .iter()
            .any(|l| l.starts_with("git deploybot ci pending") && l.contains("1 entry")),
        "{waiting:?}"
    );
    dev.report_ci(&head, "success");
    let for_dev = next(&dev, "dev");
    assert!(
        for_dev
            .iter()
            .any(|l| l.starts_with("# a coordinator (coord) runs: git deploybot react")),
        "{for_dev:?}"
    );
    let for_coord = next(&coord, "coord");
    assert!(
        for_coord
            .iter()
            .any(|l| l.starts_with("git deploybot react")),
        "{for_coord:?}"
    );
}

/// Item 4: an operator's freeze of a green main, unpaused, leaves a
/// recovery with nothing to repair: status says so, and suggests no repair.
#[test]
fn a_recovered_freeze_of_a_green_main_claims_no_repair() {
    let w = World::with_policy(FAST_POLICY);
    let (dev, coord, ops) = (w.clone_as("dev"), w.clone_as("coord"), w.clone_as("ops"));
    let main = merge_one(&dev, &coord, "feature/a");
    dev.report_ci(&main, "success");
    ops.ok(&["pause", "--reason", "freeze for the launch", "--sha", &main]);
    let (id, sha) = ops.pause_ids();
    ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let s = ops.status();
    assert_eq!(s["control"]["recovered_state"], "awaiting-deploy", "{s}");
    let why = s["recovery_why"].as_str().unwrap_or_default();
    assert!(!why.contains("elected repair"), "{why}");
    let text = ops.ok(&["status"]);
    assert!(!text.contains("repair"), "{text}");
    // A deploy failure of that main is a new failure: it pauses.
    dev.ok(&[
        "deploy", "report", "--sha", &main, "--check", "Deploy", "--status", "failure",
    ]);
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("deploy-failed on {main}"), "{r}");
}
