//! Tested landing (`queue.landing = "tested"`), end to end through the real
//! binary against a real bare remote: candidates on try branches, landing by
//! fast-forward to exactly the commit that was tested, bisection, retries and
//! blocks, staleness, and the recovery's repair. The server runs the hook
//! throughout, and with `hook.require_tested_base` it proves the landing.

mod common;
use common::{Clone, guarded_team as world};
use serde_json::Value;

const TESTED: &str = "[queue]\nlanding = \"tested\"\nmax_batch_size = 2\nspeculation_depth = 3\n\n[pipeline]\nci_failure_grace_seconds = 0\n";

fn candidates(c: &Clone) -> Vec<Value> {
    c.status()["candidates"]
        .as_array()
        .expect("candidates")
        .clone()
}

fn branches(candidate: &Value) -> Vec<String> {
    candidate["entries"]
        .as_array()
        .expect("entries")
        .iter()
        .map(|e| e["branch"].as_str().expect("branch").to_string())
        .collect()
}

/// The tested policy at speculation depth `n`.
fn depth(n: usize) -> String {
    TESTED.replace("speculation_depth = 3", &format!("speculation_depth = {n}"))
}

fn sha_of(v: &Value) -> String {
    v["sha"].as_str().expect("sha").to_string()
}

#[test]
fn a_passing_candidate_lands_byte_identical_with_its_ci_already_on_main() {
    // Depth 1: both entries share the one candidate (with room, each would get its own).
    let (w, dev, coord) = world(&depth(1));
    let before = w.server_ref("refs/heads/main").expect("main");
    dev.push_green_request("feature/a", "a.txt");
    dev.push_green_request("feature/b", "b.txt");
    let r = coord.react();
    assert_eq!(r["built"].as_array().expect("built").len(), 1, "{r}");
    assert_eq!(
        w.server_ref("refs/heads/main"),
        Some(before),
        "main waits for the test"
    );
    let train = candidates(&dev);
    let candidate = &train[0];
    assert_eq!(branches(candidate), ["feature/a", "feature/b"]);
    assert_eq!(candidate["state"], "testing");
    let tip = sha_of(candidate);
    let id = candidate["candidate_id"].as_str().expect("id").to_string();
    let try_ref = format!("refs/heads/deploybot/try/{id}");
    assert_eq!(
        w.server_ref(&try_ref).as_deref(),
        Some(tip.as_str()),
        "a branch forge CI can test"
    );
    let s = dev.status();
    assert!(
        s["queue"]
            .as_array()
            .expect("queue")
            .iter()
            .all(|e| e["state"] == "testing"),
        "{s}"
    );
    // Runners find the candidate first.
    let pending = dev.ok(&["ci", "pending", "--json"]);
    let pending: Value = serde_json::from_str(&pending).expect("json");
    assert_eq!(pending[0]["sha"], tip.as_str(), "{pending}");
    assert_eq!(pending[0]["source"], "candidate");
    dev.report_ci(&tip, "success");
    let r = coord.react();
    assert_eq!(r["landed"][0]["candidate_id"], id.as_str(), "{r}");
    assert_eq!(r["merged"].as_array().expect("merged").len(), 2);
    assert_eq!(
        w.server_ref("refs/heads/main").as_deref(),
        Some(tip.as_str()),
        "exactly what was tested"
    );
    assert_eq!(w.server_ref(&try_ref), None, "the try branch is deleted");
    let s = dev.status();
    assert_eq!(
        s["main"]["release"]["state"], "awaiting-deploy",
        "no second CI run: {s}"
    );
    let log = w.server_git(&["log", "--format=%s", "refs/deploybot/queue"]);
    assert!(
        log.contains(&format!("candidate: deploybot/try/{id}")),
        "{log}"
    );
}

