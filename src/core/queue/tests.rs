use super::*;
use proptest::prelude::*;

const AT: &str = "2026-01-01T00:00:00Z";

/// A 40-hex sha made of one repeated digit.
fn sha(digit: char) -> String {
    digit.to_string().repeat(40)
}

fn request(branch: &str, head: char) -> QueueRecord {
    let mut record = QueueRecord::new(QueueAction::Request, branch, "alice", AT);
    record.head_sha = Some(sha(head));
    record
}

fn action(action: QueueAction, branch: &str) -> QueueRecord {
    QueueRecord::new(action, branch, "alice", AT)
}

fn merged(branch: &str, head: char, merge: char) -> QueueRecord {
    let mut record = QueueRecord::new(QueueAction::Merged, branch, "bot", AT);
    record.head_sha = Some(sha(head));
    record.merge_sha = Some(sha(merge));
    record
}

fn block(branch: &str, reason: &str) -> QueueRecord {
    let mut record = action(QueueAction::Block, branch);
    record.reason = Some(reason.to_owned());
    record
}

fn branches(state: &QueueState) -> Vec<&str> {
    state.entries.iter().map(|e| e.branch.as_str()).collect()
}

#[test]
fn requests_queue_in_ledger_order() {
    let state = fold_all(&[request("a", '1'), request("b", '2')]);
    assert_eq!(branches(&state), ["a", "b"]);
    // Positions are ledger indices, the FIFO key.
    assert_eq!(state.entries[0].position, 0);
    assert_eq!(state.entries[1].position, 1);
    assert_eq!(state.entries[0].requested_by, "alice");
    assert_eq!(state.applied, 2);
}

#[test]
fn re_request_replaces_moves_to_back_and_clears_block() {
    let records = [
        request("a", '1'),
        request("b", '2'),
        block("a", "hold"),
        request("a", '3'),
    ];
    let state = fold_all(&records);
    // One entry per branch, the newest head, behind `b`.
    assert_eq!(branches(&state), ["b", "a"]);
    let a = state.entry("a").expect("queued");
    assert_eq!(a.head_sha, sha('3'));
    assert_eq!(a.blocked, None, "a new request clears the block");
    assert_eq!(a.position, 3);
}

#[test]
fn invalid_records_change_nothing_but_the_count() {
    let before = fold_all(&[request("a", '1')]);
    let no_head = action(QueueAction::Request, "b");
    let mut no_merge_sha = merged("a", '1', '9');
    no_merge_sha.merge_sha = None;
    for record in [no_head, no_merge_sha] {
        let after = fold_queue(before.clone(), &record);
        assert_eq!(after.entries, before.entries);
        assert_eq!(after.merged, before.merged);
        assert_eq!(after.applied, before.applied + 1, "still a ledger index");
    }
    let skipped = fold_unreadable(before.clone());
    assert_eq!((skipped.entries, skipped.applied), (before.entries, 2));
}

#[test]
fn cancel_and_dequeue_remove_the_entry() {
    for removal in [QueueAction::Cancel, QueueAction::Dequeue] {
        let state = fold_all(&[request("a", '1'), request("b", '2'), action(removal, "a")]);
        assert_eq!(branches(&state), ["b"], "{removal:?}");
        // Removing an unknown branch is a no-op.
        let again = fold_queue(state.clone(), &action(removal, "zzz"));
        assert_eq!(again.entries, state.entries);
    }
}

#[test]
fn block_and_unblock() {
    let state = fold_all(&[request("a", '1'), block("a", "flaky migration")]);
    assert_eq!(state.entries[0].blocked.as_deref(), Some("flaky migration"));
    let state = fold_queue(state, &action(QueueAction::Unblock, "a"));
    assert_eq!(state.entries[0].blocked, None);
    // Blocking an unknown branch does not queue it.
    let state = fold_queue(state, &block("ghost", "no"));
    assert_eq!(branches(&state), ["a"]);
}

