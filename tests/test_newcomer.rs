//! Daily use, second round (issue 23): what a new team tripped over, each
//! through the real binary against a real bare server.

mod common;
use common::{Clone, World};
use serde_json::Value;
use std::process::Output;

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The server's CI note on `sha` ("" when none).
fn ci_note(w: &World, sha: &str) -> String {
    let out = common::git_output(
        &w.server,
        &w.home(),
        &["notes", "--ref=deploybot/ci", "show", sha],
    );
    stdout(&out)
}

fn ci_report(c: &Clone, sha: &str) -> Output {
    c.run(&[
        "ci", "report", "--sha", sha, "--check", "CI", "--status", "success",
    ])
}

/// Item 5: `--sha` takes any revision git takes, resolves it to one full sha
/// and says which.
#[test]
fn sha_flags_take_revisions_like_git_and_say_which_commit_they_named() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let first = dev.git(&["rev-parse", "HEAD"]);
    let second = dev.commit_file("b.txt", "b\n", "second");
    dev.git(&["push", "-q", "origin", "main"]);
    dev.git(&["tag", "v1", &first]);
    for (rev, sha) in [
        ("HEAD", &second),
        ("main~1", &first),
        ("v1", &first),
        ("origin/main", &second),
    ] {
        let out = ci_report(&dev, rev);
        assert!(out.status.success(), "{rev}: {}", stderr(&out));
        assert!(
            stderr(&out).contains(&format!("--sha `{rev}` is commit {sha}")),
            "{rev}: {}",
            stderr(&out)
        );
        assert!(ci_note(&w, sha).contains("\"success\""), "{rev}");
    }
    // A full sha is taken as it is, silently.
    let out = ci_report(&dev, &second);
    assert!(out.status.success() && !stderr(&out).contains("is commit"));
    // Nothing git can resolve, and nothing that cannot be a revision.
    let out = ci_report(&dev, "no-such-branch");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("`no-such-branch` names no commit in this repository"),
        "{}",
        stderr(&out)
    );
    let out = dev.run(&["pause", "--reason", "x", "--sha", "--all"]);
    assert_eq!(out.status.code(), Some(2));
    // pause takes revisions too, bound to the commit they name.
    let out = dev.run(&["pause", "--reason", "x", "--sha", "HEAD", "--json"]);
    assert!(out.status.success(), "{}", stderr(&out));
    let paused: Value = serde_json::from_str(&stdout(&out)).expect("json");
    assert_eq!(paused["main_sha"], second.as_str(), "{paused}");
}

