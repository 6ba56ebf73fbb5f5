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

/// The note paths git may use for `target`: flat, then one and two levels of fan-out.
fn note_paths(target: &ObjectId) -> [String; 3] {
    let hex = target.to_string();
    [
        hex.clone(),
        format!("{}/{}", &hex[..2], &hex[2..]),
        format!("{}/{}/{}", &hex[..2], &hex[2..4], &hex[4..]),
    ]
}

impl Repo {
    /// The path and text of the note on `target` in the notes commit `notes_tip`, if any.
    fn try_find_note(
        &self,
        notes_tip: ObjectId,
        target: &ObjectId,
    ) -> Result<Option<(String, Vec<u8>)>> {
        let tree = self.find_commit_info(notes_tip)?.tree;
        for path in note_paths(target) {
            if let Some(bytes) = self.try_read_path(tree, &path)? {
                return Ok(Some((path, bytes)));
            }
        }
        Ok(None)
    }

    /// The text of the note on `target` under the notes commit `notes_tip` ("" when none).
    pub fn read_note(&self, notes_tip: Option<ObjectId>, target: &ObjectId) -> Result<String> {
        let Some(tip) = notes_tip else {
            return Ok(String::new());
        };
        Ok(self
            .try_find_note(tip, target)?
            .map(|(_, bytes)| String::from_utf8_lossy(&bytes).into_owned())
            .unwrap_or_default())
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
            Some(tip) => self.try_find_note(tip, target)?,
            None => None,
        };
        // A new note goes one fan-out level down (`ab/cdef…`), as git lays out
        // large notes trees: an append rewrites the root (at most 256 entries)
        // and one subtree, not a flat tree of every note ever written.
        let (path, mut text) = existing.unwrap_or_else(|| {
            let [_, fanned, _] = note_paths(target);
            (fanned, Vec::new())
        });
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