#[test]
fn merged_removes_only_the_merged_head() {
    let state = fold_all(&[request("a", '1'), request("b", '2'), merged("a", '1', 'f')]);
    assert_eq!(branches(&state), ["b"]);
    assert_eq!(state.merged.len(), 1);
    assert_eq!(state.merged[0].merge_sha, sha('f'));
    // A newer request for the same branch landed before the merged
    // record: the newer head stays queued, the merge is still recorded.
    let state = fold_all(&[request("a", '1'), request("a", '3'), merged("a", '1', 'f')]);
    assert_eq!(state.entry("a").map(|e| e.head_sha.clone()), Some(sha('3')));
    assert_eq!(state.merged.len(), 1);
}

#[test]
fn merged_history_keeps_the_newest_fifty() {
    let records: Vec<QueueRecord> = (0..60)
        .map(|i| {
            let mut record = merged(&format!("b{i}"), '1', '2');
            record.at = format!("2026-01-01T00:00:{:02}Z", i % 60);
            record
        })
        .collect();
    let state = fold_all(&records);
    assert_eq!(state.merged.len(), MERGED_HISTORY);
    assert_eq!(state.merged[0].branch, "b10", "oldest dropped first");
    assert_eq!(state.merged[49].branch, "b59", "newest last");
}

#[test]
fn record_json_shape() {
    let mut record = request("feature/x", 'a');
    record
        .extra
        .insert("future".into(), serde_json::json!(true));
    let json = serde_json::to_value(&record).expect("serializes");
    let expected = serde_json::json!({
        "schema": 1, "action": "request", "branch": "feature/x", "head_sha": sha('a'),
        "actor": "alice", "at": AT, "future": true,
    });
    // Absent options are omitted; unknown fields are written back.
    assert_eq!(json, expected);
    let back: QueueRecord = serde_json::from_value(json).expect("parses");
    assert_eq!(back, record);
}

#[test]
fn validate_rules() {
    assert_eq!(request("feature/x", 'a').validate(), Ok(()));
    assert_eq!(merged("a", '1', '2').validate(), Ok(()));
    assert_eq!(block("a", "why").validate(), Ok(()));
    let mut upper = request("a", 'a');
    upper.head_sha = Some("A".repeat(40));
    assert!(
        upper
            .validate()
            .expect_err("uppercase")
            .contains("head_sha")
    );
    let mut short = request("a", 'a');
    short.head_sha = Some("abc".into());
    assert!(short.validate().is_err(), "abbreviated shas are ambiguous");
    assert!(
        action(QueueAction::Request, "a").validate().is_err(),
        "request needs a head"
    );
    let mut no_merge = merged("a", '1', '2');
    no_merge.merge_sha = None;
    assert!(no_merge.validate().is_err(), "merged needs the new base");
    assert!(
        action(QueueAction::Block, "a").validate().is_err(),
        "block needs a reason"
    );
    assert!(
        block("a", &"x".repeat(4097)).validate().is_err(),
        "reason over 4096 bytes"
    );
    assert!(
        block("a", &"x".repeat(4096)).validate().is_ok(),
        "4096 is the limit"
    );
    assert!(
        block("a", "two\nlines").validate().is_err(),
        "control characters"
    );
    assert!(request("bad..name", 'a').validate().is_err());
    let mut bad_at = request("a", 'a');
    bad_at.at = "now".into();
    assert!(bad_at.validate().is_err());
    let mut no_actor = request("a", 'a');
    no_actor.actor = String::new();
    assert!(no_actor.validate().is_err());
}

#[test]
fn branch_names() {
    for good in [
        "main",
        "feature/x",
        "deploybot/repair/0123456789ab",
        "v1.2",
        "a-b_c",
    ] {
        assert_eq!(validate_branch_name(good), Ok(()), "{good}");
    }
    let bad = [
        "",
        "-x",
        "a b",
        "a..b",
        "a~1",
        "a^",
        "a:b",
        "a?",
        "a*",
        "a[",
        "a\\b",
        "a/",
        "/a",
        "a//b",
        "a.",
        ".hidden",
        "x/.y",
        "a.lock",
        "a@{1}",
        "@",
        "tab\tname",
    ];
    for name in bad {
        assert!(
            validate_branch_name(name).is_err(),
            "{name:?} must be rejected"
        );
    }
}

