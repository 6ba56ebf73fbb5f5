//! Result notes: the JSON Lines records runners append on exact commits, the
//! latest result per check (DESIGN.md's duplicate and later-failure rules),
//! and whether a set of required checks is green. Pure functions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::core::time::{UnixSeconds, parse_rfc3339};

/// Status of one report (pinned strings, lowercase).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ResultStatus {
    /// A run started and has not finished.
    Pending,
    /// The run passed.
    Success,
    /// The run failed.
    Failure,
    /// The run was cancelled (often a duplicate cancelled by concurrency).
    Cancelled,
    /// The run did not apply; never evidence either way.
    Skipped,
}

impl ResultStatus {
    /// Every status, in declaration order.
    pub const ALL: [ResultStatus; 5] = [
        ResultStatus::Pending,
        ResultStatus::Success,
        ResultStatus::Failure,
        ResultStatus::Cancelled,
        ResultStatus::Skipped,
    ];

    /// The pinned lowercase name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ResultStatus::Pending => "pending",
            ResultStatus::Success => "success",
            ResultStatus::Failure => "failure",
            ResultStatus::Cancelled => "cancelled",
            ResultStatus::Skipped => "skipped",
        }
    }

    /// Parses a pinned name (exact, lowercase); `None` otherwise.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|status| status.as_str() == s)
    }
}

/// One JSON line of a result note. Unknown fields are kept in `extra` and ignored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResultRecord {
    /// The check's name, e.g. `CI` or `Deploy`.
    pub check: String,
    /// The reported status.
    pub status: ResultStatus,
    /// When the report was made (RFC 3339), i.e. when the run finished.
    pub at: String,
    /// The runner's id for the run, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub run_id: Option<String>,
    /// A link to the run's log, if any.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub url: Option<String>,
    /// Which runner reported, if known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub runner: Option<String>,
    /// The attempt number of a re-run, if known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub attempt: Option<u32>,
    /// Fields this version does not know; kept and written back unchanged.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

impl ResultRecord {
    /// A record with no optional fields.
    pub fn new(check: &str, status: ResultStatus, at: &str) -> Self {
        ResultRecord {
            check: check.to_owned(),
            status,
            at: at.to_owned(),
            run_id: None,
            url: None,
            runner: None,
            attempt: None,
            extra: serde_json::Map::new(),
        }
    }

    /// `at` in Unix seconds; `None` when it is not RFC 3339.
    pub fn at_seconds(&self) -> Option<UnixSeconds> {
        parse_rfc3339(&self.at)
    }

    /// The record as one compact JSON line, without a trailing newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("strings, numbers and JSON values always serialize")
    }
}

/// A note parsed leniently: the records that could be read and what could not.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ParsedNote {
    /// Valid records, in line order.
    pub records: Vec<ResultRecord>,
    /// One entry per rejected line: `line N: why`.
    pub problems: Vec<String>,
}

/// Parses a result note: JSON Lines, blank lines ignored (`git notes append`
/// puts blank lines between entries). A line that is not a record (bad JSON,
/// unknown status, `at` not RFC 3339) lands in `problems`; this never panics.
pub fn parse_note(text: &str) -> ParsedNote {
    let mut note = ParsedNote::default();
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        match read_record(line) {
            Ok(record) => note.records.push(record),
            Err(why) => note.problems.push(format!("line {}: {why}", index + 1)),
        }
    }
    note
}

/// Validates one line as a result record for the server hook: `Err` holds a
/// one-line reason. Strict: `check` non-empty, at most 200 characters and free
/// of control characters; `status` one of the pinned names; `at` RFC 3339.
pub fn validate_line(line: &str) -> Result<ResultRecord, String> {
    let record = read_record(line.trim())?;
    if let Some(from) = record.extra.get(REUSED_FROM) {
        let full_sha = from.as_str().is_some_and(|s| {
            s.len() == 40 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        });
        if !full_sha {
            return Err(format!(
                "`{REUSED_FROM}` is not a full sha (40 lowercase hex)"
            ));
        }
    }
    if record.check.is_empty() {
        return Err("`check` is empty".to_owned());
    }
    if record.check.chars().count() > 200 {
        return Err("`check` is longer than 200 characters".to_owned());
    }
    if record.check.chars().any(char::is_control) {
        return Err("`check` contains control characters".to_owned());
    }
    Ok(record)
}

