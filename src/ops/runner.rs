//! The runner side: which exact commits need a run of a check, and running
//! one (claim with a `pending` line, run in a temporary worktree, report).

use super::worktree_run::{Echo, RunEnd, RunWorktree, cannot_start};
use crate::core::release::ReleaseState;
use crate::core::results::{ResultRecord, ResultStatus, latest_per_check, retry_due};
use crate::error::{CliError, CliResult};
use crate::git::{ObjectId, names};
use crate::messages::{self, short};
use crate::session::Session;
use serde::Serialize;
use std::process::{Command, Stdio};
use std::time::Instant;

/// CI (any commit) or deploy (only the base tip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pipeline {
    /// `refs/notes/deploybot/ci`.
    Ci,
    /// `refs/notes/deploybot/deploy`.
    Deploy,
}

impl Pipeline {
    /// Its notes ref.
    pub fn notes_ref(self) -> &'static str {
        match self {
            Pipeline::Ci => names::NOTES_CI,
            Pipeline::Deploy => names::NOTES_DEPLOY,
        }
    }
}

/// One commit that needs a run of one check.
#[derive(Debug, Clone, Serialize)]
pub struct PendingRun {
    /// The exact commit.
    pub sha: String,
    /// The check to run.
    pub check: String,
    /// `candidate` (tested landing), `main` (the base tip) or `request` (a queued head).
    pub source: String,
    /// The branch it comes from.
    pub branch: String,
}

/// How long a claim (a `pending` line with a run id) holds before another
/// runner may take the commit over: a runner that died must not block it forever.
pub const DEFAULT_RECLAIM_AFTER: i64 = 3600;

/// True when `check` has no result on the commit, only an unclaimed `pending`
/// request, or a claim that lapsed (its lease ended, or it is older than
/// `reclaim_after` seconds: [`crate::core::claims`]); or, with
/// `retry_grace` (the CI of the base tip or of a candidate:
/// `pipeline.ci_failure_grace_seconds`), a failure still within the grace
/// that was not retried yet (one retry).
pub(super) fn needs_run(
    records: &[ResultRecord],
    check: &str,
    reclaim_after: i64,
    retry_grace: Option<i64>,
) -> bool {
    let now = super::now_seconds();
    if retry_grace.is_some_and(|grace| retry_due(records, check, grace, now).is_some()) {
        return true;
    }
    match latest_per_check(records).get(check) {
        None => true,
        Some(r) if r.status != ResultStatus::Pending => false,
        Some(r) => !crate::core::claims::claim_holds(r, reclaim_after, now),
    }
}

/// Commits needing a run: the base tip and the requested heads (CI), or the base tip awaiting deploy.
pub fn pending(
    session: &Session,
    pipeline: Pipeline,
    reclaim_after: i64,
) -> CliResult<Vec<PendingRun>> {
    let Some(base) = session.base_sha()? else {
        return Ok(Vec::new());
    };
    let due = Due {
        reclaim_after,
        retry_grace: ci_retry_grace(session, pipeline),
    };
    let mut out = Vec::new();
    if pipeline == Pipeline::Ci {
        // Candidates first: they gate landing (tested landing).
        out.extend(pending_candidates(session, &due)?);
    }
    out.extend(pending_main(session, pipeline, base, &due)?);
    if pipeline == Pipeline::Ci {
        out.extend(pending_requests(session, reclaim_after)?);
    }
    Ok(out)
}

/// When a check is due: a claim older than `reclaim_after` is taken over,
/// and a failure within `retry_grace` is retried once.
struct Due {
    reclaim_after: i64,
    retry_grace: Option<i64>,
}

/// The pending runs of `checks` on `sha`, reported under `source` and `branch`.
fn due_runs(
    records: &[ResultRecord],
    checks: &[String],
    due: &Due,
    (sha, source, branch): (&str, &str, &str),
) -> Vec<PendingRun> {
    checks
        .iter()
        .filter(|c| needs_run(records, c, due.reclaim_after, due.retry_grace))
        .map(|check| PendingRun {
            sha: sha.to_owned(),
            check: check.clone(),
            source: source.into(),
            branch: branch.to_owned(),
        })
        .collect()
}