#[test]
fn a_failed_batch_is_split_and_the_culprit_blocked_after_its_retry() {
    // Depth 1: one candidate holds both, and the halves are built one at a time.
    let (w, dev, coord) = world(&depth(1));
    let main = w.server_ref("refs/heads/main").expect("main");
    dev.push_green_request("feature/a", "a.txt");
    dev.push_green_request("feature/b", "b.txt");
    let r = coord.react();
    assert_eq!(branches(&r["built"][0]), ["feature/a", "feature/b"], "{r}");
    dev.report_ci(&sha_of(&r["built"][0]), "failure");
    // Split: the lower half [a] first (room for one).
    let r = coord.react();
    let reason = r["discarded"][0]["reason"].as_str().expect("reason");
    assert!(reason.contains("failed CI in candidate"), "{r}");
    let built = r["built"].as_array().expect("built");
    assert_eq!(built.len(), 1, "{r}");
    assert_eq!(branches(&built[0]), ["feature/a"]);
    assert_eq!(built[0]["base_sha"], main.as_str(), "on main");
    let a = sha_of(&built[0]);
    // feature/a passes and lands; the other half, [b], is built on the new main.
    dev.report_ci(&a, "success");
    let r = coord.react();
    assert_eq!(r["landed"][0]["entries"][0]["branch"], "feature/a", "{r}");
    assert_eq!(w.server_ref("refs/heads/main").as_deref(), Some(a.as_str()));
    assert_eq!(branches(&r["built"][0]), ["feature/b"], "{r}");
    assert_eq!(r["built"][0]["base_sha"], a.as_str());
    let b = sha_of(&r["built"][0]);
    dev.report_ci(&b, "failure");
    // feature/b is the culprit: rebuilt once alone (a new commit)...
    let r = coord.react();
    let retry = sha_of(&r["built"][0]);
    assert_ne!(retry, b, "a new commit, pending again for runners");
    assert_eq!(branches(&r["built"][0]), ["feature/b"]);
    dev.report_ci(&retry, "failure");
    // ...then blocked, naming the check and the candidate.
    let r = coord.react();
    let reason = r["blocked"][0]["reason"].as_str().expect("reason");
    assert!(reason.starts_with("failed CI in candidate"), "{r}");
    let s = dev.status();
    let entry = &s["queue"][0];
    assert_eq!(
        (entry["branch"].as_str(), entry["state"].as_str()),
        (Some("feature/b"), Some("blocked"))
    );
    assert_ne!(
        w.server_ref("refs/heads/main"),
        Some(main),
        "the innocent entry landed"
    );
}

/// The branches of each candidate in `list` (`built` or `landed`).
fn groups(list: &Value) -> Vec<Vec<String>> {
    list.as_array()
        .expect("a list")
        .iter()
        .map(branches)
        .collect()
}

#[test]
fn a_bisection_uses_the_free_depth_so_one_round_names_the_culprit() {
    let (w, dev, coord) = world(&TESTED.replace("max_batch_size = 2", "max_batch_size = 3"));
    // A backlog of seven fills the train with batches: [a, b, c], [d, e], [f, g].
    let names = ["a", "b", "c", "d", "e", "f", "g"];
    for b in names {
        dev.push_green_request(&format!("feature/{b}"), &format!("{b}.txt"));
    }
    let r = coord.react();
    assert_eq!(
        groups(&r["built"])[0],
        ["feature/a", "feature/b", "feature/c"],
        "{r}"
    );
    for b in &names[3..] {
        dev.ok(&["cancel", &format!("feature/{b}")]);
    }
    dev.report_ci(&sha_of(&r["built"][0]), "failure");
    // [a, b, c] failed: halves [a] | [b, c], and [b, c] again: three singles,
    // stacked (nothing else waits, so every piece is built).
    let r = coord.react();
    let built = r["built"].as_array().expect("built");
    assert_eq!(
        groups(&r["built"]),
        [["feature/a"], ["feature/b"], ["feature/c"]],
        "{r}"
    );
    assert_eq!(built[1]["base_sha"], built[0]["sha"], "stacked");
    assert_eq!(built[2]["base_sha"], built[1]["sha"], "stacked");
    // One round: a and b pass and land together, c (the culprit) fails alone.
    dev.report_ci(&sha_of(&built[0]), "success");
    dev.report_ci(&sha_of(&built[1]), "success");
    dev.report_ci(&sha_of(&built[2]), "failure");
    let r = coord.react();
    assert_eq!(groups(&r["landed"]), [["feature/a"], ["feature/b"]], "{r}");
    assert_eq!(w.server_ref("refs/heads/main"), Some(sha_of(&built[1])));
    let reason = r["discarded"][0]["reason"].as_str().expect("reason");
    assert!(reason.contains("failed CI in candidate"), "{r}");
    assert_eq!(
        branches(&r["built"][0]),
        ["feature/c"],
        "c retried alone: {r}"
    );
}

