//! Proven on the servers people run (issue 14): plain ssh (OpenSSH's sshd
//! with a forced command per key setting `REMOTE_USER`), gitolite over that
//! sshd (`GL_USER`), and smart HTTP (`git http-backend` behind Apache with
//! basic auth, `REMOTE_USER`). Each server is the Debian package, started by
//! hand on a free port of 127.0.0.1 in a tempdir and stopped when the test
//! ends, a failure included; the hook is installed the way hooks/README.md
//! says for that server. The identity always comes from the server's own
//! authentication (the key, the gitolite user, the HTTP login): the clients'
//! environment sets none, and one that claims another changes nothing.
//!
//! On each server, through the real binary: a request merged by `react`,
//! CI on main and `follow` to verified, a CI failure and its pause, the
//! base frozen even for an admin on the server's disk (the
//! reference-transaction hook), `claim-repair`, `unpause`, the repair
//! landing, `follow` to verified again; then refusals: an authenticated
//! user in no actor list, a record whose `actor` is not the authenticated
//! user, and a push whose client environment claims a coordinator.
//!
//! Run them (as root: the servers switch to their own accounts, and missing
//! packages are installed with apt-get; `.ci/run` does):
//!
//! ```sh
//! cargo test --test test_servers              # all three
//! cargo test --test test_servers gitolite     # one: ssh, gitolite or http
//! ```
//!
//! To try a server by hand, keep it after the test: it prints the clone
//! command, the users and how to stop it.
//!
//! ```sh
//! DEPLOYBOT_KEEP_SERVER=1 cargo test --test test_servers http -- --nocapture
//! ```
//!
//! `DEPLOYBOT_SKIP_SERVER_TESTS=1` skips them deliberately (not root, say).

mod common;
mod servers;

use common::Clone;
use serde_json::Value;
use servers::Server;

/// Every role named, main protected: alice (and bob, who has no account)
/// may request, pause and unpause; coord merges; ci reports; mallory has an
/// account on every server but is in no list.
const POLICY: &str = r#"[queue]
trusted_actors = ["alice", "bob"]
coordinator_actors = ["coord"]
ci_runners = ["ci"]

[pipeline]
ci_failure_grace_seconds = 0
deploy_command = "true"

[hook]
protect_base = true
"#;

fn json(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("JSON ({e}): {text}"))
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// `follow` run by the coordinator reaches `sha` verified (deploy_command,
/// then the watermark), and the server's watermark says so.
fn follow_to_verified(s: &Server, coord: &Clone, sha: &str) {
    let report = json(&coord.ok(&["follow", "--json", "--poll", "1", "--timeout", "60"]));
    assert_eq!(report["outcome"], "reached", "{report}");
    assert_eq!(
        s.server_ref("refs/deploybot/verified").as_deref(),
        Some(sha)
    );
}

/// The delivery story through the server, each role its own authenticated user.
fn the_whole_story(s: &Server) {
    s.seed(
        "coord",
        &[("README.md", "hello\n"), (".deploybot.toml", POLICY)],
    );
    let (alice, coord, ci) = (s.clone_as("alice"), s.clone_as("coord"), s.clone_as("ci"));
    // Work is requested with green CI and merged by the coordinator.
    let a = alice.push_branch("feature/a", "a.txt", "a\n");
    ci.report_ci(&a, "success");
    alice.ok(&["request", "feature/a"]);
    let r = coord.react();
    assert_eq!(r["state"], "complete", "{r}");
    assert_eq!(r["merged"][0]["branch"], "feature/a", "{r}");
    let first = s.server_ref("refs/heads/main").expect("main");
    assert_eq!(
        s.server_ref(&format!("{first}^2")).as_deref(),
        Some(a.as_str())
    );
    // CI reports on main; the coordinator follows it to verified.
    ci.report_ci(&first, "success");
    follow_to_verified(s, &coord, &first);
    // The next merge fails CI on main: the pipeline pauses.
    let b = alice.push_branch("feature/b", "b.txt", "b\n");
    ci.report_ci(&b, "success");
    alice.ok(&["request", "feature/b"]);
    assert_eq!(coord.react()["merged"][0]["branch"], "feature/b");
    let failed = s.server_ref("refs/heads/main").expect("main");
    ci.report_ci(&failed, "failure");
    let r = coord.react();
    assert_eq!(r["paused_with"], format!("ci-failed on {failed}"), "{r}");
    assert_eq!(alice.control("state"), "paused");
    // Paused, main is frozen even for an admin on the server's disk.
    let out = s.local_update_ref(&["refs/heads/main", &first, &failed]);
    assert!(
        !out.status.success(),
        "moved main while paused: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("paused"), "{}", stderr(&out));
    assert_eq!(
        s.server_ref("refs/heads/main").as_deref(),
        Some(failed.as_str())
    );
    // alice claims the repair, fixes main on the lease, CI is green, she requests it.
    let claim = json(&alice.ok(&["claim-repair", "--owner", "alice", "--json"]));
    assert_eq!(claim["state"], "created", "{claim}");
    let repair = format!("deploybot/repair/{}", &failed[..12]);
    assert!(s.server_ref(&format!("refs/heads/{repair}")).is_some());
    alice.git(&["fetch", "-q", "origin"]);
    alice.git(&["checkout", "-q", "-B", &repair, &format!("origin/{repair}")]);
    let fix = alice.commit_file("fix.txt", "fixed\n", "fix main");
    alice.git(&["push", "-q", "origin", &format!("HEAD:refs/heads/{repair}")]);
    ci.report_ci(&fix, "success");
    alice.ok(&["request", &repair]);
    // alice unpauses; the coordinator lands the repair, alone, past the failure.
    let (id, sha) = alice.pause_ids();
    assert_eq!(sha, failed);
    alice.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert_eq!(alice.control("state"), "running");
    let r = coord.react();
    assert_eq!(r["merged"][0]["branch"], repair.as_str(), "{r}");
    let landed = s.server_ref("refs/heads/main").expect("main");
    assert_eq!(s.server_ref(&format!("{landed}^1")), Some(failed));
    assert_eq!(s.server_ref(&format!("{landed}^2")), Some(fix));
    // The new main is followed to verified.
    ci.report_ci(&landed, "success");
    follow_to_verified(s, &coord, &landed);
    let status = alice.status();
    assert_eq!(status["control"]["state"], "running", "{status}");
    assert_eq!(status["main"]["release"]["state"], "verified", "{status}");
}

/// Runs the binary in `c`, asserting the server refused the push with
/// `needle` (exit 4) and that no ref moved on the server.
fn tool_refused(s: &Server, c: &Clone, args: &[&str], needle: &str) {
    let before = s.server_refs();
    let out = c.run(args);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{args:?} refused by the server: {}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains(needle),
        "expected `{needle}` in: {}",
        stderr(&out)
    );
    assert_eq!(s.server_refs(), before, "a refused push changes nothing");
}

