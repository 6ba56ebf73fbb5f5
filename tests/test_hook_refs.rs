//! The server hook on the watermark, the notes refs and repair leases: real
//! `git push` into a guarded bare repository; every refusal leaves the server
//! refs unchanged.

mod common;
use common::{accepted, guarded, refused};
use serde_json::json;

#[test]
fn the_watermark_moves_forward_along_main_only() {
    let (w, alice) = guarded();
    let first = w.server_ref("refs/heads/main").expect("main");
    accepted(
        &alice,
        &[
            "push",
            "origin",
            &format!("{first}:refs/deploybot/verified"),
        ],
        &[],
    );
    let second = alice.commit_file("a.txt", "a\n", "second");
    accepted(
        &alice,
        &[
            "push",
            "origin",
            "main",
            &format!("{second}:refs/deploybot/verified"),
        ],
        &[],
    );
    refused(
        &w,
        &alice,
        &[
            "push",
            "origin",
            &format!("+{first}:refs/deploybot/verified"),
        ],
        &[],
        "does not descend from it",
    );
    refused(
        &w,
        &alice,
        &["push", "origin", ":refs/deploybot/verified"],
        &[],
        "deleting it is refused",
    );
    let side = alice.push_branch("feature/side", "s.txt", "s\n");
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("{side}:refs/deploybot/verified")],
        &[],
        "is not on main",
    );
}