/// `branch`'s entry in `status --json`.
fn entry(c: &Clone, branch: &str) -> Value {
    let status = c.status();
    status["queue"]
        .as_array()
        .expect("queue")
        .iter()
        .find(|e| e["branch"] == branch)
        .unwrap_or_else(|| panic!("{branch} listed: {status}"))
        .clone()
}

#[test]
fn the_entry_left_out_of_a_failed_batch_is_named_when_the_others_land_without_it() {
    let (w, dev, coord) = world(TESTED);
    for b in ["a", "b", "c", "d"] {
        dev.push_green_request(&format!("feature/{b}"), &format!("{b}.txt"));
    }
    // Four entries, three places: [a, b], [c], [d].
    let r = coord.react();
    assert_eq!(
        groups(&r["built"]),
        [
            vec!["feature/a", "feature/b"],
            vec!["feature/c"],
            vec!["feature/d"]
        ]
    );
    dev.report_ci(&sha_of(&r["built"][0]), "failure");
    // Halves [a] | [b]: b, the top piece, is left out so that c and d are built in this round.
    let r = coord.react();
    assert_eq!(
        groups(&r["built"]),
        [["feature/a"], ["feature/c"], ["feature/d"]],
        "{r}"
    );
    let b = entry(&dev, "feature/b");
    assert_eq!(b["state"], "queued");
    assert!(
        b["why"]
            .as_str()
            .expect("why")
            .contains("suspected in failed candidate"),
        "{b}"
    );
    for piece in r["built"].as_array().expect("built") {
        dev.report_ci(&sha_of(piece), "success");
    }
    // One round: a, c and d land; b is named by elimination and tested alone.
    let r = coord.react();
    assert_eq!(
        groups(&r["landed"]),
        [["feature/a"], ["feature/c"], ["feature/d"]],
        "{r}"
    );
    assert_eq!(groups(&r["built"]), [["feature/b"]], "{r}");
    dev.report_ci(&sha_of(&r["built"][0]), "failure");
    // Its own failure counts as any single entry's: one retry (max_retries 1), then blocked.
    let r = coord.react();
    assert_eq!(groups(&r["built"]), [["feature/b"]], "retried alone: {r}");
    let b = entry(&dev, "feature/b");
    assert!(
        b["why"].as_str().expect("why").contains("in candidate"),
        "{b}"
    );
    dev.report_ci(&sha_of(&r["built"][0]), "failure");
    let r = coord.react();
    let b = entry(&dev, "feature/b");
    assert_eq!(b["state"], "blocked", "{r} {b}");
    assert!(
        b["why"]
            .as_str()
            .expect("why")
            .contains("failed CI in candidate"),
        "{b}"
    );
    let main = w.server_ref("refs/heads/main").expect("main");
    let log = w.server_git(&["log", "--format=%s", &main]);
    assert!(
        log.contains("feature/d") && !log.contains("feature/b"),
        "b never reached main: {log}"
    );
}

