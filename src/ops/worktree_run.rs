//! Running a runner's command in a temporary worktree so that nothing is left
//! behind: the command gets its own process group, SIGTERM/SIGINT to the
//! runner stop that group and remove the worktree, and worktrees left by a
//! runner that was killed outright (`kill -9`) are removed by the next run.

use crate::git::Repo;
use anyhow::{Result, bail};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Worktree directories of runs are `<temp dir>/<this prefix><run id>`.
const DIR_PREFIX: &str = "deploybot-run-";
/// The lock reason that names the runner's pid: `deploybot run by pid <pid>`.
const LOCK_REASON: &str = "deploybot run by pid ";
/// How long a stopped command may take to exit after SIGTERM before SIGKILL.
const GRACE: Duration = Duration::from_secs(5);

/// How a command in a worktree ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunEnd {
    /// It exited by itself: true on success.
    Exited(bool),
    /// The runner got this signal (`SIGTERM`, `SIGINT`) and stopped it.
    Stopped(&'static str),
    /// It could not be started at all (why): not a result of the commit.
    NotStarted(String),
}

/// A detached worktree of one exact sha for one run, locked with the
/// runner's pid; removed when dropped.
pub struct RunWorktree<'r> {
    repo: &'r Repo,
    dir: PathBuf,
}

impl<'r> RunWorktree<'r> {
    /// Adds the worktree of `sha` for `run_id` (removing those of dead runners first).
    pub fn add(repo: &'r Repo, sha: &str, run_id: &str) -> Result<RunWorktree<'r>> {
        remove_stale_worktrees(repo);
        let dir = std::env::temp_dir().join(format!("{DIR_PREFIX}{run_id}"));
        let dir_text = dir.to_string_lossy().to_string();
        let reason = format!("{LOCK_REASON}{}", std::process::id());
        repo.run_git(&[
            "worktree", "add", "--detach", "--quiet", "--lock", "--reason", &reason, &dir_text, sha,
        ])?;
        Ok(RunWorktree { repo, dir })
    }

    /// Where the commit is checked out (the command's working directory).
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Runs `cmd` (its program and arguments set) in the worktree, returning how it ended.
    pub fn run(&self, cmd: Command) -> Result<RunEnd> {
        run_in_dir(&self.dir, cmd)
    }

    /// Runs `cmd` in the worktree as [`RunWorktree::run`] does, passing its
    /// output through as `echo` says and keeping the last [`LOG_TAIL_BYTES`]
    /// of it, both streams in the order they came: the run's log. `tick` is
    /// called about every 50 ms while the command runs (to renew a claim).
    pub fn run_logged(
        &self,
        mut cmd: Command,
        echo: Echo,
        tick: &mut dyn FnMut(),
    ) -> Result<(RunEnd, Vec<u8>)> {
        use std::sync::Mutex;
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let tail = Arc::new(Mutex::new(TailBuffer::default()));
        let (tx, rx) = std::sync::mpsc::channel();
        let pumps = {
            let tail = Arc::clone(&tail);
            move |child: &mut std::process::Child| {
                let mut handles = Vec::new();
                if let Some(out) = child.stdout.take() {
                    let tail = Arc::clone(&tail);
                    let to = match echo {
                        Echo::Both => Some(Stream::Stdout),
                        Echo::StdoutToStderr => Some(Stream::Stderr),
                        Echo::Nothing => None,
                    };
                    handles.push(std::thread::spawn(move || pump(out, &tail, to)));
                }
                if let Some(err) = child.stderr.take() {
                    let tail = Arc::clone(&tail);
                    let to = (echo != Echo::Nothing).then_some(Stream::Stderr);
                    handles.push(std::thread::spawn(move || pump(err, &tail, to)));
                }
                let _ = tx.send(handles);
            }
        };
        let ended = run_in_dir_with(&self.dir, cmd, pumps, tick)?;
        // The streams end when the last process holding them exits; one the
        // command left running in the background is not waited for long.
        let handles: Vec<_> = rx.try_iter().flatten().collect();
        let deadline = Instant::now() + Duration::from_secs(2);
        while handles.iter().any(|h| !h.is_finished()) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        let bytes = tail.lock().map(|t| t.bytes()).unwrap_or_default();
        Ok((ended, bytes))
    }
}

impl Drop for RunWorktree<'_> {
    fn drop(&mut self) {
        remove_worktree(self.repo, &self.dir);
    }
}

