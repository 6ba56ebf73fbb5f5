use super::*;
use crate::core::results::CancelRule;
use crate::core::results::*;
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
        failure_pauses: true,
        cancelled: CancelRule::Fails,
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
    // And with no success at all, cancelled is not success: it decides,
    // and a deciding cancel fails CI once the grace has passed.
    let records = [rec("CI", Cancelled, 10)];
    assert_eq!(latest_per_check(&records)["CI"].status, Cancelled);
    assert_eq!(state_at(&records, &[], 1000).state, ReleaseState::CiFailed);
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
        failure_pauses: true,
        cancelled: CancelRule::Fails,
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
    // A deciding cancel fails the deploy: nobody will rerun it.
    let cancelled = [rec("Deploy", Cancelled, 20)];
    let release = state_at(&ci, &cancelled, 100);
    assert_eq!(release.state, ReleaseState::DeployFailed);
    assert!(release.why.contains("cancelled"), "{}", release.why);
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
            failure_pauses: true,
            cancelled: CancelRule::Fails,
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
        failure_pauses: true,
        cancelled: CancelRule::Fails,
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
            verifications: &verifications, grace_seconds: grace, now, is_watermark, failure_pauses: true, cancelled: CancelRule::Fails,
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

#[test]
fn a_cancel_after_a_failure_never_turns_it_back_into_testing() {
    // The issue's case: success, then failure, then cancelled on one check.
    let ci = [
        rec("CI", Success, 0),
        rec("CI", Failure, 10),
        rec("CI", Cancelled, 20),
    ];
    let release = state_at(&ci, &[], 20 + 90);
    assert_eq!(release.state, ReleaseState::CiFailed);
    assert!(release.why.contains("cancelled"), "{}", release.why);
    // Within the grace it is a failure waiting for a retry, never a success.
    let early = state_at(&ci, &[], 30);
    assert_eq!(early.state, ReleaseState::Testing);
    assert!(early.why.contains("grace"), "{}", early.why);
    // A retry that passes absorbs it.
    let mut retried = ci.to_vec();
    retried.push(rec("CI", Success, 40));
    assert_eq!(
        state_at(&retried, &[], 200).state,
        ReleaseState::AwaitingDeploy
    );
}

#[test]
fn the_only_ci_run_cancelled_fails_ci_after_the_grace() {
    let ci = [rec("CI", Pending, 0), rec("CI", Cancelled, 5)];
    assert_eq!(state_at(&ci, &[], 50).state, ReleaseState::Testing);
    assert_eq!(state_at(&ci, &[], 95).state, ReleaseState::CiFailed);
}

#[test]
fn a_cancelled_duplicate_still_does_not_hide_a_later_success() {
    let mut pending = rec("CI", Pending, 0);
    pending.run_id = Some("r2".into());
    let mut cancelled = rec("CI", Cancelled, 30);
    cancelled.run_id = Some("r2".into());
    let ci = [pending, rec("CI", Success, 10), cancelled];
    assert_eq!(state_at(&ci, &[], 500).state, ReleaseState::AwaitingDeploy);
}

#[test]
fn a_cancelled_verification_fails_verification() {
    let (ci_checks, deploy_checks, verifications) =
        (names(&["CI"]), names(&["Deploy"]), names(&["health"]));
    let ci = [rec("CI", Success, 0)];
    let deploy = [rec("Deploy", Success, 10), rec("health", Cancelled, 20)];
    let release = release_state(&ReleaseInputs {
        ci: &ci,
        deploy: &deploy,
        ci_checks: &ci_checks,
        deploy_checks: &deploy_checks,
        verifications: &verifications,
        grace_seconds: 90,
        now: T0 + 30,
        is_watermark: false,
        failure_pauses: true,
        cancelled: CancelRule::Fails,
    });
    assert_eq!(release.state, ReleaseState::VerifyFailed);
}

