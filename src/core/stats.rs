//! `stats`: delivery figures from the ledgers' history and the notes alone.
//! Pure: records and note facts in, figures out (no git, no clock).
//!
//! - per request: queue wait (request → merged), time to live (request → the
//!   first verification of its merge or a later main), lead time (the
//!   requested head's commit time, or the request if earlier → verified);
//! - CI duration: a CI note's `pending` with a `run_id` → that run's finished report;
//! - pauses and recoveries: control records the pinned fold applied;
//! - DORA: verified mains per day, lead time, the share of verified mains
//!   later paused, pause → the next main verified after it (recovered pauses).

use std::collections::HashMap;

use serde::Serialize;

use crate::core::control::{ControlMode, ControlRecord, ControlState, FoldStep, fold_control};
use crate::core::queue::{QueueAction, QueueRecord};
use crate::core::results::{ResultRecord, ResultStatus};
use crate::core::time::{UnixSeconds, format_rfc3339, parse_rfc3339};

mod window;
pub use window::{WindowStart, open_requests};

/// One `main` commit on the first-parent line, with its result notes.
#[derive(Debug, Clone, Default)]
pub struct MainFacts {
    /// The commit's full sha.
    pub sha: String,
    /// Its CI note's records.
    pub ci: Vec<ResultRecord>,
    /// Its deploy note's records (deploys and verifications).
    pub deploy: Vec<ResultRecord>,
}

/// Everything the figures are computed from.
#[derive(Debug, Clone, Copy)]
pub struct StatsInputs<'a> {
    /// The queue ledger's readable records, in ledger order.
    pub queue: &'a [QueueRecord],
    /// The control ledger's readable records, in ledger order.
    pub control: &'a [ControlRecord],
    /// The base branch's first-parent line, oldest first.
    pub mains: &'a [MainFacts],
    /// Receipts: merge sha → when it was verified (they win over the deploy notes).
    pub receipts: &'a HashMap<String, UnixSeconds>,
    /// Requested heads' commit times (head sha → seconds), for lead time.
    pub head_times: &'a HashMap<String, UnixSeconds>,
    /// The checks that make a main verified: `pipeline.deploy_checks` and the verifications.
    pub verified_checks: &'a [String],
    /// Only requests (and pauses, runs, verified mains) at or after this time.
    pub since: Option<UnixSeconds>,
    /// The current time (the end of the window for deployment frequency).
    pub now: UnixSeconds,
    /// What the records before the ledgers' slices left (the default when
    /// the slices start at the roots).
    pub start: &'a WindowStart,
}

/// The 50th and 95th percentiles (nearest rank) of some durations in seconds; null without data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Quantiles {
    /// The median.
    pub p50: Option<i64>,
    /// The 95th percentile.
    pub p95: Option<i64>,
}

/// The four DORA figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Dora {
    /// Verified mains per day over the window (at least one day long); null with no window.
    pub deployment_frequency_per_day: Option<f64>,
    /// The requested head's commit time (or the request, if earlier) → verified.
    pub lead_time_seconds: Quantiles,
    /// Verified mains later paused / verified mains; null when none was verified.
    pub change_failure_rate: Option<f64>,
    /// A recovered pause → the first main at or after its sha verified after it.
    pub time_to_restore_seconds: Quantiles,
}

/// `stats --json` (pinned shape).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Stats {
    /// The window's start (RFC 3339), or null for all history.
    pub since: Option<String>,
    /// Requests in the window.
    pub requests: u64,
    /// Of those, merged.
    pub merged: u64,
    /// Of those, blocked at least once.
    pub blocked: u64,
    /// Pauses the control fold applied.
    pub pauses: u64,
    /// Running records that resumed the current pause.
    pub recoveries: u64,
    /// Request → merged.
    pub queue_wait_seconds: Quantiles,
    /// Request → the merge (or a later main) verified.
    pub time_to_live_seconds: Quantiles,
    /// A CI run's `pending` → its finished report (same `run_id`), on mains.
    pub ci_duration_seconds: Quantiles,
    /// The DORA figures.
    pub dora: Dora,
}

/// The nearest-rank percentile `q` (0 < q ≤ 1) of `sorted` (ascending); None when empty.
pub fn percentile(sorted: &[i64], q: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    Some(sorted[rank.clamp(1, sorted.len()) - 1])
}

