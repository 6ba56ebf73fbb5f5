//! Result notes, the release state of a base commit, and release admission.
//!
//! Everything here is a pure function of the notes' records, the policy's
//! check names and an injected `now`, following DESIGN.md "Release state of a
//! `main` commit".

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

/// Reads one non-blank line into a record with a valid status and `at`.
fn read_record(line: &str) -> Result<ResultRecord, String> {
    let value: serde_json::Value =
        serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
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
    /// Required checks whose latest report is `failure`.
    pub failing: Vec<String>,
    /// Required checks with no report, or a `pending` or `cancelled` latest.
    pub missing: Vec<String>,
}

/// Summarizes the required checks on a queue entry's exact head. There is no
/// grace here: a `failure` is failing until a newer report replaces it.
pub fn checks_green(records: &[ResultRecord], required: &[String]) -> CheckSummary {
    let tally = tally(records, required, UnixSeconds::MIN);
    CheckSummary {
        green: tally.failed.is_empty() && tally.outstanding.is_empty(),
        failing: tally.failed.into_iter().map(|f| f.check).collect(),
        missing: tally.outstanding,
    }
}

/// The release state of a base commit (pinned kebab-case names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseState {
    /// No CI result yet, CI pending, or a CI failure still within grace.
    Testing,
    /// A CI failure outlived the grace period.
    CiFailed,
    /// CI passed; no deploy report since.
    AwaitingDeploy,
    /// A deploy or a verification is under way.
    Deploying,
    /// A deploy check failed.
    DeployFailed,
    /// Deployed and verified live (or the verified watermark points here).
    Verified,
    /// A verification failed after the deploy.
    VerifyFailed,
}

impl ReleaseState {
    /// Every state, in declaration order.
    pub const ALL: [ReleaseState; 7] = [
        ReleaseState::Testing,
        ReleaseState::CiFailed,
        ReleaseState::AwaitingDeploy,
        ReleaseState::Deploying,
        ReleaseState::DeployFailed,
        ReleaseState::Verified,
        ReleaseState::VerifyFailed,
    ];

    /// The pinned kebab-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReleaseState::Testing => "testing",
            ReleaseState::CiFailed => "ci-failed",
            ReleaseState::AwaitingDeploy => "awaiting-deploy",
            ReleaseState::Deploying => "deploying",
            ReleaseState::DeployFailed => "deploy-failed",
            ReleaseState::Verified => "verified",
            ReleaseState::VerifyFailed => "verify-failed",
        }
    }

    /// Whether this is one of the three failed states.
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            ReleaseState::CiFailed | ReleaseState::DeployFailed | ReleaseState::VerifyFailed
        )
    }

    /// The pinned controller pause reason for a failed state
    /// (`ci-failed on <sha>`, …); `None` for the others.
    pub fn pause_reason(&self, sha: &str) -> Option<String> {
        self.is_failed()
            .then(|| format!("{} on {sha}", self.as_str()))
    }
}

/// Everything the release state of one base commit depends on.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseInputs<'a> {
    /// All records of the commit's CI note.
    pub ci: &'a [ResultRecord],
    /// All records of the commit's deploy note: deploy checks and verifications.
    pub deploy: &'a [ResultRecord],
    /// `pipeline.ci_checks`.
    pub ci_checks: &'a [String],
    /// `pipeline.deploy_checks`.
    pub deploy_checks: &'a [String],
    /// The names of `pipeline.verifications`.
    pub verifications: &'a [String],
    /// `pipeline.ci_failure_grace_seconds`.
    pub grace_seconds: i64,
    /// The current time.
    pub now: UnixSeconds,
    /// `refs/deploybot/verified` points at this commit.
    pub is_watermark: bool,
}

/// The release state with a one-line explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The state.
    pub state: ReleaseState,
    /// One human line, e.g. ``CI failed: check `CI` failure at <at>``.
    pub why: String,
    /// Check names still outstanding in the current phase.
    pub waiting_for: Vec<String>,
}

