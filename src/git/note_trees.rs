//! Many note lookups under notes trees: the trees every lookup passes
//! through (the top fan-out levels, and any big tree) are decoded once,
//! sorted, and searched by bisection, instead of scanned for each lookup.
//! Found in the same order as [`Repo::find_notes`]: shallowest first.

use super::{ObjectId, Repo};
use anyhow::Result;
use std::cell::{Cell, RefCell};
use std::collections::HashMap;
use std::rc::Rc;

/// One entry of a decoded tree: its name, object and whether it is a tree.
type TreeItem = (Vec<u8>, ObjectId, bool);

/// Decoded notes trees kept across lookups, up to a number of entries.
pub struct NoteTrees {
    trees: RefCell<HashMap<ObjectId, Rc<Vec<TreeItem>>>>,
    items: Cell<usize>,
    limit: usize,
}

impl NoteTrees {
    /// A cache keeping at most `limit` decoded entries in all.
    pub fn new(limit: usize) -> NoteTrees {
        NoteTrees {
            trees: RefCell::default(),
            items: Cell::new(0),
            limit,
        }
    }

    /// The entries of `tree`, sorted by name; kept when `keep` (a fan-out
    /// level every lookup passes through) or when the tree is big (a notes
    /// tree written with little fan-out would otherwise be decoded whole
    /// for every lookup), within the limit.
    fn items(
        &self,
        repo: &gix::Repository,
        tree: ObjectId,
        keep: bool,
    ) -> Result<Rc<Vec<TreeItem>>> {
        if let Some(items) = self.trees.borrow().get(&tree) {
            return Ok(items.clone());
        }
        let object = repo.find_tree(tree)?;
        let decoded = object.decode()?;
        let mut items: Vec<TreeItem> = decoded
            .entries
            .iter()
            .map(|e| (e.filename.to_vec(), e.oid.to_owned(), e.mode.is_tree()))
            .collect();
        items.sort_by(|a, b| a.0.cmp(&b.0));
        let items = Rc::new(items);
        let kept = self.items.get() + items.len();
        if (keep || items.len() > 256) && kept <= self.limit {
            self.items.set(kept);
            self.trees.borrow_mut().insert(tree, items.clone());
        }
        Ok(items)
    }

    /// The note blobs on `target` under the notes tree `root` (read through
    /// `repo`), at any fan-out depth, shallowest first.
    pub(crate) fn blobs_in(
        &self,
        repo: &gix::Repository,
        root: ObjectId,
        target: &ObjectId,
    ) -> Result<Vec<ObjectId>> {
        let hex = target.to_string();
        let mut found = Vec::new();
        let (mut tree, mut offset) = (root, 0);
        loop {
            let items = self.items(repo, tree, offset < 4)?;
            let find = |name: &str| {
                items
                    .binary_search_by(|item| item.0.as_slice().cmp(name.as_bytes()))
                    .ok()
                    .map(|i| &items[i])
            };
            if let Some((_, blob, false)) = find(&hex[offset..]) {
                found.push(*blob);
            }
            if offset + 2 >= hex.len() {
                break;
            }
            match find(&hex[offset..offset + 2]) {
                Some((_, sub, true)) => {
                    tree = *sub;
                    offset += 2;
                }
                _ => break,
            }
        }
        Ok(found)
    }
}

/// Notes on many commits under one notes commit, read through [`NoteTrees`].
pub struct NotesAt<'r> {
    repo: &'r Repo,
    root: Option<ObjectId>,
    trees: NoteTrees,
}

/// Decoded entries a [`NotesAt`] keeps: the top two fan-out levels of a
/// notes tree hold at most 65,792 entries.
const NOTES_AT_KEPT: usize = 200_000;

impl Repo {
    /// The notes under the notes commit `notes_tip` (None: no notes), for
    /// reading the notes of many commits.
    pub fn notes_at(&self, notes_tip: Option<ObjectId>) -> Result<NotesAt<'_>> {
        let root = match notes_tip {
            Some(tip) => Some(self.find_commit_info(tip)?.tree),
            None => None,
        };
        Ok(NotesAt {
            repo: self,
            root,
            trees: NoteTrees::new(NOTES_AT_KEPT),
        })
    }
}

impl NotesAt<'_> {
    /// The text of the note on `target` ("" when none), as
    /// [`Repo::read_note`] reads it: several notes merged, shallowest first.
    pub fn text(&self, target: &ObjectId) -> Result<String> {
        let Some(root) = self.root else {
            return Ok(String::new());
        };
        let mut text = String::new();
        for blob in self.trees.blobs_in(self.repo.gix(), root, target)? {
            let bytes = self.repo.find_blob(blob)?;
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        Ok(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::objects::Identity;

    /// Notes written flat, one level down and two levels down (by hand),
    /// read through the cache as `read_note` reads them, twice.
    #[test]
    fn cached_lookups_read_every_fan_out_as_read_note_does() {
        let (_dir, repo) = crate::git::bare_repo_for_tests();
        let who = Identity::for_actor("test");
        let targets: Vec<ObjectId> = (0..40u8)
            .map(|n| repo.write_blob(&[n]).expect("blob"))
            .collect();
        let mut tip = None;
        for (n, target) in targets.iter().enumerate().take(30) {
            tip = Some(
                repo.append_note_commit(tip, target, &format!("line {n}"), "note", &who)
                    .expect("note"),
            );
        }
        // A second note on the first target, flat at the root.
        let root = repo
            .find_commit_info(tip.expect("notes"))
            .expect("commit")
            .tree;
        let flat = repo.write_blob(b"flat").expect("blob");
        let mut editor = repo.gix().edit_tree(root).expect("editor");
        editor
            .upsert(
                targets[0].to_string(),
                gix::objs::tree::EntryKind::Blob,
                flat,
            )
            .expect("upsert");
        let tree = editor.write().expect("tree").detach();
        let tip = repo.write_commit(tree, &[], "flat", &who).expect("commit");
        let notes = repo.notes_at(Some(tip)).expect("notes");
        for _ in 0..2 {
            for target in &targets {
                assert_eq!(
                    notes.text(target).expect("read"),
                    repo.read_note(Some(tip), target).expect("read")
                );
            }
        }
        assert_eq!(notes.text(&targets[0]).expect("read"), "flat\nline 0\n");
        assert_eq!(notes.text(&targets[35]).expect("read"), "");
        assert_eq!(
            repo.notes_at(None)
                .expect("none")
                .text(&targets[0])
                .expect("read"),
            ""
        );
    }
}
