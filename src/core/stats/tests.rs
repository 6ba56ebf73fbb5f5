use super::*;
use crate::core::control::CONTROL_SCHEMA;

const T: i64 = 1_800_000_000;

fn at(offset: i64) -> String {
    format_rfc3339(T + offset)
}

fn sha(n: u32) -> String {
    format!("{n:040x}")
}

fn queue(action: QueueAction, branch: &str, head: u32, merge: Option<u32>, t: i64) -> QueueRecord {
    let mut r = QueueRecord::new(action, branch, "t", &at(t));
    r.head_sha = Some(sha(head));
    r.merge_sha = merge.map(sha);
    r
}

fn control(
    id: &str,
    paused: bool,
    main: Option<u32>,
    resumes: Option<&str>,
    t: i64,
) -> ControlRecord {
    ControlRecord {
        schema: CONTROL_SCHEMA,
        control_id: id.into(),
        state: if paused {
            ControlMode::Paused
        } else {
            ControlMode::Running
        },
        reason: "why".into(),
        main_sha: main.map(sha),
        requires_control_id: None,
        resumes_control_id: resumes.map(str::to_owned),
        recovered_main_sha: None,
        recovered_reason: None,
        recovered_state: None,
        signers_blob: None,
        actor: "t".into(),
        at: at(t),
        extra: Default::default(),
    }
}

fn report(check: &str, status: ResultStatus, t: i64, run: Option<&str>) -> ResultRecord {
    let mut r = ResultRecord::new(check, status, &at(t));
    r.run_id = run.map(str::to_owned);
    r
}

#[test]
fn percentiles_are_nearest_rank() {
    let v: Vec<i64> = (1..=20).collect();
    assert_eq!(percentile(&v, 0.5), Some(10));
    assert_eq!(percentile(&v, 0.95), Some(19));
    assert_eq!(percentile(&[7], 0.95), Some(7));
    assert_eq!(percentile(&[], 0.5), None);
    assert_eq!(
        quantiles(vec![4, 1, 3, 2]),
        Quantiles {
            p50: Some(2),
            p95: Some(4)
        }
    );
}

#[test]
fn verified_is_the_first_time_every_check_succeeded() {
    let checks = vec!["Deploy".to_owned(), "smoke".to_owned()];
    let deploy = [
        report("Deploy", ResultStatus::Pending, 10, None),
        report("Deploy", ResultStatus::Success, 20, None),
        report("smoke", ResultStatus::Failure, 25, None),
        report("smoke", ResultStatus::Success, 30, None),
        report("smoke", ResultStatus::Failure, 90, None),
    ];
    assert_eq!(first_verified_at(&deploy, &checks), Some(T + 30));
    assert_eq!(first_verified_at(&deploy[..3], &checks), None);
    assert_eq!(first_verified_at(&deploy, &[]), None);
}

#[test]
fn ci_runs_pair_pending_and_finished_by_run_id() {
    let ci = [
        report("CI", ResultStatus::Pending, 0, Some("r1")),
        report("CI", ResultStatus::Failure, 100, Some("r1")),
        report("CI", ResultStatus::Pending, 200, Some("r2")),
        report("CI", ResultStatus::Success, 260, Some("r2")),
        report("CI", ResultStatus::Success, 300, None),
        report("CI", ResultStatus::Pending, 400, Some("r3")),
    ];
    assert_eq!(ci_runs(&ci), vec![(T, 100), (T + 200, 60)]);
}

#[test]
fn requests_pair_with_their_merges() {
    let q = [
        queue(QueueAction::Request, "a", 1, None, 0),
        queue(QueueAction::Request, "a", 1, None, 5),
        queue(QueueAction::Request, "b", 2, None, 10),
        QueueRecord {
            reason: Some("no".into()),
            ..queue(QueueAction::Block, "b", 2, None, 15)
        },
        queue(QueueAction::Request, "b", 3, None, 20),
        queue(QueueAction::Merged, "a", 1, Some(11), 50),
        queue(QueueAction::Merged, "b", 2, Some(12), 60),
    ];
    let s = request_stories(&q, i64::MAX / 2);
    assert_eq!(s.len(), 3);
    assert_eq!(
        (s[0].requested_at, s[0].merged.clone()),
        (T, Some((T + 50, sha(11))))
    );
    assert!(
        s[1].blocked && s[1].merged.is_none(),
        "the old head was replaced"
    );
    assert!(
        !s[2].blocked && s[2].merged.is_none(),
        "head 2 merged, not head 3"
    );
}