/// Why `program` cannot be started from `dir` the way `execvp` would look
/// for it (a name without `/` on `PATH`, a path relative to `dir`), or None
/// when it can. Checked before a run is claimed, so a typo records nothing.
pub fn cannot_start(program: &str, dir: &Path) -> Option<String> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |path: &Path| {
        std::fs::metadata(path).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    if program.is_empty() {
        return Some("the command is empty".into());
    }
    if program.contains('/') {
        let path = dir.join(program);
        return match std::fs::metadata(&path) {
            Err(_) => Some("no such file in the commit".into()),
            Ok(m) if m.is_dir() => Some("a directory".into()),
            Ok(_) if !executable(&path) => Some("not executable".into()),
            Ok(_) => None,
        };
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    let found = std::env::split_paths(&path).any(|d| executable(&dir.join(d).join(program)));
    (!found).then(|| "not found on PATH".into())
}

/// The most of a run's output kept as its log (the tail).
pub const LOG_TAIL_BYTES: usize = 64 * 1024;

/// The last [`LOG_TAIL_BYTES`] bytes written.
#[derive(Default)]
struct TailBuffer {
    bytes: std::collections::VecDeque<u8>,
}

impl TailBuffer {
    fn push(&mut self, chunk: &[u8]) {
        self.bytes.extend(chunk);
        let excess = self.bytes.len().saturating_sub(LOG_TAIL_BYTES);
        self.bytes.drain(..excess);
    }

    fn bytes(&self) -> Vec<u8> {
        self.bytes.iter().copied().collect()
    }
}

/// Where a run's output is passed through to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Echo {
    /// Its stdout to ours, its stderr to ours.
    Both,
    /// Both to our stderr (our stdout carries JSON).
    StdoutToStderr,
    /// Nowhere: only the log keeps it (a runner agent running several at once).
    Nothing,
}

/// One of our streams.
#[derive(Debug, Clone, Copy)]
enum Stream {
    Stdout,
    Stderr,
}

/// Copies a child's stream to ours (`to`, if any) and into the tail.
fn pump(mut from: impl std::io::Read, tail: &std::sync::Mutex<TailBuffer>, to: Option<Stream>) {
    use std::io::Write;
    let mut buf = [0u8; 8192];
    while let Ok(n) = from.read(&mut buf) {
        if n == 0 {
            break;
        }
        let chunk = &buf[..n];
        match to {
            Some(Stream::Stdout) => drop(std::io::stdout().write_all(chunk)),
            Some(Stream::Stderr) => drop(std::io::stderr().write_all(chunk)),
            None => {}
        }
        if let Ok(mut t) = tail.lock() {
            t.push(chunk);
        }
    }
}

/// Runs `cmd` in `dir` in its own process group, stopping the group when the
/// runner is signalled.
fn run_in_dir(dir: &Path, cmd: Command) -> Result<RunEnd> {
    run_in_dir_with(dir, cmd, |_| {}, &mut || {})
}