/// The field of a result line that repeats another commit's own result
/// (`pipeline.reuse_results = "tree"`).
pub const REUSED_FROM: &str = "reused_from";

/// The commit a line repeats the result of, if it is a reuse line.
pub fn reused_from(record: &ResultRecord) -> Option<&str> {
    record.extra.get(REUSED_FROM).and_then(|v| v.as_str())
}

/// True when the reuse line `line` holds: its commit and the commit it
/// names have the same tree (`same_tree`), and that commit's own deciding
/// result for the check (among `source`, its reuse lines left out) has the
/// line's status. The one rule the hook and every reader apply.
pub fn reuse_holds(line: &ResultRecord, same_tree: bool, source: &[ResultRecord]) -> bool {
    if !same_tree || reused_from(line).is_none() {
        return false;
    }
    let own: Vec<ResultRecord> = source
        .iter()
        .filter(|r| reused_from(r).is_none())
        .cloned()
        .collect();
    latest_per_check(&own)
        .get(&line.check)
        .is_some_and(|decided| decided.status == line.status)
}

/// Reads one non-blank line into a record with a valid status and `at`.
fn read_record(line: &str) -> Result<ResultRecord, String> {
    let value = crate::core::json::strict_value(line.as_bytes())?;
    let object = value.as_object().ok_or("not a JSON object")?;
    let field = |name: &str| match object.get(name) {
        None => Err(format!("missing `{name}`")),
        Some(serde_json::Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("`{name}` is not a string")),
    };
    field("check")?;
    let status = field("status")?;
    if ResultStatus::parse(&status).is_none() {
        return Err(format!(
            "unknown status `{status}` (expected pending, success, failure, cancelled or skipped)"
        ));
    }
    let at = field("at")?;
    if parse_rfc3339(&at).is_none() {
        return Err(format!("`at` is not an RFC 3339 time: `{at}`"));
    }
    serde_json::from_value(value).map_err(|e| format!("bad optional field: {e}"))
}

/// The deciding report per check, following DESIGN's rules:
///
/// - `skipped` reports and reports whose `at` does not parse are ignored;
/// - the latest report by `at`, then line order, decides, so a later
///   `failure` always beats an older `success`;
/// - except a `cancelled` latest report does not hide a `success` whose run
///   finished no earlier than the cancelled run started. Records carry only
///   `at`, so the cancelled run's start is the earliest `at` among reports of
///   the same check with the same `run_id` and `attempt` (a runner that
///   reports `pending` when it starts gives the true start), else the
///   cancelled report's own `at`. Among the `success`/`failure` reports at or
///   after that start, the latest one is taken if it is a `success`;
///   otherwise the `cancelled` report stands.
pub fn latest_per_check(records: &[ResultRecord]) -> BTreeMap<String, ResultRecord> {
    let mut by_check: BTreeMap<&str, Vec<Report<'_>>> = BTreeMap::new();
    for (index, record) in records.iter().enumerate() {
        if record.status == ResultStatus::Skipped {
            continue;
        }
        let Some(at) = record.at_seconds() else {
            continue;
        };
        by_check
            .entry(&record.check)
            .or_default()
            .push(Report { at, index, record });
    }
    by_check
        .into_iter()
        .filter_map(|(check, reports)| decide(&reports).map(|r| (check.to_owned(), r.clone())))
        .collect()
}

/// A report with its parsed time and line order.
#[derive(Clone, Copy)]
struct Report<'a> {
    at: UnixSeconds,
    index: usize,
    record: &'a ResultRecord,
}

impl Report<'_> {
    /// The ordering key: `at`, then line order.
    fn key(&self) -> (UnixSeconds, usize) {
        (self.at, self.index)
    }
}

/// The deciding record among one check's reports (see [`latest_per_check`]).
fn decide<'a>(reports: &[Report<'a>]) -> Option<&'a ResultRecord> {
    let latest = reports.iter().max_by_key(|r| r.key())?;
    if latest.record.status != ResultStatus::Cancelled {
        return Some(latest.record);
    }
    let started = match &latest.record.run_id {
        None => latest.at,
        Some(run_id) => reports
            .iter()
            .filter(|r| {
                r.record.run_id.as_ref() == Some(run_id)
                    && r.record.attempt == latest.record.attempt
            })
            .map(|r| r.at)
            .fold(latest.at, UnixSeconds::min),
    };
    let finished = reports
        .iter()
        .filter(|r| r.at >= started)
        .filter(|r| {
            matches!(
                r.record.status,
                ResultStatus::Success | ResultStatus::Failure
            )
        })
        .max_by_key(|r| r.key());
    match finished {
        Some(r) if r.record.status == ResultStatus::Success => Some(r.record),
        _ => Some(latest.record),
    }
}

