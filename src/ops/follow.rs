//! Following the newest exact base sha through CI, deploy and verification
//! until it is admitted (or verified), fails, or the deadline passes.

use super::control::{append_update, pause_record, read_control};
use crate::core::control::{FoldStep, classify};
use crate::core::queue::QueueAction;
use crate::core::release::{Release, ReleaseState, admits};
use crate::core::story::Receipt;
use crate::error::CliResult;
use crate::git::refs::RefUpdate;
use crate::git::store::{Attempt, Store};
use crate::git::{ObjectId, names};
use crate::ledger::{self, QueueLedger};
use crate::messages::{self, short};
use crate::session::Session;
use serde::Serialize;
use std::time::{Duration, Instant};

/// Consecutive failed fetches after which following gives up.
pub const MAX_FAILED_FETCHES: u32 = 5;

/// Where following ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FollowEnd {
    /// The release reached the goal (admitted or verified).
    Reached,
    /// The release failed (a controller pause was appended when configured).
    Failed,
    /// The pipeline is paused.
    Paused,
    /// The deadline passed first.
    TimedOut,
    /// `--if-needed` and nothing was unfinished.
    NothingToFollow,
}

/// What following saw last.
#[derive(Debug, Clone, Serialize)]
pub struct FollowReport {
    /// How it ended.
    pub outcome: FollowEnd,
    /// The exact base sha followed last.
    pub sha: Option<String>,
    /// Its release.
    pub release: Option<Release>,
    /// Seconds spent.
    pub elapsed_seconds: u64,
    /// The controller pause appended, if any.
    pub paused_with: Option<String>,
    /// The server refused this clone's controller pause (its reasons, one
    /// line): the failure is recorded in the notes and a coordinator's next
    /// `react` pauses for it. Null otherwise.
    pub pause_left_to_coordinator: Option<String>,
    /// Where refs/deploybot/verified points at the end.
    pub verified_sha: Option<String>,
}

/// What counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Admitted by `pipeline.release_admission` (react --follow, unpause --follow).
    Admitted,
    /// Verified (the follow command).
    Verified,
}

/// How to follow.
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// What counts as done.
    pub goal: Goal,
    /// Give up after this long.
    pub timeout: Duration,
    /// Re-read the remote this often.
    pub poll: Duration,
    /// Return at once when nothing is unfinished.
    pub if_needed: bool,
}

/// The refs whose tips decide a release; unchanged tips mean nothing new to read.
fn watched_tips(session: &Session) -> CliResult<Vec<Option<ObjectId>>> {
    let store = &session.store;
    let refs = [
        session.base_ref(),
        names::NOTES_CI.into(),
        names::NOTES_DEPLOY.into(),
        names::CONTROL.into(),
        names::VERIFIED.into(),
    ];
    let mut tips = Vec::with_capacity(refs.len());
    for r in refs {
        tips.push(store.tip(&r)?);
    }
    Ok(tips)
}

/// Polls until the newest base sha reaches the goal or fails, or the deadline passes.
/// Runs `pipeline.deploy_command` and verifications when they are configured.
/// `progress` receives a line per poll (the caller decides how to show it).
pub fn follow(
    session: &Session,
    options: FollowOptions,
    progress: &mut dyn FnMut(&str),
) -> CliResult<FollowReport> {
    let start = Instant::now();
    let mut cache = ReleaseCache::default();
    let mut first_poll = true;
    let mut failed_fetches = 0;
    loop {
        let elapsed = start.elapsed();
        let control = read_control(&session.store)?;
        let base = session.require_base_sha()?;
        let release = cache.release_of(session, base)?;
        let mut report = FollowReport {
            outcome: FollowEnd::TimedOut,
            sha: Some(base.to_string()),
            release: Some(release.clone()),
            elapsed_seconds: elapsed.as_secs(),
            paused_with: None,
            pause_left_to_coordinator: None,
            verified_sha: session.store.tip(names::VERIFIED)?.map(|o| o.to_string()),
        };
        // The watermark is a fact, not a permission: it moves whether or not
        // the pipeline is paused (the next react then clears a superseded pause).
        if release.state == ReleaseState::Verified {
            report.verified_sha = advance_watermark(session, base)?.or(report.verified_sha);
        }
        if let Some(end) = ended(
            session,
            &options,
            &control.state,
            base,
            &release,
            first_poll,
        ) {
            return settle(session, report, end, base, &release);
        }
        first_poll = false;
        act(
            session,
            base,
            &release,
            elapsed + options.poll >= options.timeout,
            progress,
        )?;
        progress(&format!(
            "{}: {} — {}",
            short(&base.to_string()),
            release.state.as_str(),
            release.why
        ));
        if elapsed >= options.timeout {
            return Ok(report);
        }
        std::thread::sleep(
            options
                .poll
                .min(options.timeout.saturating_sub(elapsed))
                .max(Duration::from_millis(50)),
        );
        refresh_or_retry(session, &mut failed_fetches, progress)?;
    }
}