/// [`run_in_dir`], handing the spawned child to `started` first (to take its pipes).
fn run_in_dir_with(
    dir: &Path,
    mut cmd: Command,
    started: impl FnOnce(&mut std::process::Child),
    tick: &mut dyn FnMut(),
) -> Result<RunEnd> {
    let got = Arc::new(AtomicUsize::new(0));
    let mut registered = Vec::new();
    for signal in [libc::SIGTERM, libc::SIGINT] {
        let flag = Arc::clone(&got);
        // The handler only stores the signal number (async-signal-safe).
        let id = unsafe {
            signal_hook::low_level::register(signal, move || {
                flag.store(signal as usize, Ordering::SeqCst)
            })
        };
        registered.extend(id.ok());
    }
    // Its own process group, so the whole tree it starts can be stopped at once.
    cmd.current_dir(dir).process_group(0);
    let ended = match cmd.spawn() {
        Ok(mut child) => {
            started(&mut child);
            supervise(child, &got, tick)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(RunEnd::NotStarted(format!(
            "{e}: the program or the interpreter its #! line names is missing"
        ))),
        Err(e) => Ok(RunEnd::NotStarted(e.to_string())),
    };
    for id in registered {
        signal_hook::low_level::unregister(id);
    }
    ended
}

/// Waits for `child`; when the runner is signalled, stops the child's process group.
fn supervise(mut child: Child, got: &AtomicUsize, tick: &mut dyn FnMut()) -> Result<RunEnd> {
    loop {
        tick();
        if let Some(status) = child.try_wait()? {
            return Ok(RunEnd::Exited(status.success()));
        }
        let signal = got.load(Ordering::SeqCst) as i32;
        if signal != 0 {
            stop_group(&mut child)?;
            return Ok(RunEnd::Stopped(if signal == libc::SIGINT {
                "SIGINT"
            } else {
                "SIGTERM"
            }));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// SIGTERM to the child's process group, then SIGKILL after [`GRACE`]; reaps the child.
fn stop_group(child: &mut Child) -> Result<()> {
    let group = child.id() as libc::pid_t;
    // Safety: killpg only sends a signal; the group is the one the child leads.
    unsafe { libc::killpg(group, libc::SIGTERM) };
    let deadline = Instant::now() + GRACE;
    while Instant::now() < deadline {
        if child.try_wait()?.is_some() {
            // The leader is gone; make sure nothing it started outlives it.
            unsafe { libc::killpg(group, libc::SIGKILL) };
            return Ok(());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    unsafe { libc::killpg(group, libc::SIGKILL) };
    child.wait()?;
    Ok(())
}

/// Removes a run's worktree (locked, so forced twice) and its directory.
fn remove_worktree(repo: &Repo, dir: &Path) {
    let dir_text = dir.to_string_lossy().to_string();
    let _ = repo.run_git(&["worktree", "remove", "--force", "--force", &dir_text]);
    let _ = std::fs::remove_dir_all(dir);
    let _ = repo.run_git(&["worktree", "prune"]);
}

/// Removes the worktrees of runs whose runner process is gone (killed outright).
pub fn remove_stale_worktrees(repo: &Repo) {
    let Ok(listing) = repo.run_git(&["worktree", "list", "--porcelain"]) else {
        return;
    };
    for (dir, pid) in run_worktrees(&listing) {
        if !pid.is_some_and(is_alive) {
            remove_worktree(repo, &dir);
        }
    }
}

/// The run worktrees in `git worktree list --porcelain` output, with the pid
/// their lock names (None: not locked by a runner, e.g. an older version's).
fn run_worktrees(listing: &str) -> Vec<(PathBuf, Option<u32>)> {
    let mut out = Vec::new();
    for block in listing.split("\n\n") {
        let mut path = None;
        let mut pid = None;
        for line in block.lines() {
            if let Some(p) = line.strip_prefix("worktree ") {
                path = Some(PathBuf::from(p));
            } else if let Some(reason) = line.strip_prefix("locked ") {
                pid = reason
                    .strip_prefix(LOCK_REASON)
                    .and_then(|p| p.trim().parse().ok());
            }
        }
        let Some(path) = path else { continue };
        let is_run = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with(DIR_PREFIX));
        if is_run {
            out.push((path, pid));
        }
    }
    out
}

/// True when a process with `pid` exists.
fn is_alive(pid: u32) -> bool {
    // Safety: signal 0 only checks that the process exists.
    let sent = unsafe { libc::kill(pid as libc::pid_t, 0) };
    sent == 0 || std::io::Error::last_os_error().raw_os_error() == Some(libc::EPERM)
}

/// Fails when no command was given.
pub fn split_command(command: &[String]) -> Result<(&String, &[String])> {
    match command.split_first() {
        Some(split) => Ok(split),
        None => bail!("no command given after --"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_worktrees_are_found_with_their_runner() {
        let listing = "worktree /repo\nHEAD 1\nbranch refs/heads/main\n\nworktree /tmp/deploybot-run-ab\nHEAD 2\ndetached\nlocked deploybot run by pid 42\n\nworktree /tmp/deploybot-run-cd\nHEAD 3\ndetached\n\nworktree /tmp/other\nHEAD 4\ndetached\n";
        assert_eq!(
            run_worktrees(listing),
            vec![
                (PathBuf::from("/tmp/deploybot-run-ab"), Some(42)),
                (PathBuf::from("/tmp/deploybot-run-cd"), None),
            ]
        );
    }
}
