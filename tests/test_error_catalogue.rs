//! The error catalogue: each bad input with its exact message and exit code,
//! pinned (docs/reference.md "Errors" lists the same). A change of wording or code here
//! is a change of the interface: update docs/reference.md with it.

mod common;
use common::{Clone, World};

/// (exit code, the stderr lines) of a run that must fail.
fn failure(c: &Clone, args: &[&str]) -> (Option<i32>, Vec<String>) {
    let out = c.run(args);
    assert!(!out.status.success(), "{args:?} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines = stderr.lines().map(str::to_string).collect();
    (out.status.code(), lines)
}

/// Asserts a one-line error with exactly `line`.
fn pinned(c: &Clone, args: &[&str], code: i32, line: &str) {
    let (got, lines) = failure(c, args);
    assert_eq!(lines, [line.to_string()], "{args:?}");
    assert_eq!(got, Some(code), "{args:?}: {line}");
}

#[test]
fn not_a_repository() {
    let w = World::new();
    let dir = w.dir.path().join("empty");
    std::fs::create_dir_all(&dir).expect("dir");
    let out = assert_cmd::Command::new(assert_cmd::cargo::cargo_bin!("git-deploybot"))
        .env("GIT_CEILING_DIRECTORIES", w.dir.path())
        .arg("-C")
        .arg(&dir)
        .arg("status")
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).trim_end(),
        format!(
            "error: {} is not inside a git repository; run from a clone or pass -C <path>",
            dir.display()
        )
    );
}

#[test]
fn no_such_remote() {
    let w = World::new();
    let dev = w.clone_as("dev");
    pinned(
        &dev,
        &["--remote", "upstream", "status"],
        2,
        "error: no remote named `upstream`; add it with `git remote add upstream <url>` or pass --offline",
    );
}

#[test]
fn unreachable_remote() {
    let w = World::new();
    let dev = w.clone_as("dev");
    dev.git(&["remote", "set-url", "origin", "/nonexistent/server.git"]);
    pinned(
        &dev,
        &["status"],
        1,
        "error: cannot fetch from remote `origin`: fatal: '/nonexistent/server.git' does not appear to be a git repository; check the remote URL and network, or pass --offline; `git deploybot status --cached` shows the last fetched state",
    );
}

#[test]
fn bad_policy_key() {
    let w = World::with_policy("[queue]\ncolour = \"blue\"\n");
    let dev = w.clone_as("dev");
    pinned(
        &dev,
        &["status"],
        2,
        "error: main:.deploybot.toml: unknown key `queue.colour` at line 2, column 1 (expected one of base_branch, remote, required_checks, merge_method, max_batch_size, landing, speculation_depth, max_parallel_ci, max_retries, trusted_actors, coordinator_actors, ci_runners); fix or remove it",
    );
}

#[test]
fn malformed_sha() {
    let w = World::new();
    let dev = w.clone_as("dev");
    pinned(
        &dev,
        &["pause", "--reason", "x", "--sha", "abc 123"],
        2,
        "error: --sha `abc 123` is not a sha or a revision (empty, spaces, control characters or a leading `-`); give a sha, a branch, a tag or `HEAD`, as to git",
    );
    pinned(
        &dev,
        &["pause", "--reason", "x", "--sha", "0000000dead"],
        2,
        "error: --sha `0000000dead` names no commit in this repository (as a sha, branch, tag or revision like `HEAD~1`); check it, or copy a sha from `git deploybot status`",
    );
}

#[test]
fn ambiguous_sha() {
    let w = World::new();
    let dev = w.clone_as("dev");
    // Two commits whose shas share the 7 hex 8f00065 (fixed bodies, found by search).
    for n in [271, 23204] {
        let body = format!(
            "tree 4b825dc642cb6eb9a060e54bf8d69288fbee4904\nauthor A <a@example.com> 0 +0000\ncommitter A <a@example.com> 0 +0000\n\nambiguous {n}\n"
        );
        dev.git_stdin(&["hash-object", "-t", "commit", "-w", "--stdin"], &body);
    }
    pinned(
        &dev,
        &["pause", "--reason", "x", "--sha", "8f00065"],
        2,
        "error: --sha `8f00065` is ambiguous: several commits start with it; give more hex digits (`git rev-parse --disambiguate=8f00065` lists them)",
    );
}

