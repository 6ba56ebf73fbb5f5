//! Where the truth lives: the remote (mirrored, written by atomic pushes with
//! leases) or, offline or with no remote, the local ref store. Both behind one
//! compare-and-swap interface with bounded retry.

use super::names;
use super::refs::{CasOutcome, RefUpdate};
use super::{ObjectId, Repo};
use anyhow::{Result, bail};
use std::time::Duration;

/// How many times a contended write is rebuilt from fresh state before giving up.
pub const MAX_ATTEMPTS: u32 = 24;

/// Where reads come from and writes go to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sync {
    /// The named remote is the source of truth.
    Remote(String),
    /// The local ref store is the source of truth.
    Local,
}

/// What one attempt of a write decided.
pub enum Attempt<T> {
    /// Apply these updates (compare-and-swap), then return the value.
    Write(Vec<RefUpdate>, T),
    /// Nothing to write; return the value.
    Done(T),
}

/// Why a write did not land.
#[derive(Debug)]
pub enum WriteError {
    /// The server's hook refused it; one line per reason.
    Rejected(Vec<String>),
    /// Contention did not settle within [`MAX_ATTEMPTS`].
    Contended(u32),
    /// A ref lock file was left behind by a killed git process.
    StaleLock(super::locks::StaleLock),
}

impl std::fmt::Display for WriteError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            WriteError::Rejected(lines) => {
                write!(f, "the server refused the push: {}", lines.join(" | "))
            }
            WriteError::StaleLock(lock) => write!(
                f,
                "{} has been locked for {} s by a git process that is gone (killed mid-update); if no git process is running there, remove it: rm '{}'",
                lock.path.display(),
                lock.age.as_secs(),
                lock.path.display()
            ),
            WriteError::Contended(n) => write!(
                f,
                "gave up after {n} attempts: other writers kept moving the same refs; retry in a moment"
            ),
        }
    }
}

impl std::error::Error for WriteError {}

/// A repository plus where its truth lives.
pub struct Store {
    /// The opened repository (objects are always written here).
    pub repo: Repo,
    /// Remote or local.
    pub sync: Sync,
    /// Compare-and-swap writes refused because another writer moved a ref
    /// first (each was retried from fresh state).
    lost_races: std::sync::atomic::AtomicU32,
    /// Whether this store fetched from its remote (a refresh may only list).
    fetched: std::sync::atomic::AtomicBool,
}

impl Store {
    /// Picks the remote when it exists and `offline` is false, else the local store.
    pub fn new(repo: Repo, remote: &str, offline: bool) -> Store {
        let sync = if !offline && repo.has_remote(remote) {
            Sync::Remote(remote.to_string())
        } else {
            Sync::Local
        };
        Store {
            repo,
            sync,
            lost_races: Default::default(),
            fetched: Default::default(),
        }
    }

    /// The remote that is the source of truth (None: local).
    pub fn remote_name(&self) -> Option<&str> {
        match &self.sync {
            Sync::Remote(name) => Some(name),
            Sync::Local => None,
        }
    }

