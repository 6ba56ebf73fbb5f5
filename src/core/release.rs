//! The release state of a base commit and release admission: pure functions
//! of its result records, the policy's check names and an injected `now`,
//! following DESIGN.md "Release state of a `main` commit".

use serde::{Deserialize, Serialize};

use crate::core::results::{CancelRule, Failed, ResultRecord, failures, quoted, retried, tally};
use crate::core::time::{UnixSeconds, format_rfc3339};

/// The release state of a base commit (pinned kebab-case names).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReleaseState {
    /// No CI result yet, CI pending, or a CI failure still within grace.
    Testing,
    /// A CI failure outlived the grace period.
    CiFailed,
    /// CI passed; no deploy report since.
    AwaitingDeploy,
    /// A deploy or a verification is under way.
    Deploying,
    /// A deploy check failed.
    DeployFailed,
    /// Deployed and verified live (or the verified watermark points here).
    Verified,
    /// A verification failed after the deploy.
    VerifyFailed,
}

impl ReleaseState {
    /// Every state, in declaration order.
    pub const ALL: [ReleaseState; 7] = [
        ReleaseState::Testing,
        ReleaseState::CiFailed,
        ReleaseState::AwaitingDeploy,
        ReleaseState::Deploying,
        ReleaseState::DeployFailed,
        ReleaseState::Verified,
        ReleaseState::VerifyFailed,
    ];

    /// The pinned kebab-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            ReleaseState::Testing => "testing",
            ReleaseState::CiFailed => "ci-failed",
            ReleaseState::AwaitingDeploy => "awaiting-deploy",
            ReleaseState::Deploying => "deploying",
            ReleaseState::DeployFailed => "deploy-failed",
            ReleaseState::Verified => "verified",
            ReleaseState::VerifyFailed => "verify-failed",
        }
    }

    /// The state named `name` (the pinned kebab-case names), if any.
    pub fn parse(name: &str) -> Option<ReleaseState> {
        ReleaseState::ALL.into_iter().find(|s| s.as_str() == name)
    }

    /// Whether this is one of the three failed states.
    pub fn is_failed(&self) -> bool {
        matches!(
            self,
            ReleaseState::CiFailed | ReleaseState::DeployFailed | ReleaseState::VerifyFailed
        )
    }

    /// The pinned controller pause reason for a failed state
    /// (`ci-failed on <sha>`, …); `None` for the others.
    pub fn pause_reason(&self, sha: &str) -> Option<String> {
        self.is_failed()
            .then(|| format!("{} on {sha}", self.as_str()))
    }
}

/// Everything the release state of one base commit depends on.
#[derive(Debug, Clone, Copy)]
pub struct ReleaseInputs<'a> {
    /// All records of the commit's CI note.
    pub ci: &'a [ResultRecord],
    /// All records of the commit's deploy note: deploy checks and verifications.
    pub deploy: &'a [ResultRecord],
    /// `pipeline.ci_checks`.
    pub ci_checks: &'a [String],
    /// `pipeline.deploy_checks`.
    pub deploy_checks: &'a [String],
    /// The names of `pipeline.verifications`.
    pub verifications: &'a [String],
    /// `pipeline.ci_failure_grace_seconds`.
    pub grace_seconds: i64,
    /// The current time.
    pub now: UnixSeconds,
    /// `refs/deploybot/verified` points at this commit.
    pub is_watermark: bool,
    /// `pipeline.pause_on_failure`: a failure of this commit pauses the
    /// pipeline (only the explanation of a failure in grace says so).
    pub failure_pauses: bool,
    /// What a deciding cancel means here: it fails the base tip and a
    /// candidate, and coalesces on an older main.
    pub cancelled: CancelRule,
}

/// The release state with a one-line explanation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Release {
    /// The state.
    pub state: ReleaseState,
    /// One human line, e.g. ``CI failed: check `CI` failure at <at>``.
    pub why: String,
    /// Check names still outstanding in the current phase.
    pub waiting_for: Vec<String>,
}

