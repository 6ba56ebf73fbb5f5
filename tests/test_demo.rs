//! `git deploybot demo`: the whole seed story through the real binary, as CI runs it.

use assert_cmd::Command;

fn demo() -> Command {
    let mut cmd = Command::new(assert_cmd::cargo::cargo_bin!("git-deploybot"));
    cmd.arg("demo");
    cmd
}

#[test]
fn the_demo_plays_the_seed_story_and_passes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let world = dir.path().join("world");
    let out = demo().arg("--dir").arg(&world).output().expect("demo runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "demo failed ({:?}):\n{stdout}\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    // The story's beats, in order.
    let beats = [
        "hook install server.git",
        "git deploybot -C seed init",
        "state complete · merged feature/a",
        "paused the pipeline: ci-failed on ",
        "created deploybot/repair/",
        "state paused",
        "merged deploybot/repair/",
        "state.json disagrees with its record",
        "the fold ignores it",
        "follow --timeout 30 --json",
        "reached ",
        "Second act",
        "built ",
        "discarded ",
        "blocked feature/banner: failed CI in candidate ",
        "landed ",
        "demo passed: ",
    ];
    let mut from = 0;
    for beat in beats {
        let at = stdout[from..]
            .find(beat)
            .unwrap_or_else(|| panic!("`{beat}` after byte {from} in:\n{stdout}"));
        from += at + beat.len();
    }
    assert!(!stdout.contains('✗'), "no missed expectation:\n{stdout}");
    assert!(
        !stdout.contains('\x1b'),
        "no colour when stdout is not a terminal"
    );
    // --dir keeps the world: the server's verified watermark is the repaired main.
    let git = |args: &[&str]| {
        let out = std::process::Command::new("git")
            .arg("--git-dir")
            .arg(world.join("server.git"))
            .args(args)
            .output()
            .expect("git");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    // Act one left verified on the repaired main, whose first parent is the
    // failed main with the recovery note; act two landed a candidate on top.
    let main = git(&["rev-parse", "refs/heads/main"]);
    let verified = git(&["rev-parse", "refs/deploybot/verified"]);
    let failed = git(&["rev-parse", &format!("{verified}^1")]);
    let note = git(&["notes", "--ref=deploybot/recovery", "show", &failed]);
    assert!(
        !note.is_empty(),
        "the failed main carries the recovery note"
    );
    let landed_on_top = std::process::Command::new("git")
        .arg("--git-dir")
        .arg(world.join("server.git"))
        .args(["merge-base", "--is-ancestor", &verified, &main])
        .status()
        .expect("git")
        .success();
    assert!(
        landed_on_top && main != verified,
        "the second act landed on top of the repaired main"
    );
}

#[test]
fn the_demo_refuses_a_directory_that_holds_something() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("keep-me"), "x").expect("write");
    let out = demo().arg("--dir").arg(dir.path()).output().expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.trim(),
        format!(
            "error: {} is not empty; give --dir a new or empty directory",
            dir.path().display()
        )
    );
    assert!(dir.path().join("keep-me").exists(), "nothing was touched");
}
