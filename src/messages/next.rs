//! The next steps `status` suggests and the last word of `why`, rendered
//! from [`crate::core::next`].

use crate::core::next::{EntryNext, MergedNext, ReactWould, Step, Suggestion};

/// Who holds each role, for steps this clone may not run.
pub struct RoleHolders<'a> {
    /// `queue.coordinator_actors`.
    pub coordinators: &'a [String],
    /// `queue.trusted_actors` (coordinators may too).
    pub trusted: &'a [String],
}

/// One suggestion as a line: the command and why, or, when this clone may
/// not run it, who may.
pub fn next_step(s: &Suggestion, holders: &RoleHolders) -> String {
    let line = step_line(&s.step);
    if s.allowed {
        return line;
    }
    let who = match s.step.needs() {
        Some(crate::core::roles::Role::Coordinator) => {
            format!("a coordinator ({})", holders.coordinators.join(", "))
        }
        _ => {
            let mut all = holders.trusted.to_vec();
            all.extend(holders.coordinators.iter().cloned());
            format!("a trusted actor ({})", all.join(", "))
        }
    };
    format!("# {who} runs: {line}")
}

fn step_line(step: &Step) -> String {
    match step {
        Step::ClaimRepair => super::next_claim_repair(),
        Step::RequestRepair { branch } => super::next_request_repair(branch),
        Step::RepairWaits { branch, why } => super::next_repair_waits(branch, why),
        Step::Unpause { sha, control_id } => super::next_unpause(sha, control_id),
        Step::RebindPause { reason } => super::next_rebind_pause(reason),
        Step::Follow => super::next_follow_watermark(),
        Step::React(would) => {
            let what = match would {
                ReactWould::Merge(1) => "one entry is ready to merge".to_string(),
                ReactWould::Merge(n) => format!("{n} entries are ready to merge"),
                ReactWould::Build(_) => "builds candidates from the ready entries".to_string(),
                ReactWould::Land => "lands the candidate that passed".to_string(),
                ReactWould::Pause(reason) => {
                    format!("main failed: this records the pause `{reason}`")
                }
                ReactWould::Repair(branch) => format!("lands the elected repair `{branch}` first"),
            };
            format!("git deploybot react   # {what}")
        }
        Step::CiPending { entries } => {
            let (n, verb) = match entries {
                1 => ("1 entry".to_string(), "waits"),
                n => (format!("{n} entries"), "wait"),
            };
            format!(
                "git deploybot ci pending   # {n} {verb} for green checks on the exact head: what runners must test"
            )
        }
    }
}

/// What moves a queued entry, for `why`.
pub fn entry_next_text(next: &EntryNext) -> String {
    match next {
        EntryNext::NextPass { tested: false } => "the next `git deploybot react` merges it".into(),
        EntryNext::NextPass { tested: true } => {
            "the next `git deploybot react` builds a candidate with it".into()
        }
        EntryNext::AfterEarlierEntries => {
            "it merges after the entries ahead of it (a pass merges up to queue.max_batch_size)"
                .into()
        }
        EntryNext::Unpause => {
            "the pipeline is paused: it moves once the pause is resumed (see `git deploybot status`)"
                .into()
        }
        EntryNext::AfterRepair => {
            "a recovery lands its elected repair first; it merges after that".into()
        }
        EntryNext::Held(why) => format!("merging is held: {why}"),
        EntryNext::ReportChecks => "report the required checks green on that exact head".into(),
        EntryNext::Unblock => {
            "`git deploybot unblock` it (or push a new head and request it again)".into()
        }
        EntryNext::RequestNewHead => "request the new head with `git deploybot request`".into(),
        EntryNext::LandsWhenPassed => "it lands when its candidate passes CI".into(),
    }
}

/// What moves a merged entry's release, for `why`.
pub fn merged_next_text(next: MergedNext) -> &'static str {
    match next {
        MergedNext::Follow => "`git deploybot follow` takes it to verified",
        MergedNext::Unpause => {
            "the pipeline is paused: it is followed again once the pause is resumed (see `git deploybot status`)"
        }
        MergedNext::Repair => {
            "that main failed: its repair lands first, then the new main is followed (see `git deploybot status`)"
        }
    }
}