#[test]
fn a_cancelled_required_check_fails_a_queue_entry() {
    let required = names(&["CI"]);
    let summary = checks_green(&[rec("CI", Cancelled, 0)], &required);
    assert!(!summary.green);
    assert_eq!(summary.failing, required);
    assert!(summary.missing.is_empty());
}

/// DESIGN's per-check rule written out plainly: the latest report by `at`
/// then line order decides, except that a cancelled latest report gives way
/// to the newest success or failure finished since the cancelled run started,
/// when that is a success. `None`: no evidence.
fn naive_decide(records: &[ResultRecord], check: &str, since: i64) -> Option<(ResultStatus, i64)> {
    let mut reports: Vec<(i64, usize, &ResultRecord)> = Vec::new();
    for (index, r) in records.iter().enumerate() {
        let Some(at) = crate::core::time::parse_rfc3339(&r.at) else {
            continue;
        };
        if r.check == check && r.status != Skipped && at >= since {
            reports.push((at, index, r));
        }
    }
    reports.sort_by_key(|(at, index, _)| (*at, *index));
    let &(last_at, _, last) = reports.last()?;
    if last.status != Cancelled {
        return Some((last.status, last_at));
    }
    let mut started = last_at;
    if last.run_id.is_some() {
        for (at, _, r) in &reports {
            if r.run_id == last.run_id && r.attempt == last.attempt && *at < started {
                started = *at;
            }
        }
    }
    let mut newest_finished: Option<(i64, ResultStatus)> = None;
    for (at, _, r) in &reports {
        if *at >= started && matches!(r.status, Success | Failure) {
            newest_finished = Some((*at, r.status));
        }
    }
    match newest_finished {
        Some((at, Success)) => Some((Success, at)),
        _ => Some((Cancelled, last_at)),
    }
}

