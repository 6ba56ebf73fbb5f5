//! `stats --since`: reading only the window. The ledgers are sliced where
//! the window starts, found in their record indexes by binary search over
//! each position's latest record time ([`crate::ledger::index`]); what the
//! records before the cut left is read from the control ledger's snapshot
//! at the cut and from the earlier records of the branches requested in the
//! window ([`WindowStart`]), so the queue and control figures equal those
//! of the whole ledgers. The base branch is read back to the main that was
//! live when the window began, and notes and receipts per commit.

use std::collections::{BTreeSet, HashMap};

use crate::core::queue::{QueueAction, QueueRecord};
use crate::core::stats::{MainFacts, WindowStart, open_requests};
use crate::core::time::{UnixSeconds, parse_rfc3339};
use crate::git::{ObjectId, names};
use crate::ledger::index::Indexed;
use crate::ledger::{self, ControlLedger, QueueLedger};
use crate::session::Session;

/// The slices of both ledgers from the window's start, and what came before.
pub struct LedgerWindow {
    /// The queue records from the cut, in ledger order.
    pub queue: Vec<QueueRecord>,
    /// The control records from the cut, in ledger order.
    pub control: Vec<crate::core::control::ControlRecord>,
    /// What the records before the cuts left.
    pub start: WindowStart,
}

/// Slices both ledgers at `since`; None when a record index cannot be used
/// now (the caller reads the whole ledgers).
pub(super) fn ledger_window(
    session: &Session,
    reader: &super::Reader,
    since: UnixSeconds,
) -> anyhow::Result<Option<LedgerWindow>> {
    let (store, repo) = (&session.store, session.repo());
    let mut tell = |records: usize| eprintln!("{}", crate::messages::indexing_ledger(records));
    let queue_tip = store.tip(names::QUEUE)?;
    let Some(queue_index) = Indexed::<QueueLedger>::at_telling(repo, queue_tip, &mut tell)? else {
        return Ok(None);
    };
    let control_tip = store.tip(names::CONTROL)?;
    let Some(control_index) = Indexed::<ControlLedger>::at_telling(repo, control_tip, &mut tell)?
    else {
        return Ok(None);
    };
    let queue_cut = queue_index.window_start(since);
    let queue = reader.records::<QueueLedger>(&queue_index.commits_from(queue_cut))?;
    let control_cut = control_index.window_start(since);
    let control = reader.records::<ControlLedger>(&control_index.commits_from(control_cut))?;
    let before_control = control_cut
        .checked_sub(1)
        .and_then(|p| control_index.commit_at(p));
    let control_state = ledger::read_state::<ControlLedger>(repo, before_control)?.state;
    let open = open_before(&queue_index, &queue, queue_cut)?;
    Ok(Some(LedgerWindow {
        queue,
        control,
        start: WindowStart {
            open_requests: open,
            control_state,
        },
    }))
}

/// The requests open before the cut of the branches requested in the
/// slice: each from that branch's own earlier records.
fn open_before(
    index: &Indexed<QueueLedger>,
    slice: &[QueueRecord],
    cut: u64,
) -> anyhow::Result<HashMap<String, String>> {
    let branches: BTreeSet<String> = slice
        .iter()
        .filter(|r| r.action == QueueAction::Request)
        .map(|r| crate::core::story::branch_key(&r.branch))
        .collect();
    let keys: Vec<&str> = branches.iter().map(String::as_str).collect();
    let mut open = HashMap::new();
    for (key, records) in index.filed_before(&keys, cut)? {
        // Candidates holding the branch are filed under it too; only the
        // branch's own records open and close its requests.
        let own: Vec<QueueRecord> = records
            .into_iter()
            .filter(|r| crate::core::story::branch_key(&r.branch) == key)
            .collect();
        open.extend(open_requests(&own));
    }
    Ok(open)
}

/// The mains of the window, oldest first: the first-parent line back to the
/// newest main committed before `since` (the one live when the window
/// began), with their CI and deploy notes.
pub(super) fn window_mains(
    session: &Session,
    reader: &super::Reader,
    tip: Option<ObjectId>,
    since: UnixSeconds,
) -> anyhow::Result<Vec<MainFacts>> {
    let mut mains = Vec::new();
    let mut cursor = tip;
    while let Some(commit) = cursor {
        mains.push(commit);
        if reader.commit_time(commit).is_some_and(|t| t < since) {
            break;
        }
        cursor = reader.commit(commit)?.1;
    }
    mains.reverse();
    super::mains_with_notes(reader, session, &mains)
}

/// Receipts of the merges in `queue` (merge sha → the earliest time a
/// receipt on its head gives it), read on each merged head.
pub(super) fn window_receipts(
    reader: &super::Reader,
    receipts_tip: Option<ObjectId>,
    queue: &[QueueRecord],
) -> anyhow::Result<HashMap<String, UnixSeconds>> {
    let mut receipts: HashMap<String, UnixSeconds> = HashMap::new();
    let Some(tip) = receipts_tip else {
        return Ok(receipts);
    };
    let root = reader.commit(tip)?.0;
    let heads: BTreeSet<&str> = queue
        .iter()
        .filter(|r| r.action == QueueAction::Merged)
        .filter_map(|r| r.head_sha.as_deref())
        .collect();
    for head in heads {
        let Some(oid) = crate::git::parse_oid(head) else {
            continue;
        };
        for blob in reader.note_blobs(root, &oid)? {
            let text = String::from_utf8_lossy(&reader.blob(blob)?).into_owned();
            for receipt in crate::core::story::receipts_on(&text, Some(head)) {
                if let Some(at) = parse_rfc3339(&receipt.verified_at) {
                    let slot = receipts.entry(receipt.merge_sha).or_insert(at);
                    *slot = (*slot).min(at);
                }
            }
        }
    }
    Ok(receipts)
}
