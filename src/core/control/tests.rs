use super::*;
use proptest::prelude::*;

const A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

fn pause(id: &str, sha: &str, reason: &str) -> ControlRecord {
    ControlRecord {
        schema: CONTROL_SCHEMA,
        control_id: id.into(),
        state: ControlMode::Paused,
        reason: reason.into(),
        main_sha: Some(sha.into()),
        requires_control_id: None,
        resumes_control_id: None,
        recovered_main_sha: None,
        recovered_reason: None,
        recovered_state: None,
        signers_blob: None,
        actor: "t".into(),
        at: "2026-01-01T00:00:00Z".into(),
        extra: Map::new(),
    }
}

fn conditional(id: &str, sha: &str, requires: &str) -> ControlRecord {
    ControlRecord {
        requires_control_id: Some(requires.into()),
        ..pause(id, sha, "main advanced during unpause")
    }
}

fn resume(id: &str, resumes: &str) -> ControlRecord {
    ControlRecord {
        state: ControlMode::Running,
        reason: "operator unpause".into(),
        main_sha: None,
        resumes_control_id: Some(resumes.into()),
        ..pause(id, A, "x")
    }
}

#[test]
fn starts_running_with_nothing_recovered() {
    let s = fold_all(&[]);
    assert_eq!(s.state, ControlMode::Running);
    assert_eq!(s.control_id, None);
}

#[test]
fn rule3_plain_pause_becomes_state() {
    let s = fold_all(&[pause("p1", A, "ci-failed on a")]);
    assert!(s.is_paused());
    assert_eq!(s.control_id.as_deref(), Some("p1"));
    assert_eq!(s.main_sha.as_deref(), Some(A));
}

#[test]
fn rule3_newer_pause_replaces_older_pause() {
    let s = fold_all(&[pause("p1", A, "one"), pause("p2", B, "two")]);
    assert_eq!(
        s.control_id.as_deref(),
        Some("p2"),
        "the latest pause owns the state"
    );
}

#[test]
fn rule4_running_record_resumes_only_current_pause() {
    let stale = fold_all(&[
        pause("p1", A, "one"),
        pause("p2", A, "two"),
        resume("r1", "p1"),
    ]);
    assert!(stale.is_paused(), "resuming a superseded pause is ignored");
    let ok = fold_all(&[
        pause("p1", A, "one"),
        pause("p2", A, "two"),
        resume("r1", "p2"),
    ]);
    assert_eq!(ok.state, ControlMode::Running);
}

#[test]
fn rule4_running_record_carries_the_resumed_failure() {
    let s = fold_all(&[pause("p1", A, "ci-failed on a"), resume("r1", "p1")]);
    assert_eq!(s.recovered_main_sha.as_deref(), Some(A));
    assert_eq!(s.recovered_reason.as_deref(), Some("ci-failed on a"));
    assert!(s.recovery_owns(A));
    assert!(!s.recovery_owns(B));
}

#[test]
fn rule4_running_record_may_state_what_it_recovered() {
    let mut r = resume("r1", "p1");
    r.recovered_main_sha = Some(B.into());
    r.recovered_reason = Some("stated".into());
    let s = fold_all(&[pause("p1", A, "ci-failed on a"), r]);
    assert_eq!(s.recovered_main_sha.as_deref(), Some(B));
    assert_eq!(s.recovered_reason.as_deref(), Some("stated"));
}

#[test]
fn rule4_running_record_while_running_is_ignored() {
    let (s, step) = fold_control(&ControlState::default(), &resume("r1", "p1"));
    assert_eq!(step, FoldStep::IgnoredNotResumingCurrentPause);
    assert_eq!(s, ControlState::default());
}

