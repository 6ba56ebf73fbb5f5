//! `why BRANCH`: an entry's whole story, read from the queue ledger's
//! history, the notes on the main it landed in, the control ledger and the
//! watermark. It reads the records filed under the branch in the ledgers'
//! record indexes ([`crate::ledger::index`]), not the whole ledgers.

use crate::core::control::ControlRecord;
use crate::core::next;
use crate::core::queue::{QueueAction, QueueRecord, validate_branch_name};
use crate::core::results::ResultStatus;
use crate::core::story::{self, ReleaseFacts, StoryEvent};
use crate::error::{CliError, CliResult};
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use crate::ledger::index::Indexed;
use crate::ledger::{self, ControlLedger, LedgerKind, QueueLedger};
use crate::messages;
use crate::session::Session;
use serde::Serialize;

/// How many `merged` records after an entry's own may be the main it landed in.
const LANDING_LOOKAHEAD: usize = 50;

/// `why --json` (DESIGN "Insight").
#[derive(Debug, Clone, Serialize)]
pub struct WhyReport {
    /// The branch.
    pub branch: String,
    /// Its story, oldest first.
    pub events: Vec<StoryEvent>,
    /// Where it stands now: an entry state (`queued`, `waiting-checks`,
    /// `blocked`, `stale`, `testing`) or `merged`, `verified`, `cancelled`, `dequeued`.
    pub state: String,
    /// One line: why it stands there and what would move it.
    pub why: String,
    /// When the main it landed in failed: the last lines of the failing
    /// run's log (`refs/notes/deploybot/logs`), when a runner logged it;
    /// absent otherwise (the pinned fields stay the whole object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_tail: Option<String>,
}

/// Reads the story of `branch`; a branch never requested is bad input.
pub fn why(session: &Session, branch: &str) -> CliResult<WhyReport> {
    validate_branch_name(branch)
        .map_err(|why| CliError::usage(messages::bad_branch(branch, &why)))?;
    let store = &session.store;
    let ledgers = Ledgers::read(store)?;
    let (positions, records): (Vec<u64>, Vec<QueueRecord>) =
        ledgers.concerning(branch)?.into_iter().unzip();
    if story::first_request(&records, branch).is_none() {
        return Err(CliError::usage(messages::why_never_requested(branch)));
    }
    let watermark = store.tip(names::VERIFIED)?;
    let mut releases = Vec::new();
    for i in story::merges(&records, branch) {
        let landing = ledgers.landing(positions[i])?;
        releases.push(release_facts(
            store,
            &ledgers,
            &records[i],
            landing,
            watermark,
        )?);
    }
    let events = story::story(&records, branch, &releases).expect("requested (checked above)");
    let (state, why, log_tail) = standing(session, branch, &records, &releases)?;
    Ok(WhyReport {
        branch: branch.to_string(),
        events,
        state,
        why,
        log_tail,
    })
}

/// Where `why` reads the ledgers from: their record indexes (only the
/// records a story needs), or the whole ledgers when an index cannot be
/// used now. Both give the same records; the story re-checks each.
enum Ledgers<'r> {
    Indexed {
        queue: Box<Indexed<'r, QueueLedger>>,
        control: Box<Indexed<'r, ControlLedger>>,
    },
    Whole {
        queue: Vec<QueueRecord>,
        control: Vec<ControlRecord>,
    },
}