/// Three mains (m1 → m3): two requests merged, m1 verified, m2 failed
/// and paused then recovered, m3 verified after the recovery.
fn world() -> (Vec<QueueRecord>, Vec<ControlRecord>, Vec<MainFacts>) {
    let q = vec![
        queue(QueueAction::Request, "a", 1, None, 0),
        queue(QueueAction::Request, "b", 2, None, 100),
        queue(QueueAction::Merged, "a", 1, Some(11), 60),
        queue(QueueAction::Merged, "b", 2, Some(12), 400),
        queue(QueueAction::Request, "c", 3, None, 1000),
        queue(QueueAction::Merged, "c", 3, Some(13), 1300),
        queue(QueueAction::Request, "d", 4, None, 2000),
    ];
    let c = vec![
        control("start", false, None, None, 50),
        control("p1", true, Some(12), None, 900),
        control("stale", false, None, Some("p0"), 950),
        control("r1", false, None, Some("p1"), 1200),
    ];
    let ok = ResultStatus::Success;
    let mains = vec![
        MainFacts {
            sha: sha(10),
            ..Default::default()
        },
        MainFacts {
            sha: sha(11),
            ci: vec![
                report("CI", ResultStatus::Pending, 60, Some("x")),
                report("CI", ok, 160, Some("x")),
            ],
            deploy: vec![report("Deploy", ok, 300, None)],
        },
        MainFacts {
            sha: sha(12),
            ci: vec![
                report("CI", ResultStatus::Pending, 400, Some("y")),
                report("CI", ResultStatus::Failure, 700, Some("y")),
            ],
            deploy: vec![],
        },
        MainFacts {
            sha: sha(13),
            ci: vec![],
            deploy: vec![report("Deploy", ok, 1500, None)],
        },
    ];
    (q, c, mains)
}

fn run(since: Option<i64>, receipts: &HashMap<String, UnixSeconds>) -> Stats {
    let (q, c, mains) = world();
    let heads = HashMap::from([(sha(1), T - 3600)]);
    let checks = vec!["Deploy".to_owned()];
    compute(&StatsInputs {
        queue: &q,
        control: &c,
        mains: &mains,
        receipts,
        head_times: &heads,
        verified_checks: &checks,
        since,
        now: T + 2 * 86_400,
        start: &WindowStart::default(),
    })
}

#[test]
fn a_small_history_gives_exact_figures() {
    let s = run(None, &HashMap::new());
    assert_eq!(
        (s.requests, s.merged, s.blocked, s.pauses, s.recoveries),
        (4, 3, 0, 1, 1)
    );
    // waits 60, 300, 300.
    assert_eq!(
        s.queue_wait_seconds,
        Quantiles {
            p50: Some(300),
            p95: Some(300)
        }
    );
    // a: 300; b (m12 never verified, m13 at 1500): 1400; c: 500.
    assert_eq!(
        s.time_to_live_seconds,
        Quantiles {
            p50: Some(500),
            p95: Some(1400)
        }
    );
    assert_eq!(
        s.ci_duration_seconds,
        Quantiles {
            p50: Some(100),
            p95: Some(300)
        }
    );
    // a's head was authored an hour before its request: 3900.
    assert_eq!(
        s.dora.lead_time_seconds,
        Quantiles {
            p50: Some(1400),
            p95: Some(3900)
        }
    );
    // 2 verified mains over 2 days (from the first request).
    assert_eq!(s.dora.deployment_frequency_per_day, Some(1.0));
    assert_eq!(s.dora.change_failure_rate, Some(0.0));
    // p1 at 900 → m13 verified at 1500.
    assert_eq!(
        s.dora.time_to_restore_seconds,
        Quantiles {
            p50: Some(600),
            p95: Some(600)
        }
    );
    assert_eq!(s.since, None);
}

