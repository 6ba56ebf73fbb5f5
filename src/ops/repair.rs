//! Repair leases: `refs/heads/<prefix>/<sha12>` created once for a failed base sha.

use crate::error::{CliError, CliResult};
use crate::git::refs::RefUpdate;
use crate::git::store::{Attempt, Store};
use crate::git::{ObjectId, names};
use crate::messages;
use crate::session::Session;
use serde::{Deserialize, Serialize};

/// The JSON message of a lease commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    /// Who owns the repair.
    pub owner: String,
    /// The failed base sha.
    pub main_sha: String,
    /// Its release state when claimed.
    pub failure_state: String,
    /// When, RFC 3339.
    pub claimed_at: String,
}

/// How a claim went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ClaimState {
    /// This call created the lease.
    Created,
    /// The lease already belonged to this owner.
    Owned,
    /// Someone else holds the lease.
    Claimed,
}

/// The lease for a failed base sha as `status` and `claim-repair` show it.
#[derive(Debug, Clone, Serialize)]
pub struct RepairView {
    /// created, owned or claimed (claim-repair only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<ClaimState>,
    /// The lease branch.
    pub branch: String,
    /// Its tip.
    pub head_sha: String,
    /// The lease.
    #[serde(flatten)]
    pub lease: Lease,
}

/// The lease on `branch` for `main_sha`, if the branch exists and carries one.
pub fn find_lease(
    store: &Store,
    branch: &str,
    main_sha: ObjectId,
) -> anyhow::Result<Option<RepairView>> {
    let Some(tip) = store.tip(&names::branch_ref(branch))? else {
        return Ok(None);
    };
    let mut cursor = tip;
    for _ in 0..100_000 {
        let info = store.repo.find_commit_info(cursor)?;
        let Some(&parent) = info.parents.first() else {
            break;
        };
        if parent == main_sha {
            let lease = lease_json(&info.message);
            return Ok(lease.map(|lease| RepairView {
                state: None,
                branch: branch.to_string(),
                head_sha: tip.to_string(),
                lease,
            }));
        }
        cursor = parent;
    }
    Ok(None)
}

/// The lease a commit message carries: JSON alone (older leases) or after
/// the human first line and a blank line (as `lease_message` writes it).
fn lease_json(message: &str) -> Option<Lease> {
    serde_json::from_str::<Lease>(message.trim())
        .ok()
        .or_else(|| serde_json::from_str(message.split_once("\n\n")?.1.trim()).ok())
}

/// A lease commit's message: one line for `git log`, then the lease as JSON.
fn lease_message(lease: &Lease) -> serde_json::Result<String> {
    Ok(format!(
        "{}\n\n{}\n",
        messages::lease_subject(&lease.main_sha, &lease.failure_state, &lease.owner),
        serde_json::to_string(lease)?
    ))
}

/// `claim-repair`: create the lease for the failed base sha, or report who holds it.
pub fn claim(session: &Session, owner: &str, sha: Option<ObjectId>) -> CliResult<RepairView> {
    if owner.trim().is_empty() || owner.chars().any(char::is_control) {
        return Err(CliError::usage(
            "--owner must be a non-empty single-line name",
        ));
    }
    let base = session.require_base_sha()?;
    let base_hex = base.to_string();
    if let Some(sha) = sha
        && sha != base
    {
        return Err(CliError::precondition(messages::claim_not_base(
            &sha.to_string(),
            &base_hex,
        )));
    }
    let release =
        super::release::release_of(&session.store, &session.policy, &base, super::now_seconds())?;
    if !release.state.is_failed() {
        return Err(CliError::precondition(messages::claim_not_failed(
            &base_hex,
            release.state.as_str(),
        )));
    }
    let branch = names::repair_branch(&session.policy.pipeline.repair_branch_prefix, &base_hex);
    let full = names::branch_ref(&branch);
    let view = session.store.transact("deploybot: claim-repair", |store| {
        if let Some(mut existing) = find_lease(store, &branch, base)? {
            existing.state = Some(if existing.lease.owner == owner {
                ClaimState::Owned
            } else {
                ClaimState::Claimed
            });
            return Ok(Attempt::Done(existing));
        }
        if store.tip(&full)?.is_some() {
            return Err(CliError::precondition(messages::lease_branch_malformed(&branch)).into());
        }
        let lease = Lease {
            owner: owner.to_string(),
            main_sha: base_hex.clone(),
            failure_state: release.state.as_str().to_string(),
            claimed_at: super::now_rfc3339(),
        };
        let tree = store.repo.find_commit_info(base)?.tree;
        let message = lease_message(&lease)?;
        let commit = store
            .repo
            .write_commit(tree, &[base], &message, &session.identity())?;
        let view = RepairView {
            state: Some(ClaimState::Created),
            branch: branch.clone(),
            head_sha: commit.to_string(),
            lease,
        };
        Ok(Attempt::Write(
            vec![RefUpdate {
                name: full.clone(),
                expected: None,
                new: Some(commit),
            }],
            view,
        ))
    })?;
    if view.state == Some(ClaimState::Created) {
        session.store.refresh()?;
        let now = session.base_sha()?;
        if now != Some(base) {
            let created = crate::git::parse_oid(&view.head_sha);
            session.store.transact("deploybot: undo claim", |store| {
                if store.tip(&full)? != created {
                    return Ok(Attempt::Done(()));
                }
                Ok(Attempt::Write(
                    vec![RefUpdate {
                        name: full.clone(),
                        expected: created,
                        new: None,
                    }],
                    (),
                ))
            })?;
            let now_hex = now.map(|o| o.to_string()).unwrap_or_default();
            return Err(CliError::precondition(messages::claim_base_moved(
                &base_hex, &now_hex,
            )));
        }
    }
    Ok(view)
}
