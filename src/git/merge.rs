//! Merging two commits in memory (no index, no working tree).

use super::objects::Identity;
use super::{ObjectId, Repo};
use anyhow::Result;
use gix::merge::tree::TreatAsUnresolved;

/// The result of merging a head into the base.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MergeOutcome {
    /// The merge commit (parents: base, head), written but not referenced.
    Merged(ObjectId),
    /// The head conflicts with the base; the paths that conflict.
    Conflict(Vec<String>),
}

impl Repo {
    /// Merges `head` into `base` and writes a merge commit with `message`, or reports conflicts.
    pub fn merge_into(
        &self,
        base: ObjectId,
        head: ObjectId,
        message: &str,
        who: &Identity,
    ) -> Result<MergeOutcome> {
        let repo = self.gix();
        let options = repo.tree_merge_options()?;
        let labels = gix::merge::blob::builtin_driver::text::Labels {
            ancestor: Some("merge-base".into()),
            current: Some("base".into()),
            other: Some("head".into()),
        };
        let mut outcome = repo.merge_commits(base, head, labels, options.into())?;
        let how = TreatAsUnresolved::git();
        if outcome.tree_merge.has_unresolved_conflicts(how) {
            let paths = outcome
                .tree_merge
                .conflicts
                .iter()
                .filter(|c| c.is_unresolved(how))
                .map(|c| c.ours.location().to_string())
                .collect();
            return Ok(MergeOutcome::Conflict(paths));
        }
        let tree = outcome.tree_merge.tree.write()?.detach();
        Ok(MergeOutcome::Merged(self.write_commit(
            tree,
            &[base, head],
            message,
            who,
        )?))
    }
}
