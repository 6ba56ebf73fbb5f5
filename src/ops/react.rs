//! One coordinator pass: fold control, judge the base release, merge ready
//! work in FIFO order in memory, and publish everything in one atomic push.

use super::control::{append_update as control_update, pause_record, read_control};
use super::judgement::judge_base;
use super::landing::{merge_batch, pending_ci_update, run_dispatch_command};
use super::queue::{append_updates as queue_updates, entry_views, read_queue};
use crate::core::control::{ControlMode, ControlRecord, fold_control};
use crate::core::control::{FoldStep, classify};
use crate::core::judgement::HistoryVerdict;
use crate::core::policy::LandingMode;
use crate::core::queue::{EntryState, EntryView};
use crate::core::react::{ReactInputs, ReactPlan, plan};
use crate::core::release::ReleaseState;
use crate::error::CliResult;
use crate::git::refs::RefUpdate;
use crate::git::store::{Attempt, Store};
use crate::git::{ObjectId, names};
use crate::messages;
use crate::session::Session;
use serde::Serialize;

/// The pinned outcome names of `react --json`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReactState {
    /// The pipeline is paused; nothing merged.
    Paused,
    /// The base release holds merging (failed, or not admitted yet).
    ReleaseHeld,
    /// The pass ran (merging what was ready, possibly nothing).
    Complete,
}

/// One entry merged by this pass.
#[derive(Debug, Clone, Serialize)]
pub struct MergedView {
    /// The branch.
    pub branch: String,
    /// The exact head merged.
    pub head_sha: String,
    /// The base commit that contains it.
    pub merge_sha: String,
}

/// One entry this pass blocked (a conflict).
#[derive(Debug, Clone, Serialize)]
pub struct BlockedView {
    /// The branch.
    pub branch: String,
    /// Why, naming the base sha.
    pub reason: String,
}

/// What one pass did (rendered as text or `react --json`).
#[derive(Debug, Clone, Serialize)]
pub struct ReactReport {
    /// paused, release-held or complete.
    pub state: ReactState,
    /// The base sha the pass started from.
    pub base_sha: Option<String>,
    /// The base sha after the pass (same when nothing merged).
    pub new_base_sha: Option<String>,
    /// The base release state the pass judged.
    pub release: Option<ReleaseState>,
    /// Entries merged, in order.
    pub merged: Vec<MergedView>,
    /// Entries blocked by conflicts.
    pub blocked: Vec<BlockedView>,
    /// Entries not ready, with why.
    pub waiting: Vec<EntryView>,
    /// Why merging was held or paused.
    pub why: Option<String>,
    /// True when the elected repair landed past a failed base.
    pub repair: bool,
    /// The running record this pass appended because a newer verified main superseded a controller pause.
    pub superseded: Option<String>,
    /// The controller pause this pass appended (its reason).
    pub paused_with: Option<String>,
    /// A pause that landed while this pass's push was in flight, bound to the
    /// main this pass replaced, re-bound to the new main (its reason).
    pub rebound_pause: Option<String>,
    /// The watermark set on first install.
    pub watermark_set: Option<String>,
    /// Where this pass moved `refs/deploybot/verified` (first install included).
    pub watermark_advanced: Option<String>,
    /// A recovery owns the base sha this pass started from: its failure does not pause.
    pub recovery_owns_main: bool,
    /// The older mains between the watermark and the base sha, judged.
    pub history: HistoryVerdict,
    /// Tested landing: candidates this pass built.
    pub built: Vec<super::train::CandidateView>,
    /// Tested landing: candidates this pass landed (main fast-forwarded to the last).
    pub landed: Vec<super::train::CandidateView>,
    /// Tested landing: candidates this pass discarded, with why.
    pub discarded: Vec<super::train::DiscardedView>,
}

impl ReactReport {
    fn new(state: ReactState, base: Option<ObjectId>) -> ReactReport {
        ReactReport {
            state,
            base_sha: base.map(|b| b.to_string()),
            new_base_sha: base.map(|b| b.to_string()),
            release: None,
            merged: Vec::new(),
            blocked: Vec::new(),
            waiting: Vec::new(),
            why: None,
            repair: false,
            superseded: None,
            paused_with: None,
            rebound_pause: None,
            watermark_set: None,
            watermark_advanced: None,
            recovery_owns_main: false,
            history: HistoryVerdict::default(),
            built: Vec::new(),
            landed: Vec::new(),
            discarded: Vec::new(),
        }
    }
}