    /// How many of this store's writes lost a race so far (refused because
    /// another writer moved a ref first, then retried).
    pub fn lost_races(&self) -> u32 {
        self.lost_races.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this store has fetched from its remote (a refresh whose
    /// listing found nothing moved fetches nothing).
    pub fn fetched(&self) -> bool {
        self.fetched.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// True when a remote is the source of truth.
    pub fn is_remote(&self) -> bool {
        matches!(self.sync, Sync::Remote(_))
    }

    /// Fetches the mirror without listing first (no-op locally): for a
    /// caller that has just seen the remote move.
    pub fn fetch(&self) -> Result<()> {
        match &self.sync {
            Sync::Remote(name) => {
                self.repo.fetch_mirror(name)?;
                self.fetched
                    .store(true, std::sync::atomic::Ordering::Relaxed);
                Ok(())
            }
            Sync::Local => Ok(()),
        }
    }

    /// Brings the mirror up to the remote's state, fetching only when the
    /// remote's refs moved (no-op locally).
    pub fn refresh(&self) -> Result<()> {
        match &self.sync {
            Sync::Remote(name) => {
                if self.repo.refresh_mirror(name)? {
                    self.fetched
                        .store(true, std::sync::atomic::Ordering::Relaxed);
                }
                Ok(())
            }
            Sync::Local => Ok(()),
        }
    }

    /// Fetches only `refs` (each present on the remote) into the mirror, or
    /// the whole mirror when that fails; a no-op locally. For a check that
    /// rests on a few refs, after a push that leased them.
    pub fn refresh_refs(&self, refs: &[String]) -> Result<()> {
        match &self.sync {
            Sync::Remote(remote) => self
                .repo
                .fetch_mirror_refs(remote, refs)
                .or_else(|_| self.refresh()),
            Sync::Local => Ok(()),
        }
    }

    /// Whether the remote's `full_ref` is still what the mirror says (one
    /// `git ls-remote`, nothing fetched); always true locally.
    pub fn unmoved_on_remote(&self, full_ref: &str) -> Result<bool> {
        let Sync::Remote(remote) = &self.sync else {
            return Ok(true);
        };
        let text = self.repo.list_remote(remote, &[full_ref.to_string()])?;
        let listing = super::watch::Listing::parse(&text, &[full_ref.to_string()]);
        let remote_tip = listing.0.get(full_ref).map(String::as_str);
        let mirror = self.tip(full_ref)?.map(|t| t.to_string());
        Ok(remote_tip == mirror.as_deref())
    }

    /// Where `full_ref` is read from: its mirror, or itself locally.
    pub fn read_name(&self, full_ref: &str) -> String {
        match &self.sync {
            Sync::Remote(name) => names::sync_ref(name, full_ref),
            Sync::Local => full_ref.to_string(),
        }
    }

    /// The current value of `full_ref` in the source of truth (as of the last refresh).
    pub fn tip(&self, full_ref: &str) -> Result<Option<ObjectId>> {
        self.repo.try_find_ref(&self.read_name(full_ref))
    }

    /// Applies the updates once, compare-and-swap.
    pub fn apply(&self, updates: &[RefUpdate], message: &str) -> Result<CasOutcome> {
        self.repo.flush_objects()?;
        match &self.sync {
            Sync::Remote(name) => self.repo.push_atomic(name, updates),
            Sync::Local => self.repo.update_refs_cas(updates, message),
        }
    }

    /// Runs `attempt` against current state and applies what it decides; on
    /// contention refreshes and runs it again, up to [`MAX_ATTEMPTS`] times.
    pub fn transact<T>(
        &self,
        message: &str,
        attempt: impl FnMut(&Store) -> Result<Attempt<T>>,
    ) -> Result<T> {
        self.transact_with(message, Retry::Whole, attempt)
    }

    /// [`Store::transact`] for a note append on a hot notes ref (claims and
    /// results, written by every runner at once): a lost race refreshes only
    /// the refs the attempt wrote (one small fetch instead of the whole
    /// mirror), and it is tried up to [`HOT_ATTEMPTS`] times, so a finished
    /// run's result outlasts a crowd of runners instead of being dropped.
    /// Only for attempts whose every decision rests on the refs they write.
    pub fn transact_hot<T>(
        &self,
        message: &str,
        attempt: impl FnMut(&Store) -> Result<Attempt<T>>,
    ) -> Result<T> {
        self.transact_with(message, Retry::Written, attempt)
    }

    fn transact_with<T>(
        &self,
        message: &str,
        retry: Retry,
        mut attempt: impl FnMut(&Store) -> Result<Attempt<T>>,
    ) -> Result<T> {
        let attempts = match retry {
            Retry::Whole => MAX_ATTEMPTS,
            Retry::Written => HOT_ATTEMPTS,
        };
        let mut lost: Vec<String> = Vec::new();
        for n in 0..attempts {
            if n > 0 {
                std::thread::sleep(match retry {
                    Retry::Whole => backoff(n),
                    Retry::Written => hot_backoff(n),
                });
                self.refresh_after_loss(retry, &lost)?;
            }
            match attempt(self)? {
                Attempt::Done(value) => return Ok(value),
                Attempt::Write(updates, value) => match self.apply(&updates, message)? {
                    CasOutcome::Applied => return Ok(value),
                    CasOutcome::Stale(_) => {
                        self.lost_races
                            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        lost = updates.iter().map(|u| u.name.clone()).collect();
                        continue;
                    }
                    CasOutcome::Rejected(lines) => bail!(WriteError::Rejected(lines)),
                },
            }
        }
        bail!(WriteError::Contended(attempts))
    }

    /// After a lost compare-and-swap: the whole mirror, or only the refs
    /// that were written (falling back to the whole mirror when that fails,
    /// e.g. a ref the remote does not have yet).
    fn refresh_after_loss(&self, retry: Retry, written: &[String]) -> Result<()> {
        match (&self.sync, retry) {
            (Sync::Remote(remote), Retry::Written) if !written.is_empty() => self
                .repo
                .fetch_mirror_refs(remote, written)
                .or_else(|_| self.refresh()),
            _ => self.refresh(),
        }
    }
}

/// How a transaction refreshes after losing a race.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Retry {
    /// The whole mirror.
    Whole,
    /// Only the refs it wrote.
    Written,
}

/// Attempts of [`Store::transact_hot`].
pub const HOT_ATTEMPTS: u32 = 80;

/// The wait before retrying a hot note append: a random share of a window
/// that doubles from 10 ms per attempt up to one second. Many writers race on
/// one ref and each attempt costs one small fetch and one push: random waits
/// spread them, and the window grows until the crowd fits in it.
fn hot_backoff(attempt: u32) -> Duration {
    let window = (10u64 << attempt.min(7)).min(1000);
    Duration::from_millis(random_u64() % window)
}

/// Exponential backoff with jitter, capped near one second.
pub(crate) fn backoff(attempt: u32) -> Duration {
    let base = 20u64 << attempt.min(5);
    let jitter = random_u64() % base.max(1);
    Duration::from_millis((base + jitter).min(1200))
}

/// A random number from the process's randomly seeded hasher, the clock and the pid.
pub fn random_u64() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    h.write_u128(nanos);
    h.write_u32(std::process::id());
    h.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::objects::Identity;

    #[test]
    fn a_write_that_loses_a_race_is_counted_and_retried_from_fresh_state() {
        let (_dir, repo) = crate::git::bare_repo_for_tests();
        let store = Store::new(repo, "origin", true);
        let who = Identity::for_actor("t");
        let tree = store.repo.write_flat_tree(&[]).expect("tree");
        let theirs = store
            .repo
            .write_commit(tree, &[], "theirs", &who)
            .expect("commit");
        let name = "refs/heads/raced";
        let mut seen = Vec::new();
        let written = store
            .transact("test", |store| {
                let tip = store.tip(name)?;
                seen.push(tip);
                if seen.len() == 1 {
                    // Another writer moves the ref between our read and our write.
                    let other = RefUpdate {
                        name: name.into(),
                        expected: None,
                        new: Some(theirs),
                    };
                    store.repo.update_refs_cas(&[other], "another writer")?;
                }
                let ours = store
                    .repo
                    .write_commit(tree, tip.as_slice(), "ours", &who)?;
                let update = RefUpdate {
                    name: name.into(),
                    expected: tip,
                    new: Some(ours),
                };
                Ok(Attempt::Write(vec![update], ours))
            })
            .expect("applies on the second attempt");
        assert_eq!(
            seen,
            [None, Some(theirs)],
            "the retry read the other writer's value"
        );
        assert_eq!(store.lost_races(), 1);
        assert_eq!(store.tip(name).expect("reads"), Some(written));
    }
}
