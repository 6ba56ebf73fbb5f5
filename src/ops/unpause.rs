//! `unpause`, step by step (DESIGN.md, pinned): a durable recovery of the
//! pause it names, recorded with the failure it owns, then verified.

use super::control::{append_update, pause_record, read_control};
use crate::core::control::{ControlMode, ControlRecord, ControlState, FoldStep, classify};
use crate::error::{CliError, CliResult};
use crate::git::refs::RefUpdate;
use crate::git::store::{Attempt, Store};
use crate::git::{ObjectId, names};
use crate::ledger;
use crate::messages;
use crate::session::Session;
use serde::Serialize;

/// What a successful unpause recorded.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unpaused {
    /// The running record's id.
    pub control_id: String,
    /// The pause it resumed.
    pub resumes_control_id: String,
    /// The failed sha the recovery owns (null when the pause named no sha).
    pub recovered_main_sha: Option<String>,
    /// The failure's reason.
    pub recovered_reason: String,
    /// The recovered sha's release state when unpaused: the one failure the
    /// recovery owns (null when the pause named no sha).
    pub recovered_state: Option<crate::core::release::ReleaseState>,
}

/// The release state of the sha being recovered, judged as a pass judges
/// it: as the base tip, or as an older main below it.
fn recovered_state_of(
    session: &Session,
    store: &Store,
    sha: ObjectId,
    older_main: bool,
) -> anyhow::Result<crate::core::release::ReleaseState> {
    let now = super::now_seconds();
    let release = if older_main {
        super::release::older_release_of(store, &session.policy, &sha, now)?
    } else {
        super::release::release_of(store, &session.policy, &sha, now)?
    };
    Ok(release.state)
}

/// DESIGN.md's unpause steps 1–4 (step 5, the wake-up, is the caller's):
/// check the pause is the one named and still resumable, append the
/// recovery (and its note) leasing the base, then verify it stands.
pub fn unpause(session: &Session, sha: ObjectId, control_id: &str) -> CliResult<Unpaused> {
    // Steps 1 and 2, re-checked from fresh state on every attempt.
    let (unpaused, lease) = session.store.transact("deploybot: unpause", |store| {
        let current = read_control(store)?;
        let resumable = resumable(session, store, &current.state, sha, control_id)?;
        record_recovery(session, store, &current, sha, resumable)
    })?;
    verify_recovery(session, &unpaused, lease)?;
    Ok(unpaused)
}

/// What step 1 established about the pause being resumed.
struct Resumable {
    /// Its control id.
    id: String,
    /// The sha it is bound to (None: an old writer's pause, bound to the tip).
    bound: Option<String>,
    /// A controller pause of an older main still in the base's history.
    older_main: bool,
    /// The base tip the recovery leases.
    lease: ObjectId,
}

/// Step 1: refuse, writing nothing, unless the pipeline is paused by
/// `control_id`, bound to `sha`, and the base is still that sha (or, for a
/// controller pause of an older main, still contains it).
fn resumable(
    session: &Session,
    store: &Store,
    state: &ControlState,
    sha: ObjectId,
    control_id: &str,
) -> anyhow::Result<Resumable> {
    let sha_hex = sha.to_string();
    let current_id = state.control_id.clone().unwrap_or_default();
    if !state.is_paused() {
        return Err(CliError::precondition(messages::unpause_not_paused()).into());
    }
    if current_id != control_id {
        let why = messages::unpause_wrong_id(control_id, &current_id);
        return Err(CliError::precondition(why).into());
    }
    let base_now = store.tip(&session.base_ref())?;
    let base_hex = base_now.map(|o| o.to_string()).unwrap_or_default();
    // A pause without `main_sha` (an old or foreign writer) reads as bound
    // to the current base tip, and resumes with no recovered sha.
    let paused_sha = state.main_sha.clone().unwrap_or_else(|| base_hex.clone());
    if paused_sha != sha_hex {
        let why = messages::unpause_wrong_sha(&sha_hex, &paused_sha);
        return Err(CliError::precondition(why).into());
    }
    // A controller pause for an older main (judged below the tip) resumes
    // while that main is still in the base branch's history.
    let older_main = match base_now {
        Some(base) if base != sha => {
            state.controller_pause_sha() == Some(sha_hex.as_str())
                && store.repo.is_ancestor(sha, base)?
        }
        _ => false,
    };
    if base_hex != sha_hex && !older_main {
        let branch = &session.policy.queue.base_branch;
        let why = messages::unpause_base_moved(branch, &sha_hex, &base_hex);
        return Err(CliError::precondition(why).into());
    }
    Ok(Resumable {
        id: current_id,
        bound: state.main_sha.clone(),
        older_main,
        lease: base_now.unwrap_or(sha),
    })
}

