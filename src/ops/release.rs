//! The release state of an exact base commit, read from its notes.

use crate::core::policy::Policy;
use crate::core::release::{Release, ReleaseInputs, release_state};
use crate::core::results::{CancelRule, ResultRecord, parse_note};
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use anyhow::Result;

/// The result records of `sha` in the notes ref `notes_ref`, plus unreadable lines.
pub fn read_results(
    store: &Store,
    notes_ref: &str,
    sha: &ObjectId,
) -> Result<(Vec<ResultRecord>, Vec<String>)> {
    let text = store.repo.read_note(store.tip(notes_ref)?, sha)?;
    let parsed = parse_note(&text);
    Ok((parsed.records, parsed.problems))
}

/// The release state of `sha` under `policy` at time `now`, judged as the
/// base tip (a decided cancel fails it).
pub fn release_of(store: &Store, policy: &Policy, sha: &ObjectId, now: i64) -> Result<Release> {
    let tip_of = |name: &str| store.tip(name);
    release_in(&store.repo, &tip_of, policy, sha, now, CancelRule::Fails)
}

/// The release state of `sha`, a first-parent main below the base tip: a
/// decided cancel there coalesces into the newer main's run (DESIGN.md,
/// "Older mains are judged too").
pub fn older_release_of(
    store: &Store,
    policy: &Policy,
    sha: &ObjectId,
    now: i64,
) -> Result<Release> {
    let tip_of = |name: &str| store.tip(name);
    release_in(
        &store.repo,
        &tip_of,
        policy,
        sha,
        now,
        CancelRule::Coalesces,
    )
}

/// The release state of `sha` read through `tip_of` (a store's mirror, or
/// the server's own refs in the hook): the one place notes become a release.
pub fn release_in(
    repo: &crate::git::Repo,
    tip_of: &dyn Fn(&str) -> Result<Option<ObjectId>>,
    policy: &Policy,
    sha: &ObjectId,
    now: i64,
    cancelled: CancelRule,
) -> Result<Release> {
    let reuse = policy.pipeline.reuse_results == crate::core::policy::ReuseResults::Tree;
    let read = |notes_ref: &str| -> Result<Vec<ResultRecord>> {
        let tip = tip_of(notes_ref)?;
        let records = parse_note(&repo.read_note(tip, sha)?).records;
        super::reuse::effective(repo, tip, sha, records, reuse)
    };
    let (ci, deploy) = (read(names::NOTES_CI)?, read(names::NOTES_DEPLOY)?);
    let verifications = policy.verification_names();
    Ok(release_state(&ReleaseInputs {
        ci: &ci,
        deploy: &deploy,
        ci_checks: &policy.pipeline.ci_checks,
        deploy_checks: &policy.pipeline.deploy_checks,
        verifications: &verifications,
        grace_seconds: policy.pipeline.ci_failure_grace_seconds,
        now,
        is_watermark: tip_of(names::VERIFIED)? == Some(*sha),
        failure_pauses: policy.pipeline.pause_on_failure,
        cancelled,
    }))
}