/// Runs one pass, retrying from fresh state when another writer wins the push.
pub fn react_once(session: &Session, dispatch_ci: bool) -> CliResult<ReactReport> {
    let first = session.store.transact("deploybot: react", |store| {
        attempt(session, store, dispatch_ci, None)
    });
    let mut report = match first {
        Ok(report) => report,
        // The server refused the batch: find the entry it refuses and block
        // that one, so one bad branch never stalls the queue.
        Err(e) => match refused_lines(&e).filter(|l| about_the_merge(session, l)) {
            Some(lines) => isolate_refused_entry(session, dispatch_ci, lines, e)?,
            None => return Err(e.into()),
        },
    };
    if let (false, Some(old), Some(new)) = (
        report.merged.is_empty(),
        report.base_sha.as_deref(),
        report.new_base_sha.as_deref(),
    ) {
        report.rebound_pause = rebind_crossed_pause(session, old, new)?;
    }
    if dispatch_ci && !report.merged.is_empty() {
        run_dispatch_command(session, &report);
    }
    Ok(report)
}

/// The hook's lines when `e` is the server refusing the push.
fn refused_lines(e: &anyhow::Error) -> Option<Vec<String>> {
    match e.downcast_ref::<crate::git::store::WriteError>() {
        Some(crate::git::store::WriteError::Rejected(lines)) => Some(lines.clone()),
        _ => None,
    }
}

/// True when every refusal line is about what the merge put on the base
/// branch (its content), not about who pushes or the pipeline being paused:
/// only then can one entry be to blame.
fn about_the_merge(session: &Session, lines: &[String]) -> bool {
    let base = format!("deploybot: {}:", session.base_ref());
    let not_content = [
        "may not write",
        "pusher is unknown",
        "paused",
        "not a fast-forward",
        "require_tested_base",
    ];
    !lines.is_empty()
        && lines.iter().all(|l| {
            l.trim_start().starts_with(&base) && !not_content.iter().any(|n| l.contains(n))
        })
}

/// After the server refused a merge pass for what it put on main: the first
/// ready entry alone; if the server refuses that too, the next entry without
/// it. Only when that one lands is the first entry to blame: it is blocked
/// with the server's reason. A refusal of every entry (a frozen server, a site
/// rule about main itself) blocks nobody and is returned as it was.
fn isolate_refused_entry(
    session: &Session,
    dispatch_ci: bool,
    lines: Vec<String>,
    original: anyhow::Error,
) -> CliResult<ReactReport> {
    let probe = |skip: usize| {
        session.store.refresh()?;
        session
            .store
            .transact("deploybot: react (one entry)", |store| {
                attempt(session, store, dispatch_ci, Some((skip, 1)))
            })
    };
    let refused = match probe(0) {
        Ok(report) => return Ok(report),
        Err(e) => match refused_lines(&e) {
            Some(refused) => refused,
            None => return Err(e.into()),
        },
    };
    let mut report = match probe(1) {
        Ok(report) if !report.merged.is_empty() => report,
        Ok(_) => return Err(original.into()),
        Err(e) if refused_lines(&e).is_some() => return Err(original.into()),
        Err(e) => return Err(e.into()),
    };
    let reason = messages::server_refused_entry(if refused.is_empty() { &lines } else { &refused });
    session.store.refresh()?;
    let landed: Vec<String> = report.merged.iter().map(|m| m.branch.clone()).collect();
    let blocked = session
        .store
        .transact("deploybot: block refused entry", |store| {
            let queue = read_queue(store)?;
            let views = entry_views(store, &session.policy.queue.required_checks, &queue.state)?;
            let Some(view) = views
                .iter()
                .find(|v| v.state == EntryState::Queued && !landed.contains(&v.branch))
            else {
                return Ok(Attempt::Done(None));
            };
            let mut rec = super::queue::record(
                session,
                crate::core::queue::QueueAction::Block,
                &view.branch,
            );
            rec.head_sha = Some(view.head_sha.clone());
            rec.reason = Some(reason.clone());
            let update = queue_updates(store, session, &queue, &[rec])?;
            let view = BlockedView {
                branch: view.branch.clone(),
                reason: reason.clone(),
            };
            Ok(Attempt::Write(update.into_iter().collect(), Some(view)))
        })?;
    report.blocked.extend(blocked);
    Ok(report)
}

