//! The trivial merge. When every path the head changed since the merge base
//! is still as it was in the merge base on the base's side (and its
//! directories are still directories there), the three-way merge is the
//! base's tree with the head's changes applied. Finding that needs only the
//! head's side of the diff, so the queue's common case (independent branches
//! merged one on top of the other) costs what each head changed, not
//! everything that landed since it forked. Anything else returns None and
//! the full merge decides; a property test holds the two to the same trees.

use super::super::{ObjectId, Repo};
use anyhow::Result;
use gix::bstr::{BStr, ByteSlice};
use gix::diff::tree::recorder::{Change, Location};
use gix::objs::tree::EntryMode;

/// Above this many changed entries on the head's side, the full merge decides.
const MOST_CHANGES: usize = 512;

/// An entry as the merge compares it: mode and id, or nothing.
type Entry = Option<(EntryMode, ObjectId)>;

impl Repo {
    /// The merged tree when merging `theirs` into `ours` (both trees, with
    /// `ancestor` the merge base's tree) is trivial, else None.
    pub(super) fn trivial_merge(
        &self,
        ancestor: ObjectId,
        ours: ObjectId,
        theirs: ObjectId,
    ) -> Result<Option<ObjectId>> {
        if ancestor == theirs {
            return Ok(Some(ours));
        }
        let changes = self.tree_changes(ancestor, theirs)?;
        // Each change costs a few path lookups here; a head that changes
        // this much is cheaper for the full merge, which diffs trees once.
        if changes.len() > MOST_CHANGES {
            return Ok(None);
        }
        for change in &changes {
            if !self.untouched_by_ours(ancestor, ours, change)? {
                return Ok(None);
            }
        }
        let repo = self.gix();
        let root: gix::objs::Tree = repo.find_tree(ours)?.decode()?.into();
        let mut editor = gix::objs::tree::Editor::new(root, &repo.objects, repo.object_hash());
        // Removals first, so a directory the head turned into a file is
        // emptied before the file takes its place. A directory follows from
        // its files: added ones create it, and one left empty is dropped
        // when the tree is written.
        for change in &changes {
            if let Change::Deletion {
                entry_mode, path, ..
            } = change
                && !entry_mode.is_tree()
            {
                editor.remove(path.split_str("/"))?;
            }
        }
        for change in &changes {
            if let Change::Addition {
                entry_mode,
                oid,
                path,
                ..
            }
            | Change::Modification {
                entry_mode,
                oid,
                path,
                ..
            } = change
                && !entry_mode.is_tree()
            {
                editor.upsert(path.split_str("/"), entry_mode.kind(), *oid)?;
            }
        }
        Ok(Some(super::write_tree(repo, &mut editor)?))
    }

    /// The changes from tree `from` to tree `to`, files and directories, by path.
    fn tree_changes(&self, from: ObjectId, to: ObjectId) -> Result<Vec<Change>> {
        let repo = self.gix();
        let (from, to) = (repo.find_tree(from)?, repo.find_tree(to)?);
        let mut recorder =
            gix::diff::tree::Recorder::default().track_location(Some(Location::Path));
        gix::diff::tree(
            gix::objs::TreeRefIter::from_bytes(&from.data, repo.object_hash()),
            gix::objs::TreeRefIter::from_bytes(&to.data, repo.object_hash()),
            gix::diff::tree::State::default(),
            &repo.objects,
            &mut recorder,
        )?;
        Ok(recorder.records)
    }

    /// Whether applying `change` (the head's, from `ancestor`) to `ours`
    /// is what the three-way merge does: the path is in `ours` as it was in
    /// `ancestor`, and every directory above it that was a directory still is.
    fn untouched_by_ours(
        &self,
        ancestor: ObjectId,
        ours: ObjectId,
        change: &Change,
    ) -> Result<bool> {
        let (path, before, after) = match change {
            Change::Addition {
                entry_mode, path, ..
            } => (path, None, Some(*entry_mode)),
            Change::Deletion {
                entry_mode, path, ..
            } => (path, Some(*entry_mode), None),
            Change::Modification {
                previous_entry_mode,
                entry_mode,
                path,
                ..
            } => (path, Some(*previous_entry_mode), Some(*entry_mode)),
        };
        let path = path.as_bstr();
        let is_tree = |mode: Option<EntryMode>| mode.is_some_and(|m| m.is_tree());
        let in_ours = self.entry_at(ours, path)?;
        let same_here = match (before, after) {
            // A directory changed inside: its files decide.
            (Some(b), Some(a)) if b.is_tree() && a.is_tree() => true,
            // A directory added: ours may have added files there too, but
            // must not have put a file at its place.
            (None, a) if is_tree(a) => in_ours.is_none() || is_tree(in_ours.map(|e| e.0)),
            // Anything else, a directory removed included: as it was. (Ours
            // adding a file in a directory the head removed is for the full
            // merge: the head may have renamed the directory, and git and
            // gix then move the file along.)
            _ => in_ours == self.entry_at(ancestor, path)?,
        };
        if !same_here {
            return Ok(false);
        }
        let mut prefix = Vec::new();
        let mut components = path.split_str("/").peekable();
        while let Some(component) = components.next() {
            if components.peek().is_none() {
                break;
            }
            if !prefix.is_empty() {
                prefix.push(b'/');
            }
            prefix.extend_from_slice(component);
            let was = self.entry_at(ancestor, prefix.as_bstr())?;
            let now = self.entry_at(ours, prefix.as_bstr())?;
            let still_a_directory = match was {
                Some((mode, _)) if mode.is_tree() => is_tree(now.map(|e| e.0)),
                Some(_) => false,
                None => now.is_none() || is_tree(now.map(|e| e.0)),
            };
            if !still_a_directory {
                return Ok(false);
            }
        }
        Ok(true)
    }

    /// The entry at `path` in `tree`, if any.
    fn entry_at(&self, tree: ObjectId, path: &BStr) -> Result<Entry> {
        let tree = self.gix().find_tree(tree)?;
        Ok(tree
            .lookup_entry(path.split_str("/"))?
            .map(|e| (e.mode(), e.object_id())))
    }
}
