//! `coordinate`'s pass: under the clone's pass lock, open the session
//! (fetching unless nothing changed), one react pass, then one step of
//! following the base tip (deploy and verify when the policy runs them here).

use super::follow::{FollowOptions, FollowReport, Goal, follow};
use super::react::{ReactReport, ReactState, react_once};
use crate::core::schedule::Trigger;
use crate::error::CliResult;
use crate::git::watch::PassLock;
use crate::session::{Session, SessionOptions, discover};
use serde::Serialize;
use std::time::{Duration, Instant};

/// What one coordinator pass did: one line of `coordinate`'s output.
#[derive(Debug, Clone, Serialize)]
pub struct PassRecord {
    /// When it began (RFC 3339).
    pub at: String,
    /// Why it ran.
    pub trigger: Trigger,
    /// True when it fetched from the remote (a pass whose listing found
    /// nothing moved fetches nothing).
    pub fetched: bool,
    /// Seconds it took.
    pub seconds: f64,
    /// The react pass (null when the pass failed before it).
    pub react: Option<ReactReport>,
    /// The follow step (after a complete react pass): the release it saw,
    /// and the pause it wrote when the base tip failed.
    pub follow: Option<FollowReport>,
    /// Why the pass failed (it is retried after a back-off).
    pub error: Option<String>,
    /// Pushes of this pass the server refused because another writer moved
    /// a ref first; after each, the pass ran again from fresh state.
    pub lost_races: u32,
}

/// Runs one pass for `trigger` (`remote`: a remote is the truth, so a sweep
/// reads its mirror without fetching). Errors are part of the record (the
/// loop backs off); a usage error on the first pass (not a repository, a
/// bad policy) is returned.
pub fn coordinator_pass(
    options: &SessionOptions,
    trigger: Trigger,
    remote: bool,
) -> CliResult<PassRecord> {
    let started = Instant::now();
    let at = super::now_rfc3339();
    let (repo, _) = discover(options)?;
    let _lock = PassLock::acquire(repo.git_dir())?;
    drop(repo);
    let mut options = options.clone();
    options.cached = remote && !trigger.fetches();
    // The watcher's own listing saw the move: no second listing.
    options.moved = trigger == Trigger::Changed;
    let mut record = PassRecord {
        at,
        trigger,
        fetched: false,
        seconds: 0.0,
        react: None,
        follow: None,
        error: None,
        lost_races: 0,
    };
    match one_pass(&options, &mut record) {
        Ok(()) => {}
        Err(e) if e.kind == crate::error::ErrorKind::Usage && trigger == Trigger::Start => {
            return Err(e);
        }
        Err(e) => record.error = Some(e.message),
    }
    record.seconds = (started.elapsed().as_secs_f64() * 100.0).round() / 100.0;
    Ok(record)
}

/// The pass proper, filling `record` as it goes.
fn one_pass(options: &SessionOptions, record: &mut PassRecord) -> CliResult {
    let session = Session::open(options)?;
    record.fetched = session.store.fetched();
    let done = steps(&session, record);
    record.lost_races = session.store.lost_races();
    done
}

/// React, then one follow step when the react pass completed.
fn steps(session: &Session, record: &mut PassRecord) -> CliResult {
    let dispatch = !session
        .policy
        .pipeline
        .ci_dispatch_command
        .trim()
        .is_empty();
    let pass = react_once(session, dispatch)?;
    let complete = pass.state == ReactState::Complete;
    record.react = Some(pass);
    if complete {
        let step = FollowOptions {
            goal: Goal::Verified,
            timeout: Duration::ZERO,
            poll: Duration::ZERO,
            if_needed: true,
        };
        record.follow = Some(follow(session, step, &mut |_| {})?);
    }
    Ok(())
}
