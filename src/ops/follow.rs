//! Following the newest exact base sha until it is admitted (or verified) or fails.

use super::control::{append_update, pause_record, read_control};
use crate::core::control::{FoldStep, classify};
use crate::core::release::{Release, ReleaseState, admits};
use crate::error::CliResult;
use crate::git::store::Attempt;
use crate::messages::short;
use crate::session::Session;
use serde::Serialize;
use std::time::{Duration, Instant};

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
}

/// What counts as done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Goal {
    /// Admitted by `pipeline.release_admission` (react --follow, unpause --follow).
    Admitted,
    /// Verified (the follow command).
    Verified,
}

/// Polls until the newest base sha reaches `goal` or fails, or `timeout` passes.
/// `progress` receives one line per change of state.
pub fn follow(
    session: &Session,
    goal: Goal,
    timeout: Duration,
    poll: Duration,
    progress: &mut dyn FnMut(&str),
) -> CliResult<FollowReport> {
    let start = Instant::now();
    let mut last_line = String::new();
    loop {
        let control = read_control(&session.store)?;
        let base = session.require_base_sha()?;
        let release = super::release::release_of(
            &session.store,
            &session.policy,
            &base,
            super::now_seconds(),
        )?;
        let elapsed = start.elapsed().as_secs();
        let mut report = FollowReport {
            outcome: FollowEnd::TimedOut,
            sha: Some(base.to_string()),
            release: Some(release.clone()),
            elapsed_seconds: elapsed,
            paused_with: None,
        };
        let reached = match goal {
            Goal::Admitted => admits(session.policy.pipeline.release_admission, release.state),
            Goal::Verified => release.state == ReleaseState::Verified,
        };
        if control.state.is_paused() {
            report.outcome = FollowEnd::Paused;
            return Ok(report);
        }
        if reached {
            report.outcome = FollowEnd::Reached;
            return Ok(report);
        }
        if release.state.is_failed() && !control.state.recovery_owns(&base.to_string()) {
            report.outcome = FollowEnd::Failed;
            report.paused_with = pause_on_failure(session, &base.to_string(), release.state)?;
            return Ok(report);
        }
        let line = format!(
            "following {}: {} ({})",
            short(&base.to_string()),
            release.state.as_str(),
            release.why
        );
        if line != last_line {
            progress(&format!("{line} [{elapsed}s]"));
            last_line = line;
        }
        if start.elapsed() >= timeout {
            return Ok(report);
        }
        std::thread::sleep(
            poll.min(timeout.saturating_sub(start.elapsed()))
                .max(Duration::from_millis(50)),
        );
        session.store.refresh()?;
    }
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
            if classify(&current.state, &record) != FoldStep::Applied || current.state.is_paused() {
                return Ok(Attempt::Done(None));
            }
            Ok(Attempt::Write(
                vec![append_update(store, &current, &record, session)?],
                Some(reason.clone()),
            ))
        })?;
    Ok(written)
}
