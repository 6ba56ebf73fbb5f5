//! `why BRANCH` and receipts, through the real binary against a real bare
//! remote running the deploybot hook (issue 13): an entry's story from
//! request to verified, blocks with their reasons, candidates in tested
//! landing, receipts written once on verification, and the hook guarding
//! the receipts ref.

mod common;
use common::{Clone, FAST_POLICY, World, guarded_team as world};
use serde_json::Value;

const RECEIPTS: &str = "refs/notes/deploybot/receipts";

fn why(c: &Clone, branch: &str) -> Value {
    let text = c.ok(&["why", branch, "--json"]);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("why --json is JSON ({e}): {text}"))
}

fn kinds(story: &Value) -> Vec<String> {
    story["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["kind"].as_str().expect("kind").to_string())
        .collect()
}

fn deploy_report(c: &Clone, sha: &str, status: &str) {
    c.ok(&[
        "deploy", "report", "--sha", sha, "--check", "Deploy", "--status", status,
    ]);
}

/// The receipts note on `head` as the server has it ("" when none).
fn receipt_note(w: &World, head: &str) -> String {
    let out = common::git_output(
        &w.server,
        &w.home(),
        &["notes", "--ref=deploybot/receipts", "show", head],
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Merges `branch` through the queue, makes its main green and deployed,
/// and follows it to verified. Returns (head, main).
fn ship(dev: &Clone, coord: &Clone, branch: &str) -> (String, String) {
    let head = dev.push_green_request(branch, &format!("{}.txt", branch.replace('/', "-")));
    let r = coord.react();
    assert_eq!(r["merged"][0]["branch"], branch, "{r}");
    let main = r["new_base_sha"].as_str().expect("new main").to_string();
    dev.report_ci(&main, "success");
    deploy_report(dev, &main, "success");
    let out = dev.ok(&["follow", "--timeout", "20", "--poll", "1", "--json"]);
    assert!(out.contains("\"reached\""), "{out}");
    (head, main)
}

#[test]
fn a_merged_and_verified_branch_tells_its_whole_story_and_gets_one_receipt() {
    let (w, dev, coord) = world(FAST_POLICY);
    let (head, main) = ship(&dev, &coord, "feature/a");
    assert_eq!(
        w.server_ref("refs/deploybot/verified").as_deref(),
        Some(main.as_str())
    );
    let story = why(&dev, "feature/a");
    assert_eq!(story["branch"], "feature/a");
    assert_eq!(
        kinds(&story),
        ["requested", "merged", "ci", "deployed", "verified"],
        "{story}"
    );
    let events = story["events"].as_array().expect("events");
    assert_eq!(events[0]["sha"], head.as_str());
    assert_eq!(events[1]["sha"], main.as_str(), "the merge");
    for event in events {
        let keys: Vec<&String> = event.as_object().expect("object").keys().collect();
        assert_eq!(keys, ["at", "detail", "kind", "sha"], "{event}");
    }
    assert_eq!(story["state"], "verified");
    assert!(story["why"].as_str().expect("why").contains("verified"));
    let keys: Vec<&String> = story.as_object().expect("object").keys().collect();
    assert_eq!(keys, ["branch", "events", "state", "why"]);
    let text = dev.ok(&["why", "feature/a"]);
    assert!(
        text.contains("requested") && text.contains("verified"),
        "{text}"
    );

    // The receipt: one line on the requested head, once.
    let note = receipt_note(&w, &head);
    assert_eq!(note.lines().count(), 1, "{note}");
    let receipt: Value = serde_json::from_str(&note).expect("a JSON line");
    assert_eq!(receipt["branch"], "feature/a");
    assert_eq!(receipt["head_sha"], head.as_str());
    assert_eq!(receipt["merge_sha"], main.as_str());
    assert_eq!(receipt["verified_sha"], main.as_str());
    assert!(receipt["requested_at"].is_string(), "{receipt}");
    assert!(receipt["merged_at"].is_string() && receipt["verified_at"].is_string());
    let commits = w.server_count(RECEIPTS);
    dev.ok(&["follow", "--if-needed", "--json"]);
    dev.ok(&["follow", "--timeout", "5", "--poll", "1", "--json"]);
    assert_eq!(w.server_count(RECEIPTS), commits, "nothing written again");
    assert_eq!(receipt_note(&w, &head), note);
}

#[test]
fn a_watermark_moved_by_react_writes_the_receipts_too() {
    let (w, dev, coord) = world(FAST_POLICY);
    let head = dev.push_green_request("feature/r", "r.txt");
    let r = coord.react();
    let main = r["new_base_sha"].as_str().expect("new main").to_string();
    dev.report_ci(&main, "success");
    deploy_report(&dev, &main, "success");
    // No `follow`: the next react pass sees main verified and moves the watermark.
    let r = coord.react();
    assert_eq!(r["watermark_advanced"], main.as_str(), "{r}");
    let note = receipt_note(&w, &head);
    let receipt: Value = serde_json::from_str(&note).expect("one JSON line");
    assert_eq!(receipt["merge_sha"], main.as_str());
    assert_eq!(receipt["verified_sha"], main.as_str());
    let commits = w.server_count(RECEIPTS);
    coord.react();
    dev.ok(&["follow", "--if-needed", "--json"]);
    assert_eq!(w.server_count(RECEIPTS), commits, "written once");
}

#[test]
fn a_blocked_branch_says_the_reason_and_what_moves_it() {
    let (_w, dev, _coord) = world(FAST_POLICY);
    dev.push_green_request("feature/b", "b.txt");
    dev.ok(&["block", "feature/b", "--reason", "waits for the migration"]);
    let story = why(&dev, "feature/b");
    assert_eq!(kinds(&story), ["requested", "blocked"], "{story}");
    assert!(
        story["events"][1]["detail"]
            .as_str()
            .expect("detail")
            .contains("waits for the migration")
    );
    assert_eq!(story["state"], "blocked");
    let line = story["why"].as_str().expect("why");
    assert!(
        line.contains("waits for the migration") && line.contains("unblock"),
        "{line}"
    );
    dev.ok(&["unblock", "feature/b"]);
    let story = why(&dev, "feature/b");
    assert_eq!(kinds(&story), ["requested", "blocked", "unblocked"]);
    assert_eq!(story["state"], "queued");
}

#[test]
fn a_failed_main_shows_ci_and_the_pause_bound_to_it() {
    let (_w, dev, coord) = world(FAST_POLICY);
    dev.push_green_request("feature/c", "c.txt");
    let main = coord.react()["new_base_sha"]
        .as_str()
        .expect("main")
        .to_string();
    dev.report_ci(&main, "failure");
    assert_eq!(coord.react()["paused_with"], format!("ci-failed on {main}"));
    let story = why(&dev, "feature/c");
    assert_eq!(
        kinds(&story),
        ["requested", "merged", "ci", "paused"],
        "{story}"
    );
    assert_eq!(story["state"], "merged");
    assert!(
        story["why"].as_str().expect("why").contains("ci-failed"),
        "{story}"
    );
}

#[test]
fn a_branch_in_a_candidate_is_testing() {
    // Depth 1: both entries share the one candidate.
    let tested = "[queue]\nlanding = \"tested\"\nmax_batch_size = 2\nspeculation_depth = 1\n\n[pipeline]\nci_failure_grace_seconds = 0\n";
    let (_w, dev, coord) = world(tested);
    dev.push_green_request("feature/a", "a.txt");
    dev.push_green_request("feature/b", "b.txt");
    let r = coord.react();
    assert_eq!(r["built"].as_array().expect("built").len(), 1, "{r}");
    let story = why(&dev, "feature/a");
    assert_eq!(kinds(&story), ["requested", "candidate"], "{story}");
    let detail = story["events"][1]["detail"].as_str().expect("detail");
    assert!(detail.contains("feature/a, feature/b"), "{detail}");
    assert_eq!(story["state"], "testing");
}

#[test]
fn a_branch_never_requested_is_one_line_naming_request() {
    let (_w, dev, _coord) = world(FAST_POLICY);
    let out = dev.run(&["why", "feature/nope"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    assert!(
        stderr.contains("feature/nope") && stderr.contains("git deploybot request feature/nope"),
        "{stderr}"
    );
}

#[test]
fn the_hook_refuses_a_malformed_receipt_and_a_rewritten_one() {
    let (w, dev, coord) = world(FAST_POLICY);
    let (head, _) = ship(&dev, &coord, "feature/a");
    let fetch = format!("+{RECEIPTS}:{RECEIPTS}");
    dev.git(&["fetch", "-q", "origin", &fetch]);
    // A line that is not a receipt, on another commit.
    let other = dev.push_branch("feature/x", "x.txt", "x\n");
    dev.git(&[
        "notes",
        "--ref=deploybot/receipts",
        "add",
        "-m",
        r#"{"branch":"feature/x"}"#,
        &other,
    ]);
    w.assert_refused(&dev, &["push", "origin", RECEIPTS], &[], "is not a receipt");
    // Replacing the receipt on the head loses its line.
    dev.git(&["fetch", "-q", "origin", &fetch]);
    let good = receipt_note(&w, &head);
    let rewritten = good.replace("feature/a", "feature/z");
    dev.git(&[
        "notes",
        "--ref=deploybot/receipts",
        "add",
        "-f",
        "-m",
        &rewritten,
        &head,
    ]);
    w.assert_refused(&dev, &["push", "origin", RECEIPTS], &[], "loses lines");
    // Deleting the receipts ref is refused too.
    w.assert_refused(
        &dev,
        &["push", "origin", &format!(":{RECEIPTS}")],
        &[],
        "append-only",
    );
}

#[test]
fn the_record_index_tells_the_same_story_as_the_whole_ledgers() {
    // A candidate of two fails and is discarded (filed under the candidate),
    // its lower half lands; another branch is merged in merge order after.
    let tested = "[queue]\nlanding = \"tested\"\nmax_batch_size = 2\nspeculation_depth = 1\n\n[pipeline]\nci_failure_grace_seconds = 0\n";
    let (_w, dev, coord) = world(tested);
    dev.push_green_request("feature/a", "a.txt");
    dev.push_green_request("feature/b", "b.txt");
    let r = coord.react();
    let both = r["built"][0]["sha"].as_str().expect("built").to_string();
    dev.report_ci(&both, "failure");
    let r = coord.react();
    let a = r["built"][0]["sha"].as_str().expect("half").to_string();
    dev.report_ci(&a, "success");
    coord.react();
    let indexed = why(&dev, "feature/a");
    assert_eq!(
        kinds(&indexed),
        [
            "requested",
            "candidate",
            "discarded",
            "candidate",
            "merged",
            "ci"
        ],
        "{indexed}"
    );
    let index = dev.path.join(".git/deploybot-cache/index-v1");
    assert!(index.join("queue/head").exists(), "why built the index");
    // Rebuilt from nothing: the same story.
    std::fs::remove_dir_all(&index).expect("removes the index");
    assert_eq!(why(&dev, "feature/a"), indexed);
    // Another process updating the index: why reads the whole ledgers, and
    // tells the same story as the index once it catches up.
    dev.push_green_request("feature/c", "c.txt");
    coord.react();
    std::fs::write(index.join("queue/lock"), "1").expect("holds the lock");
    let whole = why(&dev, "feature/a");
    assert_eq!(whole["events"], indexed["events"]);
    std::fs::remove_file(index.join("queue/lock")).expect("gives it back");
    assert_eq!(why(&dev, "feature/a"), whole, "the index catches up");
    assert_eq!(kinds(&why(&dev, "feature/c"))[0], "requested");
}
