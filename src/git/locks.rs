//! Ref lock files that a killed git process left behind. Git holds a ref's
//! `.lock` for milliseconds; one older than [`STALE_LOCK_SECONDS`] is left
//! over from a crash or a `kill -9`, and no retry will ever take it. Saying so
//! at once (with the file to remove) beats retrying into "contention".

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

/// A lock file at least this old is taken as left behind.
pub const STALE_LOCK_SECONDS: u64 = 30;

/// A lock file and how long it has been there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleLock {
    /// The lock file.
    pub path: PathBuf,
    /// Its age.
    pub age: Duration,
}

/// The age of `path` when it is a stale lock (at least [`STALE_LOCK_SECONDS`] old).
pub fn stale(path: &Path) -> Option<StaleLock> {
    let modified = std::fs::metadata(path).ok()?.modified().ok()?;
    let age = SystemTime::now()
        .duration_since(modified)
        .unwrap_or_default();
    (age >= Duration::from_secs(STALE_LOCK_SECONDS)).then(|| StaleLock {
        path: path.to_path_buf(),
        age,
    })
}

/// The stale locks of `refs` in the repository at `git_dir` (their `.lock`
/// files, and `packed-refs.lock`).
pub fn stale_locks_of(git_dir: &Path, refs: &[&str]) -> Vec<StaleLock> {
    refs.iter()
        .map(|name| git_dir.join(format!("{name}.lock")))
        .chain(std::iter::once(git_dir.join("packed-refs.lock")))
        .filter_map(|path| stale(&path))
        .collect()
}

/// Every stale lock under `git_dir/refs` (bounded walk) and `packed-refs.lock`.
pub fn stale_locks_in(git_dir: &Path) -> Vec<StaleLock> {
    let mut found: Vec<StaleLock> = stale(&git_dir.join("packed-refs.lock"))
        .into_iter()
        .collect();
    let mut dirs = vec![git_dir.join("refs")];
    let mut visited = 0;
    while let Some(dir) = dirs.pop() {
        visited += 1;
        if visited > 10_000 {
            break;
        }
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "lock") {
                found.extend(stale(&path));
            }
        }
    }
    found
}

/// The lock file a git error names (`Unable to create '<path>': File exists`).
pub fn named_lock(stderr: &str) -> Option<PathBuf> {
    let start = stderr.find("Unable to create '")? + "Unable to create '".len();
    let rest = &stderr[start..];
    let end = rest.find("': File exists")?;
    Some(PathBuf::from(&rest[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_lock_a_git_error_names_is_found() {
        let stderr = "remote: error: cannot lock ref 'refs/heads/main': Unable to create '/srv/x.git/./refs/heads/main.lock': File exists.";
        assert_eq!(
            named_lock(stderr),
            Some(PathBuf::from("/srv/x.git/./refs/heads/main.lock"))
        );
        assert_eq!(named_lock("nothing here"), None);
    }

    #[test]
    fn a_fresh_lock_is_not_stale_and_a_missing_one_is_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("x.lock");
        std::fs::write(&path, "").expect("write");
        assert_eq!(stale(&path), None);
        assert_eq!(stale(&dir.path().join("missing.lock")), None);
    }
}