fn attempt(
    session: &Session,
    store: &Store,
    dispatch_ci: bool,
    probe: Option<(usize, usize)>,
) -> anyhow::Result<Attempt<ReactReport>> {
    let policy = &session.policy;
    let mut control = read_control(store)?;
    let base = session.require_base_sha()?;
    let base_hex = base.to_string();
    let queue = read_queue(store)?;
    let now = super::now_seconds();
    let queue_has_merged = !queue.state.merged.is_empty();
    let judgement = judge_base(session, store, base, now, queue_has_merged)?;
    let release = judgement.acting_release();
    let mut report = ReactReport::new(ReactState::Complete, Some(base));
    report.release = Some(release.state);
    report.recovery_owns_main = control.state.recovery_owns(&base_hex);
    report.history = judgement.history.clone();
    let mut updates = Vec::new();
    // The watermark is a fact, not a permission: it moves to the newest
    // verified main whether or not the pipeline is paused.
    if let Some(to) = judgement.effective_watermark()
        && Some(to) != judgement.watermark
    {
        updates.push(RefUpdate {
            name: names::VERIFIED.into(),
            expected: judgement.watermark,
            new: Some(to),
        });
        report.watermark_advanced = Some(to.to_string());
        if judgement.seeded {
            report.watermark_set = Some(to.to_string());
        } else {
            // Verified on evidence: the merges it contains get their
            // receipts in the same push, as `follow` writes them.
            updates.extend(super::follow::receipts_update(session, store, to)?);
        }
    }
    let superseded = supersede_record(
        session,
        store,
        &control.state,
        base,
        judgement.effective_watermark(),
    )?;
    if let Some(record) = &superseded {
        // A newer verified main supersedes the controller pause: resume, then run the pass.
        append_control(session, store, &mut control, record, &mut updates)?;
    }
    report.superseded = superseded.as_ref().map(|r| r.reason.clone());
    if control.state.is_paused() {
        report.state = ReactState::Paused;
        report.why = Some(messages::react_paused(&control.state));
        return Ok(finish(updates, report));
    }
    let views = entry_views(store, &policy.queue.required_checks, &queue.state)?;
    let repair_branch = names::repair_branch(&policy.pipeline.repair_branch_prefix, &base_hex);
    let decision = plan(&ReactInputs {
        control: &control.state,
        base_sha: &base_hex,
        release: release.state,
        admission: policy.pipeline.release_admission,
        pause_on_failure: policy.pipeline.pause_on_failure,
        entries: &views,
        repair_branch: &repair_branch,
        max_batch: probe.map_or(policy.queue.max_batch_size, |(skip, take)| skip + take),
        older_failure: judgement.history.failure.as_ref(),
    });
    report.waiting = views
        .iter()
        .filter(|v| v.state != EntryState::Queued)
        .cloned()
        .collect();
    if policy.queue.landing == LandingMode::Tested {
        tested_pass(
            session,
            store,
            base,
            &queue,
            &views,
            &decision,
            &mut control,
            &mut report,
            &mut updates,
        )?;
        if let ReactPlan::PauseForFailure { .. } | ReactPlan::Held { .. } | ReactPlan::Paused =
            decision
        {
            // Reported above; a failure still appends its pause below.
        } else {
            return Ok(finish(updates, report));
        }
    }
    match decision {
        ReactPlan::Paused => {
            report.state = ReactState::Paused;
            report.why = Some(messages::react_paused(&control.state));
        }
        ReactPlan::PauseForFailure { sha, reason } => {
            report.state = ReactState::ReleaseHeld;
            let why = match judgement.history.failure.as_ref() {
                Some(older) if older.sha == sha => &older.why,
                _ => &release.why,
            };
            report.why = Some(format!("{reason}: {why}"));
            let pause = pause_record(session, &sha, &reason);
            if classify(&control.state, &pause) == FoldStep::Applied {
                append_control(session, store, &mut control, &pause, &mut updates)?;
                report.paused_with = Some(reason);
            }
        }
        ReactPlan::Held { why } => {
            report.state = ReactState::ReleaseHeld;
            report.why = Some(why);
        }
        ReactPlan::Merge { .. } if policy.queue.landing == LandingMode::Tested => {}
        ReactPlan::Merge { branches, repair } => {
            // A probe merges one entry only (see `isolate_refused_entry`).
            let branches: Vec<String> = match probe {
                Some((skip, take)) => branches.into_iter().skip(skip).take(take).collect(),
                None => branches,
            };
            report.repair = repair;
            let recovered = control.state.recovered_reason.as_deref().unwrap_or("");
            let state = release.state.as_str();
            if control
                .state
                .recovery_owns_failure(&base_hex, release.state)
            {
                report.why = Some(messages::recovery_owns_why(&base_hex, recovered, state));
            } else if repair {
                report.why = Some(messages::recovery_resumed_why(&base_hex, recovered, state));
            }
            let (tip, records) = merge_batch(session, store, base, &branches, &views, &mut report)?;
            if tip != base {
                move_base(
                    session,
                    store,
                    base,
                    tip,
                    &mut control,
                    &mut report,
                    &mut updates,
                )?;
                if dispatch_ci {
                    updates.extend(pending_ci_update(session, store, tip)?);
                }
            }
            updates.extend(queue_updates(store, session, &queue, &records)?);
        }
    }
    Ok(finish(updates, report))
}