#[test]
fn missing_directory() {
    let w = World::new();
    let dev = w.clone_as("dev");
    pinned(
        &dev,
        &["-C", "/nonexistent", "status"],
        2,
        "error: -C /nonexistent: the directory does not exist; pass a directory inside a clone",
    );
}

#[test]
fn unknown_branch() {
    let w = World::new();
    let dev = w.clone_as("dev");
    pinned(
        &dev,
        &["request", "feature/nope"],
        2,
        "error: branch `feature/nope` does not exist on the remote; push it first (git push origin feature/nope)",
    );
}

#[test]
fn stale_control_id_and_not_paused() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let main = dev.remote_main();
    pinned(
        &dev,
        &[
            "unpause",
            "--sha",
            &main,
            "--control-id",
            "0123456789abcdef",
        ],
        3,
        "error: the pipeline is not paused; nothing to unpause (refresh with `git deploybot status`)",
    );
    dev.ok(&["pause", "--reason", "maintenance"]);
    let id = dev.control("control_id");
    pinned(
        &dev,
        &[
            "unpause",
            "--sha",
            &main,
            "--control-id",
            "0123456789abcdef",
        ],
        3,
        &format!(
            "error: --control-id 0123456789abcdef is not the current pause ({id}); refresh with `git deploybot status` and retry"
        ),
    );
}

#[test]
fn paused_pipeline_and_healthy_main() {
    let w = World::new();
    let dev = w.clone_as("dev");
    let main = dev.remote_main();
    pinned(
        &dev,
        &["claim-repair", "--owner", "dev"],
        3,
        &format!(
            "error: main {} is testing, not failed; claim-repair is only for a failed main (refresh with `git deploybot status`)",
            &main[..12]
        ),
    );
    dev.ok(&["pause", "--reason", "maintenance"]);
    pinned(
        &dev,
        &["follow", "--timeout", "5", "--json"],
        3,
        "error: the pipeline is paused; see `git deploybot status`, fix and unpause, then follow again",
    );
}

#[test]
fn hook_rejection() {
    let w = World::with_policy("[queue]\ntrusted_actors = [\"alice\"]\n");
    w.install_deploybot_hooks();
    let dev = w.clone_as("dev");
    let (code, lines) = failure(&dev, &["pause", "--reason", "maintenance"]);
    assert_eq!(code, Some(4));
    assert_eq!(
        lines,
        [
            "error: the server refused the push; nothing was written (reasons below)",
            "  deploybot: refs/deploybot/control: the policy names actors but the pusher is unknown (none of GL_USER, GITEA_PUSHER_NAME, GL_USERNAME, REMOTE_USER is set); push through the server's authenticated access (gitolite, Gitea, GitLab, HTTP auth)",
        ]
    );
    assert_eq!(
        w.server_ref("refs/deploybot/control"),
        None,
        "nothing written"
    );
}

#[test]
fn usage_errors() {
    let w = World::new();
    let dev = w.clone_as("dev");
    pinned(
        &dev,
        &["react", "--timeout", "0"],
        2,
        "error: --timeout 0 is out of range; give 1 to 31536000 seconds (one year)",
    );
    pinned(
        &dev,
        &[
            "ci",
            "report",
            "--sha",
            &"a".repeat(40),
            "--check",
            "CI",
            "--status",
            "green",
        ],
        2,
        "error: --status `green` is not one of pending, success, failure, cancelled, skipped",
    );
}

#[test]
fn unknown_flag() {
    let w = World::new();
    let dev = w.clone_as("dev");
    pinned(
        &dev,
        &["pause", "--reason", "x", "--bogus"],
        2,
        "error: unexpected argument '--bogus' found; usage: git deploybot pause --reason <REASON> (see `git deploybot pause -h`)",
    );
}

#[test]
fn misspelt_command_and_flag() {
    let w = World::new();
    let dev = w.clone_as("dev");
    pinned(
        &dev,
        &["staus"],
        2,
        "error: unrecognized subcommand 'staus'; some similar subcommands exist: 'pause', 'stats', 'status'; usage: git deploybot [OPTIONS] <COMMAND> (see `git deploybot -h` or `git deploybot help <command>`)",
    );
    pinned(
        &dev,
        &["unpause", "--sha", "abc1234", "--contol-id", "x"],
        2,
        "error: unexpected argument '--contol-id' found; a similar argument exists: '--control-id'; usage: git deploybot unpause --sha <SHA> --control-id <ID> (see `git deploybot unpause -h`)",
    );
}