impl Release {
    /// Builds a release from its parts.
    fn new(state: ReleaseState, why: String, waiting_for: Vec<String>) -> Self {
        Release {
            state,
            why,
            waiting_for,
        }
    }
}

/// Computes the release state: watermark, then CI (with grace), then deploy
/// (ignoring reports older than the deciding CI report), then verification.
pub fn release_state(inputs: &ReleaseInputs) -> Release {
    use ReleaseState::*;
    if inputs.is_watermark {
        let why = "refs/deploybot/verified points at this commit".to_owned();
        return Release::new(Verified, why, Vec::new());
    }

    // CI: every ci check's deciding report must be a success; a failure
    // counts only once the grace period has passed since its `at` (the
    // failure is the latest report, so no newer report absorbed it).
    let ci = tally(inputs.ci, inputs.ci_checks, UnixSeconds::MIN);
    let (counted, in_grace): (Vec<Failed>, Vec<Failed>) = ci
        .failed
        .into_iter()
        .partition(|f| inputs.now.saturating_sub(f.at_seconds) >= inputs.grace_seconds);
    if !counted.is_empty() {
        let why = format!("CI failed: {}", failures(&counted));
        return Release::new(CiFailed, why, vec![]);
    }
    if !in_grace.is_empty() {
        let grace = inputs.grace_seconds;
        let why = format!(
            "CI failure within grace ({grace}s): {}",
            failures(&in_grace)
        );
        let mut waiting: Vec<String> = in_grace.into_iter().map(|f| f.check).collect();
        waiting.extend(ci.outstanding);
        return Release::new(Testing, why, waiting);
    }
    if !ci.outstanding.is_empty() {
        let why = format!("waiting for CI {}", quoted(&ci.outstanding));
        return Release::new(Testing, why, ci.outstanding);
    }
    let deciding_at = ci.last_success.unwrap_or(UnixSeconds::MIN);

    // Deploy: only reports no older than the deciding CI report count.
    let deploy = tally(inputs.deploy, inputs.deploy_checks, deciding_at);
    if !deploy.failed.is_empty() {
        let why = format!("deploy failed: {}", failures(&deploy.failed));
        return Release::new(DeployFailed, why, vec![]);
    }
    if !deploy.outstanding.is_empty() {
        let list = quoted(&deploy.outstanding);
        let (state, why) = match deploy.started || deploy.last_success.is_some() {
            true => (Deploying, format!("deploying: waiting for {list}")),
            false => (AwaitingDeploy, format!("CI passed; awaiting deploy {list}")),
        };
        return Release::new(state, why, deploy.outstanding);
    }

    // Verification: only results no older than the latest deploy success.
    if inputs.verifications.is_empty() {
        let why = "deployed; no verifications configured".to_owned();
        return Release::new(Verified, why, vec![]);
    }
    let deployed_at = deploy
        .last_success
        .map_or(deciding_at, |at| at.max(deciding_at));
    let verify = tally(inputs.deploy, inputs.verifications, deployed_at);
    if !verify.failed.is_empty() {
        let why = format!("verification failed: {}", failures(&verify.failed));
        return Release::new(VerifyFailed, why, vec![]);
    }
    if !verify.outstanding.is_empty() {
        let why = format!("verifying: waiting for {}", quoted(&verify.outstanding));
        return Release::new(Deploying, why, verify.outstanding);
    }
    Release::new(Verified, "deployed and verified".into(), vec![])
}

/// The deciding reports of some named checks, by outcome.
#[derive(Debug, Default)]
struct Tally {
    /// The latest `at` among the checks whose deciding report is a success.
    last_success: Option<UnixSeconds>,
    /// Checks whose deciding report is a failure.
    failed: Vec<Failed>,
    /// Checks with no report, or a pending or cancelled one, in list order.
    outstanding: Vec<String>,
    /// Some check's deciding report is `pending`.
    started: bool,
}

