//! Bounded history questions for the server hook: is this update a
//! fast-forward (looking at no more than a budget of commits), and which blobs
//! differ between two trees (descending only into subtrees that differ).

use super::{ObjectId, Repo};
use anyhow::Result;
use std::collections::{BTreeMap, BTreeSet, HashSet, VecDeque};

/// The answer of a bounded ancestry question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ancestry {
    /// The ancestor was reached.
    Ancestor,
    /// Every path from the descendant ended (at roots) without reaching it.
    NotAncestor,
    /// The budget of commits ran out before an answer.
    Unknown,
}

/// One path whose blob differs between two trees.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobChange {
    /// The path (with `/` between fan-out levels).
    pub path: String,
    /// The blob before (None: added).
    pub old: Option<ObjectId>,
    /// The blob after (None: removed).
    pub new: Option<ObjectId>,
}

/// A tree's entries: name → (id, is a tree).
type Entries = BTreeMap<String, (ObjectId, bool)>;

impl Repo {
    /// Walks back from `descendant` breadth-first, reading at most `budget`
    /// commits, looking for `ancestor`.
    pub fn ancestry_within(
        &self,
        ancestor: ObjectId,
        descendant: ObjectId,
        budget: usize,
    ) -> Result<Ancestry> {
        let mut queue = VecDeque::from([descendant]);
        let mut seen = HashSet::from([descendant]);
        let mut read = 0usize;
        while let Some(commit) = queue.pop_front() {
            if commit == ancestor {
                return Ok(Ancestry::Ancestor);
            }
            if read >= budget {
                return Ok(Ancestry::Unknown);
            }
            read += 1;
            for parent in self.find_commit_info(commit)?.parents {
                if seen.insert(parent) {
                    queue.push_back(parent);
                }
            }
        }
        Ok(Ancestry::NotAncestor)
    }

    /// The first-parent ancestors of `tip` (the tip itself excluded), newest
    /// first, stopping before `stop` or after `limit` commits, whichever
    /// comes first: the mains between a watermark and the tip.
    pub fn first_parents_until(
        &self,
        tip: ObjectId,
        stop: Option<ObjectId>,
        limit: usize,
    ) -> Result<Vec<ObjectId>> {
        let mut out = Vec::new();
        let mut cursor = self.find_commit_info(tip)?.parents.first().copied();
        while let Some(commit) = cursor {
            if Some(commit) == stop || out.len() >= limit {
                break;
            }
            out.push(commit);
            cursor = self.find_commit_info(commit)?.parents.first().copied();
        }
        Ok(out)
    }

    /// The blobs that differ between `old` (None: the empty tree) and `new`,
    /// skipping subtrees whose ids are equal.
    pub fn changed_blobs(&self, old: Option<ObjectId>, new: ObjectId) -> Result<Vec<BlobChange>> {
        let mut out = Vec::new();
        self.diff_into(old, Some(new), "", &mut out)?;
        Ok(out)
    }

    fn diff_into(
        &self,
        old: Option<ObjectId>,
        new: Option<ObjectId>,
        prefix: &str,
        out: &mut Vec<BlobChange>,
    ) -> Result<()> {
        if old == new {
            return Ok(());
        }
        let old_entries = match old {
            Some(tree) => self.tree_entries(tree)?,
            None => BTreeMap::new(),
        };
        let new_entries = match new {
            Some(tree) => self.tree_entries(tree)?,
            None => BTreeMap::new(),
        };
        let names: BTreeSet<&String> = old_entries.keys().chain(new_entries.keys()).collect();
        for name in names {
            let before = old_entries.get(name).copied();
            let after = new_entries.get(name).copied();
            if before == after {
                continue;
            }
            let path = format!("{prefix}{name}");
            let tree_of = |side: Option<(ObjectId, bool)>| side.filter(|s| s.1).map(|s| s.0);
            let blob_of = |side: Option<(ObjectId, bool)>| side.filter(|s| !s.1).map(|s| s.0);
            if tree_of(before).is_some() || tree_of(after).is_some() {
                self.diff_into(tree_of(before), tree_of(after), &format!("{path}/"), out)?;
            }
            if blob_of(before) != blob_of(after) {
                out.push(BlobChange {
                    path,
                    old: blob_of(before),
                    new: blob_of(after),
                });
            }
        }
        Ok(())
    }

    fn tree_entries(&self, tree: ObjectId) -> Result<Entries> {
        let tree = self.gix().find_tree(tree)?;
        let decoded = tree.decode()?;
        Ok(decoded
            .entries
            .iter()
            .map(|e| (e.filename.to_string(), (e.oid.to_owned(), e.mode.is_tree())))
            .collect())
    }
}
