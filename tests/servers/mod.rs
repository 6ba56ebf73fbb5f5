//! Real git servers on loopback for `tests/test_servers.rs`: OpenSSH's sshd
//! with per-key forced commands, gitolite over that sshd, and
//! `git http-backend` behind Apache with basic auth. Each test starts its own
//! daemons by hand (no systemd) in a tempdir, on free ports of 127.0.0.1,
//! and their guards stop them (the whole process group) when dropped, a
//! panic included.
//!
//! The machine must be root (sshd switches to the git user, Apache to
//! `www-data`); [`setup`] installs what is missing.

pub mod gitolite;
pub mod http;
pub mod setup;
pub mod ssh;

pub use setup::{GIT_USER, chmod, chown, prepare, run_as, run_ok};

use crate::common::{Clone, git_in};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A port of 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A daemon in its own process group, stopped (the whole group) on drop.
pub struct Daemon {
    name: &'static str,
    child: Child,
    log: PathBuf,
    kept: bool,
}

impl Daemon {
    /// Spawns `cmd` (output to `log`) and waits until it accepts connections
    /// on 127.0.0.1:`port`; Err with its log when it exits first (a port
    /// taken in between, say) or does not listen within 10 s.
    pub fn start(
        name: &'static str,
        mut cmd: Command,
        port: u16,
        log: &Path,
    ) -> Result<Daemon, String> {
        use std::os::unix::process::CommandExt;
        let out = std::fs::File::create(log).expect("daemon log");
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().expect("log handle"))
            .stderr(out)
            .process_group(0);
        let child = cmd
            .spawn()
            .map_err(|e| format!("cannot start {name}: {e}"))?;
        let mut daemon = Daemon {
            name,
            child,
            log: log.to_path_buf(),
            kept: false,
        };
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(daemon);
            }
            if let Ok(Some(status)) = daemon.child.try_wait() {
                return Err(format!("{name} exited ({status}): {}", daemon.log_text()));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        daemon.stop();
        Err(format!(
            "{name} did not listen on port {port}: {}",
            daemon.log_text()
        ))
    }

    /// What the daemon wrote so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The daemon's process group (its pid).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Leaves the daemon running after the test (to try the server by hand).
    pub fn keep(&mut self) {
        self.kept = true;
    }

    /// Signals the whole group, TERM then KILL, and reaps the leader.
    fn stop(&mut self) {
        let group = -(self.child.id() as i32);
        // SAFETY: kill has no memory preconditions; the group is ours.
        unsafe { libc::kill(group, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                // The leader is gone; make sure nothing of its group lingers.
                unsafe { libc::kill(group, libc::SIGKILL) };
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        eprintln!("{} did not stop on SIGTERM; killing it", self.name);
        unsafe { libc::kill(group, libc::SIGKILL) };
        let _ = self.child.wait();
    }
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if !self.kept {
            self.stop();
        }
    }
}

/// Starts a daemon on a free port, trying another port when one was taken
/// in between; `spawn(port)` writes the config and builds the command.
pub fn start_on_free_port(
    name: &'static str,
    log: &Path,
    spawn: impl Fn(u16) -> Command,
) -> (Daemon, u16) {
    let mut last = String::new();
    for _ in 0..3 {
        let port = free_port();
        match Daemon::start(name, spawn(port), port, log) {
            Ok(daemon) => return (daemon, port),
            Err(why) => last = why,
        }
    }
    panic!("{last}")
}

/// How a client reaches the project as one user.
pub struct Access {
    /// The remote URL.
    pub url: String,
    /// Git configuration set at clone time (e.g. `core.sshCommand`).
    pub config: Vec<(String, String)>,
}

/// A served project: its daemons, the bare repository on the server's disk,
/// and how each user reaches it. Dropping it stops the daemons, then removes
/// the directory.
pub struct Server {
    daemons: Vec<Daemon>,
    /// Which server this is (`ssh`, `gitolite`, `http`).
    pub kind: &'static str,
    /// The account that owns the repository and runs its hooks.
    pub owner: &'static str,
    /// Everything of this test: server side, keys, clients.
    pub dir: tempfile::TempDir,
    /// The bare repository as the server stores it.
    pub repo: PathBuf,
    access: Box<dyn Fn(&str) -> Access>,
    /// How to try the server by hand (printed when it is kept).
    pub howto: Vec<String>,
}

/// A tempdir the server's accounts can traverse (tempdirs are 0700).
pub fn server_dir(kind: &str) -> tempfile::TempDir {
    let dir = tempfile::Builder::new()
        .prefix(&format!("deploybot-{kind}-"))
        .tempdir()
        .expect("tempdir");
    chmod(dir.path(), 0o755);
    std::fs::create_dir_all(dir.path().join("home")).expect("client home");
    dir
}

/// Puts a copy of the binary under test in `dir/bin` (readable and executable
/// by every account, wherever the checkout lives) and returns its path.
pub fn server_binary(dir: &Path) -> PathBuf {
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let path = bin.join("git-deploybot");
    std::fs::copy(assert_cmd::cargo::cargo_bin!("git-deploybot"), &path).expect("copy the binary");
    chmod(&path, 0o755);
    path
}