#[test]
fn summaries_are_one_line_subjects() {
    assert_eq!(
        request("feature/x", 'a').summary(),
        "request: feature/x at aaaaaaaaaaaa"
    );
    assert_eq!(action(QueueAction::Cancel, "x").summary(), "cancel: x");
    let subject = merged("x", '1', '2').summary();
    assert_eq!(subject, "merged: x at 111111111111 as 222222222222");
    let long = block("x", &format!("line one\nline two {}", "y".repeat(100))).summary();
    assert!(!long.contains('\n') && long.ends_with("…)"), "{long}");
}

fn entry(blocked: Option<&str>) -> QueueEntry {
    QueueEntry {
        branch: "feature/x".into(),
        head_sha: sha('a'),
        requested_by: "alice".into(),
        requested_at: AT.into(),
        blocked: blocked.map(str::to_owned),
        position: 0,
    }
}

fn green() -> CheckSummary {
    CheckSummary {
        green: true,
        failing: vec![],
        missing: vec![],
    }
}

#[test]
fn entry_state_precedence() {
    let red = CheckSummary {
        green: false,
        failing: vec!["CI".into()],
        missing: vec![],
    };
    let head = sha('a');
    // Blocked wins over stale and red checks.
    let view = entry_state(&entry(Some("hold")), None, &red);
    assert_eq!(
        (view.state, view.why.as_str()),
        (EntryState::Blocked, "blocked: hold")
    );
    // Stale wins over red checks: the checks are about an old head.
    let moved = entry_state(&entry(None), Some(&sha('b')), &red);
    assert_eq!(moved.state, EntryState::Stale);
    assert!(moved.why.contains("aaaaaaaaaaaa") && moved.why.contains("bbbbbbbbbbbb"));
    let gone = entry_state(&entry(None), None, &green());
    assert_eq!(gone.state, EntryState::Stale);
    assert!(gone.why.contains("is gone"), "{}", gone.why);
    let waiting = CheckSummary {
        green: false,
        failing: vec!["CI".into()],
        missing: vec!["lint".into()],
    };
    let view = entry_state(&entry(None), Some(&head), &waiting);
    assert_eq!(view.state, EntryState::WaitingChecks);
    assert_eq!(
        view.why,
        "checks on aaaaaaaaaaaa: failing `CI`; waiting for `lint`"
    );
    let view = entry_state(&entry(None), Some(&head), &green());
    assert_eq!(view.state, EntryState::Queued);
    assert_eq!(
        view.why,
        "ready: every required check green on aaaaaaaaaaaa"
    );
    let json = serde_json::to_string(&EntryState::WaitingChecks).expect("serializes");
    assert_eq!(json, "\"waiting-checks\"");
}

fn any_record() -> impl Strategy<Value = QueueRecord> {
    let actions = vec![
        QueueAction::Request,
        QueueAction::Cancel,
        QueueAction::Block,
        QueueAction::Unblock,
        QueueAction::Dequeue,
        QueueAction::Merged,
    ];
    let action = prop::sample::select(actions);
    let branch = prop::sample::select(vec!["a", "b", "c"]);
    let head = prop::option::weighted(0.9, prop::sample::select(vec!['1', '2', '3']));
    let merge = prop::option::weighted(0.9, Just('f'));
    (action, branch, head, merge).prop_map(|(action, branch, head, merge)| {
        let mut record = QueueRecord::new(action, branch, "p", AT);
        record.head_sha = head.map(sha);
        record.merge_sha = merge.map(sha);
        record.reason = Some("r".into());
        record
    })
}