#[test]
fn a_candidate_whose_base_moved_is_discarded_and_rebuilt() {
    let (w, dev, coord) = world(TESTED);
    dev.push_green_request("feature/a", "a.txt");
    let r = coord.react();
    let old = sha_of(&r["built"][0]);
    // Someone pushes straight to main.
    dev.git(&["fetch", "-q", "origin"]);
    dev.git(&["checkout", "-q", "-B", "direct", "origin/main"]);
    let pushed = dev.commit_file("direct.txt", "d\n", "direct push");
    dev.git(&["push", "-q", "origin", "HEAD:refs/heads/main"]);
    dev.report_ci(&old, "success");
    let r = coord.react();
    assert!(
        r["landed"].as_array().expect("landed").is_empty(),
        "a stale candidate never lands: {r}"
    );
    assert!(
        r["discarded"][0]["reason"]
            .as_str()
            .expect("reason")
            .starts_with("stale"),
        "{r}"
    );
    assert_eq!(
        r["built"][0]["base_sha"],
        pushed.as_str(),
        "rebuilt on the new main"
    );
    assert_eq!(
        w.server_ref("refs/heads/main").as_deref(),
        Some(pushed.as_str())
    );
    // A cancel makes its candidate stale too.
    dev.ok(&["cancel", "feature/a"]);
    let r = coord.react();
    assert!(
        r["discarded"][0]["reason"]
            .as_str()
            .expect("reason")
            .contains("no longer ready"),
        "{r}"
    );
    assert!(candidates(&dev).is_empty());
}

#[test]
fn the_recovery_builds_the_repair_on_the_failed_tip_and_lands_it_past_the_fence() {
    let (w, dev, coord) = world(TESTED);
    dev.push_green_request("feature/a", "a.txt");
    let r = coord.react();
    let tip = sha_of(&r["built"][0]);
    dev.report_ci(&tip, "success");
    coord.react();
    assert_eq!(
        w.server_ref("refs/heads/main").as_deref(),
        Some(tip.as_str())
    );
    // The deploy of the landed main fails: paused.
    dev.ok(&[
        "deploy", "report", "--sha", &tip, "--check", "Deploy", "--status", "failure",
    ]);
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("deploy-failed on {tip}"), "{r}");
    dev.push_green_request("feature/other", "o.txt");
    dev.ok(&["claim-repair", "--owner", "dev"]);
    let (repair, _) = dev.push_fix_to_repair(&tip);
    let (id, sha) = dev.pause_ids();
    let out = dev.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--json"]);
    let v: Value = serde_json::from_str(&out).expect("json");
    let built = v["wake_up"]["built"].as_array().expect("built");
    assert_eq!(built.len(), 1, "only the repair: {v}");
    assert_eq!(branches(&built[0]), std::slice::from_ref(&repair));
    assert_eq!(built[0]["base_sha"], tip.as_str(), "on the failed tip");
    let candidate = sha_of(&built[0]);
    dev.report_ci(&candidate, "success");
    let r = coord.react();
    assert_eq!(r["repair"], true, "{r}");
    assert_eq!(
        r["landed"][0]["entries"][0]["branch"],
        repair.as_str(),
        "{r}"
    );
    assert_eq!(
        w.server_ref("refs/heads/main").as_deref(),
        Some(candidate.as_str())
    );
}

#[test]
fn nothing_is_built_or_landed_while_paused() {
    let (w, dev, coord) = world(TESTED);
    dev.push_green_request("feature/a", "a.txt");
    let r = coord.react();
    let tip = sha_of(&r["built"][0]);
    dev.ok(&["pause", "--reason", "freeze"]);
    dev.report_ci(&tip, "success");
    dev.push_green_request("feature/b", "b.txt");
    let main = w.server_ref("refs/heads/main");
    let r = coord.react();
    assert_eq!(r["state"], "paused", "{r}");
    assert!(r["built"].as_array().expect("built").is_empty());
    assert!(r["landed"].as_array().expect("landed").is_empty());
    assert_eq!(w.server_ref("refs/heads/main"), main);
}

/// With `hook.require_tested_base`, the server itself proves tested landing:
/// the queue lands through it, and nothing untested can become main.
#[test]
fn the_server_accepts_the_landing_and_refuses_an_untested_main() {
    let policy = format!("{TESTED}\n[hook]\nrequire_tested_base = true\n");
    let (w, dev, coord) = world(&policy);
    dev.push_green_request("feature/a", "a.txt");
    let r = coord.react();
    let tip = sha_of(&r["built"][0]);
    dev.report_ci(&tip, "success");
    let r = coord.react();
    assert_eq!(r["landed"].as_array().expect("landed").len(), 1, "{r}");
    assert_eq!(
        w.server_ref("refs/heads/main").as_deref(),
        Some(tip.as_str())
    );
    // A direct push of a commit nobody tested is refused.
    dev.git(&["fetch", "-q", "origin"]);
    dev.git(&["checkout", "-q", "-B", "direct", "origin/main"]);
    dev.commit_file("direct.txt", "d\n", "untested");
    w.assert_refused(
        &dev,
        &["push", "origin", "HEAD:refs/heads/main"],
        &[],
        "hook.require_tested_base is on",
    );
}