#[test]
fn rule2_stale_identical_repause_is_ignored() {
    // The seed's deadlock: an older worker rereads the lingering failure and
    // writes a byte-identical pause after the operator resumed it.
    let p = pause("p1", A, "ci-failed on a");
    let mut again = p.clone();
    again.control_id = "p1-again".into();
    let records = [p, resume("r1", "p1"), again.clone()];
    let s = fold_all(&records);
    assert_eq!(s.state, ControlMode::Running, "the recovery survives");
    let before = fold_all(&records[..2]);
    assert_eq!(
        fold_control(&before, &again).1,
        FoldStep::IgnoredAlreadyRecovered
    );
}

#[test]
fn rule2_new_reason_on_same_sha_still_pauses() {
    let s = fold_all(&[
        pause("p1", A, "ci-failed on a"),
        resume("r1", "p1"),
        pause("p2", A, "deploy-failed on a"),
    ]);
    assert!(s.is_paused(), "a later deploy failure is a new failure");
}

/// DESIGN.md (corrected): the unpause records the state it recovered; a
/// stale restatement of that state is skipped whatever the recovered reason
/// said (an operator's words), and a different failed state pauses.
#[test]
fn rule2_skips_a_restatement_of_the_recovered_state_after_an_operators_pause() {
    let ci = format!("ci-failed on {A}");
    let deploy = format!("deploy-failed on {A}");
    let recovered = ControlRecord {
        recovered_state: Some("ci-failed".into()),
        ..resume("r1", "p1")
    };
    let records = [pause("p1", A, "hold on, main is red"), recovered];
    let stale = fold_all(&[&records[..], &[pause("p2", A, &ci)]].concat());
    assert_eq!(
        stale.state,
        ControlMode::Running,
        "the seed's deadlock by another door"
    );
    let new = fold_all(&[&records[..], &[pause("p2", A, &deploy)]].concat());
    assert!(
        new.is_paused(),
        "a deploy failure after the CI failure is new"
    );
    let other = fold_all(&[&records[..], &[pause("p2", B, &ci)]].concat());
    assert!(other.is_paused(), "another sha is new");
}

/// Records without `recovered_state` (older writers): a controller reason
/// owns its state; an operator's pause owns every failed state of its sha.
#[test]
fn rule2_reads_older_recoveries_as_design_says() {
    let (ci, deploy) = (format!("ci-failed on {A}"), format!("deploy-failed on {A}"));
    let controller = [pause("p1", A, &ci), resume("r1", "p1")];
    assert!(fold_all(&[&controller[..], &[pause("p2", A, &deploy)]].concat()).is_paused());
    assert!(!fold_all(&[&controller[..], &[pause("p2", A, &ci)]].concat()).is_paused());
    let operator = [pause("p1", A, "freeze"), resume("r1", "p1")];
    for reason in [&ci, &deploy, &format!("verify-failed on {A}")] {
        let s = fold_all(&[&operator[..], &[pause("p2", A, reason)]].concat());
        assert!(
            !s.is_paused(),
            "{reason} restates an older operator recovery"
        );
    }
    let s = fold_all(&[&operator[..], &[pause("p2", A, "another freeze")]].concat());
    assert!(s.is_paused(), "an operator's new words are a new pause");
}

#[test]
fn rule2_same_reason_on_other_sha_still_pauses() {
    let s = fold_all(&[
        pause("p1", A, "ci-failed"),
        resume("r1", "p1"),
        pause("p2", B, "ci-failed"),
    ]);
    assert!(s.is_paused());
    assert_eq!(s.main_sha.as_deref(), Some(B));
}

#[test]
fn rule2_does_not_apply_without_a_recovery() {
    let s = fold_all(&[pause("p1", A, "x"), pause("p2", A, "x")]);
    assert_eq!(s.control_id.as_deref(), Some("p2"));
}

#[test]
fn rule1_conditional_pause_applies_while_its_record_is_current() {
    let s = fold_all(&[
        pause("p1", A, "x"),
        resume("r1", "p1"),
        conditional("c1", B, "r1"),
    ]);
    assert!(s.is_paused());
    assert_eq!(s.requires_control_id.as_deref(), Some("r1"));
}

