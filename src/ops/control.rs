//! Pausing and unpausing: appending control records with compare-and-swap.

use crate::core::control::{
    CONTROL_SCHEMA, ControlMode, ControlRecord, ControlState, FoldStep, classify,
};
use crate::error::{CliError, CliResult};
use crate::git::refs::RefUpdate;
use crate::git::store::{Attempt, Store};
use crate::git::{ObjectId, names};
use crate::ledger::{self, ControlLedger};
use crate::messages;
use crate::session::Session;
use serde::Serialize;

/// What a pause did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "outcome", rename_all = "kebab-case")]
pub enum PauseOutcome {
    /// The pause record was appended and is now the state.
    Paused {
        /// The new record's id.
        control_id: String,
        /// The base sha it is bound to.
        main_sha: String,
        /// Its reason.
        reason: String,
    },
    /// The same pause is already in force; nothing written.
    AlreadyPaused {
        /// The current pause.
        control_id: String,
    },
    /// The fold would ignore it (it restates the recovered failure); nothing written.
    Ignored {
        /// The recovered sha.
        main_sha: String,
    },
}

/// A new pause record bound to `main_sha`.
pub fn pause_record(session: &Session, main_sha: &str, reason: &str) -> ControlRecord {
    ControlRecord {
        schema: CONTROL_SCHEMA,
        control_id: super::new_record_id(),
        state: ControlMode::Paused,
        reason: reason.to_string(),
        main_sha: Some(main_sha.to_string()),
        requires_control_id: None,
        resumes_control_id: None,
        recovered_main_sha: None,
        recovered_reason: None,
        recovered_state: None,
        signers_blob: None,
        actor: session.actor.clone(),
        at: super::now_rfc3339(),
        extra: Default::default(),
    }
}

/// Checks a reason given on the command line.
pub fn validate_reason(reason: &str) -> CliResult<()> {
    if reason.trim().is_empty() {
        return Err(CliError::usage(messages::bad_reason("is empty")));
    }
    if reason.len() > crate::core::control::MAX_REASON_BYTES {
        return Err(CliError::usage(messages::bad_reason(
            "is longer than 4096 bytes",
        )));
    }
    if reason.chars().any(char::is_control) {
        return Err(CliError::usage(messages::bad_reason(
            "contains control characters",
        )));
    }
    Ok(())
}

/// Appends a pause unless it repeats the current pause or the fold would ignore it.
/// Retries on contention from fresh state; each attempt re-decides.
pub fn pause(session: &Session, reason: &str, sha: Option<ObjectId>) -> CliResult<PauseOutcome> {
    validate_reason(reason)?;
    let mut outcome = pause_once(session, reason, sha)?;
    // The base lease is checked against what the server advertised when the
    // push connected: a merge landing inside that window leaves the pause bound
    // to an older main, which `unpause` could never resume. Rebind (bounded).
    for _ in 0..3 {
        let PauseOutcome::Paused {
            control_id,
            main_sha,
            ..
        } = &outcome
        else {
            break;
        };
        if sha.is_some() {
            break;
        }
        session.store.refresh()?;
        let base = session.base_sha()?.map(|b| b.to_string());
        let ours = read_control(&session.store)?.state.control_id.as_deref() == Some(control_id);
        if base.as_deref() == Some(main_sha.as_str()) || !ours {
            break;
        }
        outcome = pause_once(session, reason, None)?;
    }
    Ok(outcome)
}

/// One pause attempt bound to `sha` or the current base tip.
fn pause_once(session: &Session, reason: &str, sha: Option<ObjectId>) -> CliResult<PauseOutcome> {
    let base_ref = session.base_ref();
    let outcome = session.store.transact("deploybot: pause", |store| {
        // Bound to the base tip as of this attempt; the push leases it, so a
        // merge landing meanwhile makes the attempt stale and it rebinds.
        let (bound, base_lease) = match sha {
            Some(sha) => (sha, None),
            None => {
                let base = store.tip(&base_ref)?.ok_or_else(|| {
                    CliError::usage(messages::no_base_branch(&session.policy.queue.base_branch))
                })?;
                (base, Some(RefUpdate::verify(&base_ref, base)))
            }
        };
        let main_sha = bound.to_string();
        let current = read_control(store)?;
        let record = pause_record(session, &main_sha, reason);
        let state = &current.state;
        if state.is_paused()
            && state.requires_control_id.is_none()
            && state.main_sha.as_deref() == Some(main_sha.as_str())
            && state.reason.as_deref() == Some(reason)
        {
            let control_id = state.control_id.clone().unwrap_or_default();
            return Ok(Attempt::Done(PauseOutcome::AlreadyPaused { control_id }));
        }
        if classify(state, &record) != FoldStep::Applied {
            return Ok(Attempt::Done(PauseOutcome::Ignored {
                main_sha: main_sha.clone(),
            }));
        }
        let update = append_update(store, &current, &record, session)?;
        Ok(Attempt::Write(
            std::iter::once(update).chain(base_lease.clone()).collect(),
            PauseOutcome::Paused {
                control_id: record.control_id.clone(),
                main_sha: main_sha.clone(),
                reason: reason.to_string(),
            },
        ))
    })?;
    Ok(outcome)
}