/// The last release read, reused while nothing it depends on changed.
#[derive(Default)]
struct ReleaseCache {
    tips: Option<Vec<Option<ObjectId>>>,
    last: Option<(ObjectId, Release)>,
}

impl ReleaseCache {
    /// Cheap when nothing changed: only time can move a release that is
    /// still testing (grace).
    fn release_of(&mut self, session: &Session, base: ObjectId) -> CliResult<Release> {
        let tips = watched_tips(session)?;
        let release = match &self.last {
            Some((sha, r))
                if self.tips.as_ref() == Some(&tips)
                    && *sha == base
                    && r.state != ReleaseState::Testing =>
            {
                r.clone()
            }
            _ => super::release::release_of(
                &session.store,
                &session.policy,
                &base,
                super::now_seconds(),
            )?,
        };
        self.tips = Some(tips);
        self.last = Some((base, release.clone()));
        Ok(release)
    }
}

/// Where following ends in this poll, if it does: paused, the goal reached,
/// or a failure that the current recovery does not own (a recovery owns the
/// failure it resumed: that one never pauses again and following waits for
/// the repair; any other failure of the sha is new and pauses).
fn ended(
    session: &Session,
    options: &FollowOptions,
    control: &crate::core::control::ControlState,
    base: ObjectId,
    release: &Release,
    first_poll: bool,
) -> Option<FollowEnd> {
    if control.is_paused() {
        return Some(FollowEnd::Paused);
    }
    let reached = match options.goal {
        Goal::Admitted => admits(session.policy.pipeline.release_admission, release.state),
        Goal::Verified => release.state == ReleaseState::Verified,
    };
    if reached {
        return Some(if options.if_needed && first_poll {
            FollowEnd::NothingToFollow
        } else {
            FollowEnd::Reached
        });
    }
    let owned = control.recovery_owns_failure(&base.to_string(), release.state);
    (release.state.is_failed() && !owned).then_some(FollowEnd::Failed)
}

/// The report for how following ended; a failure appends its pause (or,
/// when the server refuses this clone's pause, leaves it to the coordinator).
fn settle(
    session: &Session,
    mut report: FollowReport,
    end: FollowEnd,
    base: ObjectId,
    release: &Release,
) -> CliResult<FollowReport> {
    report.outcome = end;
    if end != FollowEnd::Failed {
        return Ok(report);
    }
    match pause_on_failure(session, &base.to_string(), release.state) {
        Ok(paused) => report.paused_with = paused,
        // A runner whose pause the server refuses (signed controls without
        // its key, an actor in no list): its notes are the record, and the
        // coordinator pauses on them.
        Err(e) if e.kind == crate::error::ErrorKind::Refused => {
            report.pause_left_to_coordinator = Some(e.details.join(" | "));
        }
        Err(e) => return Err(e),
    }
    Ok(report)
}

