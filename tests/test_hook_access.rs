//! The server hook's identity checks, its transports (file:// and git daemon),
//! `hook install`, and the reference-transaction re-check with locks held.

mod common;
use common::{Clone, World};

/// Actors named: trusted alice, coordinator bot, CI runner ci; main protected.
const ACTORS: &str = r#"[queue]
trusted_actors = ["alice"]
coordinator_actors = ["bot"]
ci_runners = ["ci"]

[pipeline]
ci_failure_grace_seconds = 0

[hook]
protect_base = true
"#;

fn guarded(policy: &str) -> (World, Clone) {
    let w = World::with_policy(policy);
    w.install_deploybot_hooks();
    let c = w.clone_as("alice");
    (w, c)
}

/// The tool run in `c` as pusher `user` (GL_USER reaches the hook through
/// git push), writing records as that actor (the hook checks they agree).
fn as_user(c: &Clone, user: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--actor", user];
    all.extend_from_slice(args);
    c.deploybot(&all)
        .env("GL_USER", user)
        .output()
        .expect("binary runs")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn named_actors_need_an_identity_and_the_right_list() {
    let (w, c) = guarded(ACTORS);
    let before = w.server_refs();
    let out = c.run(&["pause", "--reason", "hold"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "refused by the server: {}",
        stderr(&out)
    );
    assert!(stderr(&out).contains("the pusher is unknown (none of GL_USER, GITEA_PUSHER_NAME, GL_USERNAME, REMOTE_USER is set)"), "{}", stderr(&out));
    let out = as_user(&c, "mallory", &["pause", "--reason", "hold"]);
    assert!(stderr(&out).contains("`mallory` may not write paused records (only queue.trusted_actors or queue.coordinator_actors may)"), "{}", stderr(&out));
    assert_eq!(w.server_refs(), before, "nothing landed");
    let out = as_user(&c, "alice", &["pause", "--reason", "hold"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // Result notes belong to CI runners (and coordinators).
    let main = w.server_ref("refs/heads/main").expect("main");
    let report = [
        "ci", "report", "--sha", &main, "--check", "CI", "--status", "success",
    ];
    let out = as_user(&c, "alice", &report);
    assert!(
        stderr(&out).contains("`alice` may not write result notes"),
        "{}",
        stderr(&out)
    );
    assert!(as_user(&c, "ci", &report).status.success());
    // Other identity variables are read in policy order. A coordinator may
    // report (react writes pending CI), but a CI success certifies a commit
    // as tested: that is the CI runners' alone (issue 19).
    let pending = [
        "ci", "report", "--sha", &main, "--check", "CI", "--status", "pending",
    ];
    let out = c
        .deploybot(&pending)
        .env("REMOTE_USER", "bot")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "a coordinator may report too: {}",
        stderr(&out)
    );
    let out = c
        .deploybot(&report)
        .env("REMOTE_USER", "bot")
        .output()
        .expect("runs");
    assert!(
        stderr(&out).contains("`bot` may not write CI success results (only queue.ci_runners may)"),
        "{}",
        stderr(&out)
    );
    // Plain branches are nobody's business.
    c.git(&["checkout", "-q", "-b", "feature/x"]);
    c.commit_file("x.txt", "x\n", "x");
    c.git(&["push", "-q", "origin", "feature/x"]);
}

#[test]
fn protect_base_lets_only_coordinators_move_main() {
    let (w, c) = guarded(ACTORS);
    c.git(&["pull", "-q", "origin", "main"]);
    c.commit_file("a.txt", "a\n", "direct push");
    let before = w.server_refs();
    let out = c.git_env(&["push", "origin", "main"], &[("GL_USER", "alice")]);
    assert!(!out.status.success());
    let needle = "`alice` may not write the base branch (only queue.coordinator_actors may)";
    assert!(stderr(&out).contains(needle), "{}", stderr(&out));
    let out = c.git_env(&["push", "origin", "main"], &[]);
    assert!(
        stderr(&out).contains("the pusher is unknown"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.server_refs(), before);
    let out = c.git_env(&["push", "origin", "main"], &[("GITEA_PUSHER_NAME", "bot")]);
    assert!(out.status.success(), "{}", stderr(&out));
}

#[test]
fn git_daemon_pushes_are_judged_the_same() {
    let (w, c) = guarded(ACTORS);
    // The daemon's hooks see the daemon's environment: here it says the pusher is bot.
    let daemon = w.daemon(&[("REMOTE_USER", "bot")]);
    c.git(&["remote", "set-url", "origin", &daemon.url("server.git")]);
    let before = w.server_refs();
    let out = c.git_env(&["push", "origin", ":main"], &[]);
    assert!(
        stderr(&out).contains("deploybot: refs/heads/main: deleting the base branch is refused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.server_refs(), before);
    c.ok(&["--actor", "bot", "pause", "--reason", "over git://"]);
    assert_eq!(
        w.server_count("refs/deploybot/control"),
        1,
        "the pause landed through git daemon"
    );
    c.git(&["pull", "-q", "origin", "main"]);
    c.commit_file("b.txt", "b\n", "b");
    let before = w.server_refs();
    let out = c.git_env(&["push", "origin", "main"], &[]);
    assert!(
        stderr(&out).contains("the pipeline is paused"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.server_refs(), before);
}

#[test]
fn install_refuses_to_replace_a_foreign_hook_without_force() {
    let w = World::new();
    w.install_server_hook("pre-receive", "#!/bin/sh\nexit 0\n");
    let c = w.clone_as("alice");
    let server = w.server.display().to_string();
    let out = c.run(&["hook", "install", &server]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out)
            .contains("already exists and is not the deploybot hook; move it away or pass --force"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(w.server.join("hooks/pre-receive")).expect("hook"),
        "#!/bin/sh\nexit 0\n"
    );
    assert!(
        !w.server.join("hooks/reference-transaction").exists(),
        "a refusal writes nothing"
    );
    c.ok(&["hook", "install", "--force", &server]);
    c.ok(&["hook", "install", &server]);
    let script = std::fs::read_to_string(w.server.join("hooks/pre-receive")).expect("hook");
    assert!(
        script.contains("hook pre-receive") && script.contains("/git-deploybot'"),
        "{script}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(w.server.join("hooks/pre-receive"))
        .expect("meta")
        .permissions()
        .mode();
    assert_eq!(mode & 0o111, 0o111, "executable");
    let out = c.run(&["hook", "install", &c.path.display().to_string()]);
    assert!(
        stderr(&out).contains("is not a bare git repository"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn the_locked_recheck_refuses_moving_main_while_paused_even_on_the_server() {
    // pre-receive cannot see a pause that lands after it ran; reference-transaction
    // runs with the ref locks held. A server-side update-ref runs no pre-receive
    // at all, so it shows the locked re-check alone.
    let w = World::new();
    w.install_deploybot_hooks();
    let c = w.clone_as("alice");
    let next = c.push_branch("feature/n", "n.txt", "n\n");
    c.ok(&["pause", "--reason", "hold"]);
    let out = common::git_output(
        &w.server,
        &w.home(),
        &["update-ref", "refs/heads/main", &next],
    );
    assert!(!out.status.success(), "refused with locks held");
    assert!(
        stderr(&out).contains("deploybot: refs/heads/main: the pipeline is paused"),
        "{}",
        stderr(&out)
    );
    assert_ne!(w.server_ref("refs/heads/main"), Some(next.clone()));
    let (id, sha) = c.pause_ids();
    c.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    w.server_git(&["update-ref", "refs/heads/main", &next]);
    assert_eq!(w.server_ref("refs/heads/main"), Some(next));
}

#[test]
fn install_keeps_small_pushes_packed_unless_the_admin_chose_otherwise() {
    let w = World::new();
    let c = w.clone_as("alice");
    let server = w.server.display().to_string();
    c.ok(&["hook", "install", &server]);
    assert_eq!(w.server_git(&["config", "receive.unpackLimit"]), "1");
    // An administrator's own setting stays.
    w.server_git(&["config", "receive.unpackLimit", "50"]);
    c.ok(&["hook", "install", &server]);
    assert_eq!(w.server_git(&["config", "receive.unpackLimit"]), "50");
}
