//! The release judgement, through the real binary against a real bare remote
//! (DESIGN.md, "Release judgement: clarifications"): no failure goes
//! unnoticed, no recovery re-pauses itself. One test per rule of issue 9.

mod common;
use common::{Clone, FAST_POLICY, World};

impl Clone {
    /// Appends one raw JSON line to `sha`'s note in `refs/notes/deploybot/<kind>`
    /// with plain git (`git notes append`), and pushes the notes ref, as a
    /// runner with nothing but git does.
    fn plain_note(&self, kind: &str, sha: &str, json: &str) {
        let notes_ref = format!("refs/notes/deploybot/{kind}");
        let fetch = format!("+{notes_ref}:{notes_ref}");
        // The notes ref may not exist on the server yet.
        let _ = self.try_git(&["fetch", "-q", "origin", &fetch]);
        self.git(&[
            "notes",
            &format!("--ref=deploybot/{kind}"),
            "append",
            "-m",
            json,
            sha,
        ]);
        self.git(&["push", "-q", "origin", &notes_ref]);
    }

    /// Merges one green branch through the queue and returns the new main.
    fn merge_one(&self, coord: &Clone, branch: &str) -> String {
        self.push_green_request(branch, &format!("{}.txt", branch.replace('/', "-")));
        let r = coord.react();
        assert_eq!(r["merged"][0]["branch"], branch, "{r}");
        r["new_base_sha"].as_str().expect("new main").to_string()
    }

    /// A deploy report on `sha`.
    fn report_deploy(&self, sha: &str, status: &str) {
        self.ok(&[
            "deploy", "report", "--sha", sha, "--check", "Deploy", "--status", status,
        ]);
    }

    /// The control ledger's subjects on the server, newest first.
    fn control_log(&self) -> String {
        self.git(&[
            "fetch",
            "-q",
            "origin",
            "+refs/deploybot/control:refs/deploybot/control",
        ]);
        self.git(&["log", "--format=%s", "refs/deploybot/control"])
    }
}

/// A server under FAST_POLICY with a developer's and a coordinator's clone.
fn team() -> (World, Clone, Clone) {
    let w = World::with_policy(FAST_POLICY);
    let (dev, coord) = (w.clone_as("dev"), w.clone_as("coord"));
    (w, dev, coord)
}

fn line(check: &str, status: &str, at: &str) -> String {
    format!(r#"{{"check":"{check}","status":"{status}","at":"{at}"}}"#)
}

/// Rule 1: success, then failure, then cancelled on one check (plain `git
/// notes`) is a CI failure, not `testing`; react pauses and merges nothing.
#[test]
fn a_cancelled_run_after_a_failure_fails_ci_and_merges_nothing() {
    let (w, dev, coord) = team();
    let main = dev.merge_one(&coord, "feature/a");
    dev.plain_note("ci", &main, &line("CI", "success", "2026-01-01T00:00:00Z"));
    dev.plain_note("ci", &main, &line("CI", "failure", "2026-01-01T00:01:00Z"));
    dev.plain_note(
        "ci",
        &main,
        &line("CI", "cancelled", "2026-01-01T00:02:00Z"),
    );
    dev.push_green_request("feature/b", "b.txt");
    let s = dev.status();
    assert_eq!(s["main"]["release"]["state"], "ci-failed", "{s}");
    let why = s["main"]["release"]["why"].as_str().expect("why");
    assert!(why.contains("cancelled"), "status says why: {why}");
    let text = dev.ok(&["status"]);
    assert!(text.contains("cancelled"), "{text}");
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("ci-failed on {main}"), "{r}");
    assert_eq!(r["merged"].as_array().expect("list").len(), 0);
    assert_eq!(
        w.server_ref("refs/heads/main").as_deref(),
        Some(main.as_str())
    );
}

