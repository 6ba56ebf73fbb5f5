//! Signed controls (issue 10, item 5; DESIGN "Signed controls"): with
//! `[control] signed = true` a control record counts only when its ledger
//! commit is signed by a key the allowed-signers file on the base branch lists
//! for its actor. Real SSH keys (ssh-keygen), real signed commits (git's own
//! signing setup), real pushes through the hook, and `git log
//! --show-signature` for the offline audit.

mod common;
use common::{Clone, World};
use std::path::{Path, PathBuf};

/// Makes an ed25519 key pair in `dir`; returns (private key path, public key line).
fn keypair(dir: &Path, name: &str) -> (PathBuf, String) {
    let key = dir.join(name);
    let public = common::ssh_keypair(&key, name);
    (key, public)
}

/// Configures `c` to sign as `actor` with `key`.
fn signs_as(c: &Clone, actor: &str, key: &Path) {
    c.git(&["config", "gpg.format", "ssh"]);
    c.git(&[
        "config",
        "user.signingkey",
        key.to_str().expect("utf-8 path"),
    ]);
    c.git(&["config", "deploybot.actor", actor]);
}

struct Signed {
    w: World,
    alice: Clone,
    keys: PathBuf,
    allowed: PathBuf,
}

/// A world whose main requires signed controls and lists alice's key.
fn signed_world(hooked: bool) -> Signed {
    let w = World::new();
    let keys = w.dir.path().join("keys");
    std::fs::create_dir_all(&keys).expect("keys dir");
    let (alice_key, alice_pub) = keypair(&keys, "alice");
    let allowed_text = format!("alice namespaces=\"git\" {alice_pub}\n");
    let allowed = keys.join("allowed_signers");
    std::fs::write(&allowed, &allowed_text).expect("allowed signers");
    let seed = w.clone_as("signed-seed");
    seed.commit_file(
        ".deploybot.toml",
        "[pipeline]\nci_failure_grace_seconds = 0\n\n[control]\nsigned = true\n",
        "policy",
    );
    seed.commit_file(
        ".deploybot/allowed_signers",
        &allowed_text,
        "allowed signers",
    );
    seed.git(&["push", "-q", "origin", "main"]);
    if hooked {
        w.install_deploybot_hooks();
    }
    let alice = w.clone_as("alice");
    signs_as(&alice, "alice", &alice_key);
    Signed {
        w,
        alice,
        keys,
        allowed,
    }
}

#[test]
fn signed_pauses_count_and_anyone_can_audit_them_offline() {
    let s = signed_world(true);
    let out = s.alice.ok(&["pause", "--reason", "release freeze"]);
    assert!(out.contains("paused"), "{out}");
    assert_eq!(s.alice.control("state"), "paused");
    // The audit: git itself verifies the ledger against the same file.
    let auditor = s.w.clone_as("auditor");
    auditor.git(&[
        "fetch",
        "-q",
        "origin",
        "+refs/deploybot/control:refs/deploybot/control",
    ]);
    auditor.git(&[
        "config",
        "gpg.ssh.allowedSignersFile",
        s.allowed.to_str().expect("path"),
    ]);
    let log = auditor.git(&["log", "--show-signature", "-1", "refs/deploybot/control"]);
    assert!(log.contains("Good \"git\" signature for alice"), "{log}");
    // Unpause signs too.
    let (id, sha) = s.alice.pause_ids();
    s.alice
        .ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert_eq!(s.alice.control("state"), "running");
}