/// The p50 and p95 of `values` (sorted here).
pub fn quantiles(mut values: Vec<i64>) -> Quantiles {
    values.sort_unstable();
    Quantiles {
        p50: percentile(&values, 0.5),
        p95: percentile(&values, 0.95),
    }
}

/// When a main first became verified by its deploy note: the first report
/// `at` after which every one of `checks` has a `success` as its latest
/// report (by `at`, then line order; `pending` and `skipped` do not count).
/// None when it never was, or when no check is required.
pub fn first_verified_at(deploy: &[ResultRecord], checks: &[String]) -> Option<UnixSeconds> {
    if checks.is_empty() {
        return None;
    }
    let mut reports: Vec<(UnixSeconds, usize, &ResultRecord)> = deploy
        .iter()
        .enumerate()
        .filter(|(_, r)| checks.contains(&r.check))
        .filter(|(_, r)| !matches!(r.status, ResultStatus::Skipped | ResultStatus::Pending))
        .filter_map(|(i, r)| Some((r.at_seconds()?, i, r)))
        .collect();
    reports.sort_by_key(|(at, i, _)| (*at, *i));
    let mut latest: HashMap<&str, ResultStatus> = HashMap::new();
    for (at, _, r) in reports {
        latest.insert(&r.check, r.status);
        let all = checks
            .iter()
            .all(|c| latest.get(c.as_str()) == Some(&ResultStatus::Success));
        if all {
            return Some(at);
        }
    }
    None
}

/// CI run durations in one note: per (check, `run_id`), the earliest
/// `pending` → the first finished report (success, failure, cancelled) at or
/// after it. Returns (pending at, seconds) per run.
pub fn ci_runs(ci: &[ResultRecord]) -> Vec<(UnixSeconds, i64)> {
    let mut started: HashMap<(&str, &str), UnixSeconds> = HashMap::new();
    for r in ci {
        if let (ResultStatus::Pending, Some(run), Some(at)) = (r.status, &r.run_id, r.at_seconds())
        {
            let slot = started.entry((&r.check, run)).or_insert(at);
            *slot = (*slot).min(at);
        }
    }
    let mut finished: HashMap<(&str, &str), UnixSeconds> = HashMap::new();
    for r in ci {
        let done = matches!(
            r.status,
            ResultStatus::Success | ResultStatus::Failure | ResultStatus::Cancelled
        );
        if let (true, Some(run), Some(at)) = (done, &r.run_id, r.at_seconds()) {
            let key = (r.check.as_str(), run.as_str());
            if started.get(&key).is_some_and(|s| at >= *s) {
                let slot = finished.entry(key).or_insert(at);
                *slot = (*slot).min(at);
            }
        }
    }
    let mut runs: Vec<(UnixSeconds, i64)> = finished
        .into_iter()
        .map(|(key, end)| {
            let start = started[&key];
            (start, end - start)
        })
        .collect();
    runs.sort_unstable();
    runs
}

/// One request's story as the queue ledger tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestStory {
    /// The branch.
    pub branch: String,
    /// The requested head.
    pub head_sha: String,
    /// The request's time (the first request of this head while it stayed queued).
    pub requested_at: UnixSeconds,
    /// A block record held it at least once.
    pub blocked: bool,
    /// The merged record: its time and merge sha.
    pub merged: Option<(UnixSeconds, String)>,
}

/// Pairs requests with their merges: a branch's open request is closed by a
/// cancel, a dequeue, a newer head's request or the merge of its head; a
/// repeated request of the same head keeps the first time.
pub fn request_stories(queue: &[QueueRecord], now: UnixSeconds) -> Vec<RequestStory> {
    request_stories_after(queue, &WindowStart::default(), now)
}

