//! Deploying an exact base sha with `pipeline.deploy_command`, and checking it
//! live with `[[pipeline.verifications]]`; every outcome is a deploy-note line.

use super::claim::release_claim;
use super::runner::{Pipeline, report_line, result};
use crate::core::policy::Verification;
use crate::core::results::{ResultStatus, latest_per_check};
use crate::error::{CliError, CliResult};
use crate::git::{ObjectId, names};
use crate::messages::{self, short};
use crate::session::Session;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The check name a deploy command reports under (the first deploy check).
pub fn deploy_check(session: &Session) -> String {
    session
        .policy
        .pipeline
        .deploy_checks
        .first()
        .cloned()
        .unwrap_or_else(|| "Deploy".into())
}

/// Runs the deploy command for `sha` unless main has moved on (then `skipped`); returns the status reported.
pub fn run_deploy_command(
    session: &Session,
    sha: ObjectId,
    progress: &mut dyn FnMut(&str),
) -> CliResult<ResultStatus> {
    let check = deploy_check(session);
    let run_id = super::new_record_id();
    session.store.refresh()?;
    let base = session.require_base_sha()?;
    if base != sha {
        let mut skipped = result(session, &check, ResultStatus::Skipped, &run_id);
        skipped.extra.insert(
            "reason".into(),
            messages::superseded(&base.to_string()).into(),
        );
        report_line(session, Pipeline::Deploy, sha, &skipped)?;
        return Ok(ResultStatus::Skipped);
    }
    report_line(
        session,
        Pipeline::Deploy,
        sha,
        &result(session, &check, ResultStatus::Pending, &run_id),
    )?;
    let previous = session
        .store
        .tip(names::VERIFIED)?
        .map(|o| o.to_string())
        .unwrap_or_default();
    progress(&format!(
        "deploying {} with pipeline.deploy_command",
        short(&sha.to_string())
    ));
    let started = Instant::now();
    let status = Command::new("sh")
        .arg("-c")
        .arg(&session.policy.pipeline.deploy_command)
        .env("DEPLOYBOT_SHA", sha.to_string())
        .env("DEPLOYBOT_PREVIOUS_SHA", previous)
        .env("DEPLOYBOT_CHECK", &check)
        .env("DEPLOYBOT_RUN_ID", &run_id)
        .stdin(Stdio::null())
        .stdout(std::io::stderr())
        .status();
    // The shell says 127 (not found) or 126 (not executable) when the
    // command could not start: that is not a deploy result.
    let not_started = match &status {
        Err(e) => Some(format!("sh: {e}")),
        Ok(s) if matches!(s.code(), Some(126 | 127)) => Some(format!(
            "sh exited {}: command not found or not executable",
            s.code().unwrap_or_default()
        )),
        Ok(_) => None,
    };
    if let Some(why) = not_started {
        release_claim(session, Pipeline::Deploy, sha, &check, &run_id, &why)?;
        return Err(CliError::usage(messages::deploy_command_cannot_start(
            &why,
            &sha.to_string(),
        )));
    }
    let ok = matches!(status, Ok(s) if s.success());
    let outcome = if ok {
        ResultStatus::Success
    } else {
        ResultStatus::Failure
    };
    let mut record = result(session, &check, outcome, &run_id);
    record.extra.insert(
        "duration_seconds".into(),
        serde_json::json!(started.elapsed().as_secs()),
    );
    session.store.refresh()?;
    report_line(session, Pipeline::Deploy, sha, &record)?;
    Ok(outcome)
}

/// One HTTP check: Ok when the URL answers with the expected status within the timeout.
pub fn probe(verification: &Verification) -> Result<(), String> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(Duration::from_secs(
            verification.timeout_seconds.max(1),
        )))
        .http_status_as_error(false)
        .build()
        .into();
    match agent.get(&verification.url).call() {
        Ok(response) => {
            let got = response.status().as_u16();
            if got == verification.expected_status {
                Ok(())
            } else {
                Err(format!(
                    "{} answered {got}, expected {}",
                    verification.url, verification.expected_status
                ))
            }
        }
        Err(e) => Err(format!("{}: {e}", verification.url)),
    }
}

/// Probes every verification of `sha` not yet decided after its deploy; records
/// successes at once and failures only when `final_attempt` (retries until the deadline).
pub fn verify(
    session: &Session,
    sha: ObjectId,
    final_attempt: bool,
    progress: &mut dyn FnMut(&str),
) -> CliResult<()> {
    let (records, _) = super::release::read_results(&session.store, names::NOTES_DEPLOY, &sha)?;
    let latest = latest_per_check(&records);
    for v in &session.policy.pipeline.verifications {
        let decided = latest
            .get(&v.name)
            .is_some_and(|r| r.status != ResultStatus::Pending);
        if decided {
            continue;
        }
        let run_id = super::new_record_id();
        match probe(v) {
            Ok(()) => {
                let mut r = result(session, &v.name, ResultStatus::Success, &run_id);
                r.url = Some(v.url.clone());
                report_line(session, Pipeline::Deploy, sha, &r)?;
            }
            Err(why) if final_attempt => {
                let mut r = result(session, &v.name, ResultStatus::Failure, &run_id);
                r.url = Some(v.url.clone());
                r.extra.insert("error".into(), why.into());
                report_line(session, Pipeline::Deploy, sha, &r)?;
            }
            Err(why) => progress(&format!("verification `{}` not passing yet: {why}", v.name)),
        }
    }
    Ok(())
}
