//! Judging the base branch for one pass: the tip's release, the older mains
//! between the watermark and the tip, and where the watermark moves. Reads
//! only; `react` writes what it decides, `status` shows it.

use crate::core::judgement::{
    HistoryVerdict, OlderMain, judge_older_mains, may_seed_watermark, watermark_target,
};
use crate::core::release::{Release, ReleaseState};
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use crate::session::Session;
use anyhow::Result;
use serde::Serialize;

/// Most first-parent mains one pass judges below the tip. The walk stops at
/// the watermark, so this only bounds a missing watermark or one that is no
/// longer on the base branch (a rewritten main).
pub const MAX_JUDGED_MAINS: usize = 1000;

/// What one pass knows about the base branch.
#[derive(Debug, Clone, Serialize)]
pub struct BaseJudgement {
    /// The tip's release, from its notes (a first install reads as `verified` to `react`).
    pub release: Release,
    /// The older mains between the watermark and the tip.
    pub history: HistoryVerdict,
    /// Where `refs/deploybot/verified` points now.
    #[serde(skip)]
    pub watermark: Option<ObjectId>,
    /// Where it should point after this pass, when that differs.
    pub watermark_to: Option<String>,
    /// True when `watermark_to` is a first install (no evidence, nothing merged yet).
    pub seeded: bool,
    /// A recovery resumed a pause on the tip (it has a recovery note).
    pub tip_recovered: bool,
}

impl BaseJudgement {
    /// The tip's release as a pass acts on it: a first install is the baseline.
    pub fn acting_release(&self) -> Release {
        if !self.seeded {
            return self.release.clone();
        }
        Release {
            state: ReleaseState::Verified,
            why: crate::messages::first_install_why(),
            waiting_for: Vec::new(),
        }
    }

    /// The watermark as it will be once this pass's update lands.
    pub fn effective_watermark(&self) -> Option<ObjectId> {
        self.watermark_to
            .as_deref()
            .and_then(crate::git::parse_oid)
            .or(self.watermark)
    }
}

/// Judges `base` (the tip) and the mains below it down to the watermark.
/// `queue_has_merged`: the queue ledger holds a `merged` record.
pub fn judge_base(
    session: &Session,
    store: &Store,
    base: ObjectId,
    now: i64,
    queue_has_merged: bool,
) -> Result<BaseJudgement> {
    let policy = &session.policy;
    let watermark = store.tip(names::VERIFIED)?;
    let release = super::release::release_of(store, policy, &base, now)?;
    // Each notes ref is resolved once per pass, not once per judged main.
    let notes = NotesTips::read(store)?;
    let tip_recovered = notes.has_recovery(store, &base)?;
    let seeded = may_seed_watermark(
        watermark.is_some(),
        queue_has_merged,
        notes.has_results(store, &base)?,
    );
    let tip_state = if seeded {
        ReleaseState::Verified
    } else {
        release.state
    };
    let tip_closes = tip_recovered || tip_state == ReleaseState::Verified;
    let mut older = Vec::new();
    for sha in store
        .repo
        .first_parents_until(base, watermark, MAX_JUDGED_MAINS)?
    {
        if !notes.has_results(store, &sha)? {
            continue;
        }
        let judged = super::release::older_release_of(store, policy, &sha, now)?;
        older.push(OlderMain {
            sha: sha.to_string(),
            state: judged.state,
            why: judged.why,
            recovered: notes.has_recovery(store, &sha)?,
        });
    }
    let history = judge_older_mains(&older, tip_closes);
    let mut target = watermark_target(&base.to_string(), tip_state, &history)
        .and_then(|t| crate::git::parse_oid(&t))
        .filter(|t| Some(*t) != watermark);
    // Forward only: never off a watermark that a rewritten main left behind.
    if let (Some(old), Some(new)) = (watermark, target)
        && !store.repo.is_ancestor(old, new)?
    {
        target = None;
    }
    Ok(BaseJudgement {
        release,
        history,
        watermark,
        watermark_to: target.map(|t| t.to_string()),
        seeded,
        tip_recovered,
    })
}

/// The tips of the notes refs one judgement reads, resolved once.
struct NotesTips {
    ci: Option<ObjectId>,
    deploy: Option<ObjectId>,
    recovery: Option<ObjectId>,
}

impl NotesTips {
    fn read(store: &Store) -> Result<NotesTips> {
        Ok(NotesTips {
            ci: store.tip(names::NOTES_CI)?,
            deploy: store.tip(names::NOTES_DEPLOY)?,
            recovery: store.tip(names::NOTES_RECOVERY)?,
        })
    }

    /// True when `sha` has a CI or a deploy result record.
    fn has_results(&self, store: &Store, sha: &ObjectId) -> Result<bool> {
        for tip in [self.ci, self.deploy] {
            let text = store.repo.read_note(tip, sha)?;
            if !crate::core::results::parse_note(&text).records.is_empty() {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// True when a recovery resumed a pause on `sha` (it has a recovery note).
    fn has_recovery(&self, store: &Store, sha: &ObjectId) -> Result<bool> {
        let text = store.repo.read_note(self.recovery, sha)?;
        Ok(!text.trim().is_empty())
    }
}
