//! What a long-running process watches: one cheap listing of the remote's
//! refs (no objects move), the wake file a post-receive hook on this host
//! touches, and the lock that keeps two passes on one clone apart.

use super::{Repo, names};
use anyhow::{Context, Result, bail};
use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The file in a bare server repository that `hook install --wake`'s
/// post-receive hook touches after every push.
pub const WAKE_FILE: &str = "deploybot-wake";

/// The lock file (in the clone's git directory) held for a pass.
const PASS_LOCK: &str = "deploybot-pass.lock";

impl Repo {
    /// The remote's refs matching `patterns` (`git ls-remote`), one
    /// `<sha>\t<name>` per line: a listing that says whether anything moved
    /// without fetching anything.
    pub fn list_remote(&self, remote: &str, patterns: &[String]) -> Result<String> {
        let out = self
            .git()
            .arg("ls-remote")
            .arg(remote)
            .args(patterns)
            .env("GIT_TERMINAL_PROMPT", "0")
            .output()
            .context("cannot run `git ls-remote`; is git on PATH?")?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let why = stderr
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("git ls-remote failed");
            bail!(crate::messages::cannot_list_remote(remote, why));
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// The mirror of `remote`'s refs under `prefixes` (the remote's names,
    /// ending in `/`), by the remote's names, read in process.
    pub fn mirror_listing(&self, remote: &str, prefixes: &[String]) -> Result<Listing> {
        let root = names::sync_ref(remote, "refs/");
        let mut listing = Listing::default();
        for prefix in prefixes {
            for (name, id) in self.refs_under(&names::sync_ref(remote, prefix))? {
                if let Some(rest) = name.strip_prefix(&root) {
                    listing.0.insert(format!("refs/{rest}"), id.to_string());
                }
            }
        }
        Ok(listing)
    }

    /// Whether `remote`'s refs under `prefixes` are exactly the mirror's:
    /// one `git ls-remote`, nothing fetched.
    pub fn mirror_is_current(&self, remote: &str, prefixes: &[String]) -> Result<bool> {
        let patterns: Vec<String> = prefixes.iter().map(|p| format!("{p}*")).collect();
        let listed = Listing::parse(&self.list_remote(remote, &patterns)?, prefixes);
        Ok(listed == self.mirror_listing(remote, prefixes)?)
    }

    /// Local refs under `prefixes` (full names ending in `/`), as a map from
    /// name to sha; `rename` maps each listed name to the name it stands for
    /// (a mirror ref to the remote ref it mirrors), None to leave it out.
    pub fn list_local(
        &self,
        prefixes: &[String],
        rename: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Listing> {
        let text = self
            .git()
            .args(["for-each-ref", "--format=%(objectname)\t%(refname)"])
            .args(prefixes)
            .output()
            .context("cannot run `git for-each-ref`; is git on PATH?")?;
        if !text.status.success() {
            bail!(
                "git for-each-ref failed: {}",
                String::from_utf8_lossy(&text.stderr).trim()
            );
        }
        let mut listing = Listing::default();
        for (sha, name) in parse_listing(&String::from_utf8_lossy(&text.stdout)) {
            if let Some(name) = rename(&name) {
                listing.0.insert(name, sha);
            }
        }
        Ok(listing)
    }

    /// The wake file of `remote` when the remote is a repository on this
    /// host (a path or a `file://` URL), else None (then only polling wakes).
    pub fn local_wake_file(&self, remote: &str) -> Option<PathBuf> {
        let url = self
            .run_git(&["remote", "get-url", remote])
            .ok()?
            .trim()
            .to_owned();
        let path = url.strip_prefix("file://").unwrap_or(&url);
        let dir = Path::new(path);
        let dir = if dir.is_absolute() {
            dir.to_path_buf()
        } else {
            // A relative remote path is relative to the working tree (or the git dir).
            self.workdir()
                .unwrap_or_else(|| self.git_dir().to_path_buf())
                .join(dir)
        };
        dir.is_dir().then(|| dir.join(WAKE_FILE))
    }
}

/// Refs by full name with their shas, compared whole.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Listing(pub std::collections::BTreeMap<String, String>);

impl Listing {
    /// The `<sha>\t<name>` lines of `ls-remote` or `for-each-ref`, keeping
    /// only names under `prefixes`.
    pub fn parse(text: &str, prefixes: &[String]) -> Listing {
        Listing(
            parse_listing(text)
                .filter(|(_, name)| prefixes.iter().any(|p| name.starts_with(p.as_str())))
                .map(|(sha, name)| (name, sha))
                .collect(),
        )
    }
}

/// `(sha, name)` pairs of a listing's lines.
fn parse_listing(text: &str) -> impl Iterator<Item = (String, String)> + '_ {
    text.lines().filter_map(|line| {
        let (sha, name) = line.split_once('\t')?;
        Some((sha.trim().to_owned(), name.trim().to_owned()))
    })
}

/// When the wake file was last touched (None: never, or unreadable).
pub fn wake_stamp(path: &Path) -> Option<SystemTime> {
    std::fs::metadata(path).and_then(|m| m.modified()).ok()
}

/// Held while a pass runs; released when dropped (or when the process dies:
/// the kernel drops an `flock` with its holder).
pub struct PassLock {
    _file: File,
}

impl PassLock {
    /// Waits until no other process holds the pass lock of the clone at
    /// `git_dir`, then takes it.
    pub fn acquire(git_dir: &Path) -> Result<PassLock> {
        use std::os::fd::AsRawFd;
        let path = git_dir.join(PASS_LOCK);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("cannot open {}", path.display()))?;
        loop {
            // Safety: flock only takes an advisory lock on a descriptor we own.
            let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX) };
            if rc == 0 {
                return Ok(PassLock { _file: file });
            }
            let err = std::io::Error::last_os_error();
            if err.kind() != std::io::ErrorKind::Interrupted {
                return Err(err).with_context(|| format!("cannot lock {}", path.display()));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[test]
    fn a_pass_lock_admits_one_holder_at_a_time() {
        let dir = tempfile::tempdir().unwrap();
        let inside = Arc::new(AtomicUsize::new(0));
        let most = Arc::new(AtomicUsize::new(0));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let (dir, inside, most) = (dir.path().to_owned(), inside.clone(), most.clone());
                std::thread::spawn(move || {
                    for _ in 0..5 {
                        let _lock = PassLock::acquire(&dir).unwrap();
                        let now = inside.fetch_add(1, Ordering::SeqCst) + 1;
                        most.fetch_max(now, Ordering::SeqCst);
                        std::thread::sleep(std::time::Duration::from_millis(2));
                        inside.fetch_sub(1, Ordering::SeqCst);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(most.load(Ordering::SeqCst), 1);
    }
}
