//! Step 1 of a pass: read everything it decides on, once, into one plain
//! value ([`PassInputs`]): the control and queue ledgers, the base tip and
//! its judged history, the entries, the live candidates and their CI.

use crate::core::control::ControlState;
use crate::core::pass::{PassFacts, PassPolicy};
use crate::core::queue::{EntryView, QueueState};
use crate::core::release::Release;
use crate::core::train::depth::SpeculationDepth;
use crate::core::train::{Candidate, CandidateCi};
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use crate::ledger::Folded;
use crate::ops::judgement::{BaseJudgement, judge_base};
use crate::session::Session;

/// Everything one pass decides on.
pub struct PassInputs {
    /// The control ledger, folded (the executor appends to it).
    pub control: Folded<ControlState>,
    /// The base tip.
    pub base: ObjectId,
    /// Its hex.
    pub base_hex: String,
    /// The queue ledger, folded.
    pub queue: Folded<QueueState>,
    /// The tip, its history and the watermark.
    pub judgement: BaseJudgement,
    /// The tip's release as the pass acts on it.
    pub release: Release,
    /// Queue entries, FIFO, as merge mode judges them.
    pub views: Vec<EntryView>,
    /// The live candidates with their CI, bottom first.
    pub train: Vec<(Candidate, CandidateCi)>,
    /// Tested landing with auto depth: live probes and their CI.
    pub probes: Vec<(Candidate, CandidateCi)>,
    /// The current controller pause is superseded by the verified main.
    pub superseded: bool,
    /// The repair lease branch of the tip.
    pub repair_branch: String,
    /// The watermark now, and where this pass moves it (hex).
    watermark: Option<String>,
    watermark_to: Option<String>,
}

/// Reads a pass's inputs from `store` as of its last refresh.
pub fn read_pass(session: &Session, store: &Store) -> anyhow::Result<PassInputs> {
    let policy = &session.policy;
    let control = crate::ops::control::read_control(store)?;
    let base = session.require_base_sha()?;
    let base_hex = base.to_string();
    let queue = crate::ops::queue::read_queue(store)?;
    let now = crate::ops::now_seconds();
    let judgement = judge_base(session, store, base, now, !queue.state.merged.is_empty())?;
    let release = judgement.acting_release();
    let superseded = supersedes(store, &control.state, base, judgement.effective_watermark())?;
    let views = crate::ops::queue::entry_views(store, policy, &queue.state)?;
    // Live candidates (none in merge mode unless the mode just changed):
    // `status` shows them, tested landing plans with them.
    let train = crate::ops::train::live_candidates(session, store, &queue.state.candidates)?;
    let probes = crate::ops::train::live_candidates(session, store, &queue.state.probes)?;
    let repair_branch = names::repair_branch(&policy.pipeline.repair_branch_prefix, &base_hex);
    Ok(PassInputs {
        watermark: judgement.watermark.map(|w| w.to_string()),
        watermark_to: judgement.watermark_to.clone(),
        control,
        base,
        base_hex,
        queue,
        judgement,
        release,
        views,
        train,
        probes,
        superseded,
        repair_branch,
    })
}

impl PassInputs {
    /// The facts the pure planner decides on.
    pub fn facts<'a>(
        &'a self,
        session: &'a Session,
        probe: Option<(usize, usize)>,
        dispatch_ci: bool,
    ) -> PassFacts<'a> {
        let q = &session.policy.queue;
        PassFacts {
            control: &self.control.state,
            base_sha: &self.base_hex,
            release: self.release.state,
            history: &self.judgement.history,
            watermark: self.watermark.as_deref(),
            watermark_to: self.watermark_to.as_deref(),
            seeded: self.judgement.seeded,
            superseded: self.superseded,
            entries: &self.views,
            train: &self.train,
            probes: &self.probes,
            failures: &self.queue.state.failures,
            suspects: &self.queue.state.suspects,
            cleared: &self.queue.state.cleared,
            policy: PassPolicy {
                admission: session.policy.pipeline.release_admission,
                pause_on_failure: session.policy.pipeline.pause_on_failure,
                landing: q.landing,
                max_batch: q.max_batch_size,
                depth: match q.speculation_depth {
                    SpeculationDepth::Fixed(n) => n,
                    SpeculationDepth::Auto => q.max_parallel_ci,
                },
                auto_budget: (q.speculation_depth == SpeculationDepth::Auto)
                    .then_some(q.max_parallel_ci),
                max_retries: q.max_retries,
                repair_branch: &self.repair_branch,
            },
            probe,
            dispatch_ci,
        }
    }
}

/// True when the controller pause in `control` is for an older main P that
/// the watermark W (as this pass leaves it) contains, with W in the tip's
/// history (DESIGN.md: a newer verified main supersedes it).
fn supersedes(
    store: &Store,
    control: &ControlState,
    base: ObjectId,
    watermark: Option<ObjectId>,
) -> anyhow::Result<bool> {
    let Some(paused_sha) = control.controller_pause_sha() else {
        return Ok(false);
    };
    let (Some(paused), Some(verified)) = (crate::git::parse_oid(paused_sha), watermark) else {
        return Ok(false);
    };
    Ok(paused != verified
        && store.repo.is_ancestor(paused, verified)?
        && store.repo.is_ancestor(verified, base)?)
}
