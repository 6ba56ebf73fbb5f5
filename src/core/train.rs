//! Tested landing (`queue.landing = "tested"`), as pure functions: the
//! planner that decides, for one pass, what to land, what to discard
//! (a failure, split in halves or retried; a stale base or entry), which
//! entries to block, and what to build. No I/O; `ops::train` executes it. The candidates a
//! train holds and how their records fold live with the queue ledger
//! (`core::queue::candidates`, `core::queue::suspects`), re-exported here.
//!
//! A train is a stack of candidates: the bottom one built on the base tip,
//! each next one on the candidate below. `main` only ever fast-forwards to a
//! candidate's tip that passed CI: what lands is what was tested.

mod builds;
pub mod depth;
pub mod probes;

use builds::builds;
pub use builds::halves;

use crate::core::queue::{EntryState, EntryView};

// The train's ledger-side data and its fold live with the queue ledger
// (a shared type moves down): the planner here only reads them.
pub use crate::core::queue::candidates::{
    Candidate, CandidateEntry, TRY_PREFIX, failure_key, fold_train, try_branch, valid_candidate_id,
    validate_train_fields,
};
pub use crate::core::queue::suspects::{
    self, Failures, Suspects, failed_uncleared, held_by, note_cleared, note_discarded,
    note_dropped, note_failed, note_landed,
};

/// Where a candidate's CI stands (from the notes on its tip).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CandidateCi {
    /// Not every check has passed yet.
    Testing,
    /// Every `pipeline.ci_checks` and `queue.required_checks` check passed.
    Passed,
    /// A check failed (past the grace) or was cancelled.
    Failed {
        /// The check that failed.
        check: String,
        /// Its run's URL, when reported.
        url: Option<String>,
    },
}

/// Everything one tested-landing pass decides on.
#[derive(Debug, Clone)]
pub struct TrainInputs<'a> {
    /// The base tip.
    pub base_sha: &'a str,
    /// Queue entries, FIFO, as merge mode judges them (never `testing`).
    pub entries: &'a [EntryView],
    /// The live candidates, bottom first, with their CI.
    pub candidates: &'a [(Candidate, CandidateCi)],
    /// Failed single-entry candidates per [`failure_key`].
    pub failures: &'a Failures,
    /// Failed batches whose culprit is not named yet.
    pub suspects: &'a Suspects,
    /// Failure counts a passed probe cleared (auto depth).
    pub cleared: &'a Failures,
    /// Whether landing is allowed now (the base release admits a merge, or a
    /// recovery lets its repair through).
    pub may_land: bool,
    /// Whether building is allowed now (not paused, no failure holding the pass).
    pub may_build: bool,
    /// During a recovery: the elected repair, the only entry that may be built.
    pub only: Option<&'a str>,
    /// `queue.max_batch_size`.
    pub max_batch: usize,
    /// `queue.speculation_depth` when fixed.
    pub depth: usize,
    /// `speculation_depth = "auto"`: the budget (`queue.max_parallel_ci`)
    /// the window adapts within ([`depth::auto_window`]), judged from the
    /// folded state and from what fails in this very pass; `depth` is then
    /// ignored.
    pub auto_budget: Option<usize>,
    /// `queue.max_retries`.
    pub max_retries: u32,
    /// The live probes (auto depth), with their CI.
    pub probes: &'a [(Candidate, CandidateCi)],
    /// The CI budget the train and its probes share (`queue.max_parallel_ci`
    /// with auto depth); 0: no probes, hunted entries are rebuilt inside the
    /// train, as with a fixed depth.
    pub probe_budget: usize,
}

/// Why a candidate leaves the train.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Discard {
    /// The candidate.
    pub candidate_id: String,
    /// One line for people and the ledger.
    pub reason: String,
    /// True when its CI failed (false: stale, or above one that failed).
    pub failed: bool,
    /// True for a probe that passed: its entries are cleared.
    pub passed: bool,
}

/// What one pass does, in this order: discard, block, land, build.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TrainPlan {
    /// Candidates leaving the train without landing, bottom first.
    pub discard: Vec<Discard>,
    /// Entries to block: (branch, head_sha, reason).
    pub block: Vec<(String, String, String)>,
    /// Candidates to land, bottom first (consecutive passed ones from the bottom).
    pub land: Vec<String>,
    /// New candidates to build on top of the kept ones, each a list of branches in merge order.
    pub build: Vec<Vec<String>>,
    /// Probes to build on the base tip (after landing), beside the train.
    pub probe: Vec<Vec<String>>,
    /// Failure keys a passed probe proved innocent (their evidence is cleared).
    pub cleared: Vec<String>,
}

