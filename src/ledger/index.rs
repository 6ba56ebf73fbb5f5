//! A ledger's record index ([`crate::git::record_index`]) brought up to a
//! tip, and the records it finds: an audit reads the records filed under a
//! key (a branch, a candidate, a main) and the ones at given positions, not
//! the whole ledger. Bringing the index up to date reads only the records
//! written since it was last brought up to date (the whole ledger once per
//! clone, like the fold cache). Every record is decoded exactly as the other
//! readers decode it, and callers re-check that what they read concerns
//! them: the index can only add a record, never hide one.

use super::{LedgerKind, decode_record};
use crate::git::record_index::RecordIndex;
use crate::git::{ObjectId, Repo};
use anyhow::Result;

/// From how many records to index an update is worth a word of progress.
pub const LONG_UPDATE: usize = 10_000;

/// A ledger's record index, up to date with one tip.
pub struct Indexed<'r, K: LedgerKind> {
    repo: &'r Repo,
    index: RecordIndex,
    _kind: std::marker::PhantomData<K>,
}

impl<'r, K: LedgerKind> Indexed<'r, K> {
    /// The index of ledger `K` in `repo` brought up to `tip`; None when it
    /// cannot be used now (another process holds it, or the cache cannot be
    /// written): the caller reads the ledger whole instead.
    pub fn at(repo: &'r Repo, tip: Option<ObjectId>) -> Result<Option<Indexed<'r, K>>> {
        Self::at_telling(repo, tip, &mut |_| {})
    }

    /// [`Indexed::at`], calling `long_update` with the number of records
    /// first when [`LONG_UPDATE`] or more must be indexed (progress for a
    /// first read in a big repository).
    pub fn at_telling(
        repo: &'r Repo,
        tip: Option<ObjectId>,
        long_update: &mut dyn FnMut(usize),
    ) -> Result<Option<Indexed<'r, K>>> {
        let ledger = K::REF.rsplit('/').next().unwrap_or("ledger");
        let Some(mut index) = RecordIndex::open(repo, ledger) else {
            return Ok(None);
        };
        if index.tip != tip {
            let mut new = Vec::new();
            let mut cursor = tip;
            while let Some(commit) = cursor {
                if Some(commit) == index.tip {
                    break;
                }
                let info = repo.find_commit_info(commit)?;
                cursor = info.parents.first().copied();
                new.push((commit, info.tree));
            }
            if new.len() >= LONG_UPDATE {
                long_update(new.len());
            }
            if cursor.is_none() {
                // The old tip is not in the new history: the ledger was
                // rewritten (or is gone), and `new` is all of it.
                index.clear();
            }
            for (commit, tree) in new.into_iter().rev() {
                let (at, keys) = match decode_record::<K>(repo, commit, tree)? {
                    Ok((record, _)) => (
                        crate::core::time::parse_rfc3339(K::at(&record)),
                        K::index_keys(&record),
                    ),
                    Err(_) => (None, Vec::new()),
                };
                index.push(commit, at, &keys);
            }
            if index.save().is_err() {
                return Ok(None);
            }
        }
        index.unlock();
        Ok(Some(Indexed {
            repo,
            index,
            _kind: std::marker::PhantomData,
        }))
    }

    /// The readable records filed under `key`, with their positions, in ledger order.
    pub fn filed_under(&self, key: &str) -> Result<Vec<(u64, K::Record)>> {
        let mut out = Vec::new();
        for position in self.index.positions(key) {
            if let Some(record) = self.record_at(position)? {
                out.push((position, record));
            }
        }
        Ok(out)
    }

    /// The readable records filed under each of `keys` before position
    /// `before`, in ledger order, per key (one read of each key file).
    pub fn filed_before(
        &self,
        keys: &[&str],
        before: u64,
    ) -> Result<std::collections::HashMap<String, Vec<K::Record>>> {
        let mut out = std::collections::HashMap::new();
        for (key, positions) in self.index.positions_of(keys) {
            let mut records = Vec::new();
            for position in positions.into_iter().filter(|p| *p < before) {
                if let Some(record) = self.record_at(position)? {
                    records.push(record);
                }
            }
            out.insert(key, records);
        }
        Ok(out)
    }

    /// The record at `position`: None past the end or when unreadable.
    pub fn record_at(&self, position: u64) -> Result<Option<K::Record>> {
        let Some(commit) = self.index.commit_at(position) else {
            return Ok(None);
        };
        let info = self.repo.find_commit_info(commit)?;
        Ok(decode_record::<K>(self.repo, commit, info.tree)?
            .ok()
            .map(|(record, _)| record))
    }

    /// The first position from which every record may have been written at
    /// or after `since`: all records before it were written earlier (by
    /// their own times, and by the ledger's running latest time).
    pub fn window_start(&self, since: i64) -> u64 {
        self.index.first_at_or_after(since)
    }

    /// The commit at `position`.
    pub fn commit_at(&self, position: u64) -> Option<ObjectId> {
        self.index.commit_at(position)
    }

    /// The ledger commits from `position` to the end, in order.
    pub fn commits_from(&self, position: u64) -> Vec<ObjectId> {
        self.index.commits_from(position)
    }

    /// Records in the index.
    pub fn len(&self) -> u64 {
        self.index.len
    }