/// [`request_stories`] of a queue slice that follows what `start` says; the
/// requests open before it are not stories of the slice.
pub fn request_stories_after(
    queue: &[QueueRecord],
    start: &WindowStart,
    now: UnixSeconds,
) -> Vec<RequestStory> {
    let mut stories: Vec<RequestStory> = Vec::new();
    let mut open: HashMap<&str, usize> = HashMap::new();
    for (branch, head) in &start.open_requests {
        open.insert(branch, stories.len());
        stories.push(RequestStory {
            branch: branch.clone(),
            head_sha: head.clone(),
            requested_at: UnixSeconds::MIN,
            blocked: false,
            merged: None,
        });
    }
    let before = stories.len();
    // Ledger time: the written order, bounded by the clock (no negative waits).
    let times = crate::core::time::ledger_times(queue.iter().map(|r| r.at.as_str()), now);
    for (record, &at) in queue.iter().zip(&times) {
        let branch = record.branch.as_str();
        match record.action {
            QueueAction::Request => {
                let (Some(head), Some(at)) = (&record.head_sha, at) else {
                    continue;
                };
                if let Some(&i) = open.get(branch)
                    && stories[i].head_sha == *head
                {
                    continue;
                }
                open.insert(branch, stories.len());
                stories.push(RequestStory {
                    branch: record.branch.clone(),
                    head_sha: head.clone(),
                    requested_at: at,
                    blocked: false,
                    merged: None,
                });
            }
            QueueAction::Cancel | QueueAction::Dequeue => {
                open.remove(branch);
            }
            QueueAction::Block => {
                if let Some(&i) = open.get(branch) {
                    stories[i].blocked = true;
                }
            }
            QueueAction::Merged => {
                let (Some(head), Some(merge), Some(at)) = (&record.head_sha, &record.merge_sha, at)
                else {
                    continue;
                };
                if let Some(&i) = open.get(branch)
                    && stories[i].head_sha == *head
                {
                    stories[i].merged = Some((at, merge.clone()));
                    open.remove(branch);
                }
            }
            QueueAction::Unblock | QueueAction::Candidate | QueueAction::Discarded => {}
        }
    }
    stories.split_off(before)
}

/// A control record the fold applied, with its time.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Applied {
    at: UnixSeconds,
    pause: bool,
    control_id: String,
    main_sha: Option<String>,
    resumes: Option<String>,
}

/// The control records the pinned fold applied (pauses, and running records
/// that resumed the current pause), in ledger order.
fn applied_controls(control: &[ControlRecord], state: &ControlState) -> Vec<Applied> {
    let mut state = state.clone();
    let mut out = Vec::new();
    for record in control {
        let (next, step) = fold_control(&state, record);
        state = next;
        let Some(at) = parse_rfc3339(&record.at) else {
            continue;
        };
        if step == FoldStep::Applied {
            out.push(Applied {
                at,
                pause: record.state == ControlMode::Paused,
                control_id: record.control_id.clone(),
                main_sha: record.main_sha.clone(),
                resumes: record.resumes_control_id.clone(),
            });
        }
    }
    out
}

/// Computes every figure.
pub fn compute(inputs: &StatsInputs) -> Stats {
    let in_window = |at: UnixSeconds| inputs.since.is_none_or(|s| at >= s);
    let mains = MainTimes::of(inputs);
    let stories: Vec<RequestStory> = request_stories_after(inputs.queue, inputs.start, inputs.now)
        .into_iter()
        .filter(|s| in_window(s.requested_at))
        .collect();
    let (waits, lives, leads) = request_figures(inputs, &stories, &mains);
    let ci: Vec<i64> = inputs
        .mains
        .iter()
        .flat_map(|m| ci_runs(&m.ci))
        .filter(|(start, _)| in_window(*start))
        .map(|(_, seconds)| seconds)
        .collect();
    let applied = applied_controls(inputs.control, &inputs.start.control_state);
    let pauses: Vec<&Applied> = applied
        .iter()
        .filter(|a| a.pause && in_window(a.at))
        .collect();
    let recoveries = applied
        .iter()
        .filter(|a| !a.pause && a.resumes.is_some() && in_window(a.at))
        .count() as u64;
    let restores = restore_times(&applied, &pauses, &mains);
    // Verified mains in the window, and the share of them later paused.
    let verified_mains: Vec<(usize, UnixSeconds)> = mains
        .verified
        .iter()
        .enumerate()
        .filter_map(|(i, at)| at.map(|at| (i, at)))
        .filter(|(_, at)| in_window(*at))
        .collect();
    let failed = paused_later(&verified_mains, &pauses, inputs.mains);
    let change_failure_rate =
        (!verified_mains.is_empty()).then(|| round4(failed as f64 / verified_mains.len() as f64));
    let deployment_frequency_per_day = deployment_frequency(inputs, &stories, &verified_mains);
    Stats {
        since: inputs.since.map(format_rfc3339),
        requests: stories.len() as u64,
        merged: stories.iter().filter(|s| s.merged.is_some()).count() as u64,
        blocked: stories.iter().filter(|s| s.blocked).count() as u64,
        pauses: pauses.len() as u64,
        recoveries,
        queue_wait_seconds: quantiles(waits),
        time_to_live_seconds: quantiles(lives),
        ci_duration_seconds: quantiles(ci),
        dora: Dora {
            deployment_frequency_per_day,
            lead_time_seconds: quantiles(leads),
            change_failure_rate,
            time_to_restore_seconds: quantiles(restores),
        },
    }
}

