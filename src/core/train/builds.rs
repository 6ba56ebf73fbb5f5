//! What a tested-landing pass builds on top of the kept train: the pieces
//! a failure asked to rebuild (bisection), then ready entries in request
//! order spread over the free places, then the entries tested alone.

use super::{TrainInputs, Walk, failed_uncleared, failure_key, held_by, probes};
use crate::core::queue::{EntryState, EntryView};

/// What to build on top of the kept train: first what a failure asked to
/// rebuild (the bisected pieces), then ready entries in request order
/// spread over the free places, then the entries tested alone.
pub(super) fn builds(
    inputs: &TrainInputs,
    w: &Walk,
    landed: usize,
    probed: &[String],
) -> Vec<Vec<String>> {
    let mut build = Vec::new();
    let mut live = w.kept.len() - landed;
    let mut taken: Vec<String> = w
        .kept
        .iter()
        .flat_map(|c| c.entries.iter().map(|e| e.branch.clone()))
        .chain(probed.iter().cloned())
        .collect();
    if inputs.probe_budget > 0 {
        // Hunted entries are probed beside the train, never stacked in it.
        taken.extend(
            inputs
                .entries
                .iter()
                .filter(|e| probes::hunted(inputs, &e.branch, &e.head_sha))
                .map(|e| e.branch.clone()),
        );
        taken.extend(w.probe_next.iter().flatten().cloned());
    }
    // An entry is tested alone, after the others, when it failed alone
    // before (a retry), or when it is the one entry of a failed batch left
    // out of the train, the others under test or landed (a failure in this
    // pass explains the batch: it is suspected no more).
    let in_train: Vec<String> = w
        .kept
        .iter()
        .flat_map(|c| &c.entries)
        .map(|e| failure_key(&e.branch, &e.head_sha))
        .collect();
    let solo = |e: &EntryView| {
        let key = failure_key(&e.branch, &e.head_sha);
        failed_uncleared(inputs.failures, inputs.cleared, &key)
            || held_by(
                inputs.suspects,
                &key,
                |k| in_train.iter().any(|t| t == k),
                |k| w.failed_now.iter().any(|f| f == k),
            )
            .is_some()
    };
    let mut retry_now = w.retry_now.clone();
    for group in rebuild_groups(inputs, w, live, &taken, &solo, &mut retry_now) {
        if live >= inputs.depth {
            break;
        }
        taken.extend(group.iter().cloned());
        build.push(group);
        live += 1;
    }
    let (retries, mut pending) = pending_entries(inputs, w, &taken, &solo, &retry_now);
    while live < inputs.depth && !pending.is_empty() {
        let n = pending
            .len()
            .div_ceil(inputs.depth - live)
            .clamp(1, inputs.max_batch.max(1));
        build.push(pending.drain(..n).collect());
        live += 1;
    }
    for retry in retries {
        if live >= inputs.depth {
            break;
        }
        build.push(vec![retry]);
        live += 1;
    }
    build
}

/// A failed batch is bisected: split in halves, and the halves split again
/// while the train has room, laid out as one stack (first piece lowest), so
/// one CI round finds the culprit wherever the room allows. The top piece
/// is left out (tested last, alone) when it is one entry and other entries
/// wait: they are built on the pieces below it in this same round.
fn rebuild_groups(
    inputs: &TrainInputs,
    w: &Walk,
    live: usize,
    taken: &[String],
    solo: &dyn Fn(&EntryView) -> bool,
    retry_now: &mut Vec<String>,
) -> Vec<Vec<String>> {
    let room = inputs.depth.saturating_sub(live).max(2);
    let mut pieces = w
        .bisect
        .clone()
        .map(|b| halves(b, room))
        .unwrap_or_default();
    let bisected = pieces.concat();
    let others_wait = inputs.only.is_none()
        && inputs.entries.iter().any(|e| {
            e.state == EntryState::Queued
                && !bisected.contains(&e.branch)
                && !taken.contains(&e.branch)
                && !solo(e)
        });
    if others_wait && pieces.len() >= 2 && pieces.last().is_some_and(|p| p.len() == 1) {
        retry_now.extend(pieces.pop().unwrap_or_default());
    }
    pieces
        .into_iter()
        .map(|group| {
            group
                .into_iter()
                .filter(|b| inputs.only.is_none_or(|only| only == b))
                .filter(|b| {
                    inputs
                        .entries
                        .iter()
                        .any(|e| &e.branch == b && e.state == EntryState::Queued)
                })
                .collect::<Vec<String>>()
        })
        .filter(|group| !group.is_empty())
        .collect()
}

/// The ready entries not in the train, blocked or being rebuilt, as
/// (tested alone, in request order): solo entries go last, each alone.
fn pending_entries(
    inputs: &TrainInputs,
    w: &Walk,
    taken: &[String],
    solo: &dyn Fn(&EntryView) -> bool,
    retry_now: &[String],
) -> (Vec<String>, Vec<String>) {
    let blocked: Vec<&str> = w.block.iter().map(|(b, _, _)| b.as_str()).collect();
    let failed_before = |branch: &str| {
        retry_now.iter().any(|r| r == branch)
            || inputs.entries.iter().any(|e| e.branch == branch && solo(e))
    };
    inputs
        .entries
        .iter()
        .filter(|e| e.state == EntryState::Queued)
        .filter(|e| !taken.contains(&e.branch) && !blocked.contains(&e.branch.as_str()))
        .filter(|e| inputs.only.is_none_or(|only| only == e.branch))
        .map(|e| e.branch.clone())
        .partition(|b| failed_before(b))
}

/// Splits a failed batch into at most `pieces` consecutive groups by
/// repeated halving (the largest group first, the lowest among equals): two
/// halves, then their halves, and so on. Order is kept.
pub fn halves(branches: Vec<String>, pieces: usize) -> Vec<Vec<String>> {
    let mut groups = vec![branches];
    while groups.len() < pieces {
        let Some((at, _)) = groups
            .iter()
            .enumerate()
            .filter(|(_, g)| g.len() > 1)
            .max_by_key(|(i, g)| (g.len(), std::cmp::Reverse(*i)))
        else {
            break;
        };
        let mut low = groups.remove(at);
        let high = low.split_off(low.len() / 2);
        groups.insert(at, high);
        groups.insert(at, low);
    }
    groups
}