impl<'r> Ledgers<'r> {
    fn read(store: &'r Store) -> anyhow::Result<Ledgers<'r>> {
        let repo = &store.repo;
        let (queue_tip, control_tip) = (store.tip(names::QUEUE)?, store.tip(names::CONTROL)?);
        let mut tell = |records: usize| eprintln!("{}", messages::indexing_ledger(records));
        if let Some(queue) = Indexed::<QueueLedger>::at_telling(repo, queue_tip, &mut tell)?
            && let Some(control) =
                Indexed::<ControlLedger>::at_telling(repo, control_tip, &mut tell)?
        {
            let (queue, control) = (Box::new(queue), Box::new(control));
            return Ok(Ledgers::Indexed { queue, control });
        }
        Ok(Ledgers::Whole {
            queue: readable::<QueueLedger>(repo, queue_tip)?,
            control: readable::<ControlLedger>(repo, control_tip)?,
        })
    }

    /// The records that may concern `branch` (a superset; [`story`] picks),
    /// with their ledger positions, in ledger order.
    fn concerning(&self, branch: &str) -> anyhow::Result<Vec<(u64, QueueRecord)>> {
        let queue = match self {
            Ledgers::Whole { queue, .. } => {
                return Ok((0..).zip(queue.iter().cloned()).collect());
            }
            Ledgers::Indexed { queue, .. } => queue,
        };
        let mut found = queue.filed_under(&story::branch_key(branch))?;
        let candidates: Vec<String> = found
            .iter()
            .filter(|(_, r)| r.action == QueueAction::Candidate)
            .filter_map(|(_, r)| r.candidate_id.clone())
            .collect();
        for id in candidates {
            found.extend(queue.filed_under(&story::candidate_key(&id))?);
        }
        found.sort_by_key(|(position, _)| *position);
        found.dedup_by_key(|(position, _)| *position);
        Ok(found)
    }

    /// The merge shas the `merged` record at `position` may have landed in
    /// ([`story::landing_shas`]).
    fn landing(&self, position: u64) -> anyhow::Result<Vec<String>> {
        let queue = match self {
            Ledgers::Whole { queue, .. } => {
                return Ok(story::landing_shas(
                    queue,
                    position as usize,
                    LANDING_LOOKAHEAD,
                ));
            }
            Ledgers::Indexed { queue, .. } => queue,
        };
        let mut following = Vec::new();
        for next in position..position + LANDING_LOOKAHEAD as u64 {
            match queue.record_at(next)? {
                Some(record) if record.action == QueueAction::Merged => following.push(record),
                _ => break,
            }
        }
        Ok(story::landing_shas(&following, 0, LANDING_LOOKAHEAD))
    }

    /// The control records bound to `main` ([`story::bound_to`]).
    fn bound_to(&self, main: &str) -> anyhow::Result<Vec<ControlRecord>> {
        let records: Vec<ControlRecord> = match self {
            Ledgers::Whole { control, .. } => control
                .iter()
                .filter(|c| story::bound_to(c, main))
                .cloned()
                .collect(),
            Ledgers::Indexed { control, .. } => control
                .filed_under(&story::main_key(main))?
                .into_iter()
                .map(|(_, record)| record)
                .collect(),
        };
        Ok(records
            .into_iter()
            .filter(|c| story::bound_to(c, main))
            .collect())
    }
}

/// Every readable record of ledger `K` at `tip`, oldest first.
fn readable<K: LedgerKind>(
    repo: &crate::git::Repo,
    tip: Option<ObjectId>,
) -> anyhow::Result<Vec<K::Record>> {
    Ok(ledger::list_records::<K>(repo, tip)?
        .into_iter()
        .filter_map(|(_, record)| record.ok())
        .collect())
}

/// What is known of the release of the `merged` `record`, which may have
/// landed in any of `landing`.
fn release_facts(
    store: &Store,
    ledgers: &Ledgers,
    record: &QueueRecord,
    landing: Vec<String>,
    watermark: Option<ObjectId>,
) -> anyhow::Result<ReleaseFacts> {
    let merge_hex = record.merge_sha.clone().unwrap_or_default();
    let mut main_hex = landing.last().cloned().unwrap_or_else(|| merge_hex.clone());
    let mut ci = Vec::new();
    for candidate in &landing {
        let Some(oid) = crate::git::parse_oid(candidate) else {
            continue;
        };
        let found = super::release::read_results(store, names::NOTES_CI, &oid)?.0;
        if !found.is_empty() {
            main_hex = candidate.clone();
            ci = found;
            break;
        }
    }
    let deploy = match crate::git::parse_oid(&main_hex) {
        Some(main) => super::release::read_results(store, names::NOTES_DEPLOY, &main)?.0,
        None => Vec::new(),
    };
    let verified = match (crate::git::parse_oid(&merge_hex), watermark) {
        (Some(merge), Some(mark)) if store.repo.has_object(merge) => {
            store.repo.is_ancestor(merge, mark)?
        }
        _ => false,
    };
    let mut verified_at = None;
    if verified {
        if let Some(head) = record.head_sha.as_deref().and_then(crate::git::parse_oid) {
            let text = store
                .repo
                .read_note(store.tip(names::NOTES_RECEIPTS)?, &head)?;
            verified_at = story::receipts_on(&text, Some(&head.to_string()))
                .into_iter()
                .find(|r| r.merge_sha == merge_hex)
                .map(|r| r.verified_at);
        }
        if verified_at.is_none() {
            verified_at = deploy
                .iter()
                .filter(|r| r.status == ResultStatus::Success)
                .map(|r| r.at.clone())
                .max_by_key(|at| crate::core::time::parse_rfc3339(at).unwrap_or(0));
        }
    }
    Ok(ReleaseFacts {
        merge_sha: merge_hex,
        control: ledgers.bound_to(&main_hex)?,
        main_sha: main_hex,
        ci,
        deploy,
        verified,
        verified_at,
    })
}

/// Where the branch stands now, and the line saying why and what moves it.
fn standing(
    session: &Session,
    branch: &str,
    records: &[QueueRecord],
    releases: &[ReleaseFacts],
) -> CliResult<(String, String, Option<String>)> {
    let store = &session.store;
    // What status shows and what react would do: the same facts, so the
    // last word never suggests what the state does not allow.
    let status = super::status::gather(session)?;
    let situation = super::status::situation(&status);
    if let Some(view) = status.queue.iter().find(|v| v.branch == branch) {
        let next = messages::entry_next_text(&next::entry_next(&situation, view));
        return Ok((
            view.state.as_str().to_string(),
            messages::why_queued(&view.why, &next),
            None,
        ));
    }
    let last = records.iter().rev().find(|r| {
        r.branch == branch
            && matches!(
                r.action,
                QueueAction::Merged | QueueAction::Cancel | QueueAction::Dequeue
            )
    });
    let Some(last) = last else {
        return Ok((
            "not-queued".to_string(),
            messages::why_left_queue(branch, "not in the queue"),
            None,
        ));
    };
    match last.action {
        QueueAction::Merged => {
            let merge = last.merge_sha.as_deref().unwrap_or("");
            let facts = releases.iter().rev().find(|f| f.merge_sha == merge);
            if facts.is_some_and(|f| f.verified) {
                return Ok(("verified".to_string(), messages::why_verified(merge), None));
            }
            let main = facts.map(|f| f.main_sha.as_str()).unwrap_or(merge);
            let mut log_tail = None;
            let why = match crate::git::parse_oid(main) {
                Some(oid) => {
                    let (policy, now) = (&session.policy, super::now_seconds());
                    let release = if status.main.sha.as_deref() == Some(main) {
                        super::release::release_of(store, policy, &oid, now)?
                    } else {
                        super::release::older_release_of(store, policy, &oid, now)?
                    };
                    let next =
                        messages::merged_next_text(next::merged_next(&situation, release.state));
                    log_tail = super::logs::failing_tail(session, store, oid, release.state)?;
                    messages::why_merged(merge, main, release.state.as_str(), &release.why, next)
                }
                None => messages::why_verified(merge),
            };
            Ok(("merged".to_string(), why, log_tail))
        }
        QueueAction::Cancel => Ok((
            "cancelled".to_string(),
            messages::why_left_queue(branch, &messages::story_cancelled(&last.actor)),
            None,
        )),
        _ => Ok((
            "dequeued".to_string(),
            messages::why_left_queue(
                branch,
                &messages::story_dequeued(&last.actor, last.reason.as_deref()),
            ),
            None,
        )),
    }
}