impl Release {
    /// Builds a release from its parts.
    fn new(state: ReleaseState, why: String, waiting_for: Vec<String>) -> Self {
        Release {
            state,
            why,
            waiting_for,
        }
    }
}

/// Computes the release state: watermark, then CI (with grace), then deploy
/// (ignoring reports older than the deciding CI report), then verification.
pub fn release_state(inputs: &ReleaseInputs) -> Release {
    if inputs.is_watermark {
        let why = "refs/deploybot/verified points at this commit".to_owned();
        return Release::new(ReleaseState::Verified, why, Vec::new());
    }
    // A report dated beyond the clock skew ahead of `now` is not evidence
    // yet (a writer's clock ran ahead): it must not outrank later reports.
    let ci = current(inputs.ci, inputs.now);
    let deploy = current(inputs.deploy, inputs.now);
    let inputs = &ReleaseInputs {
        ci: &ci,
        deploy: &deploy,
        ..*inputs
    };
    let deciding_at = match ci_phase(inputs) {
        Ok(deciding_at) => deciding_at,
        Err(release) => return release,
    };
    let deployed_at = match deploy_phase(inputs, deciding_at) {
        Ok(deployed_at) => deployed_at,
        Err(release) => return release,
    };
    verification_phase(inputs, deployed_at)
}

/// CI: every ci check's deciding report must be a success; a failure counts
/// only once the grace period has passed since its `at` (the failure is the
/// latest report, so no newer report absorbed it). `Ok`: CI passed, at the
/// time of its deciding success; `Err`: the release stands here.
fn ci_phase(inputs: &ReleaseInputs) -> Result<UnixSeconds, Release> {
    use ReleaseState::*;
    let ci = tally(
        inputs.ci,
        inputs.ci_checks,
        UnixSeconds::MIN,
        inputs.cancelled,
    );
    let (counted, in_grace): (Vec<Failed>, Vec<Failed>) = ci
        .failed
        .into_iter()
        .partition(|f| inputs.now.saturating_sub(f.at_seconds) >= inputs.grace_seconds);
    if !counted.is_empty() {
        let why = format!("CI failed: {}", failures(&counted));
        return Err(Release::new(CiFailed, why, vec![]));
    }
    if !in_grace.is_empty() {
        let why = in_grace_why(inputs, &in_grace);
        let mut waiting: Vec<String> = in_grace.into_iter().map(|f| f.check).collect();
        waiting.extend(ci.outstanding);
        return Err(Release::new(Testing, why, waiting));
    }
    if !ci.outstanding.is_empty() {
        let why = waiting_why("CI", &ci.outstanding, &ci.coalesced);
        return Err(Release::new(Testing, why, ci.outstanding));
    }
    Ok(ci.last_success.unwrap_or(UnixSeconds::MIN))
}

/// Why a CI failure still within its grace is not a failure yet, and when it will be.
fn in_grace_why(inputs: &ReleaseInputs, in_grace: &[Failed]) -> String {
    let grace = inputs.grace_seconds;
    let ends = format_rfc3339(grace_ends_at(in_grace, grace));
    let pauses = if inputs.failure_pauses {
        " and the pipeline pauses"
    } else {
        ""
    };
    let then = if in_grace.iter().any(|f| !retried(inputs.ci, &f.check)) {
        format!("a retry is pending until {ends}, then main fails (ci-failed){pauses}")
    } else {
        format!(
            "retried once; at {ends} main fails (ci-failed){pauses} unless a newer report replaces it"
        )
    };
    format!(
        "CI failure within grace ({grace}s): {}; {then}",
        failures(in_grace)
    )
}

