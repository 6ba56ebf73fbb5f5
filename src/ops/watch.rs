//! Watching the remote for a long-running process: one `ls-remote` of the
//! mirrored namespaces per poll, compared with the local mirror (so a pass's
//! own pushes are no news, and a push that lands during a pass is), and the
//! wake file a post-receive hook on this host touches.

use crate::core::schedule::{Observation, Trigger, decide};
use crate::git::store::{Store, Sync};
use crate::git::watch::{Listing, wake_stamp};
use crate::git::{Repo, names};
use anyhow::Result;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime};

/// The namespaces a pass reads: every branch (a queued branch that moved),
/// the ledgers and the notes, exactly what the mirror fetch copies.
pub fn watched_prefixes() -> Vec<String> {
    names::MIRRORED_PREFIXES.map(String::from).to_vec()
}

/// What the watcher knows between passes.
pub struct Watch {
    /// The remote (None: the local store is the truth).
    remote: Option<String>,
    /// The wake file when the remote is on this host.
    wake: Option<PathBuf>,
    last_wake: Option<SystemTime>,
    /// The local listing after the last pass (local store only).
    last_local: Option<Listing>,
    last_pass: Option<Instant>,
    failures: u32,
    sweep: Duration,
}

impl Watch {
    /// Watches the store's remote (or its local refs).
    pub fn new(store: &Store) -> Watch {
        let remote = match &store.sync {
            Sync::Remote(name) => Some(name.clone()),
            Sync::Local => None,
        };
        let wake = remote
            .as_deref()
            .and_then(|r| store.repo.local_wake_file(r));
        let last_wake = wake.as_deref().and_then(wake_stamp);
        Watch {
            remote,
            wake,
            last_wake,
            last_local: None,
            last_pass: None,
            failures: 0,
            sweep: crate::core::schedule::SWEEP,
        }
    }

    /// Sweeps (passes with nothing changed) this often instead of [`crate::core::schedule::SWEEP`].
    pub fn set_sweep(&mut self, sweep: Duration) {
        self.sweep = sweep;
    }

    /// The wake file watched, if any.
    pub fn wake_file(&self) -> Option<&std::path::Path> {
        self.wake.as_deref()
    }

    /// True when the wake file moved since the last pass began.
    pub fn woken(&self) -> bool {
        self.wake.as_deref().and_then(wake_stamp) != self.last_wake
    }

    /// Whether a pass runs now: lists the remote (one `ls-remote`) unless
    /// woken or backing off. A listing that fails counts as a failed pass.
    pub fn check(&mut self, repo: &Repo) -> Result<Option<Trigger>> {
        let mut seen = Observation {
            changed: false,
            woken: self.woken(),
            since_last_pass: self.last_pass.map(|t| t.elapsed()),
            failures: self.failures,
        };
        let quick = decide(seen, self.sweep);
        if matches!(
            quick,
            Some(Trigger::Start | Trigger::Woken | Trigger::Retry)
        ) || self.failures > 0
        {
            return Ok(quick);
        }
        seen.changed = self.changed(repo)?;
        Ok(decide(seen, self.sweep))
    }

    /// True when the remote's refs differ from the mirror (or, locally, from
    /// the listing after the last pass).
    fn changed(&self, repo: &Repo) -> Result<bool> {
        let prefixes = watched_prefixes();
        match &self.remote {
            Some(remote) => Ok(!repo.mirror_is_current(remote, &prefixes)?),
            None => {
                Ok(Some(repo.list_local(&prefixes, &|n| Some(n.to_owned()))?) != self.last_local)
            }
        }
    }

    /// Marks a pass as begun: the wake stamp it answers.
    pub fn begin(&mut self) {
        self.last_wake = self.wake.as_deref().and_then(wake_stamp);
    }

    /// Marks a pass as ended, well or not.
    pub fn end(&mut self, repo: &Repo, ok: bool) {
        self.last_pass = Some(Instant::now());
        self.failures = if ok {
            0
        } else {
            self.failures.saturating_add(1)
        };
        if self.remote.is_none() {
            self.last_local = repo
                .list_local(&watched_prefixes(), &|n| Some(n.to_owned()))
                .ok();
        }
    }

    /// Records a failure that was not a pass (the listing failed).
    pub fn failed(&mut self) {
        self.last_pass = Some(Instant::now());
        self.failures = self.failures.saturating_add(1);
    }

    /// Failures in a row.
    pub fn failures(&self) -> u32 {
        self.failures
    }
}