/// Runs `git push <args>` in `c` with `env`, asserting the hook refused it
/// with `needle` and that no ref moved on the server.
fn push_refused(s: &Server, c: &Clone, args: &[&str], env: &[(&str, &str)], needle: &str) {
    let before = s.server_refs();
    let out = c.git_env(args, env);
    let err = stderr(&out);
    assert!(!out.status.success(), "{args:?} should be refused: {err}");
    assert!(
        err.contains("pre-receive hook declined"),
        "the hook declined: {err}"
    );
    assert!(err.contains(needle), "expected `{needle}` in: {err}");
    assert_eq!(s.server_refs(), before, "a refused push changes nothing");
}

/// What the server refuses, by the identity it authenticated.
fn refusals(s: &Server) {
    let (alice, mallory) = (s.clone_as("alice"), s.clone_as("mallory"));
    // mallory logs in (plain branches are hers to push) but is in no list.
    mallory.push_branch("feature/m", "m.txt", "m\n");
    tool_refused(
        s,
        &mallory,
        &["request", "feature/m"],
        "`mallory` may not write `request` records (only queue.trusted_actors or queue.coordinator_actors may)",
    );
    mallory.git(&["checkout", "-q", "-B", "main", "origin/main"]);
    mallory.commit_file("m2.txt", "m\n", "straight to main");
    push_refused(
        s,
        &mallory,
        &["push", "origin", "main"],
        &[],
        "`mallory` may not write the base branch (only queue.coordinator_actors may)",
    );
    // alice may request, but not in bob's name.
    alice.push_branch("feature/x", "x.txt", "x\n");
    tool_refused(
        s,
        &alice,
        &["--actor", "bob", "request", "feature/x"],
        "written by `bob`, but the server authenticated `alice`",
    );
    // Whatever alice's own environment claims, the server says alice.
    alice.git(&["checkout", "-q", "-B", "main", "origin/main"]);
    alice.commit_file("x2.txt", "x\n", "as the coordinator?");
    let claims = [
        ("GL_USER", "coord"),
        ("GITEA_PUSHER_NAME", "coord"),
        ("GL_USERNAME", "coord"),
        ("REMOTE_USER", "coord"),
    ];
    push_refused(
        s,
        &alice,
        &["push", "origin", "main"],
        &claims,
        "`alice` may not write the base branch (only queue.coordinator_actors may)",
    );
}

#[test]
fn ssh_with_forced_commands_runs_the_whole_story() {
    let Some(s) = servers::ssh::start() else {
        return;
    };
    the_whole_story(&s);
    refusals(&s);
    // A key whose forced command sets no REMOTE_USER: plain ssh says nobody.
    let nobody = s.clone_as("nobody");
    tool_refused(
        &s,
        &nobody,
        &["pause", "--reason", "who am I"],
        "the pusher is unknown (none of GL_USER, GITEA_PUSHER_NAME, GL_USERNAME, REMOTE_USER is set)",
    );
    s.keep_if_asked();
}

#[test]
fn gitolite_runs_the_whole_story() {
    let Some(s) = servers::gitolite::start() else {
        return;
    };
    the_whole_story(&s);
    refusals(&s);
    s.keep_if_asked();
}

#[test]
fn http_behind_apache_runs_the_whole_story() {
    let Some(s) = servers::http::start() else {
        return;
    };
    the_whole_story(&s);
    refusals(&s);
    s.keep_if_asked();
}