#[test]
fn rule1_conditional_pause_is_ignored_when_superseded() {
    let paused_again = [
        pause("p1", A, "x"),
        resume("r1", "p1"),
        pause("p2", B, "y"),
        conditional("c1", B, "r1"),
    ];
    assert_eq!(fold_all(&paused_again).control_id.as_deref(), Some("p2"));
    let other_running = [
        pause("p1", A, "x"),
        resume("r1", "p1"),
        conditional("c1", B, "zz"),
    ];
    assert_eq!(fold_all(&other_running).state, ControlMode::Running);
}

#[test]
fn rule1_conditional_pause_never_applies_to_the_initial_state() {
    let (s, step) = fold_control(&ControlState::default(), &conditional("c1", A, "r1"));
    assert_eq!(step, FoldStep::IgnoredConditionNotMet);
    assert_eq!(s.state, ControlMode::Running);
}

#[test]
fn conditional_pause_can_be_resumed_and_then_restated_is_ignored() {
    let c = conditional("c1", B, "r1");
    let s = fold_all(&[
        pause("p1", A, "x"),
        resume("r1", "p1"),
        c.clone(),
        resume("r2", "c1"),
    ]);
    assert!(s.recovery_owns(B));
}

#[test]
fn unknown_fields_round_trip() {
    let text = r#"{"schema":1,"control_id":"p","state":"paused","reason":"r","future":{"x":1}}"#;
    let record: ControlRecord = serde_json::from_str(text).expect("valid record");
    assert_eq!(record.extra["future"]["x"], 1);
    let again = serde_json::to_string(&record).expect("serializes");
    assert!(again.contains("\"future\""));
}

#[test]
fn validate_rejects_bad_shapes() {
    let mut r = pause("p1", A, "x");
    assert!(r.validate().is_ok());
    r.main_sha = Some("abc".into());
    assert!(r.validate().unwrap_err().contains("40-hex"));
    let mut r = pause("p1", A, &"x".repeat(MAX_REASON_BYTES + 1));
    assert!(r.validate().unwrap_err().contains("bytes"));
    r.reason = "line\nbreak".into();
    assert!(r.validate().unwrap_err().contains("control"));
    r.reason = " ".into();
    assert!(r.validate().unwrap_err().contains("reason"));
}

#[test]
fn controller_pauses_are_recognised_by_their_pinned_reason() {
    for state in ["ci-failed", "deploy-failed", "verify-failed"] {
        let s = fold_all(&[pause("p1", A, &format!("{state} on {A}"))]);
        assert_eq!(s.controller_pause_sha(), Some(A), "{state}");
    }
    let operator = fold_all(&[pause("p1", A, "maintenance window")]);
    assert_eq!(operator.controller_pause_sha(), None);
    let other_sha = fold_all(&[pause("p1", A, &format!("ci-failed on {B}"))]);
    assert_eq!(
        other_sha.controller_pause_sha(),
        None,
        "the reason must name the bound sha"
    );
    let conditional = fold_all(&[
        pause("p1", A, "x"),
        resume("r1", "p1"),
        ControlRecord {
            reason: format!("ci-failed on {B}"),
            ..conditional("c1", B, "r1")
        },
    ]);
    assert_eq!(
        conditional.controller_pause_sha(),
        None,
        "conditional pauses never clear themselves"
    );
    assert_eq!(fold_all(&[]).controller_pause_sha(), None);
}