/// Appends `record` to the control ledger as this pass leaves it: one
/// update of the ref however many records the pass appends.
fn append_control(
    session: &Session,
    store: &Store,
    control: &mut crate::ledger::Folded<crate::core::control::ControlState>,
    record: &ControlRecord,
    updates: &mut Vec<RefUpdate>,
) -> anyhow::Result<()> {
    let update = control_update(store, control, record, session)?;
    control.state = fold_control(&control.state, record).0;
    control.tip = update.new;
    control.commits += 1;
    match updates.iter_mut().find(|u| u.name == names::CONTROL) {
        Some(existing) => existing.new = update.new,
        None => updates.push(update),
    }
    Ok(())
}

/// Tested landing within a pass: what the control and release decision lets
/// the train do (build and land normally; build only, while admission holds;
/// only the repair during a recovery; nothing while paused or failed).
#[allow(clippy::too_many_arguments)]
fn tested_pass(
    session: &Session,
    store: &Store,
    base: ObjectId,
    queue: &crate::ledger::Folded<crate::core::queue::QueueState>,
    views: &[EntryView],
    decision: &ReactPlan,
    control: &mut crate::ledger::Folded<crate::core::control::ControlState>,
    report: &mut ReactReport,
    updates: &mut Vec<RefUpdate>,
) -> anyhow::Result<()> {
    let repair_branch = names::repair_branch(
        &session.policy.pipeline.repair_branch_prefix,
        &base.to_string(),
    );
    let admission_hold = matches!(decision, ReactPlan::Held { .. })
        && !report.release.is_some_and(|r| r.is_failed())
        && report.history.failure.is_none();
    let gate = match decision {
        ReactPlan::Merge { repair: true, .. } => super::train::TrainGate {
            may_land: true,
            may_build: true,
            only: Some(repair_branch.as_str()),
        },
        ReactPlan::Merge { repair: false, .. } => super::train::TrainGate {
            may_land: true,
            may_build: true,
            only: None,
        },
        _ if admission_hold => super::train::TrainGate {
            may_land: false,
            may_build: true,
            only: None,
        },
        _ => return Ok(()),
    };
    report.repair = gate.only.is_some();
    let (landed, records) = super::train::pass(
        session,
        store,
        base,
        &queue.state,
        views,
        &gate,
        report,
        updates,
    )?;
    if let Some(tip) = landed {
        move_base(session, store, base, tip, control, report, updates)?;
    }
    updates.extend(queue_updates(store, session, queue, &records)?);
    Ok(())
}