/// Whether a list of required checks is green on one exact commit.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CheckSummary {
    /// Every required check's latest report is `success`.
    pub green: bool,
    /// Required checks decided by a `failure` or a `cancelled` report.
    pub failing: Vec<String>,
    /// Required checks with no report, or a `pending` latest.
    pub missing: Vec<String>,
}

/// Summarizes the required checks on a queue entry's exact head. There is no
/// grace here: a `failure` is failing until a newer report replaces it.
pub fn checks_green(records: &[ResultRecord], required: &[String]) -> CheckSummary {
    let tally = tally(records, required, UnixSeconds::MIN, CancelRule::Fails);
    CheckSummary {
        green: tally.failed.is_empty() && tally.outstanding.is_empty(),
        failing: tally.failed.into_iter().map(|f| f.check).collect(),
        missing: tally.outstanding,
    }
}

/// The names in order, without repeats.
pub(crate) fn dedup(names: &[String]) -> Vec<&String> {
    let mut seen = Vec::new();
    for name in names {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen
}

/// ``"`A`, `B`"`` for messages.
pub(crate) fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

/// The deciding reports of some named checks, by outcome.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    /// The latest `at` among the checks whose deciding report is a success.
    pub(crate) last_success: Option<UnixSeconds>,
    /// Checks whose deciding report is a failure or a cancel.
    pub(crate) failed: Vec<Failed>,
    /// Checks with no report, or a pending one, in list order.
    pub(crate) outstanding: Vec<String>,
    /// Some check's deciding report is `pending`.
    pub(crate) started: bool,
    /// Checks decided by a cancel that [`CancelRule::Coalesces`] counted as
    /// outstanding (they are in `outstanding` too).
    pub(crate) coalesced: Vec<String>,
}

/// What a deciding `cancelled` report means for its check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CancelRule {
    /// It fails the check: nobody will rerun it (the base tip, candidates, heads).
    Fails,
    /// It neither fails nor passes the check: on an older main, CI systems
    /// cancel a superseded run and the newer main's run covers it.
    Coalesces,
}

/// Tallies `names` over the records whose `at` is no earlier than `since`.
pub(crate) fn tally(
    records: &[ResultRecord],
    names: &[String],
    since: UnixSeconds,
    cancelled: CancelRule,
) -> Tally {
    let current: Vec<ResultRecord> = records
        .iter()
        .filter(|r| r.at_seconds().is_some_and(|at| at >= since))
        .cloned()
        .collect();
    let latest = latest_per_check(&current);
    let mut tally = Tally::default();
    for name in dedup(names) {
        let report = latest.get(name).and_then(|r| Some((r, r.at_seconds()?)));
        match report {
            Some((r, at)) if r.status == ResultStatus::Success => {
                tally.last_success = Some(tally.last_success.map_or(at, |last| last.max(at)));
            }
            // On an older main a deciding cancel coalesces into the newer
            // main's run (DESIGN.md, "Older mains are judged too").
            Some((r, _))
                if r.status == ResultStatus::Cancelled && cancelled == CancelRule::Coalesces =>
            {
                tally.coalesced.push(name.clone());
                tally.outstanding.push(name.clone());
            }
            // A deciding cancel fails the check: nobody will rerun it
            // (DESIGN.md, "Release judgement: clarifications").
            Some((r, at))
                if matches!(r.status, ResultStatus::Failure | ResultStatus::Cancelled) =>
            {
                tally.failed.push(Failed {
                    check: name.clone(),
                    status: r.status,
                    at: r.at.clone(),
                    at_seconds: at,
                });
            }
            _ => {
                tally.started |= report.is_some_and(|(r, _)| r.status == ResultStatus::Pending);
                tally.outstanding.push(name.clone());
            }
        }
    }
    tally
}

/// A check whose deciding report is a failure or a cancel.
#[derive(Debug)]
pub(crate) struct Failed {
    /// The check's name.
    pub(crate) check: String,
    /// `failure` or `cancelled`.
    pub(crate) status: ResultStatus,
    /// The failure's `at` as reported.
    pub(crate) at: String,
    /// The failure's `at` in seconds.
    pub(crate) at_seconds: UnixSeconds,
}

