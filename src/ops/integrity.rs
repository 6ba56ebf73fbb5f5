//! Refs that must point at commits: a ledger ref moved onto a blob or a tree
//! (by hand, or by a broken tool) would make every read fail deep inside the
//! fold; it is caught here, once, with the ref's name and the fix.

use crate::error::{CliError, CliResult};
use crate::git::names;
use crate::git::store::{Store, Sync};
use crate::messages;

/// The ledgers every command reads.
pub const LEDGERS: [&str; 2] = [names::CONTROL, names::QUEUE];

/// The one-line problem when `full_ref` (read where truth lives) points at a
/// non-commit; None when it is a commit, absent, or its object is missing
/// (reported by the read itself).
pub fn ledger_ref_problem(store: &Store, full_ref: &str) -> anyhow::Result<Option<String>> {
    let Some(tip) = store.tip(full_ref)? else {
        return Ok(None);
    };
    let remote = match &store.sync {
        Sync::Remote(name) => Some(name.as_str()),
        Sync::Local => None,
    };
    Ok(match store.repo.object_kind(tip)? {
        Some(kind) if kind != "commit" => Some(messages::ledger_not_a_commit(
            full_ref,
            kind,
            &tip.to_string(),
            remote,
        )),
        _ => None,
    })
}

/// Fails with the first ledger ref that points at a non-commit.
pub fn check_ledger_refs(store: &Store) -> CliResult {
    for full_ref in LEDGERS {
        if let Some(problem) = ledger_ref_problem(store, full_ref)? {
            return Err(CliError::new(crate::error::ErrorKind::Runtime, problem));
        }
    }
    Ok(())
}