#[test]
fn a_candidate_failing_within_the_grace_is_retried_once_and_lands_when_the_retry_passes() {
    let policy = TESTED.replace(
        "ci_failure_grace_seconds = 0",
        "ci_failure_grace_seconds = 300",
    );
    let (w, dev, coord) = world(&policy);
    dev.push_green_request("feature/a", "a.txt");
    let r = coord.react();
    let tip = sha_of(&r["built"][0]);
    // A flaky run fails: within the grace the candidate is still testing and
    // runners find it again for one retry.
    let out = dev.run(&["ci", "run", "--check", "CI", "--sha", &tip, "--", "false"]);
    assert_eq!(
        out.status.code(),
        Some(6),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(candidates(&dev)[0]["state"], "testing");
    let pending: Value = serde_json::from_str(&dev.ok(&["ci", "pending", "--json"])).expect("json");
    let listed = pending
        .as_array()
        .expect("pending")
        .iter()
        .any(|p| p["sha"] == tip.as_str() && p["source"] == "candidate");
    assert!(listed, "the candidate is pending for its retry: {pending}");
    // The retry (picked without --sha) passes: the candidate lands, no bisection, no rebuild.
    let out = dev.run(&["ci", "run", "--check", "CI", "--json", "--", "true"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let ran: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(ran["sha"], tip.as_str(), "the retry ran on the candidate");
    let r = coord.react();
    assert_eq!(r["landed"][0]["sha"], tip.as_str(), "{r}");
    assert_eq!(w.server_ref("refs/heads/main"), Some(tip));
}

#[test]
fn auto_depth_grows_to_the_budget_and_shrinks_while_a_culprit_is_hunted() {
    // speculation_depth = "auto" within max_parallel_ci = 8, one entry per
    // candidate: calm, the train fills the budget (a fixed default would
    // stop at 3); once an entry failed alone, the window narrows to three
    // quarters (6) while it is hunted, and its retry is probed beside.
    let policy = "[queue]\nlanding = \"tested\"\nmax_batch_size = 1\nspeculation_depth = \"auto\"\nmax_parallel_ci = 8\n\n[pipeline]\nci_failure_grace_seconds = 0\n";
    let (_w, dev, coord) = world(policy);
    for i in 0..10 {
        dev.push_green_request(&format!("feature/{i}"), &format!("f{i}.txt"));
    }
    let r = coord.react();
    assert_eq!(
        r["built"].as_array().map(Vec::len),
        Some(8),
        "grows to the budget: {r}"
    );
    let train = candidates(&dev);
    assert_eq!(train.len(), 8);
    // The bottom candidate fails alone: it and everything above it go.
    dev.report_ci(&sha_of(&train[0]), "failure");
    let r = coord.react();
    let built = r["built"].as_array().expect("built");
    let (probes, stacked): (Vec<&Value>, Vec<&Value>) =
        built.iter().partition(|c| c["probe"] == true);
    assert_eq!(
        stacked.len(),
        6,
        "the window narrows to 6 while feature/0 is hunted (the budget would leave 7): {r}"
    );
    assert_eq!(
        probes.len(),
        1,
        "feature/0 is retried beside the train: {r}"
    );
    assert_eq!(branches(probes[0]), ["feature/0"]);
    assert_eq!(probes[0]["base_sha"], r["base_sha"], "on main, not stacked");
    assert!(built.len() <= 8, "within the budget");
    assert_eq!(candidates(&dev).len(), built.len());
    // status and why say it is tested alone beside the train and may be overtaken.
    let status = dev.status();
    let entry = status["queue"]
        .as_array()
        .expect("queue")
        .iter()
        .find(|e| e["branch"] == "feature/0")
        .expect("feature/0 queued")
        .clone();
    assert_eq!(entry["state"], "testing", "{status}");
    let why = entry["why"].as_str().unwrap_or_default();
    assert!(
        why.contains("beside the train") && why.contains("may land first"),
        "{why}"
    );
    let told = dev.ok(&["why", "feature/0"]);
    assert!(told.contains("beside the train"), "{told}");
    let doctor = coord.ok(&["doctor"]);
    assert!(doctor.contains("auto within 8"), "{doctor}");
}

#[test]
fn with_auto_depth_a_failed_batch_is_probed_beside_the_train_and_the_culprit_blocked() {
    // Budget 2, batches of 2: a and b share a candidate, c gets the other.
    // b breaks CI. The failed batch's entries are probed one by one on main
    // beside the train (never stacked, never landed); the innocent a is
    // cleared by its probe and lands; b fails its probe and its retry and is
    // blocked; main never holds b.
    let policy = "[queue]\nlanding = \"tested\"\nmax_batch_size = 2\nspeculation_depth = \"auto\"\nmax_parallel_ci = 2\n\n[pipeline]\nci_failure_grace_seconds = 0\n";
    let (w, dev, coord) = world(policy);
    for b in ["a", "b", "c"] {
        dev.push_green_request(&format!("feature/{b}"), &format!("{b}.txt"));
    }
    let mut probes_seen: Vec<Vec<String>> = Vec::new();
    let mut landed: Vec<String> = Vec::new();
    for _pass in 0..12 {
        let r = coord.react();
        for l in r["landed"].as_array().into_iter().flatten() {
            landed.push(l["candidate_id"].as_str().unwrap().to_string());
        }
        let live = candidates(&dev);
        if live.is_empty()
            && dev.status()["queue"]
                .as_array()
                .is_some_and(|q| q.iter().all(|e| e["state"] == "blocked"))
        {
            break;
        }
        for c in &live {
            if c["probe"] == true {
                probes_seen.push(branches(c));
            }
            if c["state"] != "testing" {
                continue;
            }
            // CI runs on the candidate's whole tree: stacked on b, it fails.
            let files = w.server_git(&["ls-tree", "--name-only", &sha_of(c)]);
            let culprit = files.lines().any(|f| f == "b.txt");
            dev.report_ci(&sha_of(c), if culprit { "failure" } else { "success" });
        }
    }
    assert!(
        probes_seen.iter().any(|p| p == &["feature/a"]),
        "a was probed alone: {probes_seen:?}"
    );
    assert!(
        probes_seen.iter().any(|p| p == &["feature/b"]),
        "b was probed alone: {probes_seen:?}"
    );
    assert!(
        landed.iter().all(|id| !id.starts_with('p')),
        "no probe ever lands: {landed:?}"
    );
    let status = dev.status();
    let queue = status["queue"].as_array().expect("queue");
    assert_eq!(queue.len(), 1, "{status}");
    assert_eq!(queue[0]["branch"], "feature/b");
    assert_eq!(queue[0]["state"], "blocked", "{status}");
    let main = w.server_ref("refs/heads/main").expect("main");
    let tree = w.server_git(&["ls-tree", "--name-only", &main]);
    assert!(tree.contains("a.txt") && tree.contains("c.txt"), "{tree}");
    assert!(
        !tree.contains("b.txt"),
        "main never held the culprit: {tree}"
    );
}

#[test]
fn two_entries_that_pass_alone_but_fail_together_end_with_one_blocked() {
    // A semantic conflict under auto depth with probes: a and b each pass on
    // main alone, and fail together. Their probes clear both; when their
    // batch fails again it is bisected inside the train, so the one that
    // breaks on top of the other is named and blocked: no endless cycle.
    let policy = "[queue]\nlanding = \"tested\"\nmax_batch_size = 2\nspeculation_depth = \"auto\"\nmax_parallel_ci = 1\n\n[pipeline]\nci_failure_grace_seconds = 0\n";
    let (w, dev, coord) = world(policy);
    dev.push_green_request("feature/a", "a.txt");
    dev.push_green_request("feature/b", "b.txt");
    let both = |sha: &str| {
        let files = w.server_git(&["ls-tree", "--name-only", sha]);
        files.contains("a.txt") && files.contains("b.txt")
    };
    let mut passes = 0;
    loop {
        passes += 1;
        assert!(passes < 30, "no end after 30 passes: {}", dev.status());
        coord.react();
        let live = candidates(&dev);
        let queue = dev.status()["queue"].as_array().expect("queue").clone();
        if live.is_empty() && queue.iter().all(|e| e["state"] == "blocked") {
            break;
        }
        for c in live.iter().filter(|c| c["state"] == "testing") {
            let sha = sha_of(c);
            dev.report_ci(&sha, if both(&sha) { "failure" } else { "success" });
        }
    }
    let status = dev.status();
    let queue = status["queue"].as_array().expect("queue");
    assert_eq!(queue.len(), 1, "one of the two is blocked: {status}");
    assert_eq!(queue[0]["state"], "blocked");
    let main = w.server_ref("refs/heads/main").expect("main");
    assert!(!both(&main), "main never holds the conflict");
}

#[test]
fn a_retry_cleared_by_its_probe_is_built_next_ahead_of_every_later_request() {
    // The fairness rule through the real binary: feature/0 fails alone (a
    // flaky run); its retry is probed at once beside the train instead of
    // waiting behind later requests; in the pass its probe passes it is
    // built, ahead of every later request not yet under test, and lands
    // before them. Requests built while it was probed may
    // overtake it, as status said while it was probed.
    let policy = "[queue]\nlanding = \"tested\"\nmax_batch_size = 1\nspeculation_depth = \"auto\"\nmax_parallel_ci = 4\n\n[pipeline]\nci_failure_grace_seconds = 0\n";
    let (_w, dev, coord) = world(policy);
    for i in 0..3 {
        dev.push_green_request(&format!("feature/{i}"), &format!("f{i}.txt"));
    }
    coord.react();
    let train = candidates(&dev);
    dev.report_ci(&sha_of(&train[0]), "failure");
    let r = coord.react();
    let built = r["built"].as_array().expect("built").clone();
    let probe = built
        .iter()
        .find(|c| c["probe"] == true)
        .expect("a probe")
        .clone();
    assert_eq!(branches(&probe), ["feature/0"], "{r}");
    // Later requests arrive while the probe runs.
    for i in 3..6 {
        dev.push_green_request(&format!("feature/{i}"), &format!("f{i}.txt"));
    }
    let mut landed: Vec<String> = Vec::new();
    let mut built_after_clearing: Vec<Vec<String>> = Vec::new();
    let mut cleared = false;
    for _pass in 0..10 {
        for c in candidates(&dev) {
            if c["state"] == "testing" {
                dev.report_ci(&sha_of(&c), "success");
            }
        }
        let r = coord.react();
        for l in r["landed"].as_array().into_iter().flatten() {
            landed.extend(branches(l));
        }
        cleared |= r["discarded"]
            .as_array()
            .into_iter()
            .flatten()
            .any(|d| d["candidate_id"] == probe["candidate_id"]);
        if cleared {
            for c in r["built"].as_array().into_iter().flatten() {
                built_after_clearing.push(branches(c));
            }
        }
        if dev.status()["queue"].as_array().is_some_and(Vec::is_empty) {
            break;
        }
    }
    assert!(cleared, "the probe passed and left");
    assert_eq!(
        built_after_clearing.first().map(|g| g.as_slice()),
        Some(&["feature/0".to_string()][..]),
        "built next, ahead of later requests: {built_after_clearing:?}"
    );
    let at = |b: &str| landed.iter().position(|l| l == b).expect(b);
    assert!(at("feature/0") < at("feature/5"), "{landed:?}");
    assert!(
        at("feature/1") < at("feature/0"),
        "overtaken by a request under test while it was probed: {landed:?}"
    );
    assert_eq!(landed.len(), 6, "{landed:?}");
}