/// Item 4: a check the policy does not name is refused (which it names, a
/// case hint, `--force` for a deliberate extra); `--check` defaults when
/// the policy names exactly one.
#[test]
fn check_names_are_the_policys_and_default_when_it_names_one() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let head = dev.git(&["rev-parse", "HEAD"]);
    let out = dev.run(&[
        "ci", "report", "--sha", &head, "--check", "ci", "--status", "success",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("check `ci` is not one the policy names (it names `CI`)")
            && err.contains("did you mean `CI`?")
            && err.contains("--force"),
        "{err}"
    );
    assert_eq!(ci_note(&w, &head), "", "nothing recorded");
    let out = dev.run(&["ci", "run", "--check", "ci", "--", "true"]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("check `ci` is not one"));
    // --force records a deliberate extra.
    let out = dev.run(&[
        "ci", "report", "--sha", &head, "--check", "ci", "--status", "success", "--force",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(ci_note(&w, &head).contains("\"check\":\"ci\""));
    // No --check: the one the policy names.
    let out = dev.run(&["ci", "report", "--sha", &head, "--status", "success"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(ci_note(&w, &head).contains("\"check\":\"CI\""));
    let out = dev.run(&["deploy", "report", "--sha", &head, "--status", "success"]);
    assert!(out.status.success(), "{}", stderr(&out));
    // A policy naming two: --check is needed, and the message names both.
    let two = World::with_policy("[pipeline]\nci_checks = [\"CI\", \"lint\"]\n");
    let dev = two.clone_as("dev");
    let head = dev.git(&["rev-parse", "HEAD"]);
    let out = dev.run(&["ci", "report", "--sha", &head, "--status", "success"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("--check is needed: the policy names `CI`, `lint`"),
        "{}",
        stderr(&out)
    );
    let out = dev.run(&[
        "ci", "report", "--sha", &head, "--check", "lint", "--status", "success",
    ]);
    assert!(out.status.success(), "{}", stderr(&out));
}

/// The doctor row named `check`, from `doctor --json` run with `env`.
fn doctor_row(c: &Clone, args: &[&str], env: &[(&str, &str)], check: &str) -> Value {
    let mut all = vec!["doctor", "--json"];
    all.extend_from_slice(args);
    let mut cmd = c.deploybot(&all);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("runs");
    let report: Value = serde_json::from_str(&stdout(&out)).expect("doctor --json");
    report["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .find(|r| r["check"] == check)
        .cloned()
        .unwrap_or_else(|| panic!("no `{check}` row: {report}"))
}

/// Item 1: usage errors point at `-h` and `help <command>`, which work
/// without man pages; doctor says when the man pages are missing and how to
/// install them, and sees them once installed.
#[test]
fn help_that_works_without_man_pages_and_doctor_on_the_manual() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let out = dev.run(&["pause", "--reason", "x", "--bogus"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("(see `git deploybot pause -h`)"),
        "{}",
        stderr(&out)
    );
    let out = dev.run(&["help", "ci", "report"]);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(stdout(&out).contains("Usage: git deploybot ci report"));
    let man = w.dir.path().join("man");
    let manpath = man.to_str().expect("utf-8");
    std::fs::create_dir_all(man.join("man1")).expect("man dir");
    let row = doctor_row(&dev, &[], &[("MANPATH", manpath)], "manual");
    assert_eq!(row["level"], "warn", "{row}");
    assert!(
        row["fix"]
            .as_str()
            .unwrap_or_default()
            .contains("git deploybot man --install"),
        "{row}"
    );
    dev.ok(&["man", "--dir", man.join("man1").to_str().expect("utf-8")]);
    let row = doctor_row(&dev, &[], &[("MANPATH", manpath)], "manual");
    assert_eq!(row["level"], "ok", "{row}");
}

/// Item 3: doctor shows who the clone writes as and its roles, warns when
/// the policy gives it none, and tells a checkout that is behind the base
/// branch from one whose policy file was edited.
#[test]
fn doctor_shows_the_writer_and_tells_behind_from_edited() {
    let policy = "[queue]\ntrusted_actors = [\"alice\"]\ncoordinator_actors = [\"coord\"]\nci_runners = [\"runner\"]\n";
    let w = World::with_policy(policy);
    let bob = w.clone_as("bob");
    let row = doctor_row(&bob, &[], &[], "writer");
    assert_eq!(row["level"], "warn", "{row}");
    let detail = row["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("`bob@example.com`") && detail.contains("no role"),
        "{row}"
    );
    assert!(
        row["fix"].as_str().unwrap_or_default().contains("alice"),
        "{row}"
    );
    let row = doctor_row(&bob, &["--actor", "alice"], &[], "writer");
    assert_eq!(row["level"], "ok", "{row}");
    assert!(
        row["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("trusted"),
        "{row}"
    );

    // Behind: main's policy moved on; bob's checkout still has the old one.
    let other = w.clone_as("other");
    other.commit_file(
        ".deploybot.toml",
        &format!("{policy}max_batch_size = 2\n"),
        "policy: batch 2",
    );
    other.git(&["push", "-q", "origin", "main"]);
    let row = doctor_row(&bob, &[], &[], "policy (working tree)");
    assert!(
        row["detail"]
            .as_str()
            .unwrap_or_default()
            .contains("behind main"),
        "{row}"
    );
    assert!(
        row["fix"].as_str().unwrap_or_default().contains("git pull"),
        "{row}"
    );
    // Edited: a change of its own is not "behind".
    std::fs::write(
        bob.path.join(".deploybot.toml"),
        format!("{policy}max_batch_size = 5\n"),
    )
    .expect("edit");
    let row = doctor_row(&bob, &[], &[], "policy (working tree)");
    let detail = row["detail"].as_str().unwrap_or_default();
    assert!(
        detail.contains("differs") && !detail.contains("behind"),
        "{row}"
    );
}

/// Item 2: the documented receipt commands work where the docs say to run
/// them (a clone after `init`), run here exactly as printed.
#[test]
fn the_documented_receipt_commands_work_in_a_clone() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/reference.md"))
        .expect("docs/reference.md");
    let commands = [
        "git fetch origin",
        "git log -1 <head>    # the receipt among the commit's notes",
        "git fetch origin refs/notes/deploybot/receipts:refs/notes/deploybot/receipts",
        "git notes --ref=deploybot/receipts show <head>    # the receipt line alone",
    ];
    for command in commands {
        assert!(readme.contains(command), "README shows `{command}`");
    }
    let (w, dev, coord) = common::guarded_team(common::FAST_POLICY);
    let head = dev.push_green_request("feature/r", "r.txt");
    let r = coord.react();
    let main = r["new_base_sha"].as_str().expect("merged").to_string();
    dev.report_ci(&main, "success");
    dev.ok(&[
        "deploy", "report", "--sha", &main, "--check", "Deploy", "--status", "success",
    ]);
    dev.ok(&["follow", "--timeout", "20", "--poll", "1", "--json"]);
    // A newcomer's clone: init, then the README's commands.
    let reader = w.clone_as("reader");
    reader.ok(&["init"]);
    let mut outputs = Vec::new();
    for command in commands {
        let line = command.split('#').next().unwrap_or_default().trim();
        let args: Vec<String> = line
            .split_whitespace()
            .skip(1)
            .map(|a| a.replace("<head>", &head))
            .collect();
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = reader.try_git(&args);
        assert!(
            out.status.success(),
            "`{line}`: {}\nreader refs: {}\nserver refs: {}",
            stderr(&out),
            reader.git(&["for-each-ref", "--format=%(refname)"]),
            w.server_refs()
        );
        outputs.push(stdout(&out));
    }
    assert!(
        outputs[1].contains("Notes (deploybot-sync/origin/notes/deploybot/receipts)")
            && outputs[1].contains(&main),
        "{}",
        outputs[1]
    );
    let receipt: Value = serde_json::from_str(outputs[3].trim()).expect("the receipt line");
    assert_eq!(receipt["head_sha"], head.as_str());
    assert_eq!(receipt["verified_sha"], main.as_str());
    // Item 6: one verified main reads in the singular.
    let stats = reader.ok(&["stats"]);
    assert!(
        stats.contains("1 verified main a day") && !stats.contains("/day"),
        "{stats}"
    );
}

/// Item 6: the small things, each said once and rightly.
#[test]
fn small_things_a_newcomer_meets() {
    let w = World::new();
    let dev = w.clone_as("dev");
    // A command without `--`: told where it goes.
    let out = dev.run(&["ci", "run", "--check", "CI", "./ci.sh"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("the command to run goes after `--`: … -- ./ci.sh"),
        "{}",
        stderr(&out)
    );
    // A remote-tracking name: told the branch's own name.
    dev.push_branch("feature/d", "d.txt", "d\n");
    dev.git(&["fetch", "-q", "origin"]);
    let out = dev.run(&["request", "origin/feature/d"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains(
            "`origin/feature/d` is the remote-tracking name of branch `feature/d`; request the branch: git deploybot request feature/d"
        ),
        "{}",
        stderr(&out)
    );
    // `man --dir` into a folder not named man1: a hint that works.
    let pages = w.dir.path().join("pages");
    let said = dev.ok(&["man", "--dir", pages.to_str().expect("utf-8")]);
    let page = pages.join("git-deploybot.1");
    assert!(
        said.contains(&format!("try: man {}", page.display())) && page.is_file(),
        "{said}"
    );
    let man1 = w.dir.path().join("share/man/man1");
    let said = dev.ok(&["man", "--dir", man1.to_str().expect("utf-8")]);
    assert!(
        said.contains(&format!(
            "try: man -M {} git-deploybot",
            w.dir.path().join("share/man").display()
        )),
        "{said}"
    );
    // A failed `ci run` says its result once.
    let out = dev.run(&["ci", "run", "--check", "CI", "--", "false"]);
    assert_eq!(out.status.code(), Some(6), "{}", stderr(&out));
    let all = format!("{}{}", stdout(&out), stderr(&out));
    let said: Vec<&str> = all.lines().filter(|l| l.contains("(recorded)")).collect();
    assert_eq!(said.len(), 1, "{all}");
    assert!(
        !stdout(&out).contains("failure"),
        "not printed again on stdout: {all}"
    );
    // The unpause line names the sha once.
    let paused: Value =
        serde_json::from_str(&dev.ok(&["pause", "--reason", "hold", "--json"])).expect("json");
    let (id, sha) = (
        paused["control_id"].as_str().expect("id").to_string(),
        paused["main_sha"].as_str().expect("sha").to_string(),
    );
    let said = dev.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let line = said.lines().next().unwrap_or_default();
    assert!(
        line.contains(&format!("on {} (paused for: hold)", &sha[..12])),
        "{line}"
    );
    // --offline in a clone says it is not reading the remote's state.
    let fresh = w.clone_as("fresh");
    let out = fresh.run(&["--offline", "status"]);
    assert!(out.status.success());
    assert!(
        stderr(&out).contains("--offline reads this clone's own refs/deploybot/*, not `origin`'s")
            && stderr(&out).contains("status --cached"),
        "{}",
        stderr(&out)
    );
    // The install docs say bash completion needs the bash-completion package.
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/install.md"))
        .expect("docs/install.md");
    assert!(
        readme.contains("apt install\nbash-completion")
            || readme.contains("apt install bash-completion")
    );
}

/// Item 7: README's five-minute walkthrough, run exactly as written (HOME
/// is the test world's, `git-deploybot` on PATH as after `cargo install`),
/// ends with `feature/hello` merged into `main` and `main` tested, by the
/// coordinator and the runner it started; then they are stopped.
#[test]
fn the_readmes_walkthrough_runs_as_written() {
    use std::os::unix::process::CommandExt;
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).expect("README");
    let section = readme
        .split("\n## ")
        .find(|s| s.starts_with("A real setup in five minutes"))
        .expect("the walkthrough section");
    let block = section
        .split("```sh\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .expect("a sh block");
    assert!(
        readme.find("## A real setup").expect("section") < 150 * 80,
        "the walkthrough comes early"
    );
    let before_request = readme
        .lines()
        .position(|l| l.contains("deploybot request feature/hello"))
        .expect("the request line");
    assert!(
        before_request < 150,
        "a newcomer reads {before_request} lines before the request"
    );
    let home = tempfile::tempdir().expect("home");
    let bin = assert_cmd::cargo::cargo_bin!("git-deploybot");
    let path = format!(
        "{}:{}",
        bin.parent().expect("bin dir").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut shell = std::process::Command::new("bash");
    shell
        .args(["-e", "-c", block])
        .current_dir(home.path())
        .env("HOME", home.path())
        .env("PATH", path)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Newcomer")
        .env("GIT_AUTHOR_EMAIL", "newcomer@example.com")
        .env("GIT_COMMITTER_NAME", "Newcomer")
        .env("GIT_COMMITTER_EMAIL", "newcomer@example.com")
        .process_group(0);
    shell
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = shell.spawn().expect("bash runs");
    // The block's background jobs stay in bash's process group: stop the
    // group, however the test ends.
    struct Stop(i32);
    impl Drop for Stop {
        fn drop(&mut self) {
            unsafe { libc::kill(-self.0, libc::SIGTERM) };
        }
    }
    let _stop = Stop(child.id() as i32);
    let out = child.wait_with_output().expect("bash ends");
    let group = out.status.code();
    let try_dir = home.path().join("deploybot-try");
    let server = try_dir.join("project.git");
    let server_git = |args: &[&str]| {
        let out = common::git_output(&server, home.path(), args);
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(group, Some(0), "{}{}", stdout(&out), stderr(&out));
    let landed = (0..600).any(|_| {
        let files = server_git(&["ls-tree", "--name-only", "refs/heads/main"]);
        let main = server_git(&["rev-parse", "refs/heads/main"]);
        let note = server_git(&["notes", "--ref=deploybot/ci", "show", &main]);
        if files.lines().any(|f| f == "hello.txt") && note.contains("\"success\"") {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        false
    });
    let log = |name: &str| std::fs::read_to_string(try_dir.join(name)).unwrap_or_default();
    assert!(
        landed,
        "feature/hello merged and main tested\ncoordinate.log:\n{}\nrunner.log:\n{}",
        log("coordinate.log"),
        log("runner.log")
    );
}
