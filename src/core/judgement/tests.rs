use super::*;
use ReleaseState::*;
use proptest::prelude::*;

fn main(n: usize, state: ReleaseState, recovered: bool) -> OlderMain {
    OlderMain {
        sha: format!("{n:040x}"),
        state,
        why: format!("main {n} is {}", state.as_str()),
        recovered,
    }
}

fn sha(n: usize) -> String {
    format!("{n:040x}")
}

#[test]
fn an_older_deploy_failure_is_paused_for() {
    // Newest first: 3 awaiting deploy, 2 deploy-failed, 1 testing.
    let mains = [
        main(3, AwaitingDeploy, false),
        main(2, DeployFailed, false),
        main(1, Testing, false),
    ];
    let verdict = judge_older_mains(&mains, false);
    assert_eq!(
        verdict.failure.as_ref().map(|f| f.sha.clone()),
        Some(sha(2))
    );
    assert_eq!(verdict.judged, 3);
    assert!(verdict.verified.is_none() && verdict.superseded.is_empty());
}

#[test]
fn a_newer_verified_main_supersedes_an_older_failure_and_becomes_the_watermark() {
    let mains = [
        main(3, Verified, false),
        main(2, DeployFailed, false),
        main(1, CiFailed, false),
    ];
    let verdict = judge_older_mains(&mains, false);
    assert_eq!(verdict.failure, None);
    assert_eq!(
        verdict.verified.as_ref().map(|v| v.sha.clone()),
        Some(sha(3))
    );
    assert_eq!(verdict.superseded.len(), 2);
    assert_eq!(
        watermark_target(&sha(9), Deploying, &verdict),
        Some(sha(3)),
        "the newest verified older main"
    );
    assert_eq!(watermark_target(&sha(9), Verified, &verdict), Some(sha(9)));
}

#[test]
fn a_failure_newer_than_the_verified_main_still_pauses() {
    let mains = [main(3, VerifyFailed, false), main(2, Verified, false)];
    let verdict = judge_older_mains(&mains, false);
    assert_eq!(
        verdict.failure.as_ref().map(|f| f.state),
        Some(VerifyFailed)
    );
    assert_eq!(
        verdict.verified.as_ref().map(|v| v.sha.clone()),
        Some(sha(2))
    );
}

#[test]
fn a_recovered_main_is_never_judged_again_and_closes_what_is_below() {
    let mains = [
        main(3, Testing, false),
        main(2, CiFailed, true),
        main(1, DeployFailed, false),
    ];
    let verdict = judge_older_mains(&mains, false);
    assert_eq!(
        verdict.failure, None,
        "the recovered failure is not re-judged"
    );
    assert_eq!(verdict.recovered, Some(sha(2)));
    assert_eq!(
        verdict.superseded.len(),
        1,
        "what the recovery resumed past"
    );
}

#[test]
fn a_tip_that_closes_the_history_supersedes_every_older_failure() {
    let mains = [main(2, DeployFailed, false)];
    let verdict = judge_older_mains(&mains, true);
    assert_eq!(verdict.failure, None);
    assert_eq!(verdict.superseded.len(), 1);
}

#[test]
fn seeding_needs_no_watermark_no_merge_and_no_result() {
    for watermark in [false, true] {
        for merged in [false, true] {
            for results in [false, true] {
                assert_eq!(
                    may_seed_watermark(watermark, merged, results),
                    !watermark && !merged && !results,
                    "watermark {watermark}, merged {merged}, results {results}"
                );
            }
        }
    }
}

fn any_state() -> impl Strategy<Value = ReleaseState> {
    prop::sample::select(ReleaseState::ALL.to_vec())
}

/// DESIGN's rule read plainly over the mains oldest first: the history is
/// closed at the newest main that is verified or recovered (or everywhere when
/// the tip closes it); the newest failed, unrecovered main above that is the
/// one paused for; failed unrecovered mains at or below it are superseded.
fn naive(
    oldest_first: &[(ReleaseState, bool)],
    tip_closes: bool,
) -> (Option<usize>, Option<usize>, Vec<usize>) {
    let n = oldest_first.len();
    let verified = (0..n)
        .rev()
        .find(|&i| !oldest_first[i].1 && oldest_first[i].0 == Verified);
    let recovered = (0..n).rev().find(|&i| oldest_first[i].1);
    let close = if tip_closes {
        Some(n)
    } else {
        verified.max(recovered)
    };
    let failed = |i: usize| !oldest_first[i].1 && oldest_first[i].0.is_failed();
    let failure = (0..n)
        .rev()
        .find(|&i| failed(i) && close.is_none_or(|c| i > c));
    let superseded = (0..n)
        .rev()
        .filter(|&i| failed(i) && close.is_some_and(|c| i < c))
        .collect();
    (verified, failure, superseded)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn judging_older_mains_matches_the_naive_reference(
        oldest_first in prop::collection::vec((any_state(), prop::bool::weighted(0.15)), 0..12),
        tip_closes in any::<bool>(),
        tip_state in any_state(),
    ) {
        let newest_first: Vec<OlderMain> = oldest_first
            .iter()
            .enumerate()
            .rev()
            .map(|(i, (state, recovered))| main(i, *state, *recovered))
            .collect();
        let verdict = judge_older_mains(&newest_first, tip_closes);
        let (verified, failure, superseded) = naive(&oldest_first, tip_closes);
        prop_assert_eq!(verdict.verified.as_ref().map(|v| v.sha.clone()), verified.map(sha));
        prop_assert_eq!(verdict.failure.as_ref().map(|f| f.sha.clone()), failure.map(sha));
        let got: Vec<String> = verdict.superseded.iter().map(|s| s.sha.clone()).collect();
        let want: Vec<String> = superseded.into_iter().map(sha).collect();
        prop_assert_eq!(got, want);
        // A recovered main is never the failure paused for.
        if let Some(f) = &verdict.failure {
            prop_assert!(!newest_first.iter().any(|m| m.sha == f.sha && m.recovered));
        }
        // The watermark only ever moves to a verified main: the tip or an older one.
        let tip = sha(99);
        match watermark_target(&tip, tip_state, &verdict) {
            Some(target) if target == tip => prop_assert_eq!(tip_state, Verified),
            Some(target) => {
                prop_assert!(tip_state != Verified);
                prop_assert!(newest_first.iter().any(|m| m.sha == target && m.state == Verified));
            }
            None => prop_assert!(tip_state != Verified && verified.is_none()),
        }
    }
}