/// Tallies `names` over the records whose `at` is no earlier than `since`.
fn tally(records: &[ResultRecord], names: &[String], since: UnixSeconds) -> Tally {
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
            Some((r, at)) if r.status == ResultStatus::Failure => {
                let at_text = r.at.clone();
                tally.failed.push(Failed {
                    check: name.clone(),
                    at: at_text,
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

/// A check whose deciding report is a failure.
#[derive(Debug)]
struct Failed {
    /// The check's name.
    check: String,
    /// The failure's `at` as reported.
    at: String,
    /// The failure's `at` in seconds.
    at_seconds: UnixSeconds,
}

/// ``"check `CI` failure at <at>; …"`` for messages.
fn failures(failed: &[Failed]) -> String {
    let list: Vec<String> = failed
        .iter()
        .map(|f| format!("check `{}` failure at {}", f.check, f.at))
        .collect();
    list.join("; ")
}

/// How `pipeline.release_admission` gates merging onto a base commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AdmissionMode {
    /// Admit once the base is merged and not failed.
    #[default]
    Merged,
    /// Admit once the base's CI passed.
    CiPassed,
    /// Admit only onto a verified base.
    Verified,
}

impl AdmissionMode {
    /// The pinned kebab-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AdmissionMode::Merged => "merged",
            AdmissionMode::CiPassed => "ci-passed",
            AdmissionMode::Verified => "verified",
        }
    }
}

/// Whether `mode` admits merging onto a base in `state`. A failed state never admits.
pub fn admits(mode: AdmissionMode, state: ReleaseState) -> bool {
    use ReleaseState::*;
    match mode {
        AdmissionMode::Merged => matches!(state, Testing | AwaitingDeploy | Deploying | Verified),
        AdmissionMode::CiPassed => matches!(state, AwaitingDeploy | Deploying | Verified),
        AdmissionMode::Verified => state == Verified,
    }
}

/// The names in order, without repeats.
fn dedup(names: &[String]) -> Vec<&String> {
    let mut seen = Vec::new();
    for name in names {
        if !seen.contains(&name) {
            seen.push(name);
        }
    }
    seen
}

/// ``"`A`, `B`"`` for messages.
fn quoted(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    quoted.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::time::format_rfc3339;
    use proptest::prelude::*;

    const T0: UnixSeconds = 1_800_000_000;

    /// A record of `check` with `status` at `T0 + offset`.
    fn rec(check: &str, status: ResultStatus, offset: i64) -> ResultRecord {
        ResultRecord::new(check, status, &format_rfc3339(T0 + offset))
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// The release with the default pipeline (`CI`, `Deploy`, no
    /// verifications, 90s grace) at `T0 + now`.
    fn state_at(ci: &[ResultRecord], deploy: &[ResultRecord], now: i64) -> Release {
        let (ci_checks, deploy_checks) = (names(&["CI"]), names(&["Deploy"]));
        release_state(&ReleaseInputs {
            ci,
            deploy,
            ci_checks: &ci_checks,
            deploy_checks: &deploy_checks,
            verifications: &[],
            grace_seconds: 90,
            now: T0 + now,
            is_watermark: false,
        })
    }

    use ResultStatus::{Cancelled, Failure, Pending, Skipped, Success};

    #[test]
    fn status_names_round_trip() {
        for status in ResultStatus::ALL {
            assert_eq!(ResultStatus::parse(status.as_str()), Some(status));
            let json = serde_json::to_string(&status).expect("serializes");
            assert_eq!(
                json,
                format!("\"{}\"", status.as_str()),
                "serde uses the pinned name"
            );
        }
        // Pinned strings are exact lowercase.
        assert_eq!(ResultStatus::parse("Success"), None);
    }

    #[test]
    fn record_keeps_unknown_fields_and_omits_absent_options() {
        let line = r#"{"check":"CI","status":"success","at":"2026-01-01T00:00:00Z","attempt":2,"future":{"x":1}}"#;
        let record = validate_line(line).expect("valid");
        assert_eq!(record.attempt, Some(2));
        // Unknown fields survive a round trip (a newer runner's data is kept).
        assert_eq!(
            record.extra.get("future"),
            Some(&serde_json::json!({"x": 1}))
        );
        let back: serde_json::Value = serde_json::from_str(&record.to_line()).expect("json");
        assert_eq!(
            back,
            serde_json::from_str::<serde_json::Value>(line).expect("json")
        );
        assert!(
            !record.to_line().contains("run_id"),
            "absent options are omitted"
        );
        assert!(!record.to_line().contains('\n'));
    }

    #[test]
    fn parse_note_skips_blank_lines_and_reports_garbage() {
        // `git notes append` separates entries with blank lines.
        let text = "{\"check\":\"CI\",\"status\":\"pending\",\"at\":\"2026-01-01T00:00:00Z\"}\n\n\
                    not json\n\
                    {\"check\":\"CI\",\"status\":\"weird\",\"at\":\"2026-01-01T00:00:00Z\"}\n\
                    {\"check\":\"CI\",\"status\":\"success\",\"at\":\"yesterday\"}\n\
                    [1]\n\
                    {\"check\":\"CI\",\"status\":\"success\",\"at\":\"2026-01-01T00:01:00Z\"}\n";
        let note = parse_note(text);
        let statuses: Vec<_> = note.records.iter().map(|r| r.status).collect();
        assert_eq!(statuses, vec![Pending, Success]);
        assert_eq!(note.problems.len(), 4, "{:?}", note.problems);
        // Line numbers count blank lines, so they match the note's text.
        assert!(note.problems[0].starts_with("line 3: not JSON"));
        assert!(note.problems[1].starts_with("line 4: unknown status `weird`"));
        assert!(note.problems[2].starts_with("line 5: `at` is not an RFC 3339"));
        assert!(note.problems[3].starts_with("line 6: not a JSON object"));
    }

    #[test]
    fn validate_line_is_strict_about_check_names() {
        let line = |check: &str| {
            serde_json::json!({"check": check, "status": "success", "at": "2026-01-01T00:00:00Z"})
                .to_string()
        };
        assert!(validate_line(&line("CI")).is_ok());
        assert_eq!(validate_line(&line("")), Err("`check` is empty".to_owned()));
        assert!(
            validate_line(&line(&"x".repeat(201))).is_err(),
            "over 200 characters"
        );
        assert!(
            validate_line(&line(&"x".repeat(200))).is_ok(),
            "200 is the limit"
        );
        assert!(
            validate_line(&line("a\u{7}b")).is_err(),
            "control characters"
        );
        let no_at = r#"{"check":"CI","status":"success"}"#;
        assert_eq!(validate_line(no_at), Err("missing `at`".to_owned()));
        let bad_attempt =
            r#"{"check":"CI","status":"success","at":"2026-01-01T00:00:00Z","attempt":"x"}"#;
        assert!(
            validate_line(bad_attempt).is_err(),
            "typed optional fields are checked"
        );
    }

    #[test]
    fn latest_by_at_then_line_order() {
        // Out-of-order lines: the `at` decides, not the position.
        let records = [rec("CI", Success, 20), rec("CI", Failure, 10)];
        assert_eq!(latest_per_check(&records)["CI"].status, Success);
        // Same `at`: the later line decides.
        let records = [rec("CI", Success, 10), rec("CI", Failure, 10)];
        assert_eq!(latest_per_check(&records)["CI"].status, Failure);
    }

    #[test]
    fn later_failure_beats_older_success() {
        let records = [rec("CI", Success, 0), rec("CI", Failure, 5)];
        assert_eq!(latest_per_check(&records)["CI"].status, Failure);
    }

    #[test]
    fn cancelled_duplicate_does_not_hide_success() {
        // Run r2 started (pending) before r1's success and was cancelled
        // afterwards: r1's success finished after r2 started, so it stands.
        let mut pending = rec("CI", Pending, 0);
        pending.run_id = Some("r2".into());
        let mut cancelled = rec("CI", Cancelled, 30);
        cancelled.run_id = Some("r2".into());
        let records = [pending, rec("CI", Success, 10), cancelled];
        assert_eq!(latest_per_check(&records)["CI"].status, Success);
        // Without a start marker the cancelled report's own `at` is the start:
        // a success at the same second qualifies.
        let records = [rec("CI", Success, 10), rec("CI", Cancelled, 10)];
        assert_eq!(latest_per_check(&records)["CI"].status, Success);
    }

    #[test]
    fn cancelled_hides_success_from_before_the_cancelled_run() {
        // The success finished before the cancelled run started: stale.
        let records = [rec("CI", Success, 0), rec("CI", Cancelled, 10)];
        assert_eq!(latest_per_check(&records)["CI"].status, Cancelled);
        // And with no success at all, cancelled is not success.
        let records = [rec("CI", Cancelled, 10)];
        assert_eq!(latest_per_check(&records)["CI"].status, Cancelled);
        assert_eq!(state_at(&records, &[], 1000).state, ReleaseState::Testing);
    }

    #[test]
    fn cancelled_does_not_revive_success_beaten_by_a_later_failure() {
        let mut pending = rec("CI", Pending, 0);
        pending.run_id = Some("r2".into());
        let mut cancelled = rec("CI", Cancelled, 30);
        cancelled.run_id = Some("r2".into());
        let records = [
            pending,
            rec("CI", Success, 10),
            rec("CI", Failure, 20),
            cancelled,
        ];
        assert_eq!(latest_per_check(&records)["CI"].status, Cancelled);
    }

    #[test]
    fn skipped_and_unparseable_times_are_not_evidence() {
        let mut garbage = rec("CI", Failure, 50);
        garbage.at = "soon".into();
        let records = [rec("CI", Success, 0), rec("CI", Skipped, 40), garbage];
        assert_eq!(latest_per_check(&records)["CI"].status, Success);
        let only_skipped = [rec("CI", Skipped, 0)];
        assert!(latest_per_check(&only_skipped).is_empty());
    }

    #[test]
    fn no_ci_result_is_testing() {
        let release = state_at(&[], &[], 0);
        assert_eq!(release.state, ReleaseState::Testing);
        assert_eq!(release.waiting_for, names(&["CI"]));
        assert_eq!(release.why, "waiting for CI `CI`");
    }

    #[test]
    fn retry_within_grace_absorbs_a_failure() {
        // Failure at t, success at t+10: the retry is the latest report.
        let ci = [rec("CI", Failure, 0), rec("CI", Success, 10)];
        assert_eq!(state_at(&ci, &[], 1000).state, ReleaseState::AwaitingDeploy);
    }

    #[test]
    fn failure_within_grace_is_testing_then_fails() {
        let ci = [rec("CI", Failure, 0)];
        let within = state_at(&ci, &[], 89);
        assert_eq!(within.state, ReleaseState::Testing);
        assert!(
            within.why.starts_with("CI failure within grace"),
            "{}",
            within.why
        );
        // Exactly grace seconds later the failure counts.
        let past = state_at(&ci, &[], 90);
        assert_eq!(past.state, ReleaseState::CiFailed);
        assert!(
            past.why.starts_with("CI failed: check `CI` failure at "),
            "{}",
            past.why
        );
        assert_eq!(
            past.state.pause_reason("abc"),
            Some("ci-failed on abc".to_owned())
        );
    }

    #[test]
    fn every_ci_check_must_pass() {
        let (ci_checks, deploy_checks) = (names(&["build", "test"]), names(&[]));
        let ci = [rec("build", Success, 0), rec("test", Pending, 0)];
        let inputs = ReleaseInputs {
            ci: &ci,
            deploy: &[],
            ci_checks: &ci_checks,
            deploy_checks: &deploy_checks,
            verifications: &[],
            grace_seconds: 90,
            now: T0,
            is_watermark: false,
        };
        let release = release_state(&inputs);
        assert_eq!(release.state, ReleaseState::Testing);
        assert_eq!(release.waiting_for, names(&["test"]));
        // With no deploy checks and no verifications, CI green is verified.
        let ci = [rec("build", Success, 0), rec("test", Success, 0)];
        let release = release_state(&ReleaseInputs { ci: &ci, ..inputs });
        assert_eq!(release.state, ReleaseState::Verified);
    }

    #[test]
    fn deploy_phases() {
        let ci = [rec("CI", Success, 10)];
        assert_eq!(state_at(&ci, &[], 100).state, ReleaseState::AwaitingDeploy);
        let pending = [rec("Deploy", Pending, 20)];
        assert_eq!(state_at(&ci, &pending, 100).state, ReleaseState::Deploying);
        let cancelled = [rec("Deploy", Cancelled, 20)];
        assert_eq!(
            state_at(&ci, &cancelled, 100).state,
            ReleaseState::AwaitingDeploy
        );
        let failed = state_at(&ci, &[rec("Deploy", Failure, 20)], 100);
        assert_eq!(failed.state, ReleaseState::DeployFailed);
        assert_eq!(
            failed.state.pause_reason("s"),
            Some("deploy-failed on s".to_owned())
        );
        // No grace for deploys, and no verifications configured: verified.
        let done = [rec("Deploy", Success, 20)];
        assert_eq!(state_at(&ci, &done, 21).state, ReleaseState::Verified);
    }

    #[test]
    fn deploy_older_than_deciding_ci_is_ignored() {
        // A deploy failed against an old CI run; a new green CI supersedes it.
        let ci = [
            rec("CI", Success, 0),
            rec("CI", Failure, 5),
            rec("CI", Success, 50),
        ];
        let deploy = [rec("Deploy", Failure, 20)];
        assert_eq!(
            state_at(&ci, &deploy, 100).state,
            ReleaseState::AwaitingDeploy
        );
        // A deploy at the same second as the deciding CI report counts.
        let deploy = [rec("Deploy", Failure, 50)];
        assert_eq!(
            state_at(&ci, &deploy, 100).state,
            ReleaseState::DeployFailed
        );
    }

    #[test]
    fn verification_states() {
        let (ci_checks, deploy_checks, health) =
            (names(&["CI"]), names(&["Deploy"]), names(&["health"]));
        let ci = [rec("CI", Success, 0)];
        let state = |deploy: &[ResultRecord]| {
            release_state(&ReleaseInputs {
                ci: &ci,
                deploy,
                ci_checks: &ci_checks,
                deploy_checks: &deploy_checks,
                verifications: &health,
                grace_seconds: 90,
                now: T0 + 1000,
                is_watermark: false,
            })
        };
        let deployed = rec("Deploy", Success, 10);
        let waiting = state(std::slice::from_ref(&deployed));
        assert_eq!(waiting.state, ReleaseState::Deploying);
        assert_eq!(waiting.why, "verifying: waiting for `health`");
        let ok = [deployed.clone(), rec("health", Success, 11)];
        assert_eq!(state(&ok).state, ReleaseState::Verified);
        let bad = state(&[deployed.clone(), rec("health", Failure, 11)]);
        assert_eq!(bad.state, ReleaseState::VerifyFailed);
        assert_eq!(
            bad.state.pause_reason("s"),
            Some("verify-failed on s".to_owned())
        );
        // A verification from before the latest deploy says nothing about it.
        let stale = [rec("health", Success, 5), deployed];
        assert_eq!(state(&stale).state, ReleaseState::Deploying);
    }

    #[test]
    fn watermark_wins_over_any_report() {
        let (ci_checks, none) = (names(&["CI"]), names(&[]));
        let ci = [rec("CI", Failure, 0)];
        let release = release_state(&ReleaseInputs {
            ci: &ci,
            deploy: &[],
            ci_checks: &ci_checks,
            deploy_checks: &none,
            verifications: &none,
            grace_seconds: 0,
            now: T0 + 1000,
            is_watermark: true,
        });
        assert_eq!(release.state, ReleaseState::Verified);
    }

    #[test]
    fn checks_green_has_no_grace() {
        let required = names(&["CI", "lint", "docs"]);
        let records = [rec("CI", Failure, 0), rec("lint", Pending, 0)];
        let summary = checks_green(&records, &required);
        assert!(!summary.green);
        assert_eq!(summary.failing, names(&["CI"]), "a failure fails at once");
        assert_eq!(summary.missing, names(&["lint", "docs"]));
        let records = [
            rec("CI", Success, 0),
            rec("lint", Success, 0),
            rec("docs", Success, 0),
        ];
        assert!(checks_green(&records, &required).green);
        assert!(checks_green(&[], &[]).green, "nothing required is green");
    }

    #[test]
    fn admission_table_is_exhaustive() {
        use ReleaseState::*;
        // The DESIGN table, row per state: (merged, ci-passed, verified).
        let table = [
            (Testing, [true, false, false]),
            (CiFailed, [false, false, false]),
            (AwaitingDeploy, [true, true, false]),
            (Deploying, [true, true, false]),
            (DeployFailed, [false, false, false]),
            (Verified, [true, true, true]),
            (VerifyFailed, [false, false, false]),
        ];
        assert_eq!(table.len(), ReleaseState::ALL.len());
        let modes = [
            AdmissionMode::Merged,
            AdmissionMode::CiPassed,
            AdmissionMode::Verified,
        ];
        for (state, expected) in table {
            for (mode, admit) in modes.into_iter().zip(expected) {
                assert_eq!(admits(mode, state), admit, "{mode:?} x {state:?}");
                // A failed state never admits, whatever the mode.
                if state.is_failed() {
                    assert!(!admits(mode, state));
                }
            }
        }
    }

    #[test]
    fn pinned_names() {
        let states: Vec<_> = ReleaseState::ALL.iter().map(|s| s.as_str()).collect();
        let expected = [
            "testing",
            "ci-failed",
            "awaiting-deploy",
            "deploying",
            "deploy-failed",
            "verified",
            "verify-failed",
        ];
        assert_eq!(states, expected);
        for state in ReleaseState::ALL {
            let json = serde_json::to_string(&state).expect("serializes");
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(state.pause_reason("x").is_some(), state.is_failed());
        }
        let json = serde_json::to_string(&AdmissionMode::CiPassed).expect("serializes");
        assert_eq!(json, "\"ci-passed\"");
        assert_eq!(AdmissionMode::default(), AdmissionMode::Merged);
    }

    fn any_record() -> impl Strategy<Value = ResultRecord> {
        let check = prop::sample::select(vec!["CI", "Deploy", "health", "other"]);
        let status = prop::sample::select(ResultStatus::ALL.to_vec());
        let at = prop_oneof![
            (-200i64..200).prop_map(|o| format_rfc3339(T0 + o)),
            Just("not a time".to_owned()),
        ];
        let run = prop::option::of(prop::sample::select(vec!["r1", "r2"]));
        let attempt = prop::option::of(1u32..3);
        (check, status, at, run, attempt).prop_map(|(check, status, at, run, attempt)| {
            let mut record = ResultRecord::new(check, status, &at);
            record.run_id = run.map(str::to_owned);
            record.attempt = attempt;
            record
        })
    }

    proptest! {
        #[test]
        fn release_state_never_panics(
            ci in prop::collection::vec(any_record(), 0..12),
            deploy in prop::collection::vec(any_record(), 0..12),
            now in any::<i64>(),
            grace in any::<i64>(),
            is_watermark in any::<bool>(),
            with_verification in any::<bool>(),
        ) {
            let (ci_checks, deploy_checks) = (names(&["CI", "other"]), names(&["Deploy"]));
            let verifications = if with_verification { names(&["health"]) } else { Vec::new() };
            let release = release_state(&ReleaseInputs {
                ci: &ci, deploy: &deploy, ci_checks: &ci_checks, deploy_checks: &deploy_checks,
                verifications: &verifications, grace_seconds: grace, now, is_watermark,
            });
            prop_assert!(!release.why.is_empty());
            if is_watermark {
                prop_assert_eq!(release.state, ReleaseState::Verified);
            }
            // Every deciding record is one of the inputs, of its own check.
            for (check, record) in latest_per_check(&ci) {
                prop_assert!(ci.contains(&record) && record.check == check);
                prop_assert!(record.status != Skipped);
            }
        }

        #[test]
        fn parse_note_never_panics(text in ".{0,200}") {
            let note = parse_note(&text);
            prop_assert!(note.problems.len() + note.records.len() <= text.lines().count());
        }
    }
}
