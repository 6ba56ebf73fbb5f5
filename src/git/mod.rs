//! The git layer: the only code that touches gix or spawns `git`.

pub mod fold_cache;
pub mod history;
pub mod locks;
pub mod merge;
pub mod names;
pub mod note_trees;
pub mod notes;
pub mod objects;
pub mod pack;
pub mod quarantine;
pub mod record_index;
pub mod refs;
pub mod remote;
pub mod revparse;
pub mod seen;
pub mod signing;
pub mod store;
pub mod watch;

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};
use std::process::Command;

pub use gix::ObjectId;

/// An opened repository (bare or not).
pub struct Repo {
    inner: gix::Repository,
}

impl Repo {
    /// Opens the repository containing `dir`, like git does.
    pub fn discover(dir: &Path) -> Result<Repo> {
        // Absolute paths, so `git --git-dir` works whatever the child's cwd.
        let dir = std::fs::canonicalize(dir)?;
        // Writes stay in memory until `flush_objects` (see `pack`).
        let mut inner = gix::discover(dir)?.with_object_memory();
        inner.object_cache_size_if_unset(8 * 1024 * 1024);
        Ok(Repo { inner })
    }

    /// Opens exactly the repository at `git_dir` (used by the server hook).
    pub fn open(git_dir: &Path) -> Result<Repo> {
        let git_dir = std::fs::canonicalize(git_dir)?;
        let mut inner = gix::open(git_dir)?;
        inner.object_cache_size_if_unset(8 * 1024 * 1024);
        Ok(Repo { inner })
    }

    /// The underlying gix repository, for the other git-layer modules.
    pub(crate) fn gix(&self) -> &gix::Repository {
        &self.inner
    }

    /// The `.git` directory (or the bare repository).
    pub fn git_dir(&self) -> &Path {
        self.inner.git_dir()
    }

    /// The directory shared by all worktrees (the bare repository, or `.git`).
    pub fn common_dir(&self) -> &Path {
        self.inner.common_dir()
    }

    /// The working tree, if any.
    pub fn workdir(&self) -> Option<PathBuf> {
        self.inner.workdir().map(Path::to_path_buf)
    }

    /// A `git` command bound to this repository.
    pub fn git(&self) -> Command {
        let mut cmd = Command::new("git");
        cmd.arg("--git-dir").arg(self.git_dir());
        if let Some(dir) = self.inner.workdir() {
            cmd.current_dir(dir);
        } else {
            cmd.current_dir(self.git_dir());
        }
        cmd
    }

    /// Runs `git <args>` and returns its trimmed stdout; errors carry stderr's first line.
    pub fn run_git(&self, args: &[&str]) -> Result<String> {
        let out = self
            .git()
            .args(args)
            .output()
            .with_context(|| format!("cannot run `git {}`; is git on PATH?", args.join(" ")))?;
        if !out.status.success() {
            let stderr = String::from_utf8_lossy(&out.stderr);
            let first = stderr.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            anyhow::bail!("`git {}` failed: {}", args.join(" "), first.trim());
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }

    /// A string from git config (repository, global and system), if set.
    pub fn config_string(&self, key: &str) -> Option<String> {
        self.inner
            .config_snapshot()
            .string(key)
            .map(|v| v.to_string())
            .filter(|v| !v.is_empty())
    }

    /// Who writes records: `deploybot.actor`, `user.email`, `user.name`, `$USER`, in that order.
    pub fn default_actor(&self) -> String {
        ["deploybot.actor", "user.email", "user.name"]
            .iter()
            .find_map(|k| self.config_string(k))
            .or_else(|| std::env::var("USER").ok().filter(|u| !u.is_empty()))
            .unwrap_or_else(|| "unknown".to_string())
    }
}

/// Runs `git <args>` outside any repository (e.g. `git deploybot --version`).
pub fn run_git_anywhere(args: &[&str]) -> std::io::Result<std::process::Output> {
    Command::new("git").args(args).output()
}

/// Parses a full 40-hex object id.
pub fn parse_oid(hex: &str) -> Option<ObjectId> {
    if !crate::core::control::is_full_sha(hex) {
        return None;
    }
    ObjectId::from_hex(hex.as_bytes()).ok()
}

/// A fresh bare repository in a temporary directory (unit tests).
#[cfg(test)]
pub fn bare_repo_for_tests() -> (tempfile::TempDir, Repo) {
    let dir = tempfile::tempdir().expect("tempdir");
    let status = std::process::Command::new("git")
        .args(["init", "-q", "--bare"])
        .arg(dir.path())
        .status()
        .expect("git runs");
    assert!(status.success());
    let repo = Repo::open(dir.path()).expect("opens");
    (dir, repo)
}

/// [`bare_repo_for_tests`] opened as commands open theirs: writes stay in
/// memory until `flush_objects` (unit tests).
#[cfg(test)]
pub fn memory_repo_for_tests() -> (tempfile::TempDir, Repo) {
    let (dir, _) = bare_repo_for_tests();
    let repo = Repo::discover(dir.path()).expect("opens");
    (dir, repo)
}
