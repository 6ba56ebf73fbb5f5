//! Reading run logs (`refs/notes/deploybot/logs`): the tail of the run that
//! failed a commit's release, for `status` and `why`.

use crate::core::logs::last_tail;
use crate::core::release::ReleaseState;
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use crate::session::Session;

/// Lines of a failed run's log that `status` and `why` show.
pub const SHOWN_LINES: usize = 20;

/// The last lines of the log of the run that failed `sha`'s release in
/// `state` (its CI checks for `ci-failed`, its deploy checks and
/// verifications otherwise); None when the release did not fail or no
/// runner logged it.
pub fn failing_tail(
    session: &Session,
    store: &Store,
    sha: ObjectId,
    state: ReleaseState,
) -> anyhow::Result<Option<String>> {
    let pipeline = &session.policy.pipeline;
    let checks: Vec<String> = match state {
        ReleaseState::CiFailed => pipeline.ci_checks.clone(),
        ReleaseState::DeployFailed | ReleaseState::VerifyFailed => {
            let mut checks = pipeline.deploy_checks.clone();
            checks.extend(session.policy.verification_names());
            checks
        }
        _ => return Ok(None),
    };
    let note = store.repo.read_note(store.tip(names::NOTES_LOGS)?, &sha)?;
    if note.is_empty() {
        return Ok(None);
    }
    Ok(checks
        .iter()
        .find_map(|check| last_tail(&note, check, SHOWN_LINES))
        .filter(|tail| !tail.trim().is_empty()))
}