/// The release state from DESIGN's text and its clarifications, naively.
#[allow(clippy::too_many_arguments)]
fn naive_release(
    ci: &[ResultRecord],
    deploy: &[ResultRecord],
    ci_checks: &[String],
    deploy_checks: &[String],
    verifications: &[String],
    grace: i64,
    now: i64,
    is_watermark: bool,
) -> ReleaseState {
    use ReleaseState::*;
    if is_watermark {
        return Verified;
    }
    // Reports dated more than five minutes ahead of now are no evidence yet.
    let not_ahead = |records: &[ResultRecord]| -> Vec<ResultRecord> {
        records
            .iter()
            .filter(|r| {
                crate::core::time::parse_rfc3339(&r.at)
                    .is_none_or(|at| at <= now.saturating_add(300))
            })
            .cloned()
            .collect()
    };
    let (ci, deploy) = (&not_ahead(ci)[..], &not_ahead(deploy)[..]);
    let failed = |s: ResultStatus| s == Failure || s == Cancelled;
    let mut ci_failed_past_grace = false;
    let mut ci_unfinished = false;
    let mut deciding = i64::MIN;
    for check in ci_checks {
        match naive_decide(ci, check, i64::MIN) {
            Some((s, at)) if failed(s) => {
                if (now as i128 - at as i128) >= grace as i128 {
                    ci_failed_past_grace = true;
                } else {
                    ci_unfinished = true;
                }
            }
            Some((Success, at)) => deciding = deciding.max(at),
            _ => ci_unfinished = true,
        }
    }
    if ci_failed_past_grace {
        return CiFailed;
    }
    if ci_unfinished {
        return Testing;
    }
    let (mut any_failed, mut outstanding, mut started, mut deployed_at) =
        (false, false, false, None::<i64>);
    for check in deploy_checks {
        match naive_decide(deploy, check, deciding) {
            Some((s, _)) if failed(s) => any_failed = true,
            Some((Success, at)) => deployed_at = Some(deployed_at.map_or(at, |d| d.max(at))),
            Some((Pending, _)) => (outstanding, started) = (true, true),
            _ => outstanding = true,
        }
    }
    if any_failed {
        return DeployFailed;
    }
    if outstanding {
        return if started || deployed_at.is_some() {
            Deploying
        } else {
            AwaitingDeploy
        };
    }
    if verifications.is_empty() {
        return Verified;
    }
    let since = deployed_at.map_or(deciding, |d| d.max(deciding));
    let mut verify_outstanding = false;
    for check in verifications {
        match naive_decide(deploy, check, since) {
            Some((s, _)) if failed(s) => return VerifyFailed,
            Some((Success, _)) => {}
            _ => verify_outstanding = true,
        }
    }
    if verify_outstanding {
        Deploying
    } else {
        Verified
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// Cancelled reports included: the release judgement equals the naive
    /// reading of DESIGN, and a cancel never turns a failure into `testing`.
    #[test]
    fn release_state_matches_the_naive_reference(
        ci in prop::collection::vec(any_record(), 0..10),
        deploy in prop::collection::vec(any_record(), 0..10),
        now in -300i64..600,
        grace in prop_oneof![Just(0i64), Just(90), -5i64..400],
        is_watermark in any::<bool>(),
        with_verification in any::<bool>(),
    ) {
        let (ci_checks, deploy_checks) = (names(&["CI", "other"]), names(&["Deploy"]));
        let verifications = if with_verification { names(&["health"]) } else { Vec::new() };
        let now = T0 + now;
        let release = release_state(&ReleaseInputs {
            ci: &ci, deploy: &deploy, ci_checks: &ci_checks, deploy_checks: &deploy_checks,
            verifications: &verifications, grace_seconds: grace, now, is_watermark, failure_pauses: true, cancelled: CancelRule::Fails,
        });
        let expected = naive_release(
            &ci, &deploy, &ci_checks, &deploy_checks, &verifications, grace, now, is_watermark,
        );
        prop_assert_eq!(release.state, expected, "why: {}", release.why);

        // Appending a cancel to a check decided by a failure keeps it failed
        // (or testing only inside the grace, as the failure itself would be).
        let mut with_cancel = ci.clone();
        let last_at = ci.iter().filter_map(|r| r.at_seconds()).max().unwrap_or(T0);
        with_cancel.push(ResultRecord::new("CI", Failure, &format_rfc3339(last_at + 1)));
        with_cancel.push(ResultRecord::new("CI", Cancelled, &format_rfc3339(last_at + 2)));
        let failed_then_cancelled = release_state(&ReleaseInputs {
            ci: &with_cancel, deploy: &deploy, ci_checks: &ci_checks, deploy_checks: &deploy_checks,
            verifications: &verifications, grace_seconds: grace, now: last_at + 2 + grace.max(0),
            is_watermark: false,
            failure_pauses: true, cancelled: CancelRule::Fails,
        });
        prop_assert_eq!(failed_then_cancelled.state, ReleaseState::CiFailed);
    }
}

#[test]
fn a_failure_in_grace_says_the_pipeline_pauses_only_when_it_will() {
    let ci = [rec("CI", Failure, 10)];
    let (ci_checks, deploy_checks) = (names(&["CI"]), names(&["Deploy"]));
    let inputs = |failure_pauses| ReleaseInputs {
        ci: &ci,
        deploy: &[],
        ci_checks: &ci_checks,
        deploy_checks: &deploy_checks,
        verifications: &[],
        grace_seconds: 90,
        now: T0 + 20,
        is_watermark: false,
        failure_pauses,
        cancelled: CancelRule::Fails,
    };
    let pausing = release_state(&inputs(true));
    assert_eq!(pausing.state, ReleaseState::Testing);
    assert!(
        pausing
            .why
            .ends_with("then main fails (ci-failed) and the pipeline pauses"),
        "{}",
        pausing.why
    );
    let not_pausing = release_state(&inputs(false));
    assert_eq!(not_pausing.state, ReleaseState::Testing);
    assert!(
        not_pausing.why.ends_with("then main fails (ci-failed)"),
        "{}",
        not_pausing.why
    );
}