/// ``"check `CI` failure at <at>; …"`` for messages; a cancel says that it
/// decided the check.
pub(crate) fn failures(failed: &[Failed]) -> String {
    let list: Vec<String> = failed
        .iter()
        .map(|f| match f.status {
            ResultStatus::Cancelled => format!(
                "check `{}` cancelled at {} (a cancelled run that is not retried fails its check)",
                f.check, f.at
            ),
            _ => format!("check `{}` failure at {}", f.check, f.at),
        })
        .collect();
    list.join("; ")
}

/// The attempt number of a report: its `attempt`, or 1 when it names none.
fn attempt_of(record: &ResultRecord) -> u32 {
    record.attempt.unwrap_or(1).max(1)
}

/// True for a report that ends a run (`success`, `failure`, `cancelled`);
/// claims (`pending`) and `skipped` reports never count as an attempt made.
fn finished(record: &ResultRecord) -> bool {
    matches!(
        record.status,
        ResultStatus::Success | ResultStatus::Failure | ResultStatus::Cancelled
    )
}

/// The attempt number of the next run of `check`: one more than the highest
/// attempt among its finished reports (a report without `attempt` is the
/// first); `None` when it has none (a first run names no attempt).
pub fn next_attempt(records: &[ResultRecord], check: &str) -> Option<u32> {
    records
        .iter()
        .filter(|r| r.check == check && finished(r))
        .map(attempt_of)
        .max()
        .map(|highest| highest.saturating_add(1))
}

/// True when `check` was already run again: a finished report of attempt 2 or later.
pub fn retried(records: &[ResultRecord], check: &str) -> bool {
    records
        .iter()
        .any(|r| r.check == check && finished(r) && attempt_of(r) >= 2)
}

/// The failure (or deciding cancel) of `check` still within `grace_seconds`
/// at `now` that has not been retried yet: its `at` in seconds. Such a
/// failure on the base tip is pending for one retry (a flaky test is absorbed
/// before the grace ends); after that retry it is not pending again.
pub fn retry_due(
    records: &[ResultRecord],
    check: &str,
    grace_seconds: i64,
    now: UnixSeconds,
) -> Option<UnixSeconds> {
    let latest = latest_per_check(records);
    let deciding = latest.get(check)?;
    if !matches!(
        deciding.status,
        ResultStatus::Failure | ResultStatus::Cancelled
    ) {
        return None;
    }
    let at = deciding.at_seconds()?;
    let in_grace = now.saturating_sub(at) < grace_seconds;
    (in_grace && !retried(records, check)).then_some(at)
}

#[cfg(test)]
mod retry_tests {
    use super::*;

    fn rec(status: ResultStatus, at: i64, attempt: Option<u32>) -> ResultRecord {
        let mut r = ResultRecord::new("CI", status, &crate::core::time::format_rfc3339(at));
        r.attempt = attempt;
        r
    }

    #[test]
    fn a_failure_in_grace_is_due_for_one_retry_only() {
        let t = 1_700_000_000;
        let failed = [rec(ResultStatus::Failure, t, None)];
        assert_eq!(
            retry_due(&failed, "CI", 90, t + 10),
            Some(t),
            "within grace"
        );
        assert_eq!(
            retry_due(&failed, "CI", 90, t + 90),
            None,
            "the grace ended"
        );
        assert_eq!(retry_due(&failed, "CI", 0, t), None, "no grace, no retry");
        assert_eq!(next_attempt(&failed, "CI"), Some(2));
        let claimed = [
            rec(ResultStatus::Failure, t, None),
            rec(ResultStatus::Pending, t + 5, Some(2)),
        ];
        assert_eq!(retry_due(&claimed, "CI", 90, t + 10), None, "a retry runs");
        assert!(!retried(&claimed, "CI"), "a claim is not an attempt made");
        let failed_again = [
            rec(ResultStatus::Failure, t, None),
            rec(ResultStatus::Pending, t + 5, Some(2)),
            rec(ResultStatus::Failure, t + 20, Some(2)),
        ];
        assert_eq!(
            retry_due(&failed_again, "CI", 90, t + 30),
            None,
            "one retry"
        );
        assert_eq!(next_attempt(&failed_again, "CI"), Some(3));
        assert_eq!(
            next_attempt(&[], "CI"),
            None,
            "a first run names no attempt"
        );
    }
}