/// Plans one pass of tested landing, in three phases: walk the train bottom
/// up ([`walk`]: what stays, what is discarded, blocked or retried), land
/// the passed candidates from the bottom, then build on top ([`builds`]).
pub fn plan_train(inputs: &TrainInputs) -> TrainPlan {
    let walked = walk(inputs);
    let probed = probes::walk_probes(inputs);
    let mut plan = TrainPlan {
        discard: walked.discard.clone(),
        block: walked.block.clone(),
        ..TrainPlan::default()
    };
    plan.discard.extend(probed.discard.iter().cloned());
    plan.block.extend(probed.block.iter().cloned());
    plan.cleared = probed.cleared.clone();
    if inputs.may_land {
        plan.land = passed_from_the_bottom(inputs, &walked.kept);
    }
    // What a passed probe clears counts at once (the fold records it with
    // this pass): the entry rejoins the train in this very pass.
    let (mut suspects, mut cleared) = (inputs.suspects.clone(), inputs.cleared.clone());
    for key in &probed.cleared {
        note_cleared(&mut suspects, inputs.failures, &mut cleared, key);
    }
    let inputs = &TrainInputs {
        suspects: &suspects,
        cleared: &cleared,
        ..inputs.clone()
    };
    // Auto depth: the window from the hunt, including what fails now.
    let window = match inputs.auto_budget {
        Some(budget) => {
            let mut hunt = depth::hunt_of(
                inputs.entries,
                inputs.failures,
                inputs.cleared,
                inputs.suspects,
            );
            hunt.failed_entries += walked.failed_now.len() + probed.next.len();
            depth::auto_window(budget, hunt)
        }
        None => inputs.depth,
    };
    // Probes first: a hunted entry was ready before anything the train
    // would add now (the fairness rule), so the train gets what the live
    // and new probes leave of the budget.
    if inputs.may_build && inputs.probe_budget > 0 {
        let mut busy: Vec<String> = walked
            .kept
            .iter()
            .flat_map(|c| c.entries.iter().map(|e| e.branch.clone()))
            .chain(probed.under_test.iter().cloned())
            .collect();
        // A batch bisected inside the train (an interaction) stays there.
        busy.extend(walked.bisect.iter().flatten().cloned());
        busy.extend(plan.block.iter().map(|(b, _, _)| b.clone()));
        let first: Vec<Vec<String>> = walked
            .probe_next
            .iter()
            .chain(probed.next.iter())
            .cloned()
            .collect();
        let train_kept = walked.kept.len() - plan.land.len();
        // A bisection is decided only in the pass its batch fails: keep a
        // place for it, or the batch is probed, cleared and rebuilt whole
        // again, forever.
        let bisecting = usize::from(walked.bisect.is_some() && !walked.waiting_on_failure);
        let room = inputs
            .probe_budget
            .saturating_sub(probed.live + train_kept + bisecting);
        plan.probe = probes::probe_builds(inputs, first, &busy, room);
    }
    let capped = TrainInputs {
        depth: if inputs.probe_budget > 0 {
            let probing = probed.live + plan.probe.len();
            window.min(inputs.probe_budget.saturating_sub(probing))
        } else {
            window
        },
        ..inputs.clone()
    };
    if inputs.may_build && !walked.waiting_on_failure {
        // Not in the train this pass: what is under a probe, or about to be.
        let beside: Vec<String> = probed
            .under_test
            .iter()
            .chain(probed.next.iter().flatten())
            .chain(plan.probe.iter().flatten())
            .cloned()
            .collect();
        plan.build = builds(&capped, &walked, plan.land.len(), &beside);
    }
    plan
}

/// What walking the train bottom up found.
struct Walk<'a> {
    /// Candidates that still stand, bottom first.
    kept: Vec<&'a Candidate>,
    /// Candidates leaving the train.
    discard: Vec<Discard>,
    /// Entries whose retries are spent.
    block: Vec<(String, String, String)>,
    /// The entries of a failed batch, to bisect.
    bisect: Option<Vec<String>>,
    /// A failure above a candidate still under test: wait, build nothing.
    waiting_on_failure: bool,
    /// Entries that failed alone and are retried after the others.
    retry_now: Vec<String>,
    /// Entries of candidates failing in this pass (they explain suspects).
    failed_now: Vec<String>,
    /// With probes: groups to probe beside the train (a failed batch's
    /// halves, a failed entry's retry).
    probe_next: Vec<Vec<String>>,
}

/// True when `branch` at `head` is a ready (queued) entry.
fn ready(inputs: &TrainInputs, branch: &str, head: &str) -> bool {
    inputs
        .entries
        .iter()
        .any(|e| e.branch == branch && e.head_sha == head && e.state == EntryState::Queued)
}

/// True when the candidate `id` passed CI.
fn passed(inputs: &TrainInputs, id: &str) -> bool {
    inputs
        .candidates
        .iter()
        .any(|(c, ci)| c.candidate_id == id && *ci == CandidateCi::Passed)
}