#[test]
fn a_writer_who_cannot_sign_gets_one_line_naming_the_setting() {
    let s = signed_world(false);
    let bob = s.w.clone_as("bob");
    bob.git(&["config", "gpg.format", "ssh"]);
    let before = s.w.server_refs();
    let out = bob.run(&["pause", "--reason", "unsigned"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(err.contains("user.signingkey"), "{err}");
    assert_eq!(s.w.server_refs(), before, "nothing written");
}

#[test]
fn unsigned_or_foreign_signed_records_change_nothing_and_the_hook_refuses_them() {
    // Without the hook: readers ignore them and report them.
    let s = signed_world(false);
    let mallory = s.w.clone_as("mallory");
    let (mallory_key, _) = keypair(&s.keys, "mallory");
    // mallory signs with her own key but claims to be alice.
    signs_as(&mallory, "alice", &mallory_key);
    mallory.ok(&["pause", "--reason", "forged"]);
    let status = s.alice.status();
    assert_eq!(status["control"]["state"], "running", "{status}");
    let problems = status["problems"].to_string();
    assert!(problems.contains("does not count"), "{problems}");
    // An unsigned record written by hand counts for nothing either.
    let tip = s.w.server_ref("refs/deploybot/control").expect("ledger");
    let record = r#"{"schema":1,"control_id":"plain-1","state":"paused","reason":"plain","actor":"alice","at":"2026-01-01T00:00:00Z"}"#;
    let commit = s
        .alice
        .raw_commit(&[("record.json", record)], &[&tip], "pause: plain");
    s.alice.git(&[
        "push",
        "-q",
        "origin",
        &format!("{commit}:refs/deploybot/control"),
    ]);
    assert_eq!(s.alice.control("state"), "running");
    // Alice's own signed pause counts.
    s.alice.ok(&["pause", "--reason", "real"]);
    assert_eq!(s.alice.control("reason"), "real");

    // With the hook: both are refused, nothing lands.
    let s = signed_world(true);
    let mallory = s.w.clone_as("mallory");
    let (mallory_key, _) = keypair(&s.keys, "mallory");
    signs_as(&mallory, "alice", &mallory_key);
    let before = s.w.server_refs();
    let out = mallory.run(&["pause", "--reason", "forged"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        String::from_utf8_lossy(&out.stderr)
            .contains("not by a key the allowed-signers file lists for `alice`")
    );
    let commit = s
        .alice
        .raw_commit(&[("record.json", record)], &[], "pause: plain");
    s.w.assert_refused(
        &s.alice,
        &[
            "push",
            "origin",
            &format!("{commit}:refs/deploybot/control"),
        ],
        &[],
        "it is not signed",
    );
    assert_eq!(s.w.server_refs(), before);
}

#[test]
fn the_controller_pause_is_signed_with_the_coordinators_setup() {
    let s = signed_world(true);
    let main = s.w.server_ref("refs/heads/main").expect("main");
    s.alice.report_ci(&main, "failure");
    let r = s.alice.react();
    assert_eq!(r["paused_with"], format!("ci-failed on {main}"), "{r}");
    assert_eq!(s.alice.control("state"), "paused");
}

/// `YYYYMMDDHHMMSS` (UTC) `seconds` from now, for an allowed-signers option.
fn utc_in(seconds: u64) -> String {
    let out = std::process::Command::new("date")
        .args(["-u", "-d", &format!("+{seconds} seconds"), "+%Y%m%d%H%M%S"])
        .output()
        .expect("date runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Issue 19: a signed control is judged once, when it is written. A key that
/// expires after signing a pause does not lift the pause; a key removed from
/// the allowed signers after signing a recovery does not bring the resolved
/// pause back. (Before: both were judged again at every read.)
#[test]
fn a_signed_control_stays_judged_when_its_key_expires_or_is_removed() {
    let s = signed_world(true);
    let (bob_key, bob_pub) = keypair(&s.keys, "bob");
    let (_, alice_pub) = {
        let text = std::fs::read_to_string(&s.allowed).expect("allowed");
        let line = text.lines().next().expect("alice's line").to_string();
        let public = line.splitn(3, ' ').nth(2).expect("the key").to_string();
        ((), public)
    };
    // alice's key expires a few seconds from now; bob's does not.
    let expiring = format!(
        "alice namespaces=\"git\",valid-before=\"{}Z\" {alice_pub}\nbob namespaces=\"git\" {bob_pub}\n",
        utc_in(4)
    );
    s.alice.git(&["pull", "-q", "origin", "main"]);
    s.alice.commit_file(
        ".deploybot/allowed_signers",
        &expiring,
        "alice's key expires soon",
    );
    s.alice.git(&["push", "-q", "origin", "main"]);
    s.alice.ok(&["pause", "--reason", "freeze"]);
    assert_eq!(s.alice.control("state"), "paused");
    std::thread::sleep(std::time::Duration::from_secs(6));
    let status = s.alice.status();
    assert_eq!(
        status["control"]["state"], "paused",
        "an expired key's pause still stands: {status}"
    );
    // bob resumes it; then bob's key is removed: the recovery still stands.
    let bob = s.w.clone_as("bob");
    signs_as(&bob, "bob", &bob_key);
    let (id, sha) = bob.pause_ids();
    bob.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    assert_eq!(bob.control("state"), "running");
    let only_alice = format!("alice namespaces=\"git\" {alice_pub}\n");
    bob.git(&["pull", "-q", "origin", "main"]);
    bob.commit_file(".deploybot/allowed_signers", &only_alice, "bob leaves");
    bob.git(&["push", "-q", "origin", "main"]);
    let status = s.alice.status();
    assert_eq!(
        status["control"]["state"], "running",
        "a removed key's recovery still stands: {status}"
    );
    // But bob can sign nothing new: the server judges new records against the file now.
    let out = bob.run(&["pause", "--reason", "after leaving"]);
    assert_eq!(
        out.status.code(),
        Some(4),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