/// Deploy: only reports no older than the deciding CI report count. `Ok`:
/// deployed, as of when (for the verifications); `Err`: the release stands here.
fn deploy_phase(inputs: &ReleaseInputs, deciding_at: UnixSeconds) -> Result<UnixSeconds, Release> {
    use ReleaseState::*;
    let deploy = tally(
        inputs.deploy,
        inputs.deploy_checks,
        deciding_at,
        inputs.cancelled,
    );
    if !deploy.failed.is_empty() {
        let why = format!("deploy failed: {}", failures(&deploy.failed));
        return Err(Release::new(DeployFailed, why, vec![]));
    }
    if !deploy.outstanding.is_empty() {
        let list = quoted(&deploy.outstanding);
        let (state, why) = match deploy.started || deploy.last_success.is_some() {
            true => (Deploying, format!("deploying: waiting for {list}")),
            false => (AwaitingDeploy, format!("CI passed; awaiting deploy {list}")),
        };
        return Err(Release::new(state, why, deploy.outstanding));
    }
    Ok(deploy
        .last_success
        .map_or(deciding_at, |at| at.max(deciding_at)))
}

/// Verification: only results no older than the latest deploy success.
fn verification_phase(inputs: &ReleaseInputs, deployed_at: UnixSeconds) -> Release {
    use ReleaseState::*;
    if inputs.verifications.is_empty() {
        let why = "deployed; no verifications configured".to_owned();
        return Release::new(Verified, why, vec![]);
    }
    let verify = tally(
        inputs.deploy,
        inputs.verifications,
        deployed_at,
        inputs.cancelled,
    );
    if !verify.failed.is_empty() {
        let why = format!("verification failed: {}", failures(&verify.failed));
        return Release::new(VerifyFailed, why, vec![]);
    }
    if !verify.outstanding.is_empty() {
        let why = format!("verifying: waiting for {}", quoted(&verify.outstanding));
        return Release::new(Deploying, why, verify.outstanding);
    }
    Release::new(Verified, "deployed and verified".into(), vec![])
}

/// ``waiting for CI `A` `` and, for checks a cancel left undecided on an
/// older main, why that is no failure.
fn waiting_why(phase: &str, outstanding: &[String], coalesced: &[String]) -> String {
    let mut why = format!("waiting for {phase} {}", quoted(outstanding));
    if !coalesced.is_empty() {
        why.push_str(&format!(
            " ({} cancelled on this older main: coalesced into a newer main's run, neither failed nor passed)",
            quoted(coalesced)
        ));
    }
    why
}

/// The records not dated ahead of `now` (beyond the allowed clock skew).
fn current(records: &[ResultRecord], now: UnixSeconds) -> Vec<ResultRecord> {
    records
        .iter()
        .filter(|r| {
            r.at_seconds()
                .is_none_or(|at| !crate::core::time::ahead_of(at, now))
        })
        .cloned()
        .collect()
}

/// When the grace of the earliest of `in_grace` failures ends: then the
/// release is `ci-failed` unless a newer report replaced that failure.
fn grace_ends_at(in_grace: &[Failed], grace_seconds: i64) -> UnixSeconds {
    in_grace
        .iter()
        .map(|f| f.at_seconds.saturating_add(grace_seconds))
        .min()
        .unwrap_or(UnixSeconds::MAX)
}

/// How `pipeline.release_admission` gates merging onto a base commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "kebab-case")]
pub enum AdmissionMode {
    /// Admit once the base is merged and not failed.
    #[default]
    Merged,
    /// Admit once the base's CI passed.
    CiPassed,
    /// Admit only onto a verified base.
    Verified,
}

impl AdmissionMode {
    /// The pinned kebab-case name.
    pub fn as_str(&self) -> &'static str {
        match self {
            AdmissionMode::Merged => "merged",
            AdmissionMode::CiPassed => "ci-passed",
            AdmissionMode::Verified => "verified",
        }
    }
}

/// Whether `mode` admits merging onto a base in `state`. A failed state never admits.
pub fn admits(mode: AdmissionMode, state: ReleaseState) -> bool {
    use ReleaseState::*;
    match mode {
        AdmissionMode::Merged => matches!(state, Testing | AwaitingDeploy | Deploying | Verified),
        AdmissionMode::CiPassed => matches!(state, AwaitingDeploy | Deploying | Verified),
        AdmissionMode::Verified => state == Verified,
    }
}

#[cfg(test)]
mod tests;