/// Why `candidate` is stale (built on another base, an entry no longer
/// ready, or foreign to a recovery), if it is.
fn stale_reason(
    inputs: &TrainInputs,
    candidate: &Candidate,
    expected_base: &str,
    on_main: bool,
) -> Option<String> {
    let foreign_to_recovery = inputs
        .only
        .is_some_and(|only| candidate.entries.iter().any(|e| e.branch != only));
    if foreign_to_recovery {
        return Some("stale: a recovery owns main; only the elected repair is built".to_owned());
    }
    if candidate.base_sha != expected_base {
        let short_base = &expected_base[..expected_base.len().min(12)];
        return Some(format!(
            "stale: built on {} but {} is now {short_base}",
            &candidate.base_sha[..12],
            if on_main {
                "main"
            } else {
                "the candidate below"
            }
        ));
    }
    candidate
        .entries
        .iter()
        .find(|e| !ready(inputs, &e.branch, &e.head_sha))
        .map(|e| {
            format!(
                "stale: `{}` is no longer ready at {} (cancelled, blocked or requested again)",
                e.branch,
                &e.head_sha[..12]
            )
        })
}

/// Walks the train bottom up: keep what still stands, find the first break.
fn walk<'a>(inputs: &'a TrainInputs) -> Walk<'a> {
    let mut w = Walk {
        kept: Vec::new(),
        discard: Vec::new(),
        block: Vec::new(),
        bisect: None,
        waiting_on_failure: false,
        retry_now: Vec::new(),
        failed_now: Vec::new(),
        probe_next: Vec::new(),
    };
    let mut expected_base = inputs.base_sha.to_owned();
    let mut broken = false;
    for (candidate, ci) in inputs.candidates {
        if broken {
            w.discard.push(Discard {
                candidate_id: candidate.candidate_id.clone(),
                reason: "discarded with the candidate below it; its entries go back to the queue"
                    .to_owned(),
                failed: false,
                passed: false,
            });
            continue;
        }
        if let Some(reason) = stale_reason(inputs, candidate, &expected_base, w.kept.is_empty()) {
            w.discard.push(Discard {
                candidate_id: candidate.candidate_id.clone(),
                reason,
                failed: false,
                passed: false,
            });
            broken = true;
            continue;
        }
        // A failure above a candidate still under test proves nothing yet: the
        // culprit may be below it. Wait (and build nothing on top) until every
        // candidate below has passed.
        let below_passed = w.kept.iter().all(|k| passed(inputs, &k.candidate_id));
        if let (CandidateCi::Failed { check, url }, true) = (ci, below_passed) {
            failed(inputs, candidate, check, url.as_deref(), &mut w);
            broken = true;
            continue;
        }
        w.waiting_on_failure |= matches!(ci, CandidateCi::Failed { .. });
        expected_base = candidate.sha.clone();
        w.kept.push(candidate);
    }
    w
}

/// A candidate whose CI failed: discarded; a batch is bisected, a single
/// entry retried (after the others) or, its retries spent, blocked.
fn failed(
    inputs: &TrainInputs,
    candidate: &Candidate,
    check: &str,
    url: Option<&str>,
    w: &mut Walk,
) {
    let url = url.map(|u| format!(" ({u})")).unwrap_or_default();
    let why = format!(
        "failed {check} in candidate {}{url}",
        candidate.candidate_id
    );
    w.discard.push(Discard {
        candidate_id: candidate.candidate_id.clone(),
        reason: why.clone(),
        failed: true,
        passed: false,
    });
    w.failed_now.extend(
        candidate
            .entries
            .iter()
            .map(|e| failure_key(&e.branch, &e.head_sha)),
    );
    let branches: Vec<String> = candidate.entries.iter().map(|e| e.branch.clone()).collect();
    // A batch failing again with an entry a probe already cleared is an
    // interaction (each passes alone, not together): probing would clear
    // them again forever, so it is bisected inside the train, where the
    // entry that breaks on top of the others is named.
    let cleared_before = candidate.entries.iter().any(|e| {
        inputs
            .cleared
            .contains_key(&failure_key(&e.branch, &e.head_sha))
    });
    if candidate.entries.len() > 1 {
        if inputs.probe_budget > 0 && !cleared_before {
            // Each entry alone, at once: one CI round names the culprit.
            w.probe_next.extend(branches.into_iter().map(|b| vec![b]));
        } else {
            w.bisect = Some(branches);
        }
        return;
    }
    let e = &candidate.entries[0];
    let failed_before = inputs
        .failures
        .get(&failure_key(&e.branch, &e.head_sha))
        .copied()
        .unwrap_or(0);
    if failed_before < inputs.max_retries && inputs.probe_budget > 0 {
        // Retried beside the train, at once: it holds nobody back and
        // waits behind nobody.
        w.probe_next.push(branches);
    } else if failed_before < inputs.max_retries {
        // Retried after the entries that have not failed (below): a likely
        // culprit must not hold innocent entries back.
        w.retry_now.push(e.branch.clone());
    } else {
        w.block.push((e.branch.clone(), e.head_sha.clone(), why));
    }
}

/// The passed candidates from the bottom, consecutively.
fn passed_from_the_bottom(inputs: &TrainInputs, kept: &[&Candidate]) -> Vec<String> {
    kept.iter()
        .take_while(|c| passed(inputs, &c.candidate_id))
        .map(|c| c.candidate_id.clone())
        .collect()
}

#[cfg(test)]
mod tests;