/// Candidates' CI: every `pipeline.ci_checks` and `queue.required_checks`
/// check on each candidate's tip; a failure within the grace is retried
/// once, as the base tip's is.
fn pending_candidates(session: &Session, due: &Due) -> CliResult<Vec<PendingRun>> {
    let (store, policy) = (&session.store, &session.policy);
    let queue = super::queue::read_queue(store)?;
    let mut checks = policy.pipeline.ci_checks.clone();
    for c in &policy.queue.required_checks {
        if !checks.contains(c) {
            checks.push(c.clone());
        }
    }
    let mut out = Vec::new();
    // Probes (auto depth) are tested like candidates.
    for candidate in queue.state.candidates.iter().chain(&queue.state.probes) {
        let Some(tip) = crate::git::parse_oid(&candidate.sha) else {
            continue;
        };
        let records = super::reuse::counted_results(store, policy, names::NOTES_CI, &tip)?;
        let branch = crate::core::train::try_branch(&candidate.candidate_id);
        out.extend(due_runs(
            &records,
            &checks,
            due,
            (&candidate.sha, "candidate", &branch),
        ));
    }
    Ok(out)
}

/// The base tip's CI, or its deploy once CI passed (a released or lapsed
/// deploy claim leaves it `deploying`: that check is pending again).
fn pending_main(
    session: &Session,
    pipeline: Pipeline,
    base: ObjectId,
    due: &Due,
) -> CliResult<Vec<PendingRun>> {
    let (store, policy) = (&session.store, &session.policy);
    let records = super::reuse::counted_results(store, policy, pipeline.notes_ref(), &base)?;
    let checks = match pipeline {
        Pipeline::Ci => policy.pipeline.ci_checks.clone(),
        Pipeline::Deploy => {
            let release = super::release::release_of(store, policy, &base, super::now_seconds())?;
            match release.state {
                ReleaseState::AwaitingDeploy => policy.pipeline.deploy_checks.clone(),
                ReleaseState::Deploying => policy
                    .pipeline
                    .deploy_checks
                    .iter()
                    .filter(|c| release.waiting_for.contains(c))
                    .cloned()
                    .collect(),
                _ => Vec::new(),
            }
        }
    };
    let base_hex = base.to_string();
    let branch = &policy.queue.base_branch;
    Ok(due_runs(
        &records,
        &checks,
        due,
        (&base_hex, "main", branch),
    ))
}

/// Requested heads waiting for their required checks.
fn pending_requests(session: &Session, reclaim_after: i64) -> CliResult<Vec<PendingRun>> {
    let (store, policy) = (&session.store, &session.policy);
    let queue = super::queue::read_queue(store)?;
    let views = super::queue::entry_views(store, policy, &queue.state)?;
    let due = Due {
        reclaim_after,
        retry_grace: None,
    };
    let mut out = Vec::new();
    for view in views
        .iter()
        .filter(|v| v.state == crate::core::queue::EntryState::WaitingChecks)
    {
        let Some(head) = crate::git::parse_oid(&view.head_sha) else {
            continue;
        };
        let records = super::reuse::counted_results(store, policy, names::NOTES_CI, &head)?;
        let required = &policy.queue.required_checks;
        out.extend(due_runs(
            &records,
            required,
            &due,
            (&view.head_sha, "request", &view.branch),
        ));
    }
    Ok(out)
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// The exact commit.
    pub sha: String,
    /// The check.
    pub check: String,
    /// The reported status (`skipped` when superseded or already claimed).
    pub status: ResultStatus,
    /// The run's id.
    pub run_id: String,
    /// Seconds the command ran.
    pub duration_seconds: f64,
    /// Why, for people.
    pub message: String,
}

/// Appends one result line (with extra fields) to `sha`'s note, retrying on contention.
pub fn report_line(
    session: &Session,
    pipeline: Pipeline,
    sha: ObjectId,
    record: &ResultRecord,
) -> CliResult {
    super::report::publish_record(session, pipeline.notes_ref(), sha, record)
}

/// A result record by this runner, now.
pub fn result(session: &Session, check: &str, status: ResultStatus, run_id: &str) -> ResultRecord {
    let mut r = ResultRecord::new(check, status, &super::now_rfc3339());
    r.run_id = Some(run_id.to_string());
    r.runner = Some(session.actor.clone());
    r
}

/// The grace within which a failure of the base tip's (or a candidate's) CI
/// is pending for one retry (`None` for deploys, and when there is no grace).
pub(super) fn ci_retry_grace(session: &Session, pipeline: Pipeline) -> Option<i64> {
    let grace = session.policy.pipeline.ci_failure_grace_seconds;
    (pipeline == Pipeline::Ci && grace > 0).then_some(grace)
}

