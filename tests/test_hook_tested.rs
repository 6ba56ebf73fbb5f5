//! Tested landing, as the server proves it (issue 11): with
//! `hook.require_tested_base` the base branch only moves to a commit whose CI
//! notes (on the server or in the same push) say `success` for every
//! `pipeline.ci_checks` check, unless a break-glass actor pushes; try branches
//! are the coordinator's. Real pushes through `git receive-pack` with the
//! hook installed; the identity is what the server says (`GL_USER`).

mod common;
use common::{Clone, World};

/// bot coordinates; anyone identified may move main (no `protect_base`) and
/// report CI; main must be tested; oncall may break the glass.
const TESTED: &str = r#"[queue]
coordinator_actors = ["bot"]

[pipeline]
ci_checks = ["CI"]

[hook]
require_tested_base = true
base_override_actors = ["oncall"]
"#;

const NOTES: &str = "refs/notes/deploybot/ci";

fn world(policy: &str) -> (World, Clone) {
    let w = World::with_policy(policy);
    w.install_deploybot_hooks();
    let c = w.clone_as("alice");
    (w, c)
}

fn as_user(user: &str) -> [(&str, &str); 1] {
    [("GL_USER", user)]
}

/// Appends a result line for `check` on `sha` to this clone's CI notes.
fn note(c: &Clone, sha: &str, check: &str, status: &str, at: &str) {
    let line = format!(r#"{{"check":"{check}","status":"{status}","at":"{at}"}}"#);
    c.git(&["notes", "--ref", NOTES, "append", "-m", &line, sha]);
}

const T1: &str = "2026-01-01T00:00:00Z";
const T2: &str = "2026-01-01T00:05:00Z";

/// An untested commit on main is refused (refs unchanged); the same commit
/// with its green CI note in the same atomic push lands.
#[test]
fn main_moves_only_to_a_commit_tested_green_in_the_same_push() {
    let (w, c) = world(TESTED);
    let sha = c.commit_file("a.txt", "a\n", "untested work");
    let stderr = w.assert_refused(
        &c,
        &["push", "origin", "main"],
        &as_user("alice"),
        "has no `success` CI result for `CI` (none)",
    );
    assert!(stderr.contains(&sha[..12]), "names the commit: {stderr}");
    assert!(
        stderr.contains("queue.landing = \"tested\"") && stderr.contains("base_override_actors"),
        "names the way out: {stderr}"
    );
    note(&c, &sha, "CI", "success", T1);
    c.assert_git_ok(
        &["push", "--atomic", "origin", "main", NOTES],
        &as_user("alice"),
    );
    assert_eq!(w.server_ref("refs/heads/main").as_deref(), Some(&*sha));
}

/// A green note already on the server (pushed before, with its commit on
/// another branch) is as good as one in the push.
#[test]
fn a_green_note_already_on_the_server_counts() {
    let (w, c) = world(TESTED);
    let sha = c.commit_file("a.txt", "a\n", "tested elsewhere");
    c.assert_git_ok(
        &["push", "origin", "HEAD:refs/heads/feature"],
        &as_user("alice"),
    );
    w.assert_refused(
        &c,
        &["push", "origin", "main"],
        &as_user("alice"),
        "`CI` (none)",
    );
    note(&c, &sha, "CI", "success", T1);
    c.assert_git_ok(&["push", "origin", NOTES], &as_user("alice"));
    c.assert_git_ok(&["push", "origin", "main"], &as_user("alice"));
    assert_eq!(w.server_ref("refs/heads/main").as_deref(), Some(&*sha));
}

/// The deciding report counts: a failure after an earlier success is red,
/// here with the success on the server and the failure arriving with main.
#[test]
fn a_later_failure_outweighs_an_earlier_success() {
    let (w, c) = world(TESTED);
    let sha = c.commit_file("a.txt", "a\n", "flaky");
    c.assert_git_ok(
        &["push", "origin", "HEAD:refs/heads/feature"],
        &as_user("alice"),
    );
    note(&c, &sha, "CI", "success", T1);
    c.assert_git_ok(&["push", "origin", NOTES], &as_user("alice"));
    note(&c, &sha, "CI", "failure", T2);
    w.assert_refused(
        &c,
        &["push", "--atomic", "origin", "main", NOTES],
        &as_user("alice"),
        "`CI` (failure)",
    );
}

/// Every `pipeline.ci_checks` check is needed: one green of two is refused.
#[test]
fn every_ci_check_must_be_green() {
    let policy = TESTED.replace(r#"ci_checks = ["CI"]"#, r#"ci_checks = ["CI", "Lint"]"#);
    let (w, c) = world(&policy);
    let sha = c.commit_file("a.txt", "a\n", "half tested");
    note(&c, &sha, "CI", "success", T1);
    let stderr = w.assert_refused(
        &c,
        &["push", "--atomic", "origin", "main", NOTES],
        &as_user("alice"),
        "has no `success` CI result for `Lint` (none)",
    );
    assert!(!stderr.contains("`CI` ("), "CI is green: {stderr}");
    note(&c, &sha, "Lint", "success", T1);
    c.assert_git_ok(
        &["push", "--atomic", "origin", "main", NOTES],
        &as_user("alice"),
    );
}

/// A break-glass actor may move main to an untested commit; nobody else.
#[test]
fn a_break_glass_actor_may_push_an_untested_commit() {
    let (w, c) = world(TESTED);
    let sha = c.commit_file("hotfix.txt", "fix\n", "hotfix");
    w.assert_refused(
        &c,
        &["push", "origin", "main"],
        &as_user("bot"),
        "`CI` (none)",
    );
    c.assert_git_ok(&["push", "origin", "main"], &as_user("oncall"));
    assert_eq!(w.server_ref("refs/heads/main").as_deref(), Some(&*sha));
}

/// Try branches are created and deleted by the coordinator only, under a
/// valid candidate id.
#[test]
fn try_branches_are_the_coordinators() {
    let (w, c) = world(TESTED);
    let sha = c.commit_file("cand.txt", "c\n", "candidate");
    let try_ref = "refs/heads/deploybot/try/c1";
    let create = format!("HEAD:{try_ref}");
    w.assert_refused(
        &c,
        &["push", "origin", &create],
        &as_user("alice"),
        "`alice` may not write try branches (only queue.coordinator_actors may)",
    );
    c.assert_git_ok(&["push", "origin", &create], &as_user("bot"));
    assert_eq!(w.server_ref(try_ref).as_deref(), Some(&*sha));
    let delete = format!(":{try_ref}");
    w.assert_refused(
        &c,
        &["push", "origin", &delete],
        &as_user("alice"),
        "`alice` may not write try branches",
    );
    c.assert_git_ok(&["push", "origin", &delete], &as_user("bot"));
    assert_eq!(w.server_ref(try_ref), None);
    for bad in ["x+y", "a/b", &"c".repeat(65)] {
        w.assert_refused(
            &c,
            &[
                "push",
                "origin",
                &format!("HEAD:refs/heads/deploybot/try/{bad}"),
            ],
            &as_user("bot"),
            "refs/heads/deploybot/try/ holds only `<candidate_id>` branches",
        );
    }
}
