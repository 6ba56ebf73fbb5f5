//! Reading and writing blobs, trees and commits.

use super::{ObjectId, Repo};
use anyhow::{Context, Result};
use gix::bstr::ByteSlice;

/// What the tool needs to know about a commit.
#[derive(Debug, Clone)]
pub struct CommitInfo {
    /// Its tree.
    pub tree: ObjectId,
    /// Its parents, in order.
    pub parents: Vec<ObjectId>,
    /// The full message.
    pub message: String,
}

/// Name and email written into commits made by the tool.
#[derive(Debug, Clone)]
pub struct Identity {
    /// Shown as author and committer name.
    pub name: String,
    /// Shown as author and committer email.
    pub email: String,
}

impl Identity {
    /// An identity for `actor` (an email-looking actor becomes the email too).
    pub fn for_actor(actor: &str) -> Identity {
        let email = if actor.contains('@') {
            actor.to_string()
        } else {
            format!("{actor}@deploybot.invalid")
        };
        Identity {
            name: actor.to_string(),
            email,
        }
    }
}

impl Repo {
    /// Writes `bytes` as a blob.
    pub fn write_blob(&self, bytes: &[u8]) -> Result<ObjectId> {
        Ok(self.gix().write_blob(bytes)?.detach())
    }

    /// Writes a tree holding only the given files (name → blob), sorted as git requires.
    pub fn write_flat_tree(&self, files: &[(&str, ObjectId)]) -> Result<ObjectId> {
        let mut entries: Vec<gix::objs::tree::Entry> = files
            .iter()
            .map(|(name, oid)| gix::objs::tree::Entry {
                mode: gix::objs::tree::EntryKind::Blob.into(),
                filename: (*name).into(),
                oid: *oid,
            })
            .collect();
        entries.sort_by(|a, b| a.filename.cmp(&b.filename));
        let tree = gix::objs::Tree { entries };
        Ok(self.gix().write_object(&tree)?.detach())
    }

    /// Writes a commit (no ref moves) authored and committed by `who`, now.
    pub fn write_commit(
        &self,
        tree: ObjectId,
        parents: &[ObjectId],
        message: &str,
        who: &Identity,
    ) -> Result<ObjectId> {
        let seconds = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let signature = gix::actor::Signature {
            name: who.name.as_str().into(),
            email: who.email.as_str().into(),
            time: gix::date::Time::new(seconds, 0),
        };
        let commit = gix::objs::Commit {
            tree,
            parents: parents.iter().copied().collect(),
            author: signature.clone(),
            committer: signature,
            encoding: None,
            message: message.into(),
            extra_headers: Vec::new(),
        };
        Ok(self.gix().write_object(&commit)?.detach())
    }

    /// Tree, parents and message of `commit`.
    pub fn find_commit_info(&self, commit: ObjectId) -> Result<CommitInfo> {
        let object = self
            .gix()
            .find_commit(commit)
            .with_context(|| format!("commit {commit} is missing"))?;
        let decoded = object.decode()?;
        Ok(CommitInfo {
            tree: decoded.tree(),
            parents: decoded.parents().collect(),
            message: decoded.message.to_str_lossy().into_owned(),
        })
    }

    /// True when `oid` names a commit in the object database.
    pub fn is_commit(&self, oid: ObjectId) -> Result<bool> {
        match self.gix().try_find_object(oid)? {
            Some(object) => Ok(object.kind == gix::object::Kind::Commit),
            None => Ok(false),
        }
    }

    /// The kind of `oid` (`commit`, `tree`, `blob`, `tag`), None when it is missing.
    pub fn object_kind(&self, oid: ObjectId) -> Result<Option<&'static str>> {
        Ok(self
            .gix()
            .try_find_object(oid)?
            .map(|object| match object.kind {
                gix::object::Kind::Commit => "commit",
                gix::object::Kind::Tree => "tree",
                gix::object::Kind::Blob => "blob",
                gix::object::Kind::Tag => "tag",
            }))
    }

    /// The size in bytes of object `oid`, read from its header (not loaded).
    pub fn object_size(&self, oid: ObjectId) -> Result<u64> {
        Ok(self.gix().find_header(oid)?.size())
    }

    /// True when the object exists in the object database.
    pub fn has_object(&self, oid: ObjectId) -> bool {
        self.gix().has_object(oid)
    }

    /// The bytes of the blob at `path` (may contain `/`) in `tree`, if there is one.
    pub fn try_read_path(&self, tree: ObjectId, path: &str) -> Result<Option<Vec<u8>>> {
        let tree = self.gix().find_tree(tree)?;
        let Some(entry) = tree.lookup_entry_by_path(path)? else {
            return Ok(None);
        };
        if !entry.mode().is_blob() {
            return Ok(None);
        }
        Ok(Some(entry.object()?.detach().data))
    }

    /// The blob id at `path` in `tree`, if there is one.
    pub fn try_find_path_id(&self, tree: ObjectId, path: &str) -> Result<Option<ObjectId>> {
        let tree = self.gix().find_tree(tree)?;
        Ok(tree
            .lookup_entry_by_path(path)?
            .filter(|e| e.mode().is_blob())
            .map(|e| e.object_id()))
    }

    /// The bytes of the blob `oid`.
    pub fn find_blob(&self, oid: ObjectId) -> Result<Vec<u8>> {
        Ok(self.gix().find_blob(oid)?.detach().data)
    }

    /// True when `ancestor` is `descendant` or one of its ancestors.
    pub fn is_ancestor(&self, ancestor: ObjectId, descendant: ObjectId) -> Result<bool> {
        if ancestor == descendant {
            return Ok(true);
        }
        match self.gix().merge_base(ancestor, descendant) {
            Ok(base) => Ok(base.map(|b| b.detach()) == Some(ancestor)),
            Err(_) => Ok(false),
        }
    }
}
