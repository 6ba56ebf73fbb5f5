//! The judgement of the base branch beyond its tip, as pure functions
//! (DESIGN.md, "Release judgement: clarifications"): when the verified
//! watermark may be seeded, where it moves, and which older main's failure
//! a pass must pause for.
//!
//! Under `merged` admission main moves ahead of its deploys, so a deploy of
//! an older main can fail after newer mains landed. A pass therefore judges
//! the first-parent mains between the watermark (exclusive) and the tip
//! (exclusive) that have results:
//!
//! - the newest `verified` one becomes the watermark;
//! - a main with a recovery note was resumed by an operator: it is never
//!   judged again;
//! - either closes the history below it: older failures are superseded;
//! - the newest failure above that is the one the pass pauses for.

use serde::Serialize;

use crate::core::release::ReleaseState;

/// One first-parent base commit strictly between the watermark and the tip.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OlderMain {
    /// Its full sha.
    pub sha: String,
    /// Its release state.
    pub state: ReleaseState,
    /// The release's one-line explanation.
    pub why: String,
    /// A recovery resumed a pause on it (it has a note in `refs/notes/deploybot/recovery`).
    pub recovered: bool,
}

/// A main named in a verdict, with why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct JudgedMain {
    /// Its full sha.
    pub sha: String,
    /// Its release state.
    pub state: ReleaseState,
    /// The release's one-line explanation.
    pub why: String,
}

impl From<&OlderMain> for JudgedMain {
    fn from(main: &OlderMain) -> Self {
        JudgedMain {
            sha: main.sha.clone(),
            state: main.state,
            why: main.why.clone(),
        }
    }
}

/// What the older mains say (rendered by `status` and `react`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct HistoryVerdict {
    /// How many older mains with results were judged.
    pub judged: usize,
    /// The newest verified older main: the watermark moves there unless the tip itself is verified.
    pub verified: Option<JudgedMain>,
    /// The newest failed older main above every verified or recovered one: the pass pauses for it.
    pub failure: Option<JudgedMain>,
    /// Failed older mains below a verified or recovered one: superseded, never paused for.
    pub superseded: Vec<JudgedMain>,
    /// The newest recovered older main, if any (never judged again).
    pub recovered: Option<String>,
}

/// Judges the older mains, newest first. `tip_closes` is true when the tip
/// itself closes the history (it is verified, or a recovery resumed it):
/// then every older failure is superseded.
pub fn judge_older_mains(newest_first: &[OlderMain], tip_closes: bool) -> HistoryVerdict {
    let mut verdict = HistoryVerdict {
        judged: newest_first.len(),
        ..HistoryVerdict::default()
    };
    let mut closed = tip_closes;
    for main in newest_first {
        if main.recovered {
            verdict.recovered.get_or_insert_with(|| main.sha.clone());
            closed = true;
            continue;
        }
        if main.state == ReleaseState::Verified {
            if verdict.verified.is_none() {
                verdict.verified = Some(main.into());
            }
            closed = true;
            continue;
        }
        if !main.state.is_failed() {
            continue;
        }
        if closed {
            verdict.superseded.push(main.into());
        } else if verdict.failure.is_none() {
            verdict.failure = Some(main.into());
        }
    }
    verdict
}

/// Where the watermark should point after this pass: the tip when it is
/// verified, else the newest verified older main; `None` leaves it.
pub fn watermark_target(
    tip: &str,
    tip_state: ReleaseState,
    verdict: &HistoryVerdict,
) -> Option<String> {
    if tip_state == ReleaseState::Verified {
        return Some(tip.to_owned());
    }
    verdict.verified.as_ref().map(|v| v.sha.clone())
}

/// First install: the watermark may be seeded on the tip without evidence
/// only when there is no watermark, the queue never merged anything (a merge
/// the queue made must be tested, never assumed), and the tip has no CI or
/// deploy result at all.
pub fn may_seed_watermark(
    watermark_exists: bool,
    queue_has_merged: bool,
    tip_has_results: bool,
) -> bool {
    !watermark_exists && !queue_has_merged && !tip_has_results
}

#[cfg(test)]
mod tests;
