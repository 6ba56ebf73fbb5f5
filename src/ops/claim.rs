//! Claims on a check of a commit: the `pending` line with a run id that
//! says a runner is running it ([`crate::core::claims`] decides when one
//! holds), claimed one by one (`ci run`) or several in one push (a runner
//! agent), renewed while the run lives, and given back when it stops.
//! Every write here goes through [`one_writer`]: a runner agent's jobs take
//! turns instead of racing each other on the hot notes ref.

use super::report::note_append_update;
use super::runner::{Pipeline, RunRequest, ci_retry_grace, needs_run, report_line, result};
use crate::core::results::{ResultRecord, ResultStatus, latest_per_check, next_attempt};
use crate::error::CliResult;
use crate::git::ObjectId;
use crate::git::refs::RefUpdate;
use crate::git::store::Attempt;
use crate::messages::short;
use crate::session::Session;

/// Serializes this process's writes to the hot notes refs (claims,
/// renewals, results): a runner agent's jobs queue here instead of racing
/// each other on the server, so an agent is one writer however many jobs
/// it runs.
static HOT_WRITES: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Runs `write` holding [`HOT_WRITES`].
pub fn one_writer<T>(write: impl FnOnce() -> T) -> T {
    let _turn = HOT_WRITES.lock().unwrap_or_else(|p| p.into_inner());
    write()
}

/// True when `sha` is the tip of a live candidate (tested landing).
fn is_candidate_tip(store: &crate::git::store::Store, sha: &ObjectId) -> anyhow::Result<bool> {
    let queue = super::queue::read_queue(store)?;
    let sha = sha.to_string();
    let state = &queue.state;
    Ok(state
        .candidates
        .iter()
        .chain(&state.probes)
        .any(|c| c.sha == sha))
}

/// The grace within which a failure of `sha` is due for one retry: only the
/// base tip's and candidates' CI get it.
fn retry_grace(
    session: &Session,
    store: &crate::git::store::Store,
    pipeline: Pipeline,
    sha: &ObjectId,
) -> anyhow::Result<Option<i64>> {
    Ok(match ci_retry_grace(session, pipeline) {
        Some(grace)
            if store.tip(&session.base_ref())? == Some(*sha) || is_candidate_tip(store, sha)? =>
        {
            Some(grace)
        }
        _ => None,
    })
}

/// A claim that was written: the run's attempt number (`None` for a first run).
pub struct Claimed {
    /// The attempt number written (None for a first run).
    pub attempt: Option<u32>,
}

/// Claims `check` on `sha` with a `pending` line unless another run holds it;
/// `None` when not claimed. A run after a finished one is the next attempt.
pub fn claim(
    session: &Session,
    request: &RunRequest,
    sha: ObjectId,
    run_id: &str,
) -> CliResult<Option<Claimed>> {
    let (pipeline, check) = (request.pipeline, request.check.as_str());
    let (force, reclaim_after) = (request.force, request.reclaim_after);
    let subject = format!("claim: {check} on {}", short(&sha.to_string()));
    let claimed = session
        .store
        .transact_hot("deploybot: claim run", |store| {
            let records =
                super::reuse::counted_results(store, &session.policy, pipeline.notes_ref(), &sha)?;
            // Only the base tip and candidates get the retry within the grace.
            let grace = retry_grace(session, store, pipeline, &sha)?;
            if !force && !needs_run(&records, check, reclaim_after, grace) {
                return Ok(Attempt::Done(None));
            }
            let mut line = result(session, check, ResultStatus::Pending, run_id);
            line.attempt = next_attempt(&records, check);
            if let Some(lease) = request.lease {
                crate::core::claims::set_lease(&mut line, super::now_seconds(), lease);
            }
            let update = note_append_update(
                store,
                session,
                pipeline.notes_ref(),
                &sha,
                &line.to_line(),
                &subject,
            )?;
            Ok(Attempt::Write(
                vec![update],
                Some(Claimed {
                    attempt: line.attempt,
                }),
            ))
        })?;
    Ok(claimed)
}

/// Gives a claim back without a result: a `pending` line without a run id
/// (a request for a run, so the commit is pending again), saying why.
pub fn release_claim(
    session: &Session,
    pipeline: Pipeline,
    sha: ObjectId,
    check: &str,
    run_id: &str,
    why: &str,
) -> CliResult {
    let mut line = ResultRecord::new(check, ResultStatus::Pending, &super::now_rfc3339());
    line.runner = Some(session.actor.clone());
    line.extra
        .insert("released_run_id".into(), run_id.to_string().into());
    line.extra.insert("reason".into(), why.to_string().into());
    session.store.refresh()?;
    one_writer(|| report_line(session, pipeline, sha, &line))
}