/// When each main was first verified, and where each sits on the branch.
struct MainTimes<'a> {
    /// A main's sha → its position (oldest first).
    position: HashMap<&'a str, usize>,
    /// Each main's first verification.
    verified: Vec<Option<UnixSeconds>>,
    /// The first verification of main i or any later main.
    first_from: Vec<Option<UnixSeconds>>,
    /// Receipts: merge sha → when it was verified.
    receipts: &'a HashMap<String, UnixSeconds>,
}

impl<'a> MainTimes<'a> {
    fn of(inputs: &'a StatsInputs) -> MainTimes<'a> {
        let position = inputs
            .mains
            .iter()
            .enumerate()
            .map(|(i, m)| (m.sha.as_str(), i))
            .collect();
        let verified: Vec<Option<UnixSeconds>> = inputs
            .mains
            .iter()
            .map(|m| first_verified_at(&m.deploy, inputs.verified_checks))
            .collect();
        let mut first_from = vec![None; verified.len()];
        let mut best: Option<UnixSeconds> = None;
        for i in (0..verified.len()).rev() {
            best = match (best, verified[i]) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            first_from[i] = best;
        }
        MainTimes {
            position,
            verified,
            first_from,
            receipts: inputs.receipts,
        }
    }

    /// When the merge `merge` was verified: its receipt, else the first
    /// verification of its main or a later one.
    fn verified_of(&self, merge: &str) -> Option<UnixSeconds> {
        self.receipts
            .get(merge)
            .copied()
            .or_else(|| self.position.get(merge).and_then(|&i| self.first_from[i]))
    }
}

/// Per request: queue wait (request → merged), time to live (request →
/// verified) and lead time (first commit or request → verified).
fn request_figures(
    inputs: &StatsInputs,
    stories: &[RequestStory],
    mains: &MainTimes,
) -> (Vec<i64>, Vec<i64>, Vec<i64>) {
    let (mut waits, mut lives, mut leads) = (Vec::new(), Vec::new(), Vec::new());
    for story in stories {
        let Some((merged_at, merge)) = &story.merged else {
            continue;
        };
        waits.push(merged_at - story.requested_at);
        if let Some(at) = mains.verified_of(merge) {
            lives.push((at - story.requested_at).max(0));
            let start = inputs
                .head_times
                .get(&story.head_sha)
                .map_or(story.requested_at, |&t| t.min(story.requested_at));
            leads.push((at - start).max(0));
        }
    }
    (waits, lives, leads)
}

/// Time to restore: a recovered pause → the first main at or after its sha
/// (all mains when it names none on main) verified at or after it.
fn restore_times(applied: &[Applied], pauses: &[&Applied], mains: &MainTimes) -> Vec<i64> {
    let resumed: std::collections::HashSet<&str> = applied
        .iter()
        .filter(|a| !a.pause)
        .filter_map(|a| a.resumes.as_deref())
        .collect();
    // Verified mains by time: the first at or after a pause whose position
    // is at or after the pause's main is the earliest that restored it.
    let mut by_time: Vec<(UnixSeconds, usize)> = mains
        .verified
        .iter()
        .enumerate()
        .filter_map(|(i, at)| at.map(|at| (at, i)))
        .collect();
    by_time.sort_unstable();
    let mut restores = Vec::new();
    for pause in pauses {
        if !resumed.contains(pause.control_id.as_str()) {
            continue;
        }
        let from = pause
            .main_sha
            .as_deref()
            .and_then(|sha| mains.position.get(sha).copied())
            .unwrap_or(0);
        let first = by_time.partition_point(|(at, _)| *at < pause.at);
        if let Some((at, _)) = by_time[first..].iter().find(|(_, i)| *i >= from) {
            restores.push(at - pause.at);
        }
    }
    restores
}

/// How many of the verified mains (position, when verified) a pause bound
/// to them stopped at or after their verification.
fn paused_later(
    verified: &[(usize, UnixSeconds)],
    pauses: &[&Applied],
    mains: &[MainFacts],
) -> usize {
    let mut last_pause: HashMap<&str, UnixSeconds> = HashMap::new();
    for pause in pauses {
        if let Some(sha) = pause.main_sha.as_deref() {
            let at = last_pause.entry(sha).or_insert(pause.at);
            *at = (*at).max(pause.at);
        }
    }
    verified
        .iter()
        .filter(|(i, at)| {
            last_pause
                .get(mains[*i].sha.as_str())
                .is_some_and(|paused| paused >= at)
        })
        .count()
}

/// Verified mains per day, from the window's start (or the first request
/// or verification) to now.
fn deployment_frequency(
    inputs: &StatsInputs,
    stories: &[RequestStory],
    verified_mains: &[(usize, UnixSeconds)],
) -> Option<f64> {
    let start = inputs.since.or_else(|| {
        let first_request = stories.iter().map(|s| s.requested_at).min();
        let first_verified = verified_mains.iter().map(|(_, at)| *at).min();
        match (first_request, first_verified) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    });
    start.map(|start| {
        let days = ((inputs.now - start) as f64 / 86_400.0).max(1.0);
        round4(verified_mains.len() as f64 / days)
    })
}

/// Rounds to four decimals (figures people read).
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// The figures as Prometheus text exposition: every metric prefixed
/// `deploybot_`, quantiles as a `quantile` label, a figure with no data as `NaN`.
pub fn prometheus(stats: &Stats) -> String {
    fn int(v: Option<i64>) -> String {
        v.map_or_else(|| "NaN".to_owned(), |v| v.to_string())
    }
    fn float(v: Option<f64>) -> String {
        v.map_or_else(|| "NaN".to_owned(), |v| v.to_string())
    }
    let mut out = String::new();
    let mut gauge = |name: &str, help: &str, samples: Vec<(&str, String)>| {
        out.push_str(&format!("# HELP deploybot_{name} {help}\n"));
        out.push_str(&format!("# TYPE deploybot_{name} gauge\n"));
        for (labels, value) in samples {
            out.push_str(&format!("deploybot_{name}{labels} {value}\n"));
        }
    };
    let q = |quantiles: &Quantiles| {
        vec![
            ("{quantile=\"0.5\"}", int(quantiles.p50)),
            ("{quantile=\"0.95\"}", int(quantiles.p95)),
        ]
    };
    let one = |v: u64| vec![("", v.to_string())];
    gauge(
        "requests",
        "Queue requests in the window.",
        one(stats.requests),
    );
    gauge(
        "merged",
        "Requests in the window that merged.",
        one(stats.merged),
    );
    gauge(
        "blocked",
        "Requests in the window blocked at least once.",
        one(stats.blocked),
    );
    gauge(
        "pauses",
        "Pauses the control fold applied.",
        one(stats.pauses),
    );
    gauge(
        "recoveries",
        "Recoveries (running records resuming the pause).",
        one(stats.recoveries),
    );
    gauge(
        "queue_wait_seconds",
        "Request to merge, in seconds.",
        q(&stats.queue_wait_seconds),
    );
    gauge(
        "time_to_live_seconds",
        "Request to verified, in seconds.",
        q(&stats.time_to_live_seconds),
    );
    gauge(
        "ci_duration_seconds",
        "CI run (pending to finished) on mains, in seconds.",
        q(&stats.ci_duration_seconds),
    );
    let d = &stats.dora;
    gauge(
        "deployment_frequency_per_day",
        "DORA: verified mains per day.",
        vec![("", float(d.deployment_frequency_per_day))],
    );
    gauge(
        "lead_time_seconds",
        "DORA: head commit or request to verified, in seconds.",
        q(&d.lead_time_seconds),
    );
    gauge(
        "change_failure_rate",
        "DORA: verified mains later paused / verified mains.",
        vec![("", float(d.change_failure_rate))],
    );
    gauge(
        "time_to_restore_seconds",
        "DORA: pause to the recovered release verified, in seconds.",
        q(&d.time_to_restore_seconds),
    );
    out
}

#[cfg(test)]
mod tests;
