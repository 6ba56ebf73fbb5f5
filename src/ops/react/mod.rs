//! One coordinator pass in three steps: [`read`] everything it decides on
//! into one plain value, plan it as typed actions
//! ([`crate::core::pass::plan_pass`], pure), and [`apply`] them as objects
//! and one atomic push with leases, retried from the read on contention. A
//! push the server refuses for one entry's content is isolated to that
//! entry, which is blocked.

pub mod apply;
pub mod read;

use super::control::{append_update as control_update, pause_record, read_control};
use super::queue::{append_updates as queue_updates, entry_views, read_queue};
use crate::core::control::{ControlMode, ControlRecord};
pub use crate::core::pass::ReactState;
use crate::core::pass::plan_pass;
use crate::core::queue::EntryState;
use crate::error::CliResult;
use crate::git::names;
use crate::git::store::{Attempt, Store};
use crate::messages;
pub use crate::ops::outcome::{BlockedView, MergedView, ReactReport};
use crate::session::Session;

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
        super::landing::run_dispatch_command(session, &report);
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
            let views = entry_views(store, &session.policy, &queue.state)?;
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

/// One pass in three steps: read everything once, plan it as data, apply
/// the actions as one atomic push (retried from step 1 by `transact`).
fn attempt(
    session: &Session,
    store: &Store,
    dispatch_ci: bool,
    probe: Option<(usize, usize)>,
) -> anyhow::Result<Attempt<ReactReport>> {
    let mut inputs = read::read_pass(session, store)?;
    let plan = plan_pass(&inputs.facts(session, probe, dispatch_ci));
    apply::apply_pass(session, store, &mut inputs, &plan)
}

/// After a merge moved main from `old` to `new`: a pause bound to `old` that
/// landed inside the push's window (the control lease is checked against what
/// the server advertised when the push connected) would be bound to a main
/// that no longer is, and unpause could never resume it. Rebind it to `new`.
/// The pause checks main after writing, and this checks control after
/// writing, so whichever comes second sees the other.
fn rebind_crossed_pause(session: &Session, old: &str, new: &str) -> CliResult<Option<String>> {
    // The control ledger where this pass left it: nothing crossed the push.
    if session.store.unmoved_on_remote(names::CONTROL)? {
        return Ok(None);
    }
    // Else only the two refs the check reads: the control ledger and the base.
    session
        .store
        .refresh_refs(&[names::CONTROL.to_string(), session.base_ref()])?;
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
pub(super) fn ledger_start_record(session: &Session) -> ControlRecord {
    ControlRecord {
        state: ControlMode::Running,
        main_sha: None,
        ..pause_record(session, "", &messages::control_ledger_started())
    }
}
