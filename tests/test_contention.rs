//! Contention is not failure: commands sharing one clone race for the local
//! mirror's ref locks, and a pause can land while a merge push is in flight
//! under the server hook; both are retried, while a server that cannot be
//! written stays a real failure (exit 1).

mod common;
use common::{FAST_POLICY, World, wait_ok};
use std::os::unix::fs::PermissionsExt;

/// Makes every local update of a mirror ref in `clone` hold its lock for half
/// a second (the hook runs with the locks held), so concurrent fetches collide.
fn slow_mirror_locks(clone: &common::Clone) {
    let hook = clone.path.join(".git/hooks/reference-transaction");
    std::fs::write(
        &hook,
        "#!/bin/sh\n[ \"$1\" = prepared ] || { cat >/dev/null; exit 0; }\nif grep -q refs/deploybot-sync/; then sleep 0.5; fi\nexit 0\n",
    )
    .expect("hook");
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

#[test]
fn commands_sharing_one_clone_retry_mirror_lock_races() {
    let w = World::new();
    let shared = w.clone_as("shared");
    let other = w.clone_as("other");
    let main = shared.remote_main();
    slow_mirror_locks(&shared);
    // Rounds of: the server moves (so every fetch has a mirror ref to update),
    // then several commands start at once in the one clone.
    for round in 0..2 {
        other.ok(&[
            "ci",
            "report",
            "--sha",
            &main,
            "--check",
            &format!("other{round}"),
            "--status",
            "success",
            "--force",
        ]);
        let children: Vec<_> = (0..4)
            .map(|i| {
                if i % 2 == 0 {
                    shared.spawn(&["status", "--json"])
                } else {
                    let check = format!("job{round}-{i}");
                    shared.spawn(&[
                        "ci", "report", "--sha", &main, "--check", &check, "--status", "success",
                        "--force",
                    ])
                }
            })
            .collect();
        for child in children {
            wait_ok(child);
        }
    }
    let note = w.server_git(&["notes", "--ref=deploybot/ci", "show", &main]);
    for check in ["job0-1", "job0-3", "job1-1", "job1-3"] {
        assert!(
            note.contains(&format!("\"check\":\"{check}\"")),
            "{check}: {note}"
        );
    }
}

#[test]
fn a_pause_crossing_a_merge_push_under_the_hook_is_retried_and_reports_paused() {
    let w = World::with_policy(FAST_POLICY);
    w.install_deploybot_hooks();
    let dev = w.clone_as("dev");
    let ops = w.clone_as("ops");
    dev.push_green_request("feature/y", "y.txt");
    ops.ok(&["pause", "--reason", "earlier hold"]);
    let (id, sha) = ops.pause_ids();
    ops.ok(&["unpause", "--sha", &sha, "--control-id", &id, "--no-wake"]);
    let coord = w.clone_as("coord");
    coord.status();
    // The real deploybot pre-receive passes the merge; right after it, before
    // main's ref transaction, an operator's pause lands. The hook's
    // reference-transaction re-check then refuses the crossing.
    let hooks = w.server.join("hooks");
    std::fs::rename(
        hooks.join("pre-receive"),
        hooks.join("deploybot-pre-receive"),
    )
    .expect("mv");
    let bin = assert_cmd::cargo::cargo_bin!("git-deploybot");
    let mark = w.dir.path().join("crossed-once");
    w.install_server_hook(
        "pre-receive",
        &format!(
            "#!/bin/sh\ninput=$(cat)\nprintf '%s\\n' \"$input\" | {guard} || exit 1\nprintf '%s\\n' \"$input\" | grep -q ' refs/heads/main$' || exit 0\n[ -e {mark} ] && exit 0\ntouch {mark}\nenv -u GIT_DIR -u GIT_QUARANTINE_PATH -u GIT_OBJECT_DIRECTORY -u GIT_ALTERNATE_OBJECT_DIRECTORIES {bin} -C {ops} pause --reason 'operator stop' >&2\nexit 0\n",
            guard = hooks.join("deploybot-pre-receive").display(),
            mark = mark.display(),
            bin = bin.display(),
            ops = ops.path.display()
        ),
    );
    let before = w.server_ref("refs/heads/main");
    let r = coord.react();
    assert!(mark.exists(), "the crossing was staged");
    assert_eq!(ops.control("reason"), "operator stop", "the pause landed");
    assert_eq!(r["state"], "paused", "the retried pass saw the pause: {r}");
    assert_eq!(w.server_ref("refs/heads/main"), before, "main did not move");
    assert_eq!(
        coord.status()["queue"][0]["branch"],
        "feature/y",
        "still queued"
    );
}

#[test]
fn a_server_that_refuses_writes_is_an_io_failure_not_a_refusal() {
    let w = World::new();
    let dev = w.clone_as("dev");
    // The same server through a read-only door: git daemon without receive-pack.
    let daemon = ReadOnlyDaemon::start(&w);
    let url = format!("git://127.0.0.1:{}/server.git", daemon.port);
    dev.git(&["remote", "set-url", "origin", &url]);
    dev.ok(&["status"]);
    let out = dev.run(&["pause", "--reason", "hold"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.starts_with("error: cannot push to remote `origin`"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

/// `git daemon` serving the world read-only (no receive-pack), killed on drop.
struct ReadOnlyDaemon {
    child: std::process::Child,
    port: u16,
}

impl ReadOnlyDaemon {
    fn start(w: &World) -> ReadOnlyDaemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        use std::os::unix::process::CommandExt;
        let child = std::process::Command::new("git")
            .current_dir(w.dir.path())
            .args([
                "daemon",
                "--reuseaddr",
                "--export-all",
                "--listen=127.0.0.1",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", w.dir.path().display()))
            .arg(w.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0)
            .spawn()
            .expect("git daemon");
        let daemon = ReadOnlyDaemon { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return daemon;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("git daemon did not listen on {port}");
    }
}

impl Drop for ReadOnlyDaemon {
    fn drop(&mut self) {
        // `git daemon` runs `git-daemon` as a child: signal the whole group.
        // SAFETY: kill has no memory preconditions; the group is the daemon's own.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}
