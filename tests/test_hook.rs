//! The server hook refusing what would break the pipeline: real `git push`
//! into a real bare repository with `hook install`ed hooks. Every refusal
//! names the ref and leaves every server ref as it was.

mod common;
use common::{Clone, World, accepted, guarded, refused};
use serde_json::json;

const CONTROL: &str = "refs/deploybot/control";

fn pause_record(id: &str, sha: &str, reason: &str) -> serde_json::Value {
    json!({"schema": 1, "control_id": id, "state": "paused", "reason": reason,
           "main_sha": sha, "actor": "alice", "at": "2026-01-01T00:00:00Z"})
}

/// Pauses through the tool; returns (control tip, main sha).
fn paused(w: &World, alice: &Clone) -> (String, String) {
    alice.ok(&["pause", "--reason", "ci-failed on main"]);
    (
        w.server_ref(CONTROL).expect("ledger"),
        w.server_ref("refs/heads/main").expect("main"),
    )
}

#[test]
fn ledger_deletes_rewrites_and_merges_are_refused() {
    let (w, alice) = guarded();
    let (first, main) = paused(&w, &alice);
    let (id, sha) = alice.pause_ids();
    alice.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let tip = w.server_ref(CONTROL).expect("tip");
    let line = refused(
        &w,
        &alice,
        &["push", "origin", &format!(":{CONTROL}")],
        &[],
        "deleting it is refused",
    );
    assert!(
        line.contains(&format!("deploybot: {CONTROL}: ")),
        "one line names the ref: {line}"
    );
    // Back to the first record (its snapshot sits below the tip): a rewind.
    let push_first = format!("+{first}:{CONTROL}");
    refused(
        &w,
        &alice,
        &["push", "origin", &push_first],
        &[],
        "not a fast-forward",
    );
    // A foreign record built on the first commit instead of the tip.
    let record = pause_record("x1", &main, "hold").to_string();
    let fork = alice.raw_commit(&[("record.json", &record)], &[&first], "pause: hold");
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("+{fork}:{CONTROL}")],
        &[],
        "not a fast-forward",
    );
    // A merge commit on the tip.
    let merge = alice.raw_commit(&[("record.json", &record)], &[&tip, &fork], "merge");
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("{merge}:{CONTROL}")],
        &[],
        "has 2 parents",
    );
}

#[test]
fn invalid_records_are_refused() {
    let (w, alice) = guarded();
    let (tip, main) = paused(&w, &alice);
    let with = |field: &str, value: serde_json::Value| {
        let mut r = pause_record("x2", &main, "hold");
        r[field] = value;
        r.to_string()
    };
    let cases = [
        ("{".to_string(), "not JSON"),
        ("[1, 2]".to_string(), "not a JSON object"),
        (with("schema", json!(2)), "unsupported schema"),
        (with("state", json!("sleeping")), "not a valid record"),
        (with("reason", json!(7)), "not a valid record"),
        (with("main_sha", json!("abc123")), "is not a 40-hex sha"),
        (with("reason", json!("ring\u{7}bell")), "control characters"),
        (
            with("note", json!({"deep": "tab\there"})),
            "control characters",
        ),
        (with("reason", json!("x".repeat(5000))), "more than 4096"),
        (
            with("padding", json!("p".repeat(70 * 1024))),
            "over the 64 KiB limit",
        ),
    ];
    for (record, needle) in cases {
        let commit = alice.raw_commit(&[("record.json", &record)], &[&tip], "pause: bad");
        refused(
            &w,
            &alice,
            &["push", "origin", &format!("{commit}:{CONTROL}")],
            &[],
            needle,
        );
    }
    let bare = alice.raw_commit(&[("notes.txt", "no record")], &[&tip], "pause: none");
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("{bare}:{CONTROL}")],
        &[],
        "has no record.json",
    );
    // The queue ledger is held to its own record rules.
    let request = json!({"schema": 1, "action": "request", "branch": "feature/x",
                         "actor": "alice", "at": "2026-01-01T00:00:00Z"})
    .to_string();
    let commit = alice.raw_commit(&[("record.json", &request)], &[], "request");
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("{commit}:refs/deploybot/queue")],
        &[],
        "needs `head_sha`",
    );
}