/// `git deploybot hook install <repo>` as hooks/README.md says, with the
/// server's copy of the binary first on PATH (so the hooks exec that copy).
pub fn hook_install(dir: &Path, repo: &Path) {
    let path = format!(
        "{}:{}",
        dir.join("bin").display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("git")
        .args(["deploybot", "hook", "install"])
        .arg(repo)
        .env("PATH", path)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "hook install failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let hook = std::fs::read_to_string(repo.join("hooks/pre-receive")).expect("hook written");
    assert!(
        hook.contains(&dir.join("bin").display().to_string()),
        "{hook}"
    );
}

impl Server {
    /// Assembles a server from its parts.
    pub fn new(
        (kind, owner): (&'static str, &'static str),
        dir: tempfile::TempDir,
        repo: PathBuf,
        daemons: Vec<Daemon>,
        access: Box<dyn Fn(&str) -> Access>,
        howto: Vec<String>,
    ) -> Server {
        Server {
            daemons,
            kind,
            owner,
            dir,
            repo,
            access,
            howto,
        }
    }

    fn home(&self) -> PathBuf {
        self.dir.path().join("home")
    }

    /// How `user` reaches the project.
    pub fn access(&self, user: &str) -> Access {
        (self.access)(user)
    }

    /// A clone of the project authenticating as `user` and writing records as `user`.
    pub fn clone_as(&self, user: &str) -> Clone {
        let access = self.access(user);
        let config: Vec<(&str, &str)> = access
            .config
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        let clients = self.dir.path().join("clients");
        let mut path = clients.join(user);
        for n in 2.. {
            if !path.exists() {
                break;
            }
            path = clients.join(format!("{user}-{n}"));
        }
        Clone::from_url(&access.url, path, self.home(), user, &config)
    }

    /// Pushes a first `main` holding `files` to the empty project, as `user`.
    pub fn seed(&self, user: &str, files: &[(&str, &str)]) {
        let seed = self.dir.path().join("clients").join("seed");
        std::fs::create_dir_all(&seed).expect("seed dir");
        let home = self.home();
        git_in(&seed, &home, &["init", "-q", "-b", "main"]);
        for (name, text) in files {
            std::fs::write(seed.join(name), text).expect("seed file");
            git_in(&seed, &home, &["add", name]);
        }
        git_in(&seed, &home, &["commit", "-q", "-m", "initial commit"]);
        let access = self.access(user);
        let mut args: Vec<String> = Vec::new();
        for (k, v) in &access.config {
            args.extend(["-c".into(), format!("{k}={v}")]);
        }
        args.extend(["push".into(), "-q".into(), access.url, "main".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        git_in(&seed, &home, &args);
    }

    /// git in the server's repository, read as root (`safe.directory`: the
    /// repository belongs to the server's account).
    pub fn server_git(&self, args: &[&str]) -> std::process::Output {
        let mut cmd = Command::new("git");
        cmd.arg("-c")
            .arg("safe.directory=*")
            .arg("--git-dir")
            .arg(&self.repo)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", self.home());
        cmd.output().expect("git runs")
    }

    /// The server's value of a ref (None when absent).
    pub fn server_ref(&self, full_ref: &str) -> Option<String> {
        let out = self.server_git(&["rev-parse", "--verify", "-q", full_ref]);
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// Every ref on the server with its value.
    pub fn server_refs(&self) -> String {
        let out = self.server_git(&["for-each-ref", "--format=%(refname) %(objectname)"]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// `git update-ref <args>` in the repository on the server's disk, as
    /// its owner, with the server's binary on PATH: what the
    /// reference-transaction hook sees of an admin moving a ref by hand.
    pub fn local_update_ref(&self, args: &[&str]) -> std::process::Output {
        let path = format!(
            "{}:/usr/local/bin:/usr/bin:/bin",
            self.dir.path().join("bin").display()
        );
        let repo = self.repo.to_str().expect("a UTF-8 path");
        let mut all = vec!["-u", self.owner, "--", "env"];
        let path = format!("PATH={path}");
        all.extend([path.as_str(), "git", "--git-dir", repo, "update-ref"]);
        all.extend_from_slice(args);
        Command::new("runuser")
            .args(&all)
            .output()
            .expect("runuser runs")
    }

    /// With `DEPLOYBOT_KEEP_SERVER` set, leaves the daemons running and the
    /// directory in place, and prints how to use and stop them.
    pub fn keep_if_asked(mut self) {
        if std::env::var_os("DEPLOYBOT_KEEP_SERVER").is_none() {
            return;
        }
        let pids: Vec<String> = self.daemons.iter().map(|d| d.pid().to_string()).collect();
        for daemon in &mut self.daemons {
            daemon.keep();
        }
        let dir = std::mem::replace(&mut self.dir, tempfile::tempdir().expect("tempdir")).keep();
        let mut text = format!("\n== {} server kept in {}\n", self.kind, dir.display());
        for line in &self.howto {
            text.push_str(&format!("   {line}\n"));
        }
        text.push_str(&format!(
            "   stop it with: kill -TERM -- {}; rm -rf {}\n",
            pids.iter()
                .map(|p| format!("-{p}"))
                .collect::<Vec<_>>()
                .join(" "),
            dir.display()
        ));
        eprintln!("{text}");
    }
}