proptest! {
    #[test]
    fn fold_matches_a_reference_model(records in prop::collection::vec(any_record(), 0..40)) {
        // The model: (branch, head, blocked), FIFO.
        let mut model: Vec<(String, String, bool)> = Vec::new();
        for r in &records {
            let at = model.iter().position(|(b, _, _)| *b == r.branch);
            match (r.action, &r.head_sha, at) {
                (QueueAction::Request, Some(head), _) => {
                    model.retain(|(b, _, _)| *b != r.branch);
                    model.push((r.branch.clone(), head.clone(), false));
                }
                (QueueAction::Cancel | QueueAction::Dequeue, _, Some(i)) => {
                    model.remove(i);
                }
                (QueueAction::Block, _, Some(i)) => model[i].2 = true,
                (QueueAction::Unblock, _, Some(i)) => model[i].2 = false,
                (QueueAction::Merged, Some(head), Some(i))
                    if r.merge_sha.is_some() && model[i].1 == *head => {
                    model.remove(i);
                }
                _ => {}
            }
        }
        let state = fold_all(&records);
        let folded: Vec<(String, String, bool)> = state.entries.iter()
            .map(|e| (e.branch.clone(), e.head_sha.clone(), e.blocked.is_some()))
            .collect();
        prop_assert_eq!(folded, model);
        // FIFO: positions strictly increase, so no branch appears twice
        // and order is request order.
        let listed: Vec<_> = state.entries.iter().collect();
        prop_assert!(listed.windows(2).all(|w| w[0].position < w[1].position));
        let mut names: Vec<_> = state.entries.iter().map(|e| &e.branch).collect();
        names.sort();
        names.dedup();
        prop_assert_eq!(names.len(), state.entries.len());
        prop_assert_eq!(state.applied, records.len() as u64);
        prop_assert!(state.merged.len() <= MERGED_HISTORY);
    }
}

#[test]
fn the_fold_names_the_entry_left_out_of_a_failed_batch_once_the_others_land() {
    let candidate = |id: &str, tip: char, branches: &[&str]| {
        let mut r = QueueRecord::new(
            QueueAction::Candidate,
            &format!("deploybot/try/{id}"),
            "bot",
            AT,
        );
        r.candidate_id = Some(id.into());
        r.sha = Some(sha(tip));
        r.base_sha = Some(sha('0'));
        r.entries = Some(
            branches
                .iter()
                .map(|b| crate::core::train::CandidateEntry {
                    branch: (*b).into(),
                    head_sha: sha('1'),
                    merge_sha: sha(tip),
                })
                .collect(),
        );
        r
    };
    let discarded = |id: &str, outcome: &str| {
        let mut r = QueueRecord::new(
            QueueAction::Discarded,
            &format!("deploybot/try/{id}"),
            "bot",
            AT,
        );
        r.candidate_id = Some(id.into());
        r.reason = Some("failed CI in candidate".into());
        r.outcome = Some(outcome.into());
        r
    };
    let landed = |branch: &str, id: &str| {
        let mut r = merged(branch, '1', 'f');
        r.candidate_id = Some(id.into());
        r
    };
    let mut records = vec![
        request("a", '1'),
        request("b", '1'),
        request("c", '1'),
        candidate("k", 'a', &["a", "b", "c"]),
        discarded("k", "failed"),
        candidate("p", 'b', &["a"]),
        candidate("q", 'c', &["b"]),
    ];
    let state = fold_all(&records);
    assert_eq!(state.suspects.len(), 1, "the batch is a suspect group");
    records.extend([landed("a", "p"), landed("b", "q")]);
    let state = fold_all(&records);
    let c = format!("c {}", sha('1'));
    assert_eq!(state.suspects["k"], [c], "c is named, to be tested alone");
    assert!(
        state.failures.is_empty(),
        "only its own test counts a failure"
    );
    // Cancelling a suspect forgets the group instead.
    let mut cancelled = records[..7].to_vec();
    cancelled.push(action(QueueAction::Cancel, "c"));
    cancelled.extend([landed("a", "p"), landed("b", "q")]);
    let state = fold_all(&cancelled);
    assert!(state.suspects.is_empty() && state.failures.is_empty());
}