/// Moves the base branch from `base` to `tip` (compare-and-swap) and leases
/// the control ledger too (an unchanged value: verified, not written), so a
/// pause that lands while this pass merges makes the push stale instead of
/// letting main move under it. With no ledger yet, starting it is the lease.
fn move_base(
    session: &Session,
    store: &Store,
    base: ObjectId,
    tip: ObjectId,
    control: &mut crate::ledger::Folded<crate::core::control::ControlState>,
    report: &mut ReactReport,
    updates: &mut Vec<RefUpdate>,
) -> anyhow::Result<()> {
    updates.push(RefUpdate {
        name: session.base_ref(),
        expected: Some(base),
        new: Some(tip),
    });
    report.new_base_sha = Some(tip.to_string());
    let control_guarded = updates.iter().any(|u| u.name == names::CONTROL);
    match (control_guarded, control.tip) {
        (true, _) => {}
        (false, Some(tip)) => updates.push(RefUpdate::verify(names::CONTROL, tip)),
        (false, None) => {
            let start = ledger_start_record(session);
            append_control(session, store, control, &start, updates)?;
        }
    }
    Ok(())
}

/// Writes the updates with the report, or just reports when there are none.
fn finish(updates: Vec<RefUpdate>, report: ReactReport) -> Attempt<ReactReport> {
    if updates.is_empty() {
        Attempt::Done(report)
    } else {
        Attempt::Write(updates, report)
    }
}

/// After a merge moved main from `old` to `new`: a pause bound to `old` that
/// landed inside the push's window (the control lease is checked against what
/// the server advertised when the push connected) would be bound to a main
/// that no longer is, and unpause could never resume it. Rebind it to `new`.
/// The pause checks main after writing, and this checks control after
/// writing, so whichever comes second sees the other.
fn rebind_crossed_pause(session: &Session, old: &str, new: &str) -> CliResult<Option<String>> {
    session.store.refresh()?;
    let rebound = session.store.transact("deploybot: rebind pause", |store| {
        let current = read_control(store)?;
        let state = &current.state;
        let crossed = state.is_paused()
            && state.requires_control_id.is_none()
            && state.main_sha.as_deref() == Some(old);
        let base_is_new = store
            .tip(&session.base_ref())?
            .map(|b| b.to_string())
            .as_deref()
            == Some(new);
        if !crossed || !base_is_new {
            return Ok(Attempt::Done(None));
        }
        let reason = state.reason.clone().unwrap_or_default();
        let record = pause_record(session, new, &reason);
        Ok(Attempt::Write(
            vec![control_update(store, &current, &record, session)?],
            Some(reason),
        ))
    })?;
    Ok(rebound)
}

/// The first control record, written by the first pass that merges: a
/// `running` record that resumes nothing, so the fold ignores it (rule 4); it
/// exists so that the merge's push can lease the control ledger.
fn ledger_start_record(session: &Session) -> ControlRecord {
    ControlRecord {
        state: ControlMode::Running,
        main_sha: None,
        ..pause_record(session, "", &messages::control_ledger_started())
    }
}

/// The running record that clears a controller pause for P once the
/// watermark M (as this pass leaves it) is a newer main that contains P
/// (DESIGN.md: a newer verified main supersedes it); None in every other case.
fn supersede_record(
    session: &Session,
    store: &Store,
    control: &crate::core::control::ControlState,
    base: ObjectId,
    watermark: Option<ObjectId>,
) -> anyhow::Result<Option<ControlRecord>> {
    let Some(paused_sha) = control.controller_pause_sha() else {
        return Ok(None);
    };
    let (Some(paused), Some(verified)) = (crate::git::parse_oid(paused_sha), watermark) else {
        return Ok(None);
    };
    if paused == verified
        || !store.repo.is_ancestor(paused, verified)?
        || !store.repo.is_ancestor(verified, base)?
    {
        return Ok(None);
    }
    let reason = messages::supersedes(&verified.to_string(), paused_sha);
    Ok(Some(ControlRecord {
        state: ControlMode::Running,
        main_sha: None,
        resumes_control_id: control.control_id.clone(),
        recovered_main_sha: Some(paused_sha.to_string()),
        recovered_reason: control.reason.clone(),
        recovered_state: control
            .reason
            .as_deref()
            .and_then(|r| crate::core::control::controller_reason_state(r, paused_sha))
            .map(|s| s.as_str().to_string()),
        ..pause_record(session, paused_sha, &reason)
    }))
}