/// Runs `command` for `check` on `sha` (or the first pending commit for it) in a temporary worktree.
/// What to run, where, and how.
#[derive(Debug, Clone)]
pub struct RunRequest {
    /// CI or deploy.
    pub pipeline: Pipeline,
    /// The check this run reports.
    pub check: String,
    /// The exact commit, or None for the first pending one.
    pub sha: Option<ObjectId>,
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Where the command's output is passed through to.
    pub echo: Echo,
    /// Seconds after which another runner's claim is taken over.
    pub reclaim_after: i64,
    /// Claim even when another run holds the check (an explicit `--sha`).
    pub force: bool,
    /// Claim with a lease of this many seconds, renewed while the command
    /// runs (a runner agent); None: the claim holds for `reclaim_after`.
    pub lease: Option<i64>,
    /// The claim already written for this run (a runner agent's batch); None: claim first.
    pub claimed: Option<super::claim::PreClaim>,
}

/// Runs the request's command for its check on its sha (or the first pending commit) in a temporary worktree.
pub fn run(session: &Session, request: &RunRequest) -> CliResult<RunOutcome> {
    run_then(session, request, &mut || {})
}

/// [`run`], calling `command_ended` as soon as the command ended and its
/// worktree is gone, before the result is published: a runner agent frees
/// the slot then, so publishing overlaps the next run.
pub fn run_then(
    session: &Session,
    request: &RunRequest,
    command_ended: &mut dyn FnMut(),
) -> CliResult<RunOutcome> {
    let RunRequest { pipeline, echo, .. } = *request;
    let (check, command) = (request.check.as_str(), request.command.as_slice());
    super::report::validate_check_name(check)?;
    let sha = pick_sha(session, request)?;
    let run_id = match &request.claimed {
        Some(pre) => pre.run_id.clone(),
        None => super::new_record_id(),
    };
    let sha_hex = sha.to_string();
    if let Some(skipped) = skip_superseded_deploy(session, request, sha, &run_id)? {
        return Ok(skipped);
    }
    if request.claimed.is_none()
        && let Some(reused) = super::reuse::reuse_instead(session, request, sha, &run_id)?
    {
        return Ok(reused);
    }
    let (program, _) = super::worktree_run::split_command(command)?;
    let worktree = RunWorktree::add(session.repo(), &sha_hex, &run_id)?;
    // A command that cannot start is not a result of the commit: say so and
    // record nothing (checked before claiming, so the commit stays pending).
    if let Some(why) = cannot_start(program, worktree.dir()) {
        let name = pipeline_name(pipeline);
        let claimed = request.claimed.is_some();
        if claimed {
            super::claim::release_claim(session, pipeline, sha, check, &run_id, &why)?;
        }
        let why = messages::command_cannot_start(program, &why, name, check, &sha_hex, claimed);
        return Err(CliError::usage(why));
    }
    let claimed = match &request.claimed {
        Some(pre) => super::claim::Claimed {
            attempt: pre.attempt,
        },
        None => {
            super::claim::one_writer(|| super::claim::claim(session, request, sha, &run_id))?
                .ok_or_else(|| CliError::precondition(messages::already_claimed(check, &sha_hex)))?
        }
    };
    let started = Instant::now();
    let mut lease = super::claim::LeaseKeeper::new(session, request, sha, &run_id, claimed.attempt);
    let ran = run_command(&worktree, sha, check, &run_id, command, echo, &mut || {
        lease.tick()
    });
    drop(worktree);
    command_ended();
    let duration = started.elapsed().as_secs_f64();
    let (ended, output) = match ran {
        Ok((ended, output)) => (Ok(ended), output),
        Err(e) => (Err(e), Vec::new()),
    };
    let (status, message) = match judge_run(ended, check, &sha_hex, duration) {
        Ok(judged) => judged,
        Err(NotARun::CannotStart(why)) => {
            super::claim::release_claim(session, pipeline, sha, check, &run_id, &why)?;
            let name = pipeline_name(pipeline);
            let why = messages::command_cannot_start(program, &why, name, check, &sha_hex, true);
            return Err(CliError::usage(why));
        }
        Err(NotARun::Stopped(e)) => {
            // Draining: the claim goes back at once, so another runner need
            // not wait for it to lapse.
            let why = e.message.clone();
            super::claim::release_claim(session, pipeline, sha, check, &run_id, &why)?;
            return Err(e);
        }
    };
    let mut record = result(session, check, status, &run_id);
    record.attempt = claimed.attempt;
    record.extra.insert(
        "duration_seconds".into(),
        serde_json::json!((duration * 10.0).round() / 10.0),
    );
    // No refresh first: the append reads the notes it writes and, when
    // another runner wrote them since, fetches just those and tries again.
    let log = crate::core::logs::log_entry(&record, &output);
    super::claim::one_writer(|| {
        super::report::publish_record_with_log(session, pipeline.notes_ref(), sha, &record, &log)
    })?;
    Ok(RunOutcome {
        sha: sha_hex,
        check: check.into(),
        status,
        run_id,
        duration_seconds: duration,
        message,
    })
}

