//! Probes beside the train (auto depth): a hunted entry (one that failed
//! alone, or a piece of a failed batch) is tested on the base tip beside
//! the train, with nothing stacked on it, instead of inside the stack
//! where it would poison the candidates above it or wait behind every later
//! request. A probe never lands: a passed probe clears its entries, which
//! go back into the train at their place in request order; a failed one
//! splits (a batch) or counts a failure (one entry), blocking the entry
//! once its retries are spent. Probes and train together stay within
//! `queue.max_parallel_ci`.

use super::{CandidateCi, Discard, TrainInputs, failure_key, halves, ready};

/// What walking the live probes found.
#[derive(Debug, Default)]
pub struct ProbeWalk {
    /// Probes leaving (passed, failed or stale).
    pub discard: Vec<Discard>,
    /// Failure keys a passed probe proved innocent.
    pub cleared: Vec<String>,
    /// Entries whose retries are spent: (branch, head, reason).
    pub block: Vec<(String, String, String)>,
    /// Groups to probe next (a failed probe's halves, a retry).
    pub next: Vec<Vec<String>>,
    /// Branches in a probe that stays.
    pub under_test: Vec<String>,
    /// Probes that stay.
    pub live: usize,
}

/// Walks the live probes.
pub fn walk_probes(inputs: &TrainInputs) -> ProbeWalk {
    let mut w = ProbeWalk::default();
    for (probe, ci) in inputs.probes {
        let gone = |reason: String, failed: bool| Discard {
            candidate_id: probe.candidate_id.clone(),
            reason,
            failed,
            passed: false,
        };
        if let Some(e) = probe
            .entries
            .iter()
            .find(|e| !ready(inputs, &e.branch, &e.head_sha))
        {
            let why = format!("stale probe: `{}` is no longer ready", e.branch);
            w.discard.push(gone(why, false));
            continue;
        }
        let branches: Vec<String> = probe.entries.iter().map(|e| e.branch.clone()).collect();
        match ci {
            CandidateCi::Testing => {
                w.under_test.extend(branches);
                w.live += 1;
            }
            CandidateCi::Passed => {
                let why = format!(
                    "probe {} passed: its entries are innocent",
                    probe.candidate_id
                );
                w.discard.push(Discard {
                    passed: true,
                    ..gone(why, false)
                });
                w.cleared.extend(
                    probe
                        .entries
                        .iter()
                        .map(|e| failure_key(&e.branch, &e.head_sha)),
                );
            }
            CandidateCi::Failed { check, .. } => {
                let why = format!("failed {check} in probe {}", probe.candidate_id);
                w.discard.push(gone(why.clone(), true));
                if branches.len() > 1 {
                    w.next.extend(halves(branches, 2));
                    continue;
                }
                let e = &probe.entries[0];
                let key = failure_key(&e.branch, &e.head_sha);
                let before = inputs.failures.get(&key).copied().unwrap_or(0);
                if before < inputs.max_retries {
                    w.next.push(branches);
                } else {
                    w.block.push((e.branch.clone(), e.head_sha.clone(), why));
                }
            }
        }
    }
    w
}

/// True when the entry is hunted: it failed alone (a failure count) or
/// belongs to a failed batch not yet explained. Hunted entries are probed,
/// not stacked.
pub fn hunted(inputs: &TrainInputs, branch: &str, head: &str) -> bool {
    let key = failure_key(branch, head);
    super::failed_uncleared(inputs.failures, inputs.cleared, &key)
        || inputs.suspects.values().any(|g| g.contains(&key))
}

/// The probes to build: `first` (a failure's pieces and retries found in
/// this pass), then every other hunted ready entry not under test, each
/// alone, in request order; within the room the budget leaves.
pub fn probe_builds(
    inputs: &TrainInputs,
    first: Vec<Vec<String>>,
    busy: &[String],
    room: usize,
) -> Vec<Vec<String>> {
    let mut out: Vec<Vec<String>> = Vec::new();
    let mut taken: Vec<String> = busy.to_vec();
    let mut push = |group: Vec<String>, out: &mut Vec<Vec<String>>| {
        let group: Vec<String> = group.into_iter().filter(|b| !taken.contains(b)).collect();
        if !group.is_empty() && out.len() < room {
            taken.extend(group.iter().cloned());
            out.push(group);
        }
    };
    for group in first {
        push(group, &mut out);
    }
    let hunted_ready: Vec<String> = inputs
        .entries
        .iter()
        .filter(|e| e.state == crate::core::queue::EntryState::Queued)
        .filter(|e| hunted(inputs, &e.branch, &e.head_sha))
        .map(|e| e.branch.clone())
        .collect();
    for branch in hunted_ready {
        push(vec![branch], &mut out);
    }
    out
}

#[cfg(test)]
mod tests;
