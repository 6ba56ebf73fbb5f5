//! Authority comes from the server's identity (issue 10, items 1-4): the
//! policy is a coordinator's to change, the base branch has one name, a
//! broken policy is no open door, records and leases name their real writer.
//! Real pushes through `git receive-pack` with the hook installed; the
//! identity is what the server says (`GL_USER`), never what a record says.

mod common;
use common::{Clone, World};

/// alice and bob are trusted, bot coordinates, ci reports; the base is NOT
/// protected, so anyone may move main, but not change its policy.
const ACTORS: &str = r#"[queue]
trusted_actors = ["alice", "bob"]
coordinator_actors = ["bot"]
ci_runners = ["ci"]

[pipeline]
ci_failure_grace_seconds = 0
"#;

fn world() -> (World, Clone) {
    let w = World::with_policy(ACTORS);
    w.install_deploybot_hooks();
    let c = w.clone_as("alice");
    (w, c)
}

fn as_user(user: &str) -> [(&str, &str); 1] {
    [("GL_USER", user)]
}

/// The tool in `c` as `user`, authenticated and writing records as `user`.
fn tool(c: &Clone, user: &str, args: &[&str]) -> std::process::Output {
    let mut all = vec!["--actor", user];
    all.extend_from_slice(args);
    c.deploybot(&all)
        .env("GL_USER", user)
        .output()
        .expect("runs")
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Item 1: with `protect_base` off, a trusted actor may move main, but a
/// change of the policy (or of the allowed signers) needs a coordinator.
#[test]
fn changing_the_policy_needs_a_coordinator_whatever_protect_base_says() {
    let (w, c) = world();
    c.git(&["pull", "-q", "origin", "main"]);
    c.commit_file("a.txt", "a\n", "plain work");
    c.assert_git_ok(&["push", "origin", "main"], &as_user("alice"));
    let grab = ACTORS.replace(
        r#"coordinator_actors = ["bot"]"#,
        r#"coordinator_actors = ["alice"]"#,
    );
    c.commit_file(".deploybot.toml", &grab, "make me coordinator");
    w.assert_refused(
        &c,
        &["push", "origin", "main"],
        &as_user("alice"),
        "`alice` may not write a change of `.deploybot.toml` on the base branch",
    );
    c.git(&["reset", "-q", "--hard", "HEAD~1"]);
    c.commit_file(
        ".deploybot/allowed_signers",
        "alice ssh-ed25519 AAAA\n",
        "signers",
    );
    w.assert_refused(
        &c,
        &["push", "origin", "main"],
        &as_user("alice"),
        "a change of `.deploybot/allowed_signers`",
    );
    c.assert_git_ok(&["push", "origin", "main"], &as_user("bot"));
}

/// Item 2: a symbolic ref to the base branch is not a way around it.
#[test]
fn the_base_branch_by_another_name_is_refused() {
    let (w, c) = world();
    w.server_git(&["symbolic-ref", "refs/heads/alias", "refs/heads/main"]);
    c.git(&["fetch", "-q", "origin"]);
    c.git(&["checkout", "-q", "-B", "work", "origin/main"]);
    c.commit_file("b.txt", "b\n", "via the alias");
    w.assert_refused(
        &c,
        &["push", "origin", "HEAD:refs/heads/alias"],
        &as_user("alice"),
        "is a symbolic ref to refs/heads/main",
    );
    // A ledger by another name, too.
    w.server_git(&[
        "symbolic-ref",
        "refs/heads/ledger",
        "refs/deploybot/control",
    ]);
    w.assert_refused(
        &c,
        &["push", "origin", "HEAD:refs/heads/ledger"],
        &as_user("alice"),
        "is a symbolic ref to refs/deploybot/control",
    );
}

/// Item 2: a policy that names another base branch does not unguard the
/// branch it lives on: main is still judged as a base branch (here: frozen
/// while paused).
#[test]
fn a_policy_pointing_elsewhere_still_guards_the_branch_it_lives_on() {
    let w = World::with_policy(&format!(
        "{}\n",
        ACTORS.replace("[queue]\n", "[queue]\nbase_branch = \"prod\"\n")
    ));
    w.install_deploybot_hooks();
    let c = w.clone_as("alice");
    let out = tool(
        &c,
        "alice",
        &[
            "pause",
            "--reason",
            "hold",
            "--sha",
            &w.server_ref("refs/heads/main").expect("main"),
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    c.git(&["pull", "-q", "origin", "main"]);
    c.commit_file("c.txt", "c\n", "while paused");
    w.assert_refused(&c, &["push", "origin", "main"], &as_user("alice"), "paused");
}

/// Item 3: with a broken policy on main, the one accepted push (its repair)
/// still needs a coordinator the broken file names.
#[test]
fn a_broken_policy_is_repaired_only_by_a_coordinator() {
    let (w, c) = world();
    // Broken on the server, past the hook (as if installed afterwards).
    let broken = format!("{ACTORS}\n[queue.typo\n");
    let admin = w.clone_as("admin");
    admin.commit_file(".deploybot.toml", &broken, "broken policy");
    w.push_past_the_hook(&admin, &["push", "-q", "origin", "main"]);
    c.git(&["pull", "-q", "origin", "main"]);
    c.commit_file(".deploybot.toml", ACTORS, "repair the policy");
    w.assert_refused(
        &c,
        &["push", "origin", "main"],
        &as_user("alice"),
        "only a coordinator (bot) may repair it",
    );
    w.assert_refused(
        &c,
        &["push", "origin", "main"],
        &[],
        "an unidentified pusher",
    );
    c.assert_git_ok(&["push", "origin", "main"], &as_user("bot"));
}

/// Item 4: a record names who really wrote it.
#[test]
fn records_must_name_the_authenticated_pusher() {
    let (w, c) = world();
    let before = w.server_refs();
    let out = c
        .deploybot(&["--actor", "bob", "pause", "--reason", "framed"])
        .env("GL_USER", "alice")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(4), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("written by `bob`, but the server authenticated `alice`")
            && err.contains("git config deploybot.actor alice"),
        "{err}"
    );
    let head = c.push_branch("feature/a", "a.txt", "a\n");
    let _ = head;
    let out = c
        .deploybot(&["--actor", "bob", "request", "feature/a"])
        .env("GL_USER", "alice")
        .output()
        .expect("runs");
    assert!(
        stderr(&out).contains("server authenticated `alice`"),
        "{}",
        stderr(&out)
    );
    assert_eq!(w.server_ref("refs/deploybot/control"), None);
    assert_eq!(w.server_ref("refs/deploybot/queue"), None);
    let _ = before;
    assert!(
        tool(&c, "alice", &["pause", "--reason", "mine"])
            .status
            .success()
    );
}

/// Item 4: a repair lease is the pusher's, names the current failed base,
/// and only its owner (or a coordinator) adds to it.
#[test]
fn repair_leases_are_bound_to_their_owner_and_the_failed_base() {
    let (w, c) = world();
    let main = w.server_ref("refs/heads/main").expect("main");
    let hex12 = &main[..12];
    let lease_ref = format!("refs/heads/deploybot/repair/{hex12}");
    let lease_commit = |owner: &str| {
        let message = format!(
            r#"{{"owner":"{owner}","main_sha":"{main}","failure_state":"ci-failed","claimed_at":"2026-01-01T00:00:00Z"}}"#
        );
        c.git(&[
            "commit-tree",
            &format!("{main}^{{tree}}"),
            "-p",
            &main,
            "-m",
            &message,
        ])
    };
    // main has not failed: no lease.
    let early = lease_commit("alice");
    w.assert_refused(
        &c,
        &["push", "origin", &format!("{early}:{lease_ref}")],
        &as_user("alice"),
        "has not failed",
    );
    let out = tool(
        &c,
        "ci",
        &[
            "ci", "report", "--sha", &main, "--check", "CI", "--status", "failure",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
    // A lease claimed in someone else's name.
    let framed = lease_commit("alice");
    w.assert_refused(
        &c,
        &["push", "origin", &format!("{framed}:{lease_ref}")],
        &as_user("bob"),
        "its owner is `alice` but the server authenticated `bob`",
    );
    let out = tool(&c, "alice", &["claim-repair", "--owner", "alice", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // bob may not add to alice's lease; alice and the coordinator may.
    c.git(&["fetch", "-q", "origin"]);
    c.git(&[
        "checkout",
        "-q",
        "-B",
        "fix",
        &format!("origin/deploybot/repair/{hex12}"),
    ]);
    c.commit_file("fix.txt", "fix\n", "bob's fix");
    let push = ["push", "origin", &format!("HEAD:{lease_ref}")];
    w.assert_refused(
        &c,
        &push,
        &as_user("bob"),
        "owned by `alice`; `bob` may not",
    );
    c.assert_git_ok(&push, &as_user("alice"));
    c.commit_file("fix2.txt", "fix\n", "coordinator's touch");
    c.assert_git_ok(&push, &as_user("bot"));
}