/// A long wait outlives network blips: a failed fetch is retried next poll;
/// only several in a row end the follow.
fn refresh_or_retry(
    session: &Session,
    failed_fetches: &mut u32,
    progress: &mut dyn FnMut(&str),
) -> CliResult {
    match session.store.refresh() {
        Ok(()) => *failed_fetches = 0,
        Err(e) if *failed_fetches + 1 < MAX_FAILED_FETCHES => {
            *failed_fetches += 1;
            progress(&messages::fetch_retry(&format!("{e:#}"), *failed_fetches));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(())
}

/// Does this tool's share of the release: deploy when CI passed, verify after the deploy.
fn act(
    session: &Session,
    base: ObjectId,
    release: &Release,
    final_attempt: bool,
    progress: &mut dyn FnMut(&str),
) -> CliResult<()> {
    let pipeline = &session.policy.pipeline;
    match release.state {
        ReleaseState::AwaitingDeploy if !pipeline.deploy_command.trim().is_empty() => {
            super::deploy::run_deploy_command(session, base, progress)?;
        }
        ReleaseState::Deploying if !pipeline.verifications.is_empty() => {
            let verifications = session.policy.verification_names();
            let only_verifications_left = !release.waiting_for.is_empty()
                && release
                    .waiting_for
                    .iter()
                    .all(|w| verifications.contains(w));
            if only_verifications_left {
                super::deploy::verify(session, base, final_attempt, progress)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// Moves refs/deploybot/verified forward to `sha` (compare-and-swap; never
/// backwards or off the base branch) and, in the same push, writes the
/// receipts of the merges `sha` contains that have none yet ([`receipts_update`]).
pub fn advance_watermark(session: &Session, sha: ObjectId) -> CliResult<Option<String>> {
    let moved = session.store.transact("deploybot: verified", |store| {
        let current = store.tip(names::VERIFIED)?;
        let mut updates = Vec::new();
        let mut moved = None;
        if current != Some(sha) {
            let base = store.tip(&session.base_ref())?;
            let on_base = match base {
                Some(base) => store.repo.is_ancestor(sha, base)?,
                None => false,
            };
            let forward = match current {
                Some(old) => store.repo.is_ancestor(old, sha)?,
                None => true,
            };
            if !on_base || !forward {
                return Ok(Attempt::Done(None));
            }
            updates.push(RefUpdate {
                name: names::VERIFIED.into(),
                expected: current,
                new: Some(sha),
            });
            moved = Some(sha.to_string());
        }
        updates.extend(receipts_update(session, store, sha)?);
        if updates.is_empty() {
            return Ok(Attempt::Done(moved));
        }
        Ok(Attempt::Write(updates, moved))
    })?;
    Ok(moved)
}

/// How many queue ledger commits are read back from the tip to find the
/// requests of entries getting a receipt (their `requested_at`).
pub const RECEIPT_REQUEST_WALK: usize = 2_000;

/// The receipts notes update for the verified main `sha`: one line on the
/// requested head of each of the last [`crate::core::queue::MERGED_HISTORY`]
/// merges that `sha` contains and whose head has no receipt yet (so a second
/// pass writes nothing). None when there is nothing to write.
pub fn receipts_update(
    session: &Session,
    store: &Store,
    sha: ObjectId,
) -> anyhow::Result<Option<RefUpdate>> {
    let queue = super::queue::read_queue(store)?;
    let notes_tip = store.tip(names::NOTES_RECEIPTS)?;
    let mut due = Vec::new();
    for merged in &queue.state.merged {
        let (Some(head), Some(merge)) = (
            crate::git::parse_oid(&merged.head_sha),
            crate::git::parse_oid(&merged.merge_sha),
        ) else {
            continue;
        };
        // One receipt per head: the note is checked first (cheap), the ancestry after.
        if !store.repo.read_note(notes_tip, &head)?.trim().is_empty()
            || due.iter().any(|(h, _): &(ObjectId, _)| *h == head)
            || !store.repo.has_object(merge)
            || !store.repo.is_ancestor(merge, sha)?
        {
            continue;
        }
        due.push((head, merged.clone()));
    }
    if due.is_empty() {
        return Ok(None);
    }
    let requested = requested_at(store, queue.tip, &due)?;
    let verified_at = super::now_rfc3339();
    let mut current = notes_tip;
    for (head, merged) in &due {
        let receipt = Receipt {
            branch: merged.branch.clone(),
            head_sha: merged.head_sha.clone(),
            merge_sha: merged.merge_sha.clone(),
            verified_sha: sha.to_string(),
            requested_at: requested.get(&merged.head_sha).cloned(),
            merged_at: merged.at.clone(),
            verified_at: verified_at.clone(),
        };
        let subject = messages::receipt_subject(&merged.branch, &merged.head_sha, &sha.to_string());
        current = Some(store.repo.append_note_commit(
            current,
            head,
            &receipt.to_line(),
            &subject,
            &session.identity(),
        )?);
    }
    Ok(Some(RefUpdate {
        name: names::NOTES_RECEIPTS.into(),
        expected: notes_tip,
        new: current,
    }))
}

/// The `at` of the latest request of each due head, read back from the queue
/// ledger's tip for at most [`RECEIPT_REQUEST_WALK`] commits (requests not
/// found that close are left out).
fn requested_at(
    store: &Store,
    tip: Option<ObjectId>,
    due: &[(ObjectId, crate::core::queue::MergedEntry)],
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    let mut found = std::collections::HashMap::new();
    let mut cursor = tip;
    let mut walked = 0;
    while let Some(commit) = cursor {
        if walked >= RECEIPT_REQUEST_WALK || found.len() == due.len() {
            break;
        }
        walked += 1;
        let info = store.repo.find_commit_info(commit)?;
        cursor = info.parents.first().copied();
        let Some(bytes) = store.repo.try_read_path(info.tree, ledger::RECORD_FILE)? else {
            continue;
        };
        let Ok(record) = ledger::reader_record::<QueueLedger>(&bytes, commit) else {
            continue;
        };
        let Some(head) = record.head_sha.as_deref() else {
            continue;
        };
        let wanted = due
            .iter()
            .any(|(_, m)| m.head_sha == head && m.branch == record.branch);
        if record.action == QueueAction::Request && wanted && !found.contains_key(head) {
            found.insert(head.to_string(), record.at.clone());
        }
    }
    Ok(found)
}

/// Appends the controller pause for a failed base sha (when `pause_on_failure`).
pub fn pause_on_failure(
    session: &Session,
    sha: &str,
    state: ReleaseState,
) -> CliResult<Option<String>> {
    let Some(reason) = state.pause_reason(sha) else {
        return Ok(None);
    };
    if !session.policy.pipeline.pause_on_failure {
        return Ok(None);
    }
    let written = session
        .store
        .transact("deploybot: pause on failure", |store| {
            let current = read_control(store)?;
            let record = pause_record(session, sha, &reason);
            if classify(&current.state, &record) != FoldStep::Applied
                || current.state.is_paused()
                || current.state.recovery_owns_failure(sha, state)
            {
                return Ok(Attempt::Done(None));
            }
            Ok(Attempt::Write(
                vec![append_update(store, &current, &record, session)?],
                Some(reason.clone()),
            ))
        })?;
    Ok(written)
}
