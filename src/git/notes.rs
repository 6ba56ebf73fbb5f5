//! Git notes as JSON Lines: reading the note on an exact commit and appending a line.
//!
//! A notes ref is a commit chain whose tree maps an annotated object's hex id
//! (flat, or fanned out as `ab/cdef…`) to a blob. Appending never loses lines
//! already there: the new blob is the old text plus the new line. Notes are
//! read at any fan-out and an existing note is appended where it is; new ones
//! are written one level down.

use super::objects::Identity;
use super::{ObjectId, Repo};
use anyhow::Result;
use gix::objs::tree::EntryKind;

/// The path a new note on `target` is written at: one fan-out level down.
fn new_note_path(target: &ObjectId) -> String {
    let hex = target.to_string();
    format!("{}/{}", &hex[..2], &hex[2..])
}

impl Repo {
    /// Every note on `target` in the notes commit `notes_tip`, at any fan-out
    /// depth (`hex`, `ab/cdef…`, `ab/cd/ef…`, …), shallowest first. Git keeps
    /// one, but a hand-made tree may hold several: readers merge them all, so
    /// a second note can never hide the first.
    pub fn find_notes(
        &self,
        notes_tip: ObjectId,
        target: &ObjectId,
    ) -> Result<Vec<(String, Vec<u8>)>> {
        let hex = target.to_string();
        let mut found = Vec::new();
        let mut tree_id = self.find_commit_info(notes_tip)?.tree;
        let mut prefix = String::new();
        let mut offset = 0;
        loop {
            let tree = self.gix().find_tree(tree_id)?;
            let rest = &hex[offset..];
            if let Some(entry) = tree.find_entry(rest)
                && entry.mode().is_blob()
            {
                let blob = entry.oid().to_owned();
                found.push((format!("{prefix}{rest}"), self.find_blob(blob)?));
            }
            if offset + 2 >= hex.len() {
                break;
            }
            let segment = &hex[offset..offset + 2];
            match tree.find_entry(segment) {
                Some(entry) if entry.mode().is_tree() => {
                    tree_id = entry.oid().to_owned();
                    prefix.push_str(segment);
                    prefix.push('/');
                    offset += 2;
                }
                _ => break,
            }
        }
        Ok(found)
    }

    /// The text of the note on `target` under the notes commit `notes_tip`
    /// ("" when none); several notes at different fan-out depths are merged.
    pub fn read_note(&self, notes_tip: Option<ObjectId>, target: &ObjectId) -> Result<String> {
        let Some(tip) = notes_tip else {
            return Ok(String::new());
        };
        let mut text = String::new();
        for (_, bytes) in self.find_notes(tip, target)? {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str(&String::from_utf8_lossy(&bytes));
        }
        Ok(text)
    }

    /// Writes a notes commit on top of `notes_tip` whose note on `target` gains `line`.
    /// Returns the new notes commit; no ref moves.
    pub fn append_note_commit(
        &self,
        notes_tip: Option<ObjectId>,
        target: &ObjectId,
        line: &str,
        message: &str,
        who: &Identity,
    ) -> Result<ObjectId> {
        let existing = match notes_tip {
            Some(tip) => self.find_notes(tip, target)?.into_iter().next(),
            None => None,
        };
        // A new note goes one fan-out level down (`ab/cdef…`), as git lays out
        // large notes trees: an append rewrites the root (at most 256 entries)
        // and one subtree, not a flat tree of every note ever written.
        let (path, mut text) = existing.unwrap_or_else(|| (new_note_path(target), Vec::new()));
        if !text.is_empty() && !text.ends_with(b"\n") {
            text.push(b'\n');
        }
        text.extend_from_slice(line.trim_end().as_bytes());
        text.push(b'\n');
        let blob = self.write_blob(&text)?;
        let base_tree = match notes_tip {
            Some(tip) => self.find_commit_info(tip)?.tree,
            None => ObjectId::empty_tree(gix::hash::Kind::Sha1),
        };
        let mut editor = self.gix().edit_tree(base_tree)?;
        editor.upsert(path.as_str(), EntryKind::Blob, blob)?;
        let tree = editor.write()?.detach();
        let parents: Vec<ObjectId> = notes_tip.into_iter().collect();
        self.write_commit(tree, &parents, message, who)
    }
}