/// Rule 1: the only CI run on a main, cancelled, is a failure: nobody reruns it.
#[test]
fn the_only_ci_run_cancelled_is_a_failure() {
    let (_w, dev, coord) = team();
    let main = dev.merge_one(&coord, "feature/a");
    dev.report_ci(&main, "pending");
    dev.report_ci(&main, "cancelled");
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("ci-failed on {main}"), "{r}");
    // A cancelled deploy decides the deploy the same way.
    let (_w, dev, coord) = team();
    let main = dev.merge_one(&coord, "feature/a");
    dev.report_ci(&main, "success");
    dev.report_deploy(&main, "cancelled");
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("deploy-failed on {main}"), "{r}");
}

/// Rule 2: a merge the queue made is never seeded as verified, even when the
/// watermark does not exist yet; its CI failure pauses.
#[test]
fn a_merge_the_queue_made_is_never_seeded_as_verified() {
    let (w, dev, coord) = team();
    // The initial main has a result, so nothing is seeded on it.
    let initial = w.server_ref("refs/heads/main").expect("main");
    dev.report_ci(&initial, "success");
    let merged = dev.merge_one(&coord, "feature/a");
    assert_eq!(w.server_ref("refs/deploybot/verified"), None);
    // The next pass finds a tip with no results and no watermark: before the
    // fix it seeded the watermark on this untested merge.
    let r = coord.react();
    assert_eq!(r["watermark_set"], serde_json::Value::Null, "{r}");
    assert_eq!(w.server_ref("refs/deploybot/verified"), None);
    assert_eq!(dev.status()["main"]["release"]["state"], "testing");
    dev.report_ci(&merged, "failure");
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("ci-failed on {merged}"), "{r}");
    // First install still happens on a fresh repository with no results.
    let fresh = World::with_policy(FAST_POLICY);
    let c = fresh.clone_as("coord");
    let tip = fresh.server_ref("refs/heads/main").expect("main");
    let r = c.react();
    assert_eq!(r["watermark_set"], tip.as_str(), "{r}");
    assert_eq!(fresh.server_ref("refs/deploybot/verified"), Some(tip));
}

/// Rule 3: the watermark moves while paused (follow and react), and the next
/// react clears the controller pause that a newer verified main superseded.
#[test]
fn the_watermark_moves_while_paused_and_clears_a_superseded_pause() {
    let (w, dev, coord) = team();
    let failed = dev.merge_one(&coord, "feature/a");
    dev.report_ci(&failed, "failure");
    assert_eq!(
        coord.react()["paused_with"],
        format!("ci-failed on {failed}")
    );
    // Someone pushes a fix straight to main; it is tested and deployed.
    dev.git(&["fetch", "-q", "origin"]);
    dev.git(&["checkout", "-q", "-B", "hotfix", "origin/main"]);
    let fixed = dev.commit_file("hotfix.txt", "fixed\n", "hotfix");
    dev.git(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
    dev.report_ci(&fixed, "success");
    dev.report_deploy(&fixed, "success");
    // follow sees the verified tip while paused: it moves the watermark, then
    // reports the pause (exit 3).
    let out = dev.run(&["follow", "--timeout", "5", "--json"]);
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(fixed.as_str())
    );
    assert_eq!(dev.control("state"), "paused");
    // The next react clears the superseded pause.
    let r = coord.react();
    let resumed = r["superseded"].as_str().expect("superseded");
    assert!(resumed.contains(&failed) && resumed.contains(&fixed), "{r}");
    assert_eq!(dev.control("state"), "running");
}

/// Rule 3 without follow: react itself moves the watermark while paused and
/// clears the superseded pause in the same pass.
#[test]
fn react_alone_moves_the_watermark_while_paused() {
    let (w, dev, coord) = team();
    let failed = dev.merge_one(&coord, "feature/a");
    dev.report_ci(&failed, "failure");
    coord.react();
    dev.git(&["fetch", "-q", "origin"]);
    dev.git(&["checkout", "-q", "-B", "hotfix", "origin/main"]);
    let fixed = dev.commit_file("hotfix.txt", "fixed\n", "hotfix");
    dev.git(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
    dev.report_ci(&fixed, "success");
    dev.report_deploy(&fixed, "success");
    let s = dev.status();
    assert_eq!(s["watermark_next"], fixed.as_str(), "{s}");
    let r = coord.react();
    assert_eq!(r["watermark_advanced"], fixed.as_str(), "{r}");
    assert!(r["superseded"].is_string(), "{r}");
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(fixed.as_str())
    );
    assert_eq!(dev.control("state"), "running");
}