#[test]
fn since_limits_and_receipts_win() {
    let receipts = HashMap::from([(sha(13), T + 1400)]);
    let s = run(Some(T + 1000), &receipts);
    assert_eq!((s.requests, s.merged, s.pauses, s.recoveries), (2, 1, 0, 1));
    assert_eq!(
        s.time_to_live_seconds,
        Quantiles {
            p50: Some(400),
            p95: Some(400)
        }
    );
    assert_eq!(
        s.ci_duration_seconds,
        Quantiles::default(),
        "no run started after"
    );
    assert_eq!(s.dora.time_to_restore_seconds, Quantiles::default());
    assert_eq!(s.since.as_deref(), Some(at(1000).as_str()));
    // One verified main (m13) in max(1 day, 2 days - 1000 s).
    assert_eq!(
        s.dora.deployment_frequency_per_day,
        Some(round4(86_400.0 / (2.0 * 86_400.0 - 1000.0)))
    );
}

#[test]
fn a_verified_main_paused_later_is_a_change_failure() {
    let (q, mut c, mains) = world();
    c.push(control("p2", true, Some(13), None, 1600));
    let checks = vec!["Deploy".to_owned()];
    let none = HashMap::new();
    let s = compute(&StatsInputs {
        queue: &q,
        control: &c,
        mains: &mains,
        receipts: &none,
        head_times: &none,
        verified_checks: &checks,
        since: None,
        now: T,
        start: &WindowStart::default(),
    });
    assert_eq!(s.dora.change_failure_rate, Some(0.5));
    assert_eq!(s.pauses, 2);
    assert_eq!(
        s.dora.deployment_frequency_per_day,
        Some(2.0),
        "a window of at least one day"
    );
}

#[test]
fn nothing_gives_nulls_and_prometheus_says_nan() {
    let none = HashMap::new();
    let s = compute(&StatsInputs {
        queue: &[],
        control: &[],
        mains: &[],
        receipts: &none,
        head_times: &none,
        verified_checks: &[],
        since: None,
        now: T,
        start: &WindowStart::default(),
    });
    assert_eq!(s, Stats::default());
    let text = prometheus(&s);
    assert!(
        text.contains("# TYPE deploybot_requests gauge\ndeploybot_requests 0\n"),
        "{text}"
    );
    assert!(
        text.contains("deploybot_queue_wait_seconds{quantile=\"0.95\"} NaN\n"),
        "{text}"
    );
    assert!(
        text.lines()
            .filter(|l| !l.starts_with('#'))
            .all(|l| l.starts_with("deploybot_"))
    );
}

mod windows {
    use super::*;
    use proptest::prelude::*;

    /// A queue record from small numbers: few branches and heads, so
    /// requests repeat, replace and close each other; times jump back now
    /// and then (a writer whose clock ran behind) or are unreadable.
    fn queue_record(kind: u8, branch: u8, head: u8, t: i64) -> QueueRecord {
        let action = match kind % 6 {
            0 | 1 => QueueAction::Request,
            2 => QueueAction::Merged,
            3 => QueueAction::Cancel,
            4 => QueueAction::Block,
            _ => QueueAction::Dequeue,
        };
        let merge = (action == QueueAction::Merged).then_some(100 + u32::from(head));
        let mut r = queue(
            action,
            &format!("b{}", branch % 4),
            u32::from(head % 3),
            merge,
            t,
        );
        if t % 97 == 0 {
            r.at = "not a time".into();
        }
        r
    }

    fn control_record(kind: u8, n: usize, t: i64) -> ControlRecord {
        let id = format!("c{n}");
        let resumes = format!("c{}", n.saturating_sub(1 + usize::from(kind % 3)));
        match kind % 3 {
            0 => control(&id, true, Some(100 + u32::from(kind % 3)), None, t),
            1 => control(&id, false, None, Some(&resumes), t),
            _ => control(&id, false, None, None, t),
        }
    }

