//! `git deploybot init`: the starter policy, fetch refspecs that never clobber
//! local records, notes shown by `git log`, idempotence and --force.

mod common;
use common::World;
use deploybot::core::policy::starter_toml;

const CONTROL_MIRROR: &str = "+refs/deploybot/*:refs/deploybot-sync/origin/deploybot/*";
const NOTES_MIRROR: &str = "+refs/notes/deploybot/*:refs/deploybot-sync/origin/notes/deploybot/*";
const DISPLAY: &str = "refs/deploybot-sync/origin/notes/deploybot/*";

#[test]
fn init_writes_the_starter_and_the_config_once() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let out = dev.ok(&["init"]);
    assert!(out.contains("wrote "), "{out}");
    let written = std::fs::read_to_string(dev.path.join(".deploybot.toml")).expect("written");
    assert_eq!(written, starter_toml());
    let fetch = dev.git(&["config", "--get-all", "remote.origin.fetch"]);
    assert_eq!(
        fetch.lines().collect::<Vec<_>>(),
        [
            "+refs/heads/*:refs/remotes/origin/*",
            CONTROL_MIRROR,
            NOTES_MIRROR
        ],
        "the clone's own refspec stays first and ours are added after it"
    );
    assert_eq!(
        dev.git(&["config", "--get-all", "notes.displayRef"]),
        DISPLAY
    );
    // Again: the policy is kept, the config is not duplicated.
    std::fs::write(
        dev.path.join(".deploybot.toml"),
        "[queue]\nmax_batch_size = 1\n",
    )
    .expect("edit");
    let out = dev.ok(&["init"]);
    assert!(out.contains("kept ") && out.contains("--force"), "{out}");
    assert!(
        out.contains("already set: git config notes.displayRef"),
        "{out}"
    );
    let kept = std::fs::read_to_string(dev.path.join(".deploybot.toml")).expect("kept");
    assert_eq!(
        kept, "[queue]\nmax_batch_size = 1\n",
        "never overwritten without --force"
    );
    assert_eq!(
        dev.git(&["config", "--get-all", "remote.origin.fetch"])
            .lines()
            .count(),
        3
    );
    assert_eq!(
        dev.git(&["config", "--get-all", "notes.displayRef"])
            .lines()
            .count(),
        1
    );
    // --force replaces it with the starter.
    let out = dev.ok(&["init", "--force"]);
    assert!(out.contains("replaced "), "{out}");
    let replaced = std::fs::read_to_string(dev.path.join(".deploybot.toml")).expect("replaced");
    assert_eq!(replaced, starter_toml());
}

#[test]
fn plain_git_fetch_mirrors_state_and_never_clobbers_local_notes() {
    let w = World::new();
    let ops = w.clone_as("ops");
    let runner = w.clone_as("runner");
    ops.ok(&["init"]);
    let main = ops.remote_main();
    // Someone else pauses and reports; plain `git fetch` brings both into the mirror.
    runner.ok(&["pause", "--reason", "maintenance window"]);
    runner.ok(&[
        "ci", "report", "--sha", &main, "--check", "CI", "--status", "success",
    ]);
    // Meanwhile ops has an unpushed local note of its own on the same ref name.
    ops.git(&[
        "notes",
        "--ref=deploybot/ci",
        "add",
        "-m",
        r#"{"check":"local","status":"pending","at":"2026-01-01T00:00:00Z"}"#,
        &main,
    ]);
    let local_before = ops.git(&["rev-parse", "refs/notes/deploybot/ci"]);
    ops.git(&["fetch", "-q"]);
    assert_eq!(
        ops.git(&["rev-parse", "refs/deploybot-sync/origin/deploybot/control"]),
        w.server_ref("refs/deploybot/control")
            .expect("paused on the server")
    );
    assert_eq!(
        ops.git(&["rev-parse", "refs/notes/deploybot/ci"]),
        local_before,
        "the local notes ref is untouched by fetch"
    );
    assert!(
        common::git_output(
            &ops.path,
            &w.home(),
            &["rev-parse", "--verify", "-q", "refs/deploybot/control"]
        )
        .stdout
        .is_empty(),
        "no local ledger ref is created or overwritten"
    );
    // `git log` shows the mirrored result note on main.
    let log = ops.git(&["log", "-1", &main]);
    assert!(
        log.contains("Notes (deploybot-sync/origin/notes/deploybot/ci)")
            && log.contains(r#""status":"success""#),
        "{log}"
    );
}

#[test]
fn init_without_a_remote_shows_local_notes() {
    let w = World::new();
    let solo = w.standalone("solo");
    let out = solo.ok(&["init"]);
    assert!(out.contains("no remote `origin`"), "{out}");
    assert_eq!(
        solo.git(&["config", "--get-all", "notes.displayRef"]),
        "refs/notes/deploybot/*"
    );
    let out = common::git_output(
        &solo.path,
        &w.home(),
        &["config", "--get-all", "remote.origin.fetch"],
    );
    assert!(
        out.stdout.is_empty(),
        "no refspec for a remote that does not exist"
    );
}

#[test]
fn init_refuses_a_bare_repository() {
    let w = World::new();
    let out = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("git-deploybot"))
        .arg("-C")
        .arg(&w.server)
        .arg("init")
        .env("HOME", w.home())
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("is a bare repository; run `git deploybot init` in a clone"),
        "{stderr}"
    );
}