/// A single-entry candidate `id` for `branch` at head `head`, and its discard.
fn single(id: &str, branch: &str, head: char, probe: bool) -> [QueueRecord; 2] {
    let mut built = QueueRecord::new(
        QueueAction::Candidate,
        &format!("deploybot/try/{id}"),
        "bot",
        AT,
    );
    built.candidate_id = Some(id.into());
    built.sha = Some(sha('e'));
    built.base_sha = Some(sha('0'));
    built.probe = probe.then_some(true);
    built.entries = Some(vec![crate::core::train::CandidateEntry {
        branch: branch.into(),
        head_sha: sha(head),
        merge_sha: sha('e'),
    }]);
    let mut gone = QueueRecord::new(
        QueueAction::Discarded,
        &format!("deploybot/try/{id}"),
        "bot",
        AT,
    );
    gone.candidate_id = Some(id.into());
    gone.reason = Some("failed CI in candidate".into());
    gone.outcome = Some(if probe { "passed" } else { "failed" }.into());
    [built, gone]
}

#[test]
fn failure_counts_leave_with_their_entry() {
    let key = |branch: &str, head: char| format!("{branch} {}", sha(head));
    let mut records = vec![request("a", '1'), request("b", '1')];
    records.extend(single("x", "a", '1', false));
    records.extend(single("y", "b", '1', false));
    records.extend(single("z", "b", '1', true));
    let state = fold_all(&records);
    assert_eq!(state.failures[&key("a", '1')], 1);
    assert_eq!(state.cleared[&key("b", '1')], 1);
    // a lands, b is requested again at a new head: both counts go.
    records.extend([merged("a", '1', 'f'), request("b", '2')]);
    let state = fold_all(&records);
    assert!(state.failures.is_empty(), "{:?}", state.failures);
    assert!(state.cleared.is_empty(), "{:?}", state.cleared);
    // A candidate discarded after its entry was cancelled counts nothing.
    records.push(action(QueueAction::Cancel, "b"));
    records.push(single("w", "b", '2', false)[0].clone());
    let mut late = records.clone();
    late.push(single("w", "b", '2', false)[1].clone());
    assert!(fold_all(&late).failures.is_empty());
    // A blocked entry keeps its count: unblocking does not buy new retries.
    let mut blocked = vec![request("c", '1')];
    blocked.extend(single("v", "c", '1', false));
    blocked.extend([
        block("c", "failed twice"),
        action(QueueAction::Unblock, "c"),
    ]);
    assert_eq!(fold_all(&blocked).failures[&key("c", '1')], 1);
}

fn any_train_record() -> impl Strategy<Value = Vec<QueueRecord>> {
    let branch = prop::sample::select(vec!["a", "b", "c"]);
    let head = prop::sample::select(vec!['1', '2']);
    (0u8..5, branch, head, any::<bool>(), 0u32..1000).prop_map(|(kind, branch, head, probe, id)| {
        match kind {
            0 => vec![request(branch, head)],
            1 => vec![action(QueueAction::Cancel, branch)],
            2 => vec![merged(branch, head, 'f')],
            _ => single(&format!("c{id}"), branch, head, probe).to_vec(),
        }
    })
}

proptest! {
    #[test]
    fn no_failure_count_outlives_its_queued_entry(steps in prop::collection::vec(any_train_record(), 0..30)) {
        let records: Vec<QueueRecord> = steps.into_iter().flatten().collect();
        let mut state = QueueState::default();
        for r in &records {
            state = fold_queue(state, r);
            let queued: Vec<String> = state.entries.iter()
                .map(|e| format!("{} {}", e.branch, e.head_sha))
                .collect();
            for key in state.failures.keys().chain(state.cleared.keys()) {
                prop_assert!(queued.contains(key), "{key} outlived its entry");
            }
        }
    }
}