/// Renews a run's lease while its command runs: a `pending` line with the
/// same run id and a later `expires_at`, once a third of the lease passed,
/// and only while the claim is still this run's (one taken over is not
/// taken back). A failed renewal is retried at the next tick.
pub struct LeaseKeeper<'s> {
    session: &'s Session,
    request: &'s RunRequest,
    sha: ObjectId,
    run_id: String,
    attempt: Option<u32>,
    renewed: i64,
}

impl<'s> LeaseKeeper<'s> {
    /// A keeper for the claim `run_id` just wrote on `sha`.
    pub fn new(
        session: &'s Session,
        request: &'s RunRequest,
        sha: ObjectId,
        run_id: &str,
        attempt: Option<u32>,
    ) -> LeaseKeeper<'s> {
        LeaseKeeper {
            session,
            request,
            sha,
            run_id: run_id.to_owned(),
            attempt,
            renewed: super::now_seconds(),
        }
    }

    /// Renews the lease when a third of it has passed.
    pub fn tick(&mut self) {
        let Some(lease) = self.request.lease else {
            return;
        };
        let now = super::now_seconds();
        if !crate::core::claims::renewal_due(self.renewed, lease, now) {
            return;
        }
        if one_writer(|| self.renew(lease, now)).is_ok() {
            self.renewed = now;
        }
    }

    fn renew(&self, lease: i64, now: i64) -> CliResult {
        let (session, request) = (self.session, self.request);
        let (pipeline, check) = (request.pipeline, request.check.as_str());
        let subject = format!("renew: {check} on {}", short(&self.sha.to_string()));
        session
            .store
            .transact_hot("deploybot: renew claim", |store| {
                let (records, _) =
                    super::release::read_results(store, pipeline.notes_ref(), &self.sha)?;
                let ours = latest_per_check(&records).get(check).is_some_and(|r| {
                    r.status == ResultStatus::Pending && r.run_id.as_deref() == Some(&self.run_id)
                });
                if !ours {
                    return Ok(Attempt::Done(()));
                }
                let mut line = result(session, check, ResultStatus::Pending, &self.run_id);
                line.attempt = self.attempt;
                crate::core::claims::set_lease(&mut line, now, lease);
                let update = note_append_update(
                    store,
                    session,
                    pipeline.notes_ref(),
                    &self.sha,
                    &line.to_line(),
                    &subject,
                )?;
                Ok(Attempt::Write(vec![update], ()))
            })?;
        Ok(())
    }
}

/// A claim written ahead of its run (a runner agent claims its free slots'
/// work in one push): the run id and attempt its run reports under.
#[derive(Debug, Clone)]
pub struct PreClaim {
    /// The run id written.
    pub run_id: String,
    /// The attempt number written.
    pub attempt: Option<u32>,
}

/// Claims `check` on as many of `shas` as still need a run, all in one
/// commit of the notes ref and one push (a runner agent with several free
/// slots writes once, not once per slot). Returns the claimed ones, in order.
pub fn claim_batch(
    session: &Session,
    request: &RunRequest,
    shas: &[ObjectId],
) -> CliResult<Vec<(ObjectId, PreClaim)>> {
    let (pipeline, check) = (request.pipeline, request.check.as_str());
    let notes_ref = pipeline.notes_ref();
    one_writer(|| {
        let claimed = session
            .store
            .transact_hot("deploybot: claim runs", |store| {
                let tip = store.tip(notes_ref)?;
                let mut top = tip;
                let mut claimed = Vec::new();
                for sha in shas {
                    let records =
                        super::reuse::counted_results(store, &session.policy, notes_ref, sha)?;
                    if !needs_run(
                        &records,
                        check,
                        request.reclaim_after,
                        retry_grace(session, store, pipeline, sha)?,
                    ) {
                        continue;
                    }
                    let run_id = super::new_record_id();
                    let mut line = result(session, check, ResultStatus::Pending, &run_id);
                    line.attempt = next_attempt(&records, check);
                    if let Some(lease) = request.lease {
                        crate::core::claims::set_lease(&mut line, super::now_seconds(), lease);
                    }
                    let subject = format!("claim: {check} on {}", short(&sha.to_string()));
                    top = Some(store.repo.append_note_commit(
                        top,
                        sha,
                        &line.to_line(),
                        &subject,
                        &session.identity(),
                    )?);
                    let attempt = line.attempt;
                    claimed.push((*sha, PreClaim { run_id, attempt }));
                }
                if claimed.is_empty() {
                    return Ok(Attempt::Done(claimed));
                }
                let update = RefUpdate {
                    name: notes_ref.to_string(),
                    expected: tip,
                    new: top,
                };
                Ok(Attempt::Write(vec![update], claimed))
            })?;
        Ok(claimed)
    })
}
