//! A small world for end-to-end tests: a real bare server and real clones,
//! driven through the real binary with a pinned environment.
#![allow(dead_code)]

use assert_cmd::Command;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Output;
use tempfile::TempDir;

/// A throwaway universe: `server.git` plus named clones.
pub struct World {
    pub dir: TempDir,
    pub server: PathBuf,
}

/// A clone of the server (or a standalone repository).
pub struct Clone {
    pub path: PathBuf,
    home: PathBuf,
}

fn pinned(cmd: &mut std::process::Command, home: &Path) {
    cmd.env("HOME", home)
        .env("XDG_CONFIG_HOME", home.join(".config"))
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_AUTHOR_NAME", "Test Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Test Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    // The pusher's identity is the server's: no test inherits one by accident
    // (a test that plays the server over file:// sets it explicitly).
    for var in ["GL_USER", "GITEA_PUSHER_NAME", "GL_USERNAME", "REMOTE_USER"] {
        cmd.env_remove(var);
    }
}

/// Writes an ed25519 key pair (no passphrase) at `path` and `path.pub` with
/// OpenSSH's ssh-keygen; returns the public key line.
pub fn ssh_keypair(path: &Path, comment: &str) -> String {
    std::fs::create_dir_all(path.parent().expect("key dir")).expect("key dir");
    let out = std::process::Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .output()
        .expect("ssh-keygen runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(path.with_extension("pub"))
        .expect("public key")
        .trim()
        .to_string()
}

/// Runs git in `dir` and returns trimmed stdout; panics with stderr on failure.
pub fn git_in(dir: &Path, home: &Path, args: &[&str]) -> String {
    let out = git_output(dir, home, args);
    assert!(
        out.status.success(),
        "git {args:?} in {} failed: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs git in `dir` and returns its output whatever the status.
pub fn git_output(dir: &Path, home: &Path, args: &[&str]) -> Output {
    let mut cmd = std::process::Command::new("git");
    cmd.current_dir(dir).args(args);
    pinned(&mut cmd, home);
    cmd.output().expect("git runs")
}

impl World {
    /// A bare server whose `main` has one commit.
    pub fn new() -> World {
        let dir = tempfile::tempdir().expect("tempdir");
        let home = dir.path().join("home");
        std::fs::create_dir_all(&home).expect("home");
        let server = dir.path().join("server.git");
        git_in(
            dir.path(),
            &home,
            &["init", "-q", "--bare", "-b", "main", "server.git"],
        );
        let world = World { dir, server };
        let seed = world.clone_as("seed");
        seed.commit_file("README.md", "hello\n", "initial commit");
        seed.git(&["push", "-q", "origin", "main"]);
        world
    }

    /// The shared HOME of every process in this world.
    pub fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// A new clone called `name`, with its own identity.
    pub fn clone_as(&self, name: &str) -> Clone {
        let home = self.home();
        git_in(self.dir.path(), &home, &["clone", "-q", "server.git", name]);
        Clone::identified(self.dir.path().join(name), home, name)
    }

    /// A standalone repository with no remote (the embedded default).
    pub fn standalone(&self, name: &str) -> Clone {
        let home = self.home();
        git_in(self.dir.path(), &home, &["init", "-q", "-b", "main", name]);
        let c = Clone::identified(self.dir.path().join(name), home, name);
        c.commit_file("README.md", "hello\n", "initial commit");
        c
    }

    /// git in the server repository.
    pub fn server_git(&self, args: &[&str]) -> String {
        git_in(&self.server, &self.home(), args)
    }

    /// git in the server repository with `input` on stdin; returns trimmed stdout.
    pub fn server_git_stdin(&self, args: &[&str], input: &str) -> String {
        let probe = Clone {
            path: self.server.clone(),
            home: self.home(),
        };
        probe.git_stdin(args, input)
    }

    /// Every ref on the server with its value: compare before and after to prove nothing moved.
    pub fn server_refs(&self) -> String {
        self.server_git(&["for-each-ref", "--format=%(refname) %(objectname)"])
    }

    /// How many commits a ref has on the server (0 when absent).
    pub fn server_count(&self, full_ref: &str) -> usize {
        let out = git_output(
            &self.server,
            &self.home(),
            &["rev-list", "--count", full_ref],
        );
        if !out.status.success() {
            return 0;
        }
        String::from_utf8_lossy(&out.stdout)
            .trim()
            .parse()
            .expect("a count")
    }

    /// The server's value of a ref (None when absent).
    pub fn server_ref(&self, full_ref: &str) -> Option<String> {
        let out = git_output(
            &self.server,
            &self.home(),
            &["rev-parse", "--verify", "-q", full_ref],
        );
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Installs an executable hook script in the server.
    pub fn install_server_hook(&self, name: &str, script: &str) {
        let path = self.server.join("hooks").join(name);
        std::fs::write(&path, script).expect("write hook");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
}

impl Clone {
    /// The repository at `path`, configured to commit as `name`.
    fn identified(path: PathBuf, home: PathBuf, name: &str) -> Clone {
        git_in(&path, &home, &["config", "user.name", name]);
        let email = format!("{name}@example.com");
        git_in(&path, &home, &["config", "user.email", &email]);
        Clone { path, home }
    }

    /// A clone of `url` (any transport) at `path`, on `main`, committing and
    /// writing records as `name` (`deploybot.actor`), with `config` set at
    /// clone time (e.g. `core.sshCommand`).
    pub fn from_url(
        url: &str,
        path: PathBuf,
        home: PathBuf,
        name: &str,
        config: &[(&str, &str)],
    ) -> Clone {
        let settings: Vec<String> = config.iter().map(|(k, v)| format!("{k}={v}")).collect();
        let mut args = vec!["clone", "-q", "-b", "main"];
        for setting in &settings {
            args.extend(["-c", setting.as_str()]);
        }
        let target = path.to_str().expect("a UTF-8 path");
        args.extend([url, target]);
        let parent = path.parent().expect("a parent directory");
        std::fs::create_dir_all(parent).expect("clone parent");
        git_in(parent, &home, &args);
        let c = Clone::identified(path, home, name);
        c.git(&["config", "deploybot.actor", name]);
        c
    }

    /// The binary as a plain process (for spawning several at once).
    pub fn std_command(&self, args: &[&str]) -> std::process::Command {
        self.command_of(assert_cmd::cargo::cargo_bin!("git-deploybot"), args)
    }

    /// Another build of git-deploybot (an older release) run in this clone
    /// with the pinned environment.
    pub fn command_of(&self, binary: &Path, args: &[&str]) -> std::process::Command {
        let mut cmd = std::process::Command::new(binary);
        cmd.current_dir(&self.path).args(args);
        pinned(&mut cmd, &self.home);
        cmd
    }

    /// The binary, run in this clone with the pinned environment.
    pub fn deploybot(&self, args: &[&str]) -> Command {
        Command::from_std(self.std_command(args))
    }

    /// Runs the binary and returns its raw output.
    pub fn run(&self, args: &[&str]) -> Output {
        self.deploybot(args).output().expect("binary runs")
    }

    /// Runs the binary, asserting success, returning stdout.
    pub fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.status.success(),
            "deploybot {args:?} failed ({:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// The binary in this clone as `user`: records name them (`--actor`)
    /// and the server's hook knows them (`GL_USER`, as gitolite says).
    pub fn run_as(&self, user: &str, args: &[&str]) -> Output {
        let mut all = vec!["--actor", user];
        all.extend_from_slice(args);
        self.deploybot(&all)
            .env("GL_USER", user)
            .output()
            .expect("binary runs")
    }

    /// [`Clone::run_as`], asserting success, returning stdout.
    pub fn ok_as(&self, user: &str, args: &[&str]) -> String {
        let out = self.run_as(user, args);
        assert!(
            out.status.success(),
            "deploybot {args:?} as {user} failed ({:?}): {}{}",
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `status --json` parsed.
    pub fn status(&self) -> Value {
        let text = self.ok(&["status", "--json"]);
        serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("status --json is JSON ({e}): {text}"))
    }

    /// The folded control state's field `name` as a string ("" when null).
    pub fn control(&self, name: &str) -> String {
        self.status()["control"][name]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    /// git in this clone.
    pub fn git(&self, args: &[&str]) -> String {
        git_in(&self.path, &self.home, args)
    }

    /// git in this clone, whatever its status.
    pub fn try_git(&self, args: &[&str]) -> Output {
        git_output(&self.path, &self.home, args)
    }

    /// Writes a file, commits it, returns the new sha.
    pub fn commit_file(&self, file: &str, content: &str, message: &str) -> String {
        let path = self.path.join(file);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("dirs");
        }
        std::fs::write(&path, content).expect("write file");
        self.git(&["add", file]);
        self.git(&["commit", "-q", "-m", message]);
        self.git(&["rev-parse", "HEAD"])
    }

    /// The server's main as this clone sees it after a fetch.
    pub fn remote_main(&self) -> String {
        self.git(&["fetch", "-q", "origin"]);
        self.git(&["rev-parse", "origin/main"])
    }
}

/// A policy for delivery tests: no CI grace, so a failure counts at once.
pub const FAST_POLICY: &str = "[pipeline]\nci_failure_grace_seconds = 0\n";

impl World {
    /// A world whose main carries `policy` as .deploybot.toml.
    pub fn with_policy(policy: &str) -> World {
        let world = World::new();
        let seed = world.clone_as("policy-seed");
        seed.commit_file(".deploybot.toml", policy, "policy");
        seed.git(&["push", "-q", "origin", "main"]);
        world
    }
}

impl Clone {
    /// Creates `branch` from the server's main with one commit touching `file`, pushes it, returns its head.
    pub fn push_branch(&self, branch: &str, file: &str, content: &str) -> String {
        self.git(&["fetch", "-q", "origin"]);
        self.git(&["checkout", "-q", "-B", branch, "origin/main"]);
        let head = self.commit_file(file, content, &format!("work on {branch}"));
        self.git(&[
            "push",
            "-q",
            "-f",
            "origin",
            &format!("HEAD:refs/heads/{branch}"),
        ]);
        head
    }

    /// Reports a CI result on `sha`.
    pub fn report_ci(&self, sha: &str, status: &str) {
        self.ok(&[
            "ci", "report", "--sha", sha, "--check", "CI", "--status", status,
        ]);
    }

    /// Runs react --json and returns it parsed.
    pub fn react(&self) -> Value {
        let text = self.ok(&["react", "--json"]);
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("react --json is JSON ({e}): {text}"))
    }

    /// (control_id, main_sha) of the current pause.
    pub fn pause_ids(&self) -> (String, String) {
        let s = self.status();
        (
            s["control"]["control_id"]
                .as_str()
                .expect("control id")
                .to_string(),
            s["control"]["main_sha"]
                .as_str()
                .expect("main sha")
                .to_string(),
        )
    }
}

// ---- Server hook helpers (tests/test_hook*.rs) ----

/// A `git daemon` serving a world's directory on 127.0.0.1, killed on drop.
pub struct Daemon {
    child: std::process::Child,
    /// The port it listens on.
    pub port: u16,
}

impl Daemon {
    /// The git:// URL of `repo` (a directory name under the world).
    pub fn url(&self, repo: &str) -> String {
        format!("git://127.0.0.1:{}/{repo}", self.port)
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        // `git daemon` runs `git-daemon` as a child process: signal the whole
        // process group, or the listener outlives the test.
        // SAFETY: kill has no memory preconditions; the group is the daemon's own.
        unsafe { libc::kill(-(self.child.id() as i32), libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl World {
    /// Installs git-deploybot's hooks into the server with `hook install`.
    pub fn install_deploybot_hooks(&self) {
        self.install_deploybot_hooks_with(&[]);
    }

    /// `hook install <flags> <server>`.
    pub fn install_deploybot_hooks_with(&self, flags: &[&str]) {
        self.install_hooks_of(assert_cmd::cargo::cargo_bin!("git-deploybot"), flags);
    }

    /// `hook install <flags> <server>` by another build of git-deploybot
    /// (an older release's hook).
    pub fn install_hooks_of(&self, binary: &Path, flags: &[&str]) {
        let mut cmd = std::process::Command::new(binary);
        cmd.current_dir(self.dir.path())
            .arg("hook")
            .arg("install")
            .args(flags)
            .arg(&self.server);
        pinned(&mut cmd, &self.home());
        let out = cmd.output().expect("binary runs");
        assert!(
            out.status.success(),
            "hook install failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Starts `git daemon --enable=receive-pack` on a free port of 127.0.0.1, with `env` set for its hooks.
    pub fn daemon(&self, env: &[(&str, &str)]) -> Daemon {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let mut cmd = std::process::Command::new("git");
        cmd.current_dir(self.dir.path())
            .arg("daemon")
            .args([
                "--reuseaddr",
                "--export-all",
                "--enable=receive-pack",
                "--listen=127.0.0.1",
            ])
            .arg(format!("--port={port}"))
            .arg(format!("--base-path={}", self.dir.path().display()))
            .arg(self.dir.path())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        pinned(&mut cmd, &self.home());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("git daemon starts");
        let daemon = Daemon { child, port };
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return daemon;
            }
            std::thread::sleep(std::time::Duration::from_millis(25));
        }
        panic!("git daemon did not listen on port {port}");
    }
}

impl Clone {
    /// Runs git with extra environment variables and returns its raw output.
    pub fn git_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = std::process::Command::new("git");
        cmd.current_dir(&self.path).args(args);
        pinned(&mut cmd, &self.home);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().expect("git runs")
    }

    /// Runs git with `input` on stdin; returns trimmed stdout, panicking on failure.
    pub fn git_stdin(&self, args: &[&str], input: &str) -> String {
        use std::io::Write;
        let mut cmd = std::process::Command::new("git");
        cmd.current_dir(&self.path)
            .args(args)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        pinned(&mut cmd, &self.home);
        let mut child = cmd.spawn().expect("git runs");
        child
            .stdin
            .take()
            .expect("stdin")
            .write_all(input.as_bytes())
            .expect("write stdin");
        let out = child.wait_with_output().expect("git finishes");
        assert!(
            out.status.success(),
            "git {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Writes a commit whose tree holds `files` (name → text) on `parents`; returns its sha.
    pub fn raw_commit(&self, files: &[(&str, &str)], parents: &[&str], message: &str) -> String {
        let mut listing = String::new();
        for (name, text) in files {
            let blob = self.git_stdin(&["hash-object", "-w", "--stdin"], text);
            listing.push_str(&format!("100644 blob {blob}\t{name}\n"));
        }
        let tree = self.git_stdin(&["mktree"], &listing);
        let mut args = vec!["commit-tree", tree.as_str(), "-m", message];
        for parent in parents {
            args.push("-p");
            args.push(parent);
        }
        self.git(&args)
    }
}

impl World {
    /// Runs `git <args>` in `c` with `env`, asserting the server's hook refused
    /// it with `needle` in its message and that no server ref moved; returns stderr.
    pub fn assert_refused(
        &self,
        c: &Clone,
        args: &[&str],
        env: &[(&str, &str)],
        needle: &str,
    ) -> String {
        let before = self.server_refs();
        let out = c.git_env(args, env);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        assert!(
            !out.status.success(),
            "git {args:?} should be refused: {stderr}"
        );
        assert!(
            stderr.contains("pre-receive hook declined"),
            "the hook declined: {stderr}"
        );
        assert!(stderr.contains(needle), "expected `{needle}` in: {stderr}");
        assert_eq!(
            self.server_refs(),
            before,
            "a refused push changes nothing on the server"
        );
        stderr
    }
}

impl Clone {
    /// Runs `git <args>` with `env`, asserting success.
    pub fn assert_git_ok(&self, args: &[&str], env: &[(&str, &str)]) {
        let out = self.git_env(args, env);
        assert!(
            out.status.success(),
            "git {args:?} should pass: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Clone {
    /// On the claimed lease branch of `failed`: commits a fix, pushes it, reports
    /// CI green and requests it. Returns (branch, fix sha).
    pub fn push_fix_to_repair(&self, failed: &str) -> (String, String) {
        let branch = format!("deploybot/repair/{}", &failed[..12]);
        self.git(&["fetch", "-q", "origin"]);
        self.git(&["checkout", "-q", "-B", &branch, &format!("origin/{branch}")]);
        let fix = self.commit_file("fix.txt", "fixed\n", "fix main");
        self.git(&["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")]);
        self.report_ci(&fix, "success");
        self.ok(&["request", &branch]);
        (branch, fix)
    }
}

/// A server with `policy` on main and the deploybot hooks installed, a
/// developer's clone (`dev`) and a coordinator's (`coord`).
pub fn guarded_team(policy: &str) -> (World, Clone, Clone) {
    let w = World::with_policy(policy);
    w.install_deploybot_hooks();
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    (w, dev, coord)
}

/// A world whose server runs git-deploybot's hooks, and a clone called alice.
pub fn guarded() -> (World, Clone) {
    let w = World::new();
    w.install_deploybot_hooks();
    let alice = w.clone_as("alice");
    (w, alice)
}

/// Asserts the push is refused with `needle` and changes nothing.
pub fn refused(w: &World, c: &Clone, args: &[&str], env: &[(&str, &str)], needle: &str) -> String {
    w.assert_refused(c, args, env, needle)
}

/// Asserts the push lands.
pub fn accepted(c: &Clone, args: &[&str], env: &[(&str, &str)]) {
    c.assert_git_ok(args, env)
}

impl World {
    /// Runs `git <args>` in `c` with the server's pre-receive hook set
    /// aside (as if installed afterwards, or an admin past it), then puts
    /// the hook back.
    pub fn push_past_the_hook(&self, c: &Clone, args: &[&str]) {
        use std::os::unix::fs::PermissionsExt;
        let hook = self.server.join("hooks/pre-receive");
        let saved = std::fs::read(&hook).expect("a pre-receive hook");
        std::fs::remove_file(&hook).expect("set the hook aside");
        c.git(args);
        std::fs::write(&hook, saved).expect("restore the hook");
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }

    /// An older writer, straight into the server: a commit with `tree` appended
    /// to the control ledger (no hook, no tool). Returns the new tip.
    pub fn append_raw_control_tree(&self, tree: &str, message: &str) -> String {
        let tip = self
            .server_ref("refs/deploybot/control")
            .expect("ledger exists");
        let commit = self.server_git(&["commit-tree", tree, "-p", &tip, "-m", message]);
        self.server_git(&["update-ref", "refs/deploybot/control", &commit, &tip]);
        commit
    }

    /// Replays `commit`'s tree (record.json and snapshot, byte for byte) on the control ledger.
    pub fn replay_control_commit(&self, commit: &str, message: &str) -> String {
        let tree = self.server_git(&["rev-parse", &format!("{commit}^{{tree}}")]);
        self.append_raw_control_tree(&tree, message)
    }
}

impl Clone {
    /// Pushes `branch` (one commit touching `file`), reports CI green on its head
    /// and requests it. Returns the head.
    pub fn push_green_request(&self, branch: &str, file: &str) -> String {
        let head = self.push_branch(branch, file, &format!("{branch}\n"));
        self.report_ci(&head, "success");
        self.ok(&["request", branch]);
        head
    }
}

impl Clone {
    /// Starts the binary without waiting (to race several at once); see [`wait_ok`].
    pub fn spawn(&self, args: &[&str]) -> std::process::Child {
        let mut cmd = self.std_command(args);
        cmd.stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped());
        cmd.spawn().expect("spawn")
    }
}

/// Waits for a spawned run, asserts success, returns its stdout.
pub fn wait_ok(child: std::process::Child) -> String {
    let out = child.wait_with_output().expect("wait");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `kill -<name> <pid>`, asserting it was sent.
pub fn signal(pid: u32, name: &str) {
    let ok = std::process::Command::new("kill")
        .args([&format!("-{name}"), &pid.to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill -{name} {pid}");
}

/// How many worktrees `c` has (its own checkout included).
pub fn worktrees(c: &Clone) -> usize {
    c.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter(|l| l.starts_with("worktree "))
        .count()
}

impl World {
    /// The JSON lines of `sha`'s note in `refs/notes/deploybot/<kind>` on the server.
    pub fn note_lines(&self, kind: &str, sha: &str) -> Vec<Value> {
        let out = std::process::Command::new("git")
            .current_dir(&self.server)
            .args(["notes", &format!("--ref=deploybot/{kind}"), "show", sha])
            .output()
            .expect("git runs");
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect()
    }
}