    /// True when the ledger is empty.
    pub fn is_empty(&self) -> bool {
        self.index.len == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::control::ControlRecord;
    use crate::git::objects::Identity;
    use crate::ledger::{ControlLedger, Folded, append_commits, read_state};

    fn bound(id: &str, main: &str) -> ControlRecord {
        ControlRecord {
            control_id: id.into(),
            actor: "t".into(),
            at: "2026-01-01T00:00:00Z".into(),
            ..crate::core::control::pause_bound_to(main, &format!("hold {id}"))
        }
    }

    fn repo() -> (tempfile::TempDir, Repo) {
        crate::git::bare_repo_for_tests()
    }

    fn append(
        repo: &Repo,
        on: &Folded<crate::core::control::ControlState>,
        records: &[ControlRecord],
    ) -> Folded<crate::core::control::ControlState> {
        append_commits::<ControlLedger>(repo, on, records, &Identity::for_actor("t"))
            .expect("append")
    }

    fn ids(found: &[(u64, ControlRecord)]) -> Vec<(u64, String)> {
        found
            .iter()
            .map(|(p, r)| (*p, r.control_id.clone()))
            .collect()
    }

    const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn the_index_follows_a_growing_ledger_and_rebuilds_a_rewritten_one() {
        let (_dir, repo) = repo();
        let empty = read_state::<ControlLedger>(&repo, None).expect("empty");
        let first = append(
            &repo,
            &empty,
            &[bound("p0", A), bound("p1", B), bound("p2", A)],
        );
        let index = Indexed::<ControlLedger>::at(&repo, first.tip)
            .expect("reads")
            .expect("usable");
        assert_eq!(
            ids(&index.filed_under(&crate::core::story::main_key(A)).unwrap()),
            vec![(0, "p0".into()), (2, "p2".into())]
        );
        drop(index);

        // Grown: only the new records are read, at the next positions.
        let grown = append(&repo, &first, &[bound("p3", B), bound("p4", A)]);
        let index = Indexed::<ControlLedger>::at(&repo, grown.tip)
            .expect("reads")
            .expect("usable");
        assert_eq!(index.len(), 5);
        assert_eq!(
            ids(&index.filed_under(&crate::core::story::main_key(A)).unwrap()),
            vec![(0, "p0".into()), (2, "p2".into()), (4, "p4".into())]
        );
        assert_eq!(
            index.record_at(3).unwrap().map(|r| r.control_id),
            Some("p3".into())
        );
        assert!(index.record_at(5).unwrap().is_none());
        drop(index);

        // An older tip (a rewind) and another history: rebuilt, nothing of the old shown.
        let other = append(&repo, &empty, &[bound("q0", B)]);
        let index = Indexed::<ControlLedger>::at(&repo, other.tip)
            .expect("reads")
            .expect("usable");
        assert_eq!(index.len(), 1);
        assert!(
            index
                .filed_under(&crate::core::story::main_key(A))
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            ids(&index.filed_under(&crate::core::story::main_key(B)).unwrap()),
            vec![(0, "q0".into())]
        );
        drop(index);
        let index = Indexed::<ControlLedger>::at(&repo, None)
            .expect("reads")
            .expect("usable");
        assert!(index.is_empty());
    }

    #[test]
    fn lines_an_interrupted_update_left_past_the_end_are_never_read() {
        let (_dir, repo) = repo();
        let empty = read_state::<ControlLedger>(&repo, None).expect("empty");
        let first = append(&repo, &empty, &[bound("p0", A)]);
        drop(
            Indexed::<ControlLedger>::at(&repo, first.tip)
                .expect("reads")
                .expect("usable"),
        );
        // What a crash between the key files and `head` leaves: a key line
        // for a position the head does not count, and a commit line past it.
        let dir = repo.common_dir().join("deploybot-cache/index-v1/control");
        for shard in std::fs::read_dir(dir.join("keys")).unwrap() {
            let path = shard.unwrap().path();
            let mut text = std::fs::read_to_string(&path).unwrap();
            text.push_str(&format!("{}\t1\n", crate::core::story::main_key(A)));
            std::fs::write(&path, text).unwrap();
        }
        let mut commits = std::fs::read_to_string(dir.join("commits")).unwrap();
        commits.push_str(&format!("{B} {:>20}\n", 0));
        std::fs::write(dir.join("commits"), commits).unwrap();
        let index = Indexed::<ControlLedger>::at(&repo, first.tip)
            .expect("reads")
            .expect("usable");
        assert_eq!(
            ids(&index.filed_under(&crate::core::story::main_key(A)).unwrap()),
            vec![(0, "p0".into())]
        );
        drop(index);
        // The next update writes the commit line again where it belongs.
        let grown = append(&repo, &first, &[bound("p1", A)]);
        let index = Indexed::<ControlLedger>::at(&repo, grown.tip)
            .expect("reads")
            .expect("usable");
        assert_eq!(
            ids(&index.filed_under(&crate::core::story::main_key(A)).unwrap()),
            vec![(0, "p0".into()), (1, "p1".into())]
        );
    }

    #[test]
    fn an_index_being_updated_elsewhere_is_not_used_and_readers_hold_no_lock() {
        let (_dir, repo) = repo();
        let empty = read_state::<ControlLedger>(&repo, None).expect("empty");
        let first = append(&repo, &empty, &[bound("p0", A)]);
        let at = || Indexed::<ControlLedger>::at(&repo, first.tip).expect("reads");
        let reading = at().expect("usable");
        assert!(at().is_some(), "a reader holds no lock");
        let updating = RecordIndex::open(&repo, "control").expect("lock free");
        assert!(at().is_none(), "another process is updating it");
        drop(updating);
        let found = reading.filed_under(&crate::core::story::main_key(A));
        assert_eq!(found.unwrap().len(), 1);
        assert!(at().is_some(), "the lock was given back");
    }
}