/// A deliberately naive reference: the four rules as one match over the
/// previous state, written independently of `classify`, with rule 2 as
/// DESIGN.md's clarification words it (a recovery owns the failure it resumed).
fn reference(records: &[ControlRecord]) -> (bool, Option<String>, Option<(String, String)>) {
    // (paused, current id, recovered (sha, reason) while running, recovered state)
    let mut paused = false;
    let mut id: Option<String> = None;
    let mut pause_facts: Option<(String, String)> = None;
    let mut recovered: Option<(String, String)> = None;
    let mut recovered_state: Option<String> = None;
    let failed = ["ci-failed", "deploy-failed", "verify-failed"];
    let restates =
        |recovered: &Option<(String, String)>, state: &Option<String>, r: &ControlRecord| {
            let Some((sha, reason)) = recovered else {
                return false;
            };
            if r.main_sha.as_deref() != Some(sha.as_str()) {
                return false;
            }
            if &r.reason == reason {
                return true;
            }
            let named = |text: &str| {
                failed
                    .iter()
                    .find(|f| text == format!("{f} on {sha}"))
                    .copied()
            };
            let Some(pause_state) = named(&r.reason) else {
                return false;
            };
            match state {
                Some(s) if s == pause_state => true,
                _ if named(reason) == Some(pause_state) => true,
                None => named(reason).is_none(),
                Some(_) => false,
            }
        };
    for r in records {
        let sha = r.main_sha.clone().unwrap_or_default();
        match (r.state, paused) {
            (ControlMode::Paused, _) if r.requires_control_id.is_some() => {
                if !paused && id == r.requires_control_id {
                    paused = true;
                    id = Some(r.control_id.clone());
                    pause_facts = Some((sha, r.reason.clone()));
                    recovered = None;
                }
            }
            (ControlMode::Paused, false) if restates(&recovered, &recovered_state, r) => {}
            (ControlMode::Paused, _) => {
                paused = true;
                id = Some(r.control_id.clone());
                pause_facts = Some((sha, r.reason.clone()));
                recovered = None;
            }
            (ControlMode::Running, true) if r.resumes_control_id == id => {
                paused = false;
                id = Some(r.control_id.clone());
                recovered = pause_facts.take();
                recovered_state = r.recovered_state.clone();
            }
            (ControlMode::Running, _) => {}
        }
    }
    (paused, id, recovered)
}

fn arb_record() -> impl Strategy<Value = ControlRecord> {
    let ids = prop::sample::select(vec!["i0", "i1", "i2", "i3", "i4"]);
    let shas = prop::sample::select(vec![A, B]);
    let reasons = prop::sample::select(vec![
        "ci-failed",
        "deploy-failed",
        "ci-failed on A",
        "deploy-failed on A",
        "verify-failed on A",
        "ci-failed on B",
    ]);
    let states = prop::option::of(prop::sample::select(vec![
        "ci-failed",
        "deploy-failed",
        "verify-failed",
        "awaiting-deploy",
    ]));
    (0..3u8, ids.clone(), ids, shas, reasons, states).prop_map(
        |(kind, id, other, sha, reason, state)| {
            let reason = reason
                .replace(" on A", &format!(" on {A}"))
                .replace(" on B", &format!(" on {B}"));
            match kind {
                0 => pause(id, sha, &reason),
                1 => conditional(id, sha, other),
                _ => ControlRecord {
                    recovered_state: state.map(str::to_string),
                    ..resume(id, other)
                },
            }
        },
    )
}

proptest! {
    #[test]
    fn fold_matches_the_reference(records in prop::collection::vec(arb_record(), 0..24)) {
        let s = fold_all(&records);
        let (paused, id, recovered) = reference(&records);
        prop_assert_eq!(s.is_paused(), paused);
        prop_assert_eq!(s.control_id, id);
        if !paused {
            let got = s.recovered_main_sha.clone().zip(s.recovered_reason.clone());
            prop_assert_eq!(got, recovered);
        }
    }

    #[test]
    fn ignored_records_never_change_state(records in prop::collection::vec(arb_record(), 0..24)) {
        let mut state = ControlState::default();
        for r in &records {
            let (next, step) = fold_control(&state, r);
            if step != FoldStep::Applied {
                prop_assert_eq!(&next, &state);
            }
            state = next;
        }
    }
}
