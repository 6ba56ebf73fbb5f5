//! Reading refs and updating them with compare-and-swap in the local ref store.

use super::{ObjectId, Repo};
use anyhow::Result;
use gix::refs::Target;
use gix::refs::transaction::{Change, LogChange, PreviousValue, RefEdit, RefLog};

/// One compare-and-swap ref update: `expected` None = must not exist, `new` None = delete.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefUpdate {
    /// Full ref name.
    pub name: String,
    /// The value read before computing the update.
    pub expected: Option<ObjectId>,
    /// The value to set, or None to delete.
    pub new: Option<ObjectId>,
}

impl RefUpdate {
    /// A lease without a change: the update fails (as stale) unless `name` still holds `value`.
    pub fn verify(name: &str, value: ObjectId) -> RefUpdate {
        RefUpdate {
            name: name.to_string(),
            expected: Some(value),
            new: Some(value),
        }
    }
}

/// How a compare-and-swap went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome {
    /// Every ref moved.
    Applied,
    /// Some ref no longer held its expected value; nothing moved.
    Stale(String),
    /// The server refused (its hook); nothing moved. One line per reason.
    Rejected(Vec<String>),
}

impl Repo {
    /// The object a ref points at, peeled to a non-tag object; None when absent.
    pub fn try_find_ref(&self, name: &str) -> Result<Option<ObjectId>> {
        match self.gix().try_find_reference(name)? {
            Some(mut reference) => Ok(Some(reference.peel_to_id()?.detach())),
            None => Ok(None),
        }
    }

    /// Every ref under `prefix` (a full name ending in `/`) with the object
    /// it finally points at, read in process.
    pub fn refs_under(&self, prefix: &str) -> Result<Vec<(String, ObjectId)>> {
        let platform = self.gix().references()?;
        let mut found = Vec::new();
        for reference in platform.prefixed(prefix)? {
            let mut reference = reference.map_err(|e| anyhow::anyhow!("{e}"))?;
            let name = reference.name().as_bstr().to_string();
            found.push((name, reference.peel_to_id()?.detach()));
        }
        Ok(found)
    }

    /// Where `name` finally points when it is a symbolic ref (following a
    /// chain of at most five), or None when it is a plain ref or absent.
    pub fn try_find_symref_target(&self, name: &str) -> Result<Option<String>> {
        let mut current = name.to_string();
        let mut followed = false;
        for _ in 0..5 {
            let Some(reference) = self.gix().try_find_reference(current.as_str())? else {
                break;
            };
            match reference.target() {
                gix::refs::TargetRef::Symbolic(target) => {
                    current = target.as_bstr().to_string();
                    followed = true;
                }
                gix::refs::TargetRef::Object(_) => break,
            }
        }
        Ok(followed.then_some(current))
    }

    /// Applies every update atomically in the local ref store, or none of them.
    pub fn update_refs_cas(&self, updates: &[RefUpdate], message: &str) -> Result<CasOutcome> {
        let mut edits = Vec::with_capacity(updates.len());
        for update in updates {
            let expected = match update.expected {
                Some(old) => PreviousValue::MustExistAndMatch(Target::Object(old)),
                None => PreviousValue::MustNotExist,
            };
            let change = match update.new {
                Some(new) => Change::Update {
                    log: LogChange {
                        mode: RefLog::AndReference,
                        force_create_reflog: false,
                        message: message.into(),
                    },
                    expected,
                    new: Target::Object(new),
                },
                None => Change::Delete {
                    expected,
                    log: RefLog::AndReference,
                },
            };
            edits.push(RefEdit {
                change,
                name: update.name.as_str().try_into()?,
                deref: false,
            });
        }
        match self.gix().edit_references(edits) {
            Ok(_) => Ok(CasOutcome::Applied),
            Err(err) => {
                // Whatever the error's kind, a ref that moved under us is contention.
                for update in updates {
                    if self.try_find_ref(&update.name)? != update.expected {
                        return Ok(CasOutcome::Stale(format!("{} moved", update.name)));
                    }
                }
                if err.is_conflict() || err.is_retryable() {
                    let names: Vec<&str> = updates.iter().map(|u| u.name.as_str()).collect();
                    let dir = self.gix().common_dir().to_path_buf();
                    if let Some(lock) = super::locks::stale_locks_of(&dir, &names).pop() {
                        anyhow::bail!(super::store::WriteError::StaleLock(lock));
                    }
                    return Ok(CasOutcome::Stale(err.to_string()));
                }
                Err(anyhow::anyhow!("cannot update refs: {err}"))
            }
        }
    }

    /// Sets refs without checking their previous values (only for local mirrors of remote state).
    pub fn force_refs(&self, updates: &[(String, Option<ObjectId>)], message: &str) -> Result<()> {
        let edits: Result<Vec<RefEdit>> = updates
            .iter()
            .map(|(name, new)| {
                let change = match new {
                    Some(new) => Change::Update {
                        log: LogChange {
                            mode: RefLog::AndReference,
                            force_create_reflog: false,
                            message: message.into(),
                        },
                        expected: PreviousValue::Any,
                        new: Target::Object(*new),
                    },
                    None => Change::Delete {
                        expected: PreviousValue::Any,
                        log: RefLog::AndReference,
                    },
                };
                Ok(RefEdit {
                    change,
                    name: name.as_str().try_into()?,
                    deref: false,
                })
            })
            .collect();
        self.gix().edit_references(edits?)?;
        Ok(())
    }
}
