//! What every operation starts from: the repository, where truth lives, the policy and the actor.

use crate::core::policy::Policy;
use crate::error::{CliError, CliResult};
use crate::git::objects::Identity;
use crate::git::store::Store;
use crate::git::{ObjectId, Repo, names};
use crate::messages;
use std::path::PathBuf;

/// How to open a session (the global command-line options).
#[derive(Debug, Clone, Default)]
pub struct SessionOptions {
    /// Start discovery here instead of the current directory.
    pub directory: Option<PathBuf>,
    /// Read the policy from this file instead of the base branch tip.
    pub config: Option<PathBuf>,
    /// The remote holding the shared state.
    pub remote: Option<String>,
    /// Use only local refs.
    pub offline: bool,
    /// Who writes records.
    pub actor: Option<String>,
    /// Read the mirror as last fetched, without fetching (`status --cached`).
    pub cached: bool,
    /// The caller has just listed the remote and seen it move (a watcher's
    /// trigger): fetch without listing it again.
    pub moved: bool,
}

/// An opened, refreshed repository with its policy.
pub struct Session {
    /// Refs, objects and where truth lives.
    pub store: Store,
    /// The policy at the base branch tip (or `--config`).
    pub policy: Policy,
    /// Who writes records.
    pub actor: String,
}

impl Session {
    /// Opens the repository, fetches fresh state and reads the policy.
    pub fn open(global: &SessionOptions) -> CliResult<Session> {
        let (repo, chosen) = discover(global)?;
        let remote = chosen.clone().unwrap_or_else(|| "origin".to_string());
        if global.remote.is_some() && !global.offline && !repo.has_remote(&remote) {
            return Err(CliError::usage(messages::no_such_remote(&remote)));
        }
        let actor = match &global.actor {
            Some(a) if a.trim().is_empty() || a.chars().any(char::is_control) => {
                return Err(CliError::usage(
                    "--actor must be a non-empty single-line name",
                ));
            }
            Some(a) => a.clone(),
            None => repo.default_actor(),
        };
        let mut store = Store::new(repo, &remote, global.offline);
        if global.cached && !store.is_remote() {
            return Err(CliError::usage(messages::cached_without_remote()));
        }
        if global.moved && !global.cached {
            store.fetch()?;
        } else if !global.cached {
            store.refresh()?;
        }
        let mut policy = load_policy(&store, global)?;
        // The policy may name another remote as the home of the shared state;
        // it is followed when neither --remote nor deploybot.remote chose one.
        let named = policy.queue.remote.clone();
        if chosen.is_none() && !global.offline && named != remote && store.repo.has_remote(&named) {
            store = Store::new(store.repo, &named, false);
            if !global.cached {
                store.refresh()?;
            }
            policy = load_policy(&store, global)?;
        }
        crate::ops::integrity::check_ledger_refs(&store)?;
        Ok(Session {
            store,
            policy,
            actor,
        })
    }

    /// The identity written into commits.
    pub fn identity(&self) -> Identity {
        Identity::for_actor(&self.actor)
    }

    /// The repository.
    pub fn repo(&self) -> &Repo {
        &self.store.repo
    }

    /// The full name of the base branch.
    pub fn base_ref(&self) -> String {
        names::branch_ref(&self.policy.queue.base_branch)
    }

    /// The base branch tip in the source of truth.
    pub fn base_sha(&self) -> CliResult<Option<ObjectId>> {
        Ok(self.store.tip(&self.base_ref())?)
    }

    /// The base branch tip, or an error saying it is missing.
    pub fn require_base_sha(&self) -> CliResult<ObjectId> {
        self.base_sha()?.ok_or_else(|| {
            CliError::usage(messages::no_base_branch(&self.policy.queue.base_branch))
        })
    }
}

/// The repository (from `-C` or the current directory) and the remote chosen
/// by `--remote` or `deploybot.remote` (None: not chosen; commands default to
/// `origin`, or the remote the policy names).
pub fn discover(global: &SessionOptions) -> CliResult<(Repo, Option<String>)> {
    let dir = match &global.directory {
        Some(dir) => dir.clone(),
        None => std::env::current_dir()
            .map_err(|e| CliError::usage(format!("cannot read the current directory: {e}")))?,
    };
    let repo =
        Repo::discover(&dir).map_err(|_| CliError::usage(messages::not_a_repository(&dir)))?;
    let chosen = global
        .remote
        .clone()
        .or_else(|| repo.config_string("deploybot.remote"));
    Ok((repo, chosen))
}

/// The policy from `--config`, else `.deploybot.toml` at the base tip, else defaults.
fn load_policy(store: &Store, global: &SessionOptions) -> CliResult<Policy> {
    if let Some(path) = &global.config {
        let text = std::fs::read_to_string(path).map_err(|e| {
            CliError::usage(format!(
                "cannot read --config {}: {e}; check the path",
                path.display()
            ))
        })?;
        return crate::ops::policy::parse_checked(&text, &path.display().to_string())
            .map_err(|e| CliError::usage(e.to_string()));
    }
    let tip_of = |name: &str| store.tip(name);
    crate::ops::policy::policy_at_base(&store.repo, &tip_of)?
        .map_err(|e| CliError::usage(e.to_string()))
}
