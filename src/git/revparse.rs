//! Abbreviated commit names, resolved as git does against the objects present locally.

use super::{ObjectId, Repo};
use anyhow::{Context, Result};

/// What an abbreviated sha names in the local object database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abbrev {
    /// Exactly one commit (or one object that peels to a commit) starts with it.
    Commit(ObjectId),
    /// Several commits start with it.
    Ambiguous,
    /// No commit starts with it.
    Unknown,
}

impl Repo {
    /// Resolves `abbrev` (hex digits, checked by the caller) to the one commit
    /// it names: `git rev-parse --verify <abbrev>^{commit}`, which prefers
    /// commits over other objects sharing the prefix and sees every object on
    /// disk, including what a fetch just brought.
    pub fn resolve_commit_abbrev(&self, abbrev: &str) -> Result<Abbrev> {
        let spec = format!("{abbrev}^{{commit}}");
        let out = self
            .git()
            .env("LC_ALL", "C")
            .args(["rev-parse", "--verify", &spec])
            .output()
            .context("cannot run `git rev-parse`; is git on PATH?")?;
        if out.status.success() {
            let hex = String::from_utf8_lossy(&out.stdout);
            return super::parse_oid(hex.trim())
                .map(Abbrev::Commit)
                .with_context(|| format!("`git rev-parse {spec}` printed `{}`", hex.trim()));
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        Ok(if stderr.contains("is ambiguous") {
            Abbrev::Ambiguous
        } else {
            Abbrev::Unknown
        })
    }
}

impl Repo {
    /// Resolves any revision git accepts (`HEAD`, `origin/main`, a tag,
    /// `main~1`) to the commit it names, or None when it names none:
    /// `git rev-parse --verify --quiet --end-of-options <rev>^{commit}`.
    pub fn resolve_revision(&self, rev: &str) -> Result<Option<ObjectId>> {
        let spec = format!("{rev}^{{commit}}");
        let out = self
            .git()
            .env("LC_ALL", "C")
            .args([
                "rev-parse",
                "--verify",
                "--quiet",
                "--end-of-options",
                &spec,
            ])
            .output()
            .context("cannot run `git rev-parse`; is git on PATH?")?;
        if !out.status.success() {
            return Ok(None);
        }
        let hex = String::from_utf8_lossy(&out.stdout);
        super::parse_oid(hex.trim())
            .map(Some)
            .with_context(|| format!("`git rev-parse {spec}` printed `{}`", hex.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn git(dir: &std::path::Path, args: &[&str]) -> String {
        let out = std::process::Command::new("git")
            .current_dir(dir)
            .args(args)
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .env("HOME", dir)
            .env("GIT_AUTHOR_NAME", "t")
            .env("GIT_AUTHOR_EMAIL", "t@example.com")
            .env("GIT_COMMITTER_NAME", "t")
            .env("GIT_COMMITTER_EMAIL", "t@example.com")
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    #[test]
    fn an_abbreviation_names_its_commit_or_nothing() {
        let dir = tempfile::tempdir().expect("tempdir");
        git(dir.path(), &["init", "-q", "-b", "main"]);
        git(dir.path(), &["commit", "-q", "--allow-empty", "-m", "one"]);
        let head = git(dir.path(), &["rev-parse", "HEAD"]);
        let tree = git(dir.path(), &["rev-parse", "HEAD^{tree}"]);
        let repo = Repo::discover(dir.path()).expect("repo");
        let full = ObjectId::from_hex(head.as_bytes()).expect("hex");
        assert_eq!(
            repo.resolve_commit_abbrev(&head[..7]).expect("runs"),
            Abbrev::Commit(full)
        );
        // A tree is not a commit: the prefix names no commit.
        assert_eq!(
            repo.resolve_commit_abbrev(&tree[..10]).expect("runs"),
            Abbrev::Unknown
        );
        let absent = if head.starts_with("0000000") {
            "1111111"
        } else {
            "0000000"
        };
        assert_eq!(
            repo.resolve_commit_abbrev(absent).expect("runs"),
            Abbrev::Unknown
        );
    }
}
