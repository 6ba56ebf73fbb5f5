//! `init`: a starter `.deploybot.toml` in the working tree, and the git config
//! that makes plain `git fetch` and `git log` show deploybot's state.
//!
//! The fetch refspecs mirror the remote's `refs/deploybot/*` and
//! `refs/notes/deploybot/*` into `refs/deploybot-sync/<remote>/…`, the very
//! namespace the tool itself fetches into. They never write the local
//! `refs/deploybot/*` or `refs/notes/deploybot/*`, so a forced refspec cannot
//! clobber local records (offline mode) or a runner's notes appended with
//! `git notes` and not yet pushed (DESIGN.md: `+refs/notes/*:refs/notes/*`
//! silently overwrites local work). Forcing is right for a mirror: the remote's
//! ledgers only grow, and the mirror must follow whatever the remote says.

use crate::core::policy::{POLICY_FILE, starter_toml};
use crate::git::{Repo, names};
use crate::messages;
use anyhow::{Context, Result, bail};
use serde::Serialize;
use std::path::PathBuf;

/// What happened to `.deploybot.toml`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PolicyWrite {
    /// There was none; the starter was written.
    Written,
    /// `--force` replaced an existing file with the starter.
    Overwritten,
    /// A file exists and was left as it was (no `--force`).
    Kept,
}

/// One git config value `init` wants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConfigValue {
    /// The key (`remote.origin.fetch`, `notes.displayRef`).
    pub key: String,
    /// The value.
    pub value: String,
    /// True when this run added it; false when it was already there.
    pub added: bool,
}

/// What `init` did.
#[derive(Debug, Clone, Serialize)]
pub struct InitReport {
    /// The policy file's path.
    pub policy_path: PathBuf,
    /// What happened to it.
    pub policy: PolicyWrite,
    /// The remote configured, or None (no such remote: the embedded default).
    pub remote: Option<String>,
    /// The config values, added or already present.
    pub config: Vec<ConfigValue>,
}

/// The fetch refspecs `init` adds for `remote` (and `doctor` looks for).
pub fn fetch_refspecs(remote: &str) -> Vec<String> {
    [names::DEPLOYBOT_PREFIX, names::NOTES_PREFIX]
        .iter()
        .map(|prefix| format!("+{prefix}*:{}*", names::sync_ref(remote, prefix)))
        .collect()
}

/// The `notes.displayRef` glob: the mirror with a remote, the local notes without.
pub fn display_ref(remote: Option<&str>) -> String {
    match remote {
        Some(remote) => format!("{}*", names::sync_ref(remote, names::NOTES_PREFIX)),
        None => format!("{}*", names::NOTES_PREFIX),
    }
}

/// Every value of a multi-valued config key in the repository's own config.
pub fn config_values(repo: &Repo, key: &str) -> Result<Vec<String>> {
    let out = repo
        .git()
        .args(["config", "--local", "--get-all", key])
        .output()
        .context("cannot run `git config`; is git on PATH?")?;
    // Exit 1 means "not set".
    if !out.status.success() && out.status.code() != Some(1) {
        bail!(
            "`git config --get-all {key}` failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect())
}

/// Adds `value` to `key` unless it is already one of its values.
fn ensure_config(repo: &Repo, key: &str, value: &str) -> Result<ConfigValue> {
    let present = config_values(repo, key)?.iter().any(|v| v == value);
    if !present {
        repo.run_git(&["config", "--local", "--add", key, value])?;
    }
    Ok(ConfigValue {
        key: key.to_string(),
        value: value.to_string(),
        added: !present,
    })
}

/// Writes the starter policy (unless one exists and `force` is false) and the config.
pub fn init(repo: &Repo, remote: &str, force: bool) -> Result<InitReport> {
    let Some(workdir) = repo.workdir() else {
        let dir = repo.git_dir().display().to_string();
        return Err(crate::error::CliError::usage(messages::init_bare(&dir)).into());
    };
    let policy_path = workdir.join(POLICY_FILE);
    let policy = match (policy_path.exists(), force) {
        (true, false) => PolicyWrite::Kept,
        (exists, _) => {
            std::fs::write(&policy_path, starter_toml())
                .with_context(|| format!("cannot write {}", policy_path.display()))?;
            if exists {
                PolicyWrite::Overwritten
            } else {
                PolicyWrite::Written
            }
        }
    };
    let has_remote = repo.has_remote(remote);
    let mut config = Vec::new();
    if has_remote {
        let key = format!("remote.{remote}.fetch");
        for spec in fetch_refspecs(remote) {
            config.push(ensure_config(repo, &key, &spec)?);
        }
    }
    let display = display_ref(has_remote.then_some(remote));
    config.push(ensure_config(repo, "notes.displayRef", &display)?);
    Ok(InitReport {
        policy_path,
        policy,
        remote: has_remote.then(|| remote.to_string()),
        config,
    })
}