/// Rule 4: main red, an operator pauses with their own words, a repair is
/// claimed, made green and requested, the operator unpauses: the wake-up
/// lands the repair and writes no `ci-failed` pause.
#[test]
fn an_operator_pause_on_a_red_main_recovers_without_re_pausing() {
    let (w, dev, coord) = team();
    let ops = w.clone_as("ops");
    let failed = dev.merge_one(&coord, "feature/a");
    dev.report_ci(&failed, "failure");
    ops.ok(&["pause", "--reason", "investigating the red main"]);
    let claim = dev.ok(&["claim-repair", "--owner", "dev", "--json"]);
    assert!(claim.contains("created"), "{claim}");
    let (repair, _) = dev.push_fix_to_repair(&failed);
    let (id, sha) = ops.pause_ids();
    assert_eq!(sha, failed);
    let out = ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    let wake = &v["wake_up"];
    assert_eq!(wake["repair"], true, "{v}");
    assert_eq!(wake["merged"][0]["branch"], repair.as_str(), "{v}");
    assert_eq!(wake["recovery_owns_main"], true, "{v}");
    assert_eq!(wake["paused_with"], serde_json::Value::Null, "{v}");
    let log = ops.control_log();
    assert!(
        !log.contains("ci-failed"),
        "the recovery never re-paused itself:\n{log}"
    );
    assert_eq!(ops.control("state"), "running");
    let main = w.server_ref("refs/heads/main").expect("main");
    assert_eq!(w.server_git(&["rev-parse", &format!("{main}^1")]), failed);
}

/// Rule 4, status: while the recovery owns the red main, status says so.
#[test]
fn status_says_the_recovery_owns_the_failed_sha() {
    let (w, dev, coord) = team();
    let failed = dev.merge_one(&coord, "feature/a");
    dev.report_ci(&failed, "failure");
    dev.ok(&["pause", "--reason", "looking into it"]);
    let (id, sha) = dev.pause_ids();
    dev.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let s = dev.status();
    assert_eq!(s["recovery_owns_main"], true, "{s}");
    assert!(
        s["recovery_why"]
            .as_str()
            .expect("why")
            .contains("looking into it")
    );
    // A react with no repair requested holds, and still does not pause.
    let r = coord.react();
    assert_eq!(r["state"], "release-held", "{r}");
    assert_eq!(r["paused_with"], serde_json::Value::Null);
    assert!(dev.ok(&["status"]).contains("a recovery owns"));
    let _ = w;
}