/// The commit to run on: the one given, else the first pending one for the check.
fn pick_sha(session: &Session, request: &RunRequest) -> CliResult<ObjectId> {
    let (pipeline, check) = (request.pipeline, request.check.as_str());
    let sha = match request.sha {
        Some(sha) => sha,
        None => {
            let found = pending(session, pipeline, request.reclaim_after)?
                .into_iter()
                .find(|p| p.check == check)
                .ok_or_else(|| {
                    let name = pipeline_name(pipeline);
                    CliError::precondition(messages::nothing_pending(name, check))
                })?;
            crate::git::parse_oid(&found.sha).expect("pending shas come from refs")
        }
    };
    if !session.repo().has_object(sha) {
        return Err(CliError::usage(messages::unknown_commit(&sha.to_string())));
    }
    Ok(sha)
}

/// A deploy of a sha that is no longer the base tip is recorded `skipped`
/// instead of deploying it.
fn skip_superseded_deploy(
    session: &Session,
    request: &RunRequest,
    sha: ObjectId,
    run_id: &str,
) -> CliResult<Option<RunOutcome>> {
    if request.pipeline != Pipeline::Deploy {
        return Ok(None);
    }
    let base = session.require_base_sha()?;
    if base == sha {
        return Ok(None);
    }
    let check = request.check.as_str();
    let mut skipped = result(session, check, ResultStatus::Skipped, run_id);
    let why = messages::superseded(&base.to_string());
    skipped.extra.insert("reason".into(), why.clone().into());
    report_line(session, request.pipeline, sha, &skipped)?;
    Ok(Some(RunOutcome {
        sha: sha.to_string(),
        check: check.into(),
        status: ResultStatus::Skipped,
        run_id: run_id.to_owned(),
        duration_seconds: 0.0,
        message: why,
    }))
}

/// A run that is no result of the commit.
enum NotARun {
    /// The command could not start (the claim is given back).
    CannotStart(String),
    /// The runner was stopped by a signal (nothing recorded).
    Stopped(CliError),
}

/// How a run ended, as the result to record and a line for people.
fn judge_run(
    ended: anyhow::Result<RunEnd>,
    check: &str,
    sha_hex: &str,
    duration: f64,
) -> Result<(ResultStatus, String), NotARun> {
    let on = short(sha_hex);
    match ended {
        Ok(RunEnd::NotStarted(why)) => Err(NotARun::CannotStart(why)),
        Ok(RunEnd::Stopped(signal)) => Err(NotARun::Stopped(CliError::new(
            crate::error::ErrorKind::Runtime,
            messages::runner_stopped(signal, check, sha_hex),
        ))),
        Ok(RunEnd::Exited(true)) => Ok((
            ResultStatus::Success,
            format!("{check} passed on {on} in {duration:.1}s"),
        )),
        Ok(RunEnd::Exited(false)) => Ok((
            ResultStatus::Failure,
            format!("{check} failed on {on} in {duration:.1}s"),
        )),
        Err(e) => Ok((
            ResultStatus::Failure,
            format!("{check} could not run on {on}: {e}"),
        )),
    }
}

/// `ci` or `deploy`, as in the command line.
fn pipeline_name(pipeline: Pipeline) -> &'static str {
    match pipeline {
        Pipeline::Ci => "ci",
        Pipeline::Deploy => "deploy",
    }
}

/// Runs the command in the run's worktree of `sha`, streaming its output.
fn run_command(
    worktree: &RunWorktree<'_>,
    sha: ObjectId,
    check: &str,
    run_id: &str,
    command: &[String],
    echo: Echo,
    tick: &mut dyn FnMut(),
) -> anyhow::Result<(RunEnd, Vec<u8>)> {
    let (program, args) = super::worktree_run::split_command(command)?;
    let mut cmd = Command::new(program);
    cmd.args(args)
        .env("DEPLOYBOT_SHA", sha.to_string())
        .env("DEPLOYBOT_CHECK", check)
        .env("DEPLOYBOT_RUN_ID", run_id)
        .stdin(Stdio::null());
    worktree
        .run_logged(cmd, echo, tick)
        .map_err(|e| anyhow::anyhow!("`{program}`: {e:#}"))
}
