//! `git deploybot doctor`: ok/warn/fail rows with fixes; exit 1 when a row fails.

mod common;
use common::{Clone, World};
use serde_json::Value;

/// `doctor --json` in `c` with the binary's directory first on PATH (so `git deploybot` works).
fn doctor(c: &Clone) -> (Option<i32>, Value) {
    let bin = assert_cmd::cargo::cargo_bin!("git-deploybot");
    let dir = bin.parent().expect("bin dir");
    let path = format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = c
        .deploybot(&["doctor", "--json"])
        .env("PATH", path)
        .output()
        .expect("runs");
    let json = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), json)
}

/// The level of the row named `check`.
fn level(report: &Value, check: &str) -> String {
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["check"] == check)
        .unwrap_or_else(|| panic!("no row `{check}` in {report}"))["level"]
        .as_str()
        .expect("level")
        .to_string()
}

fn detail(report: &Value, check: &str) -> String {
    let rows = report["rows"].as_array().expect("rows");
    let row = rows.iter().find(|r| r["check"] == check).expect("row");
    row["detail"].as_str().unwrap_or_default().to_string()
}

#[test]
fn a_complete_installation_is_all_ok() {
    let w = World::with_policy(
        "[queue]\ntrusted_actors = [\"alice\"]\ncoordinator_actors = [\"bot\"]\nci_runners = [\"ci\"]\n\n[hook]\nprotect_base = true\n",
    );
    w.install_deploybot_hooks();
    let dev = w.clone_as("dev");
    dev.ok(&["init"]);
    // A complete installation: the man pages where `man` finds them, and a
    // clone that writes as a name the policy gives a role.
    let man = w.dir.path().join("man");
    std::fs::create_dir_all(man.join("man1")).expect("man dir");
    dev.ok(&["man", "--dir", man.join("man1").to_str().expect("utf-8")]);
    dev.git(&["config", "deploybot.actor", "alice"]);
    let bin = assert_cmd::cargo::cargo_bin!("git-deploybot");
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = dev
        .deploybot(&["doctor", "--json"])
        .env("PATH", path)
        .env("MANPATH", &man)
        .output()
        .expect("runs");
    let code = out.status.code();
    let report: Value = serde_json::from_slice(&out.stdout).expect("doctor --json");
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(report["ok"], true);
    for row in report["rows"].as_array().expect("rows") {
        assert_eq!(row["level"], "ok", "{row}");
        assert!(row["fix"].is_null(), "no fix for an ok row: {row}");
    }
    assert!(detail(&report, "control ledger").contains("full re-fold matches"));
}

/// Actors named but the base unprotected, or no coordinator: warned, with the fix.
#[test]
fn named_actors_with_an_unprotected_base_are_warned() {
    let w = World::with_policy(
        "[queue]\ntrusted_actors = [\"alice\"]\ncoordinator_actors = [\"bot\"]\n",
    );
    let dev = w.clone_as("dev");
    let (_, report) = doctor(&dev);
    assert_eq!(level(&report, "actors"), "warn", "{report}");
    assert!(detail(&report, "actors").contains("hook.protect_base is off"));
    let w = World::with_policy("[queue]\ntrusted_actors = [\"alice\"]\n");
    let dev = w.clone_as("dev");
    let (_, report) = doctor(&dev);
    assert!(
        detail(&report, "actors").contains("no coordinator is named"),
        "{report}"
    );
}

/// Signed controls: doctor names the missing signing setting.
#[test]
fn signed_controls_without_a_signing_key_fail_with_the_setting() {
    let w = World::with_policy("[control]\nsigned = true\n");
    let dev = w.clone_as("dev");
    dev.git(&["config", "gpg.format", "ssh"]);
    let (code, report) = doctor(&dev);
    assert_eq!(code, Some(1), "{report}");
    assert_eq!(level(&report, "signing"), "fail");
    assert!(detail(&report, "signing").contains("user.signingkey"));
}