/// Rule 5: under `merged` admission an older main's deploy failure pauses,
/// bound to that main, and unpausing it resumes the queue.
#[test]
fn an_older_mains_deploy_failure_pauses_bound_to_it() {
    let (w, dev, coord) = team();
    let older = dev.merge_one(&coord, "feature/a");
    dev.report_ci(&older, "success");
    let tip = dev.merge_one(&coord, "feature/b");
    dev.report_deploy(&older, "failure");
    dev.push_green_request("feature/c", "c.txt");
    let s = dev.status();
    assert_eq!(s["history"]["failure"]["sha"], older.as_str(), "{s}");
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("deploy-failed on {older}"), "{r}");
    assert_eq!(r["merged"].as_array().expect("list").len(), 0);
    assert_eq!(
        w.server_ref("refs/heads/main").as_deref(),
        Some(tip.as_str())
    );
    let s = dev.status();
    assert_eq!(s["control"]["main_sha"], older.as_str());
    let next = s["next"][0].as_str().expect("next");
    assert!(next.contains(&format!("unpause --sha {older}")), "{next}");
    // Unpausing the older main resumes: the wake-up merges feature/c, and the
    // recovered main is never judged again.
    let (id, _) = dev.pause_ids();
    let out = dev.ok(&["unpause", "--sha", &older, "--control-id", &id, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(v["wake_up"]["merged"][0]["branch"], "feature/c", "{v}");
    let r = coord.react();
    assert_eq!(r["paused_with"], serde_json::Value::Null, "{r}");
    assert_eq!(dev.control("state"), "running");
}

/// Rule 5: a verified older main becomes the watermark, and supersedes an
/// older failure below it.
#[test]
fn a_verified_older_main_becomes_the_watermark_and_supersedes_older_failures() {
    let (w, dev, coord) = team();
    let first = dev.merge_one(&coord, "feature/a");
    dev.report_ci(&first, "success");
    let second = dev.merge_one(&coord, "feature/b");
    dev.report_ci(&second, "success");
    let _tip = dev.merge_one(&coord, "feature/c");
    dev.report_deploy(&first, "failure");
    dev.report_deploy(&second, "success");
    let r = coord.react();
    assert_eq!(r["paused_with"], serde_json::Value::Null, "{r}");
    assert_eq!(r["watermark_advanced"], second.as_str(), "{r}");
    assert_eq!(r["history"]["superseded"][0]["sha"], first.as_str(), "{r}");
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(second.as_str())
    );
    let text = coord.ok(&["react"]);
    assert!(
        !text.contains("superseded"),
        "judged once, then below the watermark: {text}"
    );
}

/// Rule 6: a pause record with no `control_id` (and no `main_sha`), written by
/// an old tool, holds the queue; status shows the exact unpause, which works.
#[test]
fn a_pause_without_a_control_id_holds_and_unpauses_by_its_commit() {
    let (w, dev, coord) = team();
    dev.merge_one(&coord, "feature/a");
    let tip = w.server_ref("refs/heads/main").expect("main");
    let record = r#"{"schema":1,"state":"paused","reason":"stop the line","actor":"old-tool","at":"2026-01-01T00:00:00Z"}"#;
    let blob = w.server_git_stdin(&["hash-object", "-w", "--stdin"], record);
    let tree = w.server_git_stdin(&["mktree"], &format!("100644 blob {blob}\trecord.json\n"));
    let commit = w.append_raw_control_tree(&tree, "pause: stop the line");
    dev.push_green_request("feature/b", "b.txt");
    let r = coord.react();
    assert_eq!(r["state"], "paused", "{r}");
    assert_eq!(r["merged"].as_array().expect("list").len(), 0);
    let s = dev.status();
    let id = format!("commit:{commit}");
    assert_eq!(s["control"]["control_id"], id.as_str(), "{s}");
    assert_eq!(s["control"]["main_sha"], tip.as_str(), "bound to the tip");
    let next = s["next"][0].as_str().expect("next");
    assert!(next.contains(&format!("--control-id {id}")), "{next}");
    assert!(
        s["problems"].as_array().expect("list").is_empty(),
        "not garbage: {s}"
    );
    let out = dev.ok(&["unpause", "--sha", &tip, "--control-id", &id, "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("json");
    assert_eq!(
        v["recovery"]["recovered_main_sha"],
        serde_json::Value::Null,
        "{v}"
    );
    assert_eq!(v["wake_up"]["merged"][0]["branch"], "feature/b", "{v}");
    assert_eq!(dev.control("state"), "running");
}

/// Rule 6, server side: readers adopt an old pause without `control_id`, but
/// the hook refuses a new one, and nothing moves on the server.
#[test]
fn the_hook_refuses_a_new_pause_without_a_control_id() {
    let (w, alice) = common::guarded();
    let record = r#"{"schema":1,"state":"paused","reason":"stop","actor":"alice","at":"2026-01-01T00:00:00Z"}"#;
    let commit = alice.raw_commit(&[("record.json", record)], &[], "pause: stop");
    w.assert_refused(
        &alice,
        &[
            "push",
            "origin",
            &format!("{commit}:refs/deploybot/control"),
        ],
        &[],
        "`control_id` is missing",
    );
}