#[test]
fn snapshots_must_agree_with_the_fold_but_may_be_absent() {
    let (w, alice) = guarded();
    let (first, main) = paused(&w, &alice);
    let (id, sha) = alice.pause_ids();
    alice.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let tip = w.server_ref(CONTROL).expect("tip");
    // An older writer replays the first pause's tree (record and snapshot) on the tip.
    let tree = alice.git(&["rev-parse", &format!("{first}^{{tree}}")]);
    let replay = alice.git(&["commit-tree", &tree, "-p", &tip, "-m", "pause: replayed"]);
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("{replay}:{CONTROL}")],
        &[],
        "state.json disagrees",
    );
    // A snapshot in the right place whose state is not the fold.
    let record = pause_record("x3", &main, "new failure").to_string();
    let blob = alice.git_stdin(&["hash-object", "--stdin"], &record);
    let lie = json!({"schema": 1, "record_blob": blob, "parent": tip, "commits": 3,
                     "state": {"state": "running"}, "problems": []})
    .to_string();
    let commit = alice.raw_commit(
        &[("record.json", &record), ("state.json", &lie)],
        &[&tip],
        "pause",
    );
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("{commit}:{CONTROL}")],
        &[],
        "`state` is not the parent's state",
    );
    // The same record with no snapshot (a foreign writer) is fine, and the tool folds it.
    let foreign = alice.raw_commit(&[("record.json", &record)], &[&tip], "pause: new failure");
    accepted(
        &alice,
        &["push", "origin", &format!("{foreign}:{CONTROL}")],
        &[],
    );
    assert_eq!(alice.control("control_id"), "x3");
    // The tool keeps appending on top of foreign commits.
    alice.ok(&["pause", "--reason", "operator hold"]);
    assert_eq!(
        alice.control("reason"),
        "operator hold",
        "the tool appends after foreign commits"
    );
}

#[test]
fn the_base_branch_moves_forward_and_never_while_paused() {
    let (w, alice) = guarded();
    let main = w.server_ref("refs/heads/main").expect("main");
    alice.commit_file("a.txt", "a\n", "a");
    accepted(&alice, &["push", "origin", "main"], &[]);
    alice.git(&["reset", "-q", "--hard", &main]);
    let rewritten = alice.commit_file("b.txt", "b\n", "b");
    refused(
        &w,
        &alice,
        &["push", "origin", "+main"],
        &[],
        "not a fast-forward",
    );
    refused(
        &w,
        &alice,
        &["push", "origin", ":main"],
        &[],
        "deleting the base branch",
    );
    alice.git(&["reset", "-q", "--hard", "origin/main"]);
    // A pause and a base move in one atomic push: judged by the state after the push.
    let tip = w.server_ref("refs/heads/main").expect("main");
    let record = pause_record("p1", &tip, "hold").to_string();
    let pause = alice.raw_commit(&[("record.json", &record)], &[], "pause: hold");
    let next = alice.commit_file("c.txt", "c\n", "c");
    let both = [
        "push",
        "--atomic",
        "origin",
        "main",
        &format!("{pause}:{CONTROL}"),
    ];
    refused(&w, &alice, &both, &[], "the pipeline is paused (p1: hold)");
    // Paused by the tool: the base branch is frozen, even for a plain fast-forward.
    alice.ok(&["pause", "--reason", "ci-failed on main"]);
    let stderr = refused(
        &w,
        &alice,
        &["push", "origin", "main"],
        &[],
        "so the base branch may not move",
    );
    assert!(
        stderr.contains("git deploybot unpause"),
        "says what to do: {stderr}"
    );
    assert_ne!(w.server_ref("refs/heads/main"), Some(next));
    assert_ne!(rewritten, tip);
}

#[test]
fn a_push_mixing_a_good_and_a_bad_ref_is_refused_whole_even_with_no_verify() {
    let (w, alice) = guarded();
    paused(&w, &alice);
    alice.git(&["checkout", "-q", "-b", "feature/good"]);
    alice.commit_file("g.txt", "g\n", "good work");
    let args = [
        "push",
        "--no-verify",
        "origin",
        "feature/good",
        &format!(":{CONTROL}"),
    ];
    refused(&w, &alice, &args, &[], "deleting it is refused");
    assert_eq!(
        w.server_ref("refs/heads/feature/good"),
        None,
        "the good ref did not land either"
    );
    accepted(
        &alice,
        &["push", "--no-verify", "origin", "feature/good"],
        &[],
    );
    refused(
        &w,
        &alice,
        &["push", "origin", "HEAD:refs/deploybot/elsewhere"],
        &[],
        "holds only control, queue and verified",
    );
}

#[test]
fn an_unreadable_policy_refuses_deploybot_refs_but_not_plain_branches() {
    let w = World::with_policy("[queue]\nbase_branh = \"main\"\n");
    w.install_deploybot_hooks();
    let alice = w.clone_as("alice");
    alice.git(&["checkout", "-q", "-b", "feature/x"]);
    alice.commit_file("x.txt", "x\n", "x");
    accepted(&alice, &["push", "origin", "feature/x"], &[]);
    refused(
        &w,
        &alice,
        &["push", "origin", "HEAD:main"],
        &[],
        "cannot read its policy: main:.deploybot.toml: unknown key `queue.base_branh`",
    );
}
