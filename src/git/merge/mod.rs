//! Merging commits in memory (no index, no working tree).
//!
//! A pass merges many heads one on top of the other; [`Merger`] keeps one
//! revision graph and one set of blob caches for all of them, so each merge
//! pays for the commits it has not walked yet, not for the whole walk again,
//! and a merge that is trivial (see [`trivial`]) is not run as a full
//! three-way merge at all.

mod trivial;

use super::objects::Identity;
use super::{ObjectId, Repo};
use anyhow::{Context, Result};
use gix::merge::plumbing as merge;
use gix::merge::tree::TreatAsUnresolved;
use gix::revision::plumbing::merge_base::Flags;
use gix::revwalk::graph::Commit;

/// The result of merging a head into the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The merge commit (parents: base, head), written but not referenced.
    Merged(ObjectId),
    /// The head conflicts with the base; the paths that conflict.
    Conflict(Vec<String>),
    /// The head is already in the base: merging it changes nothing.
    Contained,
}

/// Merges heads in a row, reusing one revision graph and the blob caches.
pub struct Merger<'r> {
    repo: &'r Repo,
    graph: gix::revwalk::Graph<'r, 'r, Commit<Flags>>,
    diff_cache: gix::diff::blob::Platform,
    blob_merge: merge::blob::Platform,
    options: merge::commit::Options,
}

impl Repo {
    /// Runs `work` with a [`Merger`] over this repository.
    pub fn with_merger<T>(&self, work: impl FnOnce(&mut Merger<'_>) -> Result<T>) -> Result<T> {
        let repo = self.gix();
        let commit_graph = repo.commit_graph_if_enabled()?;
        let options: gix::merge::commit::Options = repo.tree_merge_options()?.into();
        let mut merger = Merger {
            repo: self,
            graph: repo.revision_graph(commit_graph.as_ref()),
            diff_cache: repo.diff_resource_cache_for_tree_diff()?,
            blob_merge: repo.merge_resource_cache(Default::default())?,
            options: options.into(),
        };
        work(&mut merger)
    }
}

impl Merger<'_> {
    /// Merges `head` into `base` and writes a merge commit with `message`,
    /// or reports conflicts, or that `head` is already in `base`.
    pub fn merge(
        &mut self,
        base: ObjectId,
        head: ObjectId,
        message: &str,
        who: &Identity,
    ) -> Result<MergeOutcome> {
        if base == head {
            return Ok(MergeOutcome::Contained);
        }
        let bases = gix::revision::plumbing::merge_base(head, &[base], &mut self.graph)
            .context("finding the merge base")?;
        let mut trivial = None;
        if let Some(only) = bases.filter(|b| b.len() == 1).map(|b| *b.first()) {
            if only == head {
                return Ok(MergeOutcome::Contained);
            }
            let tree_of = |c| self.repo.find_commit_info(c).map(|i| i.tree);
            let (ancestor, ours, theirs) = (tree_of(only)?, tree_of(base)?, tree_of(head)?);
            trivial = self.repo.trivial_merge(ancestor, ours, theirs)?;
        }
        let tree = match trivial {
            Some(tree) => tree,
            None => match self.full_merge(base, head)? {
                Ok(tree) => tree,
                Err(paths) => return Ok(MergeOutcome::Conflict(paths)),
            },
        };
        let commit = self.repo.write_commit(tree, &[base, head], message, who)?;
        Ok(MergeOutcome::Merged(commit))
    }

    /// The three-way merge of `head` into `base` (rename tracking, blob
    /// merges, several merge bases), as gix does it: the merged tree, or
    /// the paths that conflict.
    fn full_merge(
        &mut self,
        base: ObjectId,
        head: ObjectId,
    ) -> Result<std::result::Result<ObjectId, Vec<String>>> {
        let repo = self.repo.gix();
        let labels = gix::merge::blob::builtin_driver::text::Labels {
            ancestor: Some("merge-base".into()),
            current: Some("base".into()),
            other: Some("head".into()),
        };
        let mut outcome = merge::commit(
            base,
            head,
            labels,
            &mut self.graph,
            &mut self.diff_cache,
            &mut self.blob_merge,
            repo,
            &mut |id| id.to_hex_with_len(12).to_string(),
            self.options.clone(),
        )?;
        let how = TreatAsUnresolved::git();
        if outcome.tree_merge.has_unresolved_conflicts(how) {
            let paths = outcome
                .tree_merge
                .conflicts
                .iter()
                .filter(|c| c.is_unresolved(how))
                .map(|c| c.ours.location().to_string())
                .collect();
            return Ok(Err(paths));
        }
        Ok(Ok(write_tree(repo, &mut outcome.tree_merge.tree)?))
    }
}

/// Writes the edited tree. Every entry comes from one of the two sides or
/// from a blob just merged, so only the names are checked (with gix's
/// defaults for this platform), not each entry's presence in the database.
fn write_tree(
    repo: &gix::Repository,
    editor: &mut gix::objs::tree::Editor<'_>,
) -> Result<ObjectId> {
    let protect = gix::validate::path::component::Options {
        protect_windows: cfg!(windows),
        protect_hfs: cfg!(target_os = "macos"),
        protect_ntfs: true,
    };
    editor.write(|tree| -> Result<ObjectId> {
        for entry in &tree.entries {
            let mode = entry
                .mode
                .is_link()
                .then_some(gix::validate::path::component::Mode::Symlink);
            gix::validate::path::component(entry.filename.as_ref(), mode, protect)
                .with_context(|| format!("merged tree has an invalid name {:?}", entry.filename))?;
        }
        Ok(repo.write_object(tree)?.detach())
    })
}

#[cfg(test)]
mod tests;
