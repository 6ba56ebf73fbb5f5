//! Recording CI and deploy results as JSON Lines notes on exact commits.

use crate::core::results::{ResultRecord, ResultStatus};
use crate::error::{CliError, CliResult};
use crate::git::refs::RefUpdate;
use crate::git::store::{Attempt, Store};
use crate::git::{ObjectId, names};
use crate::messages;
use crate::session::Session;

/// One report to append.
#[derive(Debug, Clone)]
pub struct Report {
    /// The exact commit.
    pub sha: ObjectId,
    /// The check name.
    pub check: String,
    /// Its status.
    pub status: ResultStatus,
    /// A link to the run.
    pub url: Option<String>,
    /// The runner's id for the run.
    pub run_id: Option<String>,
    /// Who ran it.
    pub runner: Option<String>,
}

/// The check names the policy gives results in `notes_ref`: CI
/// (`pipeline.ci_checks`, then `queue.required_checks`) or deploy
/// (`pipeline.deploy_checks`, then the verifications' names), without repeats.
pub fn policy_checks(policy: &crate::core::policy::Policy, notes_ref: &str) -> Vec<String> {
    let names: Vec<&String> = if notes_ref == crate::git::names::NOTES_CI {
        policy
            .pipeline
            .ci_checks
            .iter()
            .chain(&policy.queue.required_checks)
            .collect()
    } else {
        let verifications = policy.pipeline.verifications.iter().map(|v| &v.name);
        policy
            .pipeline
            .deploy_checks
            .iter()
            .chain(verifications)
            .collect()
    };
    let mut out: Vec<String> = Vec::new();
    for name in names {
        if !out.contains(name) {
            out.push(name.clone());
        }
    }
    out
}

/// The check a `--check` (or its absence) means under the policy: the one
/// given, if the policy names it for `notes_ref` (or `force`); with none
/// given, the one the policy names when it names exactly one.
pub fn resolve_check(
    policy: &crate::core::policy::Policy,
    notes_ref: &str,
    given: Option<&str>,
    force: bool,
) -> CliResult<String> {
    let known = policy_checks(policy, notes_ref);
    let Some(given) = given else {
        return match known.as_slice() {
            [only] => Ok(only.clone()),
            _ => Err(CliError::usage(messages::check_needed(&known))),
        };
    };
    validate_check_name(given)?;
    if force || known.iter().any(|k| k == given) {
        return Ok(given.to_owned());
    }
    let alike = known.iter().find(|k| k.eq_ignore_ascii_case(given));
    Err(CliError::usage(messages::unknown_check(
        given,
        &known,
        alike.map(String::as_str),
    )))
}

/// Checks a check name given on the command line.
pub fn validate_check_name(check: &str) -> CliResult<()> {
    if check.trim().is_empty() || check.len() > 200 || check.chars().any(char::is_control) {
        return Err(CliError::usage(messages::bad_check_name(check)));
    }
    Ok(())
}

/// The ref update appending `record` to the note on `sha` in `notes_ref`.
pub fn note_append_update(
    store: &Store,
    session: &Session,
    notes_ref: &str,
    sha: &ObjectId,
    line: &str,
    subject: &str,
) -> anyhow::Result<RefUpdate> {
    let tip = store.tip(notes_ref)?;
    let commit = store
        .repo
        .append_note_commit(tip, sha, line, subject, &session.identity())?;
    Ok(RefUpdate {
        name: notes_ref.to_string(),
        expected: tip,
        new: Some(commit),
    })
}

/// Appends the report's line to the note on its commit and publishes it (retrying on contention).
pub fn append_report(
    session: &Session,
    notes_ref: &str,
    report: &Report,
) -> CliResult<ResultRecord> {
    validate_check_name(&report.check)?;
    if !session.repo().has_object(report.sha) {
        return Err(CliError::usage(messages::unknown_commit(
            &report.sha.to_string(),
        )));
    }
    let mut record = ResultRecord::new(&report.check, report.status, &super::now_rfc3339());
    record.url = report.url.clone();
    record.run_id = report.run_id.clone();
    record.runner = Some(
        report
            .runner
            .clone()
            .unwrap_or_else(|| session.actor.clone()),
    );
    publish_record(session, notes_ref, report.sha, &record)?;
    Ok(record)
}

/// Publishes `record` (as [`publish_record`]) and, in the same atomic push,
/// `log` appended to the note on `sha` in `refs/notes/deploybot/logs`: the
/// run's result and the tail of its output land together or not at all.
pub fn publish_record_with_log(
    session: &Session,
    notes_ref: &str,
    sha: ObjectId,
    record: &ResultRecord,
    log: &str,
) -> CliResult {
    let line = record.to_line();
    let subject = result_subject(notes_ref, &sha, record);
    let log_subject = format!("log: {}", subject);
    session.store.transact_hot("deploybot: report", |store| {
        let result = note_append_update(store, session, notes_ref, &sha, &line, &subject)?;
        let logs = names::NOTES_LOGS;
        let existing = store.repo.read_note(store.tip(logs)?, &sha)?.len();
        let log = crate::core::logs::fit(log, existing);
        let log = note_append_update(store, session, logs, &sha, &log, &log_subject)?;
        Ok(Attempt::Write(vec![result, log], ()))
    })?;
    Ok(())
}

/// The commit subject of a result note: `ci: CI failure on 1a2b…`.
fn result_subject(notes_ref: &str, sha: &ObjectId, record: &ResultRecord) -> String {
    format!(
        "{}: {} {} on {}",
        notes_ref.rsplit('/').next().unwrap_or("result"),
        record.check,
        record.status.as_str(),
        messages::short(&sha.to_string())
    )
}

/// Appends `record` as one line to the note on `sha` in `notes_ref` and
/// publishes it, retrying from fresh state on contention.
pub fn publish_record(
    session: &Session,
    notes_ref: &str,
    sha: ObjectId,
    record: &ResultRecord,
) -> CliResult {
    let line = record.to_line();
    let subject = result_subject(notes_ref, &sha, record);
    session.store.transact_hot("deploybot: report", |store| {
        let update = note_append_update(store, session, notes_ref, &sha, &line, &subject)?;
        Ok(Attempt::Write(vec![update], ()))
    })?;
    Ok(())
}
