//! A cache of folded ledger states keyed by the ledger commit they were
//! folded at, under `<git common dir>/deploybot-cache/`. A commit is
//! immutable, so its folded state never changes: a reader (or the server
//! hook) that had to fold a tail of commits without trusted snapshots (an old
//! or foreign writer) stores the result once, and every later reader starts
//! from it. Losing the cache costs time, never correctness; a write that
//! fails is ignored (a read-only repository still reads).

use super::{ObjectId, Repo};
use std::path::PathBuf;

/// Bumped whenever a fold's semantics change, so old entries are never read.
pub const FOLD_CACHE_VERSION: u32 = 1;

/// The cache directory of one ledger.
#[derive(Debug, Clone)]
pub struct FoldCache {
    dir: PathBuf,
}

impl FoldCache {
    /// The cache of the ledger called `ledger` (e.g. `control`) in `repo`.
    pub fn of(repo: &Repo, ledger: &str) -> FoldCache {
        let dir = repo
            .common_dir()
            .join("deploybot-cache")
            .join(format!("fold-v{FOLD_CACHE_VERSION}"))
            .join(ledger);
        FoldCache { dir }
    }

    fn path(&self, commit: ObjectId) -> PathBuf {
        let hex = commit.to_string();
        self.dir.join(&hex[..2]).join(&hex[2..])
    }

    /// The cached bytes for `commit`, if any (an unreadable entry is a miss).
    pub fn get(&self, commit: ObjectId) -> Option<Vec<u8>> {
        std::fs::read(self.path(commit)).ok()
    }

    /// Stores `bytes` for `commit`: written to a temporary file and renamed,
    /// so a concurrent reader sees the whole entry or none. Errors are ignored.
    pub fn put(&self, commit: ObjectId, bytes: &[u8]) {
        let path = self.path(commit);
        let Some(parent) = path.parent() else {
            return;
        };
        if std::fs::create_dir_all(parent).is_err() {
            return;
        }
        let tmp = parent.join(format!(".{}.{}.tmp", commit, super::store::random_u64()));
        if std::fs::write(&tmp, bytes).is_ok() && std::fs::rename(&tmp, &path).is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
    }
}