#[test]
fn a_bare_clone_without_setup_warns_with_fixes() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let (code, report) = doctor(&dev);
    assert_eq!(code, Some(0), "warnings do not fail: {report}");
    assert_eq!(level(&report, "fetch refspecs"), "warn");
    assert_eq!(level(&report, "notes display"), "warn");
    assert_eq!(level(&report, "actors"), "warn");
    assert!(detail(&report, "actors").contains("the hook checks no identity"));
    assert_eq!(level(&report, "server hook"), "warn");
    assert!(detail(&report, "server hook").contains("has no pre-receive hook"));
    let rows = report["rows"].as_array().expect("rows");
    let hook = rows
        .iter()
        .find(|r| r["check"] == "server hook")
        .expect("row");
    assert!(
        hook["fix"]
            .as_str()
            .expect("fix")
            .contains("git deploybot hook install")
    );
}

#[test]
fn a_bad_policy_and_an_unreachable_remote_fail() {
    let w = World::with_policy("[queue]\ncolour = \"blue\"\n");
    let dev = w.clone_as("dev");
    let (code, report) = doctor(&dev);
    assert_eq!(code, Some(1));
    assert_eq!(report["ok"], false);
    assert_eq!(level(&report, "policy"), "fail");
    assert!(
        detail(&report, "policy").contains("unknown key `queue.colour`"),
        "{report}"
    );
    dev.git(&["remote", "set-url", "origin", "/nonexistent/server.git"]);
    let (code, report) = doctor(&dev);
    assert_eq!(code, Some(1));
    assert_eq!(level(&report, "remote"), "fail");
    assert!(detail(&report, "remote").contains("cannot fetch from remote `origin`"));
}

#[test]
fn a_malformed_ledger_commit_is_found_by_the_full_refold() {
    let w = World::new();
    let dev = w.clone_as("dev");
    dev.ok(&["pause", "--reason", "maintenance"]);
    // A foreign writer appends a commit whose record is not a record (no hook on this server).
    let tip = w.server_ref("refs/deploybot/control").expect("tip");
    let junk = dev.raw_commit(&[("record.json", "{\"schema\": \"one\"}")], &[&tip], "junk");
    dev.git(&[
        "push",
        "-q",
        "origin",
        &format!("{junk}:refs/deploybot/control"),
    ]);
    let (code, report) = doctor(&dev);
    assert_eq!(code, Some(0), "{report}");
    assert_eq!(level(&report, "control ledger"), "warn");
    assert!(
        detail(&report, "control ledger").contains("1 ignored as malformed"),
        "{report}"
    );
    assert_eq!(level(&report, "queue ledger"), "ok");
}

#[test]
fn the_text_rendering_shows_each_row_and_its_fix() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let out = dev.ok(&["doctor"]);
    assert!(out.lines().any(|l| l.starts_with("ok    remote")), "{out}");
    assert!(
        out.lines().any(|l| l.starts_with("warn  fetch refspecs")),
        "{out}"
    );
    assert!(out.contains("fix: run `git deploybot init`"), "{out}");
}

/// Issue 12, item 12: advice the server accepts, and what tested landing needs.
#[test]
fn doctor_gives_advice_that_works_and_checks_tested_landing() {
    let w = World::with_policy("[queue]\nlanding = \"tested\"\n");
    let dev = w.clone_as("dev");
    std::fs::write(dev.path.join(".deploybot.toml"), "[queue]\ncolour = 1\n").expect("write");
    let (_, report) = doctor(&dev);
    let rows = report["rows"].as_array().expect("rows");
    let tree = rows
        .iter()
        .find(|r| r["check"] == "policy (working tree)")
        .expect("row");
    let fix = tree["fix"].as_str().expect("fix");
    assert!(
        fix.contains("fix that first") && !fix.contains("commit it"),
        "{fix}"
    );
    assert_eq!(level(&report, "landing"), "warn", "{report}");
    assert!(detail(&report, "landing").contains("does not prove it"));
    let w = World::with_policy("[hook]\nrequire_tested_base = true\n");
    let dev = w.clone_as("dev");
    let (code, report) = doctor(&dev);
    assert_eq!(code, Some(1), "{report}");
    assert!(detail(&report, "landing").contains("refuses every merge"));
}