/// The control ledger folded at its current tip in `store` (with signed
/// controls, only records signed by an allowed key count).
pub fn read_control(store: &Store) -> anyhow::Result<ledger::Folded<ControlState>> {
    let signed = signed_controls_of(store)?;
    let check = signed.as_ref().map(|s| s as &dyn ledger::CommitCheck);
    ledger::read_state_checked::<ControlLedger>(&store.repo, store.tip(names::CONTROL)?, check)
}

/// Signed controls (`[control] signed = true`): a control commit counts only
/// when it carries a good signature by a key that the allowed-signers file
/// lists for its actor. A record is judged once, as it was written (issue
/// 19): against the allowed-signers file it names (`signers_blob`, which the
/// server requires to be the base tip's when it is pushed) and at the time
/// it says it was written (`at`, which the server bounds by its clock); so a
/// key that expires or is removed later changes nothing it decided. A record
/// that names no file (an older writer) is judged against the current one.
pub struct SignedControls {
    allowed_signers: String,
    /// The blob id of the current file (None: no file).
    blob: Option<ObjectId>,
}

impl SignedControls {
    /// The check in force at `base_tip` under `policy`, or None when unsigned.
    pub fn at(
        repo: &crate::git::Repo,
        policy: &crate::core::policy::Policy,
        base_tip: Option<ObjectId>,
    ) -> anyhow::Result<Option<SignedControls>> {
        if !policy.control.signed {
            return Ok(None);
        }
        let blob = match base_tip {
            Some(tip) => {
                let tree = repo.find_commit_info(tip)?.tree;
                repo.try_find_path_id(tree, &policy.control.allowed_signers)?
            }
            None => None,
        };
        let text = match blob {
            Some(blob) => repo.find_blob(blob)?,
            None => Vec::new(),
        };
        let allowed_signers = String::from_utf8_lossy(&text).into_owned();
        Ok(Some(SignedControls {
            allowed_signers,
            blob,
        }))
    }

    /// The blob id new records name (`signers_blob`).
    pub fn blob(&self) -> Option<ObjectId> {
        self.blob
    }

    fn verify(
        repo: &crate::git::Repo,
        commit: ObjectId,
        allowed: &str,
        facts: &ledger::SignedFacts,
        at: Option<i64>,
    ) -> anyhow::Result<Result<(), String>> {
        if allowed.trim().is_empty() {
            return Ok(Err(
                "control.signed is on but the allowed-signers file is missing or empty".to_owned(),
            ));
        }
        repo.verify_commit_signature(commit, allowed, facts.actor, at)
    }
}

impl ledger::CommitCheck for SignedControls {
    fn cache_key(&self) -> String {
        let hash = crate::core::hash::fnv1a(self.allowed_signers.as_bytes());
        format!("signed-{hash:016x}")
    }

    fn check(
        &self,
        repo: &crate::git::Repo,
        commit: ObjectId,
        facts: &ledger::SignedFacts,
    ) -> anyhow::Result<Result<(), String>> {
        let at = crate::core::time::parse_rfc3339(facts.at);
        let Some(named) = facts.signers_blob else {
            return Self::verify(repo, commit, &self.allowed_signers, facts, at);
        };
        let blob = crate::git::parse_oid(named).filter(|b| repo.has_object(*b));
        let Some(blob) = blob else {
            return Ok(Err(format!(
                "the allowed-signers file it was judged against ({}) is not in this repository",
                crate::messages::short(named)
            )));
        };
        let text = String::from_utf8_lossy(&repo.find_blob(blob)?).into_owned();
        Self::verify(repo, commit, &text, facts, at)
    }

    fn check_new(
        &self,
        repo: &crate::git::Repo,
        commit: ObjectId,
        facts: &ledger::SignedFacts,
    ) -> anyhow::Result<Result<(), String>> {
        if let Some(named) = facts.signers_blob
            && crate::git::parse_oid(named) != self.blob
        {
            return Ok(Err(format!(
                "it names the allowed-signers file {}, not the one on the base branch now",
                crate::messages::short(named)
            )));
        }
        Self::verify(repo, commit, &self.allowed_signers, facts, None)
    }
}

/// The signed-controls check of `store`'s base branch (its policy there, not
/// a local `--config`: what counts is the repository's to say).
pub fn signed_controls_of(store: &Store) -> anyhow::Result<Option<SignedControls>> {
    let tip_of = |name: &str| store.tip(name);
    let Ok(policy) = crate::ops::policy::policy_at_base(&store.repo, &tip_of)? else {
        return Ok(None);
    };
    SignedControls::at(&store.repo, &policy, store.tip(&policy.base_ref())?)
}

/// Writes the commit appending `record` and returns the ref update that publishes it.
pub fn append_update(
    store: &Store,
    current: &ledger::Folded<ControlState>,
    record: &ControlRecord,
    session: &Session,
) -> anyhow::Result<RefUpdate> {
    let who = session.identity();
    let (commit, _) = if let Some(signed) = signed_controls_of(store)? {
        // Judged once, against the file in force now (the server checks it).
        let record = ControlRecord {
            signers_blob: signed.blob().map(|b| b.to_string()),
            ..record.clone()
        };
        ledger::append_commit_signed::<ControlLedger>(&store.repo, current, &record, &who)
            .map_err(|e| CliError::usage(format!("{e:#}")))?
    } else {
        ledger::append_commit::<ControlLedger>(&store.repo, current, record, &who)?
    };
    Ok(RefUpdate {
        name: names::CONTROL.to_string(),
        expected: current.tip,
        new: Some(commit),
    })
}