/// Step 2: in one atomic push, the running record (with the failure it owns)
/// and the recovery note on the failed sha, leasing the base.
fn record_recovery(
    session: &Session,
    store: &Store,
    current: &ledger::Folded<ControlState>,
    sha: ObjectId,
    r: Resumable,
) -> anyhow::Result<Attempt<(Unpaused, ObjectId)>> {
    let sha_hex = sha.to_string();
    let reason = current.state.reason.clone().unwrap_or_default();
    let recovered_sha = r.bound.as_ref().map(|_| sha_hex.clone());
    // The failure this recovery owns: the sha's release state now, as the
    // pass judges it (DESIGN.md, "A recovery owns the failure it resumed").
    let recovered_state = match &recovered_sha {
        Some(_) => Some(recovered_state_of(session, store, sha, r.older_main)?),
        None => None,
    };
    let record = ControlRecord {
        state: ControlMode::Running,
        reason: format!("recovering {reason}"),
        main_sha: None,
        resumes_control_id: Some(r.id.clone()),
        recovered_main_sha: recovered_sha.clone(),
        recovered_reason: Some(reason.clone()),
        recovered_state: recovered_state.map(|s| s.as_str().to_string()),
        ..pause_record(session, &sha_hex, "")
    };
    let mut updates = vec![append_update(store, current, &record, session)?];
    if recovered_sha.is_some() {
        updates.push(recovery_note_update(store, session, &record, sha, &r.id)?);
    }
    // The base lease turns "main moved before the recovery landed" into a
    // stale push, re-checked from fresh state (step 1), not a compensation.
    updates.push(RefUpdate::verify(&session.base_ref(), r.lease));
    let unpaused = Unpaused {
        control_id: record.control_id.clone(),
        resumes_control_id: r.id,
        recovered_main_sha: recovered_sha,
        recovered_reason: reason,
        recovered_state,
    };
    Ok(Attempt::Write(updates, (unpaused, r.lease)))
}

/// Steps 3 and 4: our record must be the current state, and the base must
/// not have moved (else a conditional pause bound to the new base, and fail).
fn verify_recovery(session: &Session, unpaused: &Unpaused, lease: ObjectId) -> CliResult {
    session.store.refresh()?;
    let after = read_control(&session.store)?;
    if after.state.control_id.as_deref() != Some(unpaused.control_id.as_str()) {
        return Err(CliError::precondition(
            messages::pause_changed_during_unpause(),
        ));
    }
    let base_now = session.base_sha()?;
    if base_now == Some(lease) {
        return Ok(());
    }
    let old_hex = lease.to_string();
    let new_hex = base_now.map(|o| o.to_string()).unwrap_or_default();
    let reason = messages::main_advanced_reason(&old_hex, &new_hex);
    session
        .store
        .transact("deploybot: conditional pause", |store| {
            let current = read_control(store)?;
            let record = ControlRecord {
                requires_control_id: Some(unpaused.control_id.clone()),
                ..pause_record(session, &new_hex, &reason)
            };
            if classify(&current.state, &record) != FoldStep::Applied {
                return Ok(Attempt::Done(()));
            }
            Ok(Attempt::Write(
                vec![append_update(store, &current, &record, session)?],
                (),
            ))
        })?;
    Err(CliError::precondition(messages::main_advanced_error(
        &old_hex, &new_hex,
    )))
}

/// The update adding the recovery note for `record` on the failed `sha`.
fn recovery_note_update(
    store: &Store,
    session: &Session,
    record: &ControlRecord,
    sha: ObjectId,
    resumes: &str,
) -> anyhow::Result<RefUpdate> {
    let note = serde_json::json!({
        "control_id": record.control_id,
        "resumes_control_id": resumes,
        "recovered_main_sha": sha.to_string(),
        "recovered_reason": record.recovered_reason,
        "actor": session.actor,
        "at": record.at,
    });
    let notes_tip = store.tip(names::NOTES_RECOVERY)?;
    let notes_commit = store.repo.append_note_commit(
        notes_tip,
        &sha,
        &note.to_string(),
        &format!("recovery: {}", record.summary()),
        &session.identity(),
    )?;
    Ok(RefUpdate {
        name: names::NOTES_RECOVERY.to_string(),
        expected: notes_tip,
        new: Some(notes_commit),
    })
}
