//! Sentences of `why` (an entry's story) and of receipts.

use super::short;

/// Progress while `why` indexes a ledger's records for the first time.
pub fn indexing_ledger(records: usize) -> String {
    format!("indexing {records} ledger records (once per clone; later reads use the index)…")
}

/// `why` for a branch the queue ledger never saw requested.
pub fn why_never_requested(branch: &str) -> String {
    format!(
        "branch `{branch}` was never requested; ask for it with `git deploybot request {branch}`"
    )
}

/// A request: its head and who asked.
pub fn story_requested(head: &str, actor: &str) -> String {
    format!("requested {} by {actor}", short(head))
}

/// A cancel by the requester.
pub fn story_cancelled(actor: &str) -> String {
    format!("cancelled by {actor}")
}

/// A dequeue by the coordinator, with its reason.
pub fn story_dequeued(actor: &str, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("dequeued by {actor}: {reason}"),
        None => format!("dequeued by {actor}"),
    }
}

/// A block with its reason.
pub fn story_blocked(actor: &str, reason: &str) -> String {
    format!("blocked by {actor}: {reason}")
}

/// An unblock.
pub fn story_unblocked(actor: &str) -> String {
    format!("unblocked by {actor}")
}

/// A candidate holding the branch (tested landing).
pub fn story_candidate(id: &str, branches: &[String]) -> String {
    format!("in candidate {id} ({})", branches.join(", "))
}

/// A candidate that held the branch left the train.
pub fn story_discarded(id: &str, reason: Option<&str>) -> String {
    match reason {
        Some(reason) => format!("candidate {id} discarded: {reason}"),
        None => format!("candidate {id} discarded"),
    }
}

/// The merge.
pub fn story_merged(head: &str, merge: &str, candidate: Option<&str>) -> String {
    match candidate {
        Some(id) => format!(
            "merged {} as {} (landed with candidate {id})",
            short(head),
            short(merge)
        ),
        None => format!("merged {} as {}", short(head), short(merge)),
    }
}

/// A result reported on the main the merge landed in.
pub fn story_result(check: &str, status: &str, main: &str, url: Option<&str>) -> String {
    match url {
        Some(url) => format!("{check} {status} on main {} ({url})", short(main)),
        None => format!("{check} {status} on main {}", short(main)),
    }
}

/// The watermark reached a main containing the merge.
pub fn story_verified(main: &str) -> String {
    format!(
        "verified: refs/deploybot/verified contains main {}",
        short(main)
    )
}

/// A pause bound to the main the merge landed in.
pub fn story_paused(reason: &str, actor: &str) -> String {
    format!("pipeline paused by {actor}: {reason}")
}

/// A recovery that resumed a pause bound to that main.
pub fn story_resumed(reason: Option<&str>, actor: &str) -> String {
    match reason {
        Some(reason) => format!("pipeline resumed by {actor} (recovering from {reason})"),
        None => format!("pipeline resumed by {actor}"),
    }
}

/// The last line: merged and verified.
pub fn why_verified(merge: &str) -> String {
    format!(
        "merged as {} and verified; nothing left to do",
        short(merge)
    )
}

/// The last line: merged, its release still on the way, and what moves it.
pub fn why_merged(merge: &str, main: &str, release: &str, release_why: &str, next: &str) -> String {
    format!(
        "merged as {}; main {} is {release} ({release_why}); {next}",
        short(merge),
        short(main)
    )
}

/// The last line: out of the queue without a merge.
pub fn why_left_queue(branch: &str, what: &str) -> String {
    format!("{what}; ask again with `git deploybot request {branch}`")
}

/// The last line while queued: the entry's own why and the next step.
pub fn why_queued(entry_why: &str, next: &str) -> String {
    format!("{entry_why}; {next}")
}

/// The commit subject of a receipt note.
pub fn receipt_subject(branch: &str, head: &str, verified: &str) -> String {
    format!(
        "receipt: {branch} at {} verified in {}",
        short(head),
        short(verified)
    )
}

/// The tail of a failed run's log, indented under its label, for people.
pub fn log_tail_block(tail: &str) -> String {
    let mut out = String::from(
        "  log (all of it: `git fetch origin refs/notes/deploybot/logs:refs/notes/deploybot/logs`, then `git notes --ref=deploybot/logs show <sha>`):\n",
    );
    for line in tail.lines() {
        out.push_str(&format!("    {}\n", crate::core::json::printable(line)));
    }
    out
}