#[test]
fn result_notes_are_append_only_and_validated() {
    let (w, alice) = guarded();
    let main = w.server_ref("refs/heads/main").expect("main");
    alice.report_ci(&main, "pending");
    alice.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/notes/deploybot/*:refs/notes/deploybot/*",
    ]);
    let notes = "refs/notes/deploybot/ci";
    let good = r#"{"check":"CI","status":"success","at":"2026-01-01T00:00:10Z"}"#;
    alice.git(&[
        "notes",
        "--ref=deploybot/ci",
        "append",
        "-m",
        "this is not json",
        &main,
    ]);
    refused(
        &w,
        &alice,
        &["push", "origin", notes],
        &[],
        "is not a result record",
    );
    alice.git(&["update-ref", notes, &format!("{notes}^")]);
    alice.git(&["notes", "--ref=deploybot/ci", "append", "-m", good, &main]);
    accepted(&alice, &["push", "origin", notes], &[]);
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &main]);
    assert!(note.ends_with(good), "the plain-git line landed: {note}");
    // Replacing the note drops the earlier lines.
    alice.git(&[
        "notes",
        "--ref=deploybot/ci",
        "add",
        "-f",
        "-m",
        good,
        &main,
    ]);
    refused(&w, &alice, &["push", "origin", notes], &[], "loses lines");
    // Rewinding the notes ref, or deleting it.
    let tip = w.server_ref(notes).expect("notes");
    alice.git(&["update-ref", notes, &format!("{tip}^")]);
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("+{notes}")],
        &[],
        "not a fast-forward",
    );
    refused(
        &w,
        &alice,
        &["push", "origin", &format!(":{notes}")],
        &[],
        "deleting it is refused",
    );
    // The recovery notes hold JSON objects, not result records.
    let recovery = "refs/notes/deploybot/recovery";
    alice.git(&[
        "notes",
        "--ref=deploybot/recovery",
        "add",
        "-m",
        "plain words",
        &main,
    ]);
    refused(
        &w,
        &alice,
        &["push", "origin", recovery],
        &[],
        "is not JSON",
    );
    alice.git(&[
        "notes",
        "--ref=deploybot/recovery",
        "add",
        "-f",
        "-m",
        r#"{"resumes_control_id":"x"}"#,
        &main,
    ]);
    accepted(&alice, &["push", "origin", recovery], &[]);
}

#[test]
fn repair_leases_are_created_in_format_and_only_grow() {
    let (w, alice) = guarded();
    let main = w.server_ref("refs/heads/main").expect("main");
    let branch = format!("refs/heads/deploybot/repair/{}", &main[..12]);
    let plain = alice.commit_file("x.txt", "x\n", "not a lease");
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("{plain}:{branch}")],
        &[],
        "not a repair lease",
    );
    // A lease is only for a failed main: CI failed long enough ago (past the grace).
    let failed = r#"{"check":"CI","status":"failure","at":"2020-01-01T00:00:00Z"}"#;
    alice.git(&["notes", "--ref=deploybot/ci", "add", "-m", failed, &main]);
    alice.git(&["push", "-q", "origin", "refs/notes/deploybot/ci"]);
    let tree = alice.git(&["rev-parse", &format!("{main}^{{tree}}")]);
    let lease = |owner: &str| {
        let message = json!({"owner": owner, "main_sha": main, "failure_state": "ci-failed",
                             "claimed_at": "2026-01-01T00:00:00Z"})
        .to_string();
        alice.git(&["commit-tree", &tree, "-p", &main, "-m", &message])
    };
    let wrong_tree = alice.git(&["commit-tree", &format!("{plain}^{{tree}}"), "-p", &main, "-m",
        &json!({"owner": "x", "main_sha": main, "failure_state": "ci-failed", "claimed_at": "2026-01-01T00:00:00Z"}).to_string()]);
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("{wrong_tree}:{branch}")],
        &[],
        "tree must be the failed main_sha's tree",
    );
    let mine = lease("alice");
    accepted(
        &alice,
        &["push", "origin", &format!("{mine}:{branch}")],
        &[],
    );
    let theirs = lease("bob");
    refused(
        &w,
        &alice,
        &["push", "origin", &format!("+{theirs}:{branch}")],
        &[],
        "not a fast-forward",
    );
    // The owner may remove a bare lease (claim-repair does when main moves).
    accepted(&alice, &["push", "origin", &format!(":{branch}")], &[]);
    accepted(
        &alice,
        &["push", "origin", &format!("{mine}:{branch}")],
        &[],
    );
    alice.git(&["checkout", "-q", "-B", "repair", &mine]);
    alice.commit_file("fix.txt", "fixed\n", "fix");
    accepted(&alice, &["push", "origin", &format!("HEAD:{branch}")], &[]);
    refused(
        &w,
        &alice,
        &["push", "origin", &format!(":{branch}")],
        &[],
        "already has commits on top",
    );
}

#[test]
fn a_broken_policy_never_lands_and_a_broken_one_can_be_repaired() {
    let (w, alice) = guarded();
    // A push to main carrying a policy that does not parse is refused.
    alice.commit_file(
        ".deploybot.toml",
        "[queue]\nbase_brnch = \"main\"\n",
        "typo",
    );
    refused(
        &w,
        &alice,
        &["push", "origin", "HEAD:main"],
        &[],
        "the pushed policy is invalid",
    );
    // Say one got onto the server before the hook was installed.
    let broken = alice.git(&["rev-parse", "HEAD"]);
    alice.git(&[
        "push",
        "-q",
        "origin",
        &format!("{broken}:refs/heads/broken-stash"),
    ]);
    let main = w.server_ref("refs/heads/main").expect("main");
    w.server_git(&["update-ref", "refs/heads/main", &broken, &main]);
    // Governed refs are refused while the policy cannot be read...
    let out = refused(
        &w,
        &alice,
        &[
            "push",
            "origin",
            "HEAD:refs/heads/deploybot/repair/000000000000",
        ],
        &[],
        "cannot read its policy",
    );
    assert!(out.contains("fast-forward of the base branch"), "{out}");
    // ...but a fast-forward of main that fixes the policy is the way out.
    alice.commit_file(
        ".deploybot.toml",
        "[queue]\nbase_branch = \"main\"\n",
        "fix the typo",
    );
    accepted(&alice, &["push", "origin", "HEAD:main"], &[]);
    assert_eq!(
        w.server_ref("refs/heads/main"),
        Some(alice.git(&["rev-parse", "HEAD"]))
    );
}