    /// The first position whose latest time so far is at or after `since`
    /// (what the record index's binary search finds).
    fn window_start(ats: &[&str], since: i64) -> usize {
        let mut latest = i64::MIN;
        for (i, at) in ats.iter().enumerate() {
            latest = latest.max(parse_rfc3339(at).unwrap_or(i64::MIN));
            if latest >= since {
                return i;
            }
        }
        ats.len()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// Figures over ledger slices cut where the window starts, with what
        /// the prefixes left, equal the figures over the whole ledgers.
        #[test]
        fn slices_from_the_window_start_give_the_whole_ledgers_figures(
            q in proptest::collection::vec((any::<u8>(), any::<u8>(), any::<u8>(), -200i64..2000), 0..40),
            c in proptest::collection::vec((any::<u8>(), -200i64..2000), 0..12),
            since in -100i64..2100,
        ) {
            let queue: Vec<QueueRecord> = q.iter().map(|&(k, b, h, t)| queue_record(k, b, h, t)).collect();
            let control: Vec<ControlRecord> = c.iter().enumerate().map(|(n, &(k, t))| control_record(k, n, t)).collect();
            let (mains, heads, receipts) = (world().2, HashMap::new(), HashMap::new());
            let checks = vec!["Deploy".to_owned()];
            let now = T + 3000;
            let inputs = |queue: &'_ [QueueRecord], control: &'_ [ControlRecord], start: &WindowStart| {
                compute(&StatsInputs {
                    queue,
                    control,
                    mains: &mains,
                    receipts: &receipts,
                    head_times: &heads,
                    verified_checks: &checks,
                    since: Some(T + since),
                    now,
                    start,
                })
            };
            let whole = inputs(&queue, &control, &WindowStart::default());
            let qa: Vec<&str> = queue.iter().map(|r| r.at.as_str()).collect();
            let ca: Vec<&str> = control.iter().map(|r| r.at.as_str()).collect();
            let (pq, pc) = (window_start(&qa, T + since), window_start(&ca, T + since));
            let start = WindowStart::after(&queue[..pq], &control[..pc]);
            let sliced = inputs(&queue[pq..], &control[pc..], &start);
            prop_assert_eq!(whole, sliced);
        }
    }
}

mod linear {
    use super::*;
    use proptest::prelude::*;

    /// The definitions, checked pause by pause and main by main.
    fn restore_times_by_definition(
        applied: &[Applied],
        pauses: &[&Applied],
        mains: &MainTimes,
    ) -> Vec<i64> {
        let mut restores = Vec::new();
        for pause in pauses {
            let recovered = applied
                .iter()
                .any(|a| !a.pause && a.resumes.as_deref() == Some(pause.control_id.as_str()));
            let from = pause
                .main_sha
                .as_deref()
                .and_then(|sha| mains.position.get(sha).copied())
                .unwrap_or(0);
            let restored = mains.verified[from..]
                .iter()
                .flatten()
                .filter(|&&at| at >= pause.at)
                .min();
            if let (true, Some(at)) = (recovered, restored) {
                restores.push(at - pause.at);
            }
        }
        restores
    }

    fn paused_later_by_definition(
        verified: &[(usize, UnixSeconds)],
        pauses: &[&Applied],
        mains: &[MainFacts],
    ) -> usize {
        verified
            .iter()
            .filter(|(i, at)| {
                pauses
                    .iter()
                    .any(|p| p.main_sha.as_deref() == Some(mains[*i].sha.as_str()) && p.at >= *at)
            })
            .count()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        /// The indexed computations give what the definitions give.
        #[test]
        fn restores_and_failures_match_their_definitions(
            verified in proptest::collection::vec(proptest::option::of(0i64..50), 0..12),
            controls in proptest::collection::vec((any::<bool>(), 0u32..14, 0usize..8, 0i64..50), 0..12),
        ) {
            let mains: Vec<MainFacts> = (0..verified.len() as u32).map(|n| MainFacts { sha: sha(n), ..Default::default() }).collect();
            let receipts = HashMap::new();
            let times = MainTimes {
                position: mains.iter().enumerate().map(|(i, m)| (m.sha.as_str(), i)).collect(),
                verified: verified.clone(),
                first_from: vec![None; verified.len()],
                receipts: &receipts,
            };
            let applied: Vec<Applied> = controls
                .iter()
                .enumerate()
                .map(|(n, &(pause, main, resumes, at))| Applied {
                    at,
                    pause,
                    control_id: format!("c{n}"),
                    main_sha: Some(sha(main)),
                    resumes: (!pause).then(|| format!("c{resumes}")),
                })
                .collect();
            let pauses: Vec<&Applied> = applied.iter().filter(|a| a.pause).collect();
            prop_assert_eq!(
                restore_times(&applied, &pauses, &times),
                restore_times_by_definition(&applied, &pauses, &times)
            );
            let verified_mains: Vec<(usize, UnixSeconds)> =
                verified.iter().enumerate().filter_map(|(i, at)| at.map(|at| (i, at))).collect();
            prop_assert_eq!(
                paused_later(&verified_mains, &pauses, &mains),
                paused_later_by_definition(&verified_mains, &pauses, &mains)
            );
        }
    }
}
