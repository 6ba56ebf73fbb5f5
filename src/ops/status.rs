//! Everything `status` shows, gathered once and rendered as text or JSON.

use crate::core::control::ControlState;
use crate::core::judgement::HistoryVerdict;
use crate::core::next::{Permissions, RepairStanding, Situation};
use crate::core::queue::EntryView;
use crate::core::react::ReactPlan;
use crate::core::release::Release;
use crate::core::roles::{Role, authorize};
use crate::error::CliResult;
use crate::git::store::Store;
use crate::git::{ObjectId, names};
use crate::messages;
use crate::ops::repair::{RepairView, find_lease};
use crate::session::Session;
use serde::Serialize;

/// The base branch and its release.
#[derive(Debug, Clone, Serialize)]
pub struct MainView {
    /// The base branch name.
    pub branch: String,
    /// Its tip (null when the branch does not exist).
    pub sha: Option<String>,
    /// The release state of that exact sha.
    pub release: Option<Release>,
    /// When that release failed: the last lines of the failing run's log
    /// (`refs/notes/deploybot/logs`), when a runner logged it.
    pub log_tail: Option<String>,
}

/// The full status report (DESIGN.md, `status --json`).
#[derive(Debug, Clone, Serialize)]
pub struct StatusReport {
    /// The folded control state.
    pub control: ControlState,
    /// The base branch and its release.
    pub main: MainView,
    /// Queue entries in FIFO order.
    pub queue: Vec<EntryView>,
    /// The repair lease for the current base sha, or null.
    pub repair: Option<RepairView>,
    /// Where `refs/deploybot/verified` points (null before the first verification).
    pub verified_sha: Option<String>,
    /// `origin` (or the remote's name), or `local` when offline / no remote.
    pub source: String,
    /// One line per malformed ledger commit found.
    pub problems: Vec<String>,
    /// What to do next, as commands to run (empty when nothing needs a person).
    pub next: Vec<String>,
    /// A recovery owns the base sha: its failure does not pause again, and the
    /// elected repair lands past the admission fence.
    pub recovery_owns_main: bool,
    /// Why, when a recovery owns the base sha (null otherwise).
    pub recovery_why: Option<String>,
    /// The older mains between the watermark and the tip, judged as the next
    /// `react` will: the failure it would pause for, the failures a newer
    /// verified or recovered main superseded, and the newest verified one.
    pub history: HistoryVerdict,
    /// Where the next `react` moves `refs/deploybot/verified` (null: nowhere).
    pub watermark_next: Option<String>,
    /// Tested landing: the candidates under test, bottom (built on main) first.
    pub candidates: Vec<super::outcome::CandidateView>,
    /// The current pause can be resumed with `unpause --sha <control.main_sha>`
    /// (bound to the tip, or a controller pause on an older main still in its history).
    #[serde(skip)]
    pub pause_resumable: bool,
    /// What `react` would do now (None: no base branch).
    #[serde(skip)]
    pub plan: Option<ReactPlan>,
    /// `queue.landing = "tested"`.
    #[serde(skip)]
    pub tested: bool,
    /// What this clone's actor may write.
    #[serde(skip)]
    pub may: Permissions,
}

/// What this clone's actor may write under `policy`.
pub fn permissions(session: &Session) -> Permissions {
    let may = |role| authorize(&session.policy, Some(&session.actor), role).is_ok();
    Permissions {
        coordinator: may(Role::Coordinator),
        trusted: may(Role::Trusted),
    }
}

/// The situation the next steps (and `why`'s last word) are decided on.
pub fn situation(report: &StatusReport) -> Situation<'_> {
    let base = report.main.sha.as_deref();
    let repair = report.repair.as_ref().map(|r| RepairStanding {
        branch: &r.branch,
        entry: report.queue.iter().find(|e| e.branch == r.branch),
    });
    let release = report.main.release.as_ref().map(|r| r.state);
    Situation {
        control: &report.control,
        base_sha: base,
        release,
        pause_resumable: report.pause_resumable,
        repair,
        plan: report.plan.as_ref(),
        tested: report.tested,
        candidate_passed: report
            .candidates
            .iter()
            .any(|c| c.state == "passed" && Some(c.base_sha.as_str()) == base),
        entries: &report.queue,
        watermark_lags: base.is_some() && report.verified_sha.as_deref() != base,
        may: report.may,
    }
}

/// The next steps a person (or agent) can take from this state, as lines.
pub fn next_steps(report: &StatusReport, policy: &crate::core::policy::Policy) -> Vec<String> {
    let holders = messages::RoleHolders {
        coordinators: &policy.queue.coordinator_actors,
        trusted: &policy.queue.trusted_actors,
    };
    crate::core::next::next_steps(&situation(report))
        .iter()
        .map(|s| messages::next_step(s, &holders))
        .collect()
}

/// One line per ledger rewound since `reader` last looked from this clone.
pub fn rewound_ledgers(session: &Session, reader: &str) -> CliResult<Vec<String>> {
    let store = &session.store;
    let source = match &store.sync {
        crate::git::store::Sync::Remote(name) => name.as_str(),
        crate::git::store::Sync::Local => "local",
    };
    let mut lines = Vec::new();
    for ledger in [names::CONTROL, names::QUEUE] {
        let tip = store.tip(ledger)?;
        if let Some(r) = store.repo.check_rewound(reader, source, ledger, tip)? {
            let now = r.now.map(|n| n.to_string());
            lines.push(messages::ledger_rewound(
                &r.ledger,
                &r.seen.to_string(),
                now.as_deref(),
            ));
        }
    }
    Ok(lines)
}

/// What status reads: what a react pass reads (its step 1, so the two
/// never disagree), or, without a base branch, the ledgers alone.
struct Read {
    control: crate::ledger::Folded<ControlState>,
    queue: crate::ledger::Folded<crate::core::queue::QueueState>,
    views: Vec<EntryView>,
    train: Vec<(
        crate::core::train::Candidate,
        crate::core::train::CandidateCi,
    )>,
    /// Tested landing, auto depth: live probes with their CI.
    probes: Vec<(
        crate::core::train::Candidate,
        crate::core::train::CandidateCi,
    )>,
    /// With a base: the pass's inputs (judgement, release) and its decision.
    pass: Option<(super::react::read::PassInputs, ReactPlan)>,
}

fn read(session: &Session) -> CliResult<Read> {
    let store = &session.store;
    if session.base_sha()?.is_none() {
        let queue = super::queue::read_queue(store)?;
        return Ok(Read {
            control: super::control::read_control(store)?,
            views: super::queue::entry_views(store, &session.policy, &queue.state)?,
            train: super::train::live_candidates(session, store, &queue.state.candidates)?,
            probes: super::train::live_candidates(session, store, &queue.state.probes)?,
            queue,
            pass: None,
        });
    }
    let mut inputs = super::react::read::read_pass(session, store)?;
    let decision = crate::core::pass::decision(&inputs.facts(session, None, false));
    Ok(Read {
        control: inputs.control.clone(),
        queue: inputs.queue.clone(),
        views: std::mem::take(&mut inputs.views),
        train: std::mem::take(&mut inputs.train),
        probes: std::mem::take(&mut inputs.probes),
        pass: Some((inputs, decision)),
    })
}

/// The current pause bound to the tip when it names no sha (an old or
/// foreign writer), and whether `unpause --sha <its main_sha>` resumes it.
fn bind_pause(store: &Store, c: &mut ControlState, base: Option<ObjectId>) -> CliResult<bool> {
    if c.is_paused() && c.main_sha.is_none() {
        c.main_sha = base.map(|b| b.to_string());
    }
    Ok(
        match (
            c.controller_pause_sha().and_then(crate::git::parse_oid),
            base,
        ) {
            (Some(paused), Some(tip)) => store.repo.is_ancestor(paused, tip)?,
            _ => false,
        },
    )
}

/// What a recovery of the tip means now, for people.
fn recovery_why(c: &ControlState, base_hex: &str, release: Option<&Release>) -> Option<String> {
    let release = release.filter(|_| c.recovery_owns(base_hex))?;
    let reason = c.recovered_reason.as_deref().unwrap_or("");
    let state = release.state.as_str();
    Some(if c.recovery_owns_failure(base_hex, release.state) {
        messages::recovery_owns_why(base_hex, reason, state)
    } else {
        messages::recovery_resumed_why(base_hex, reason, state)
    })
}

/// Gathers the report from the session's fresh state.
pub fn gather(session: &Session) -> CliResult<StatusReport> {
    let store = &session.store;
    let base = session.base_sha()?;
    let base_hex = base.map(|b| b.to_string()).unwrap_or_default();
    let Read {
        mut control,
        queue,
        mut views,
        train,
        probes,
        pass,
    } = read(session)?;
    let (judgement, plan) = match pass {
        Some((inputs, decision)) => (Some(inputs.judgement), Some(decision)),
        None => (None, None),
    };
    let release = judgement.as_ref().map(|j| j.release.clone());
    let log_tail = match (base, &release) {
        (Some(sha), Some(r)) => super::logs::failing_tail(session, store, sha, r.state)?,
        _ => None,
    };
    let pause_resumable = bind_pause(store, &mut control.state, base)?;
    let recovery_owns_main = base.is_some() && control.state.recovery_owns(&base_hex);
    let under_test: Vec<_> = train.iter().chain(probes.iter()).cloned().collect();
    super::train::overlay_probes(&mut views, &probes);
    super::train::overlay_testing(&mut views, &under_test, &queue.state);
    let repair = match base {
        Some(sha) => {
            let branch =
                names::repair_branch(&session.policy.pipeline.repair_branch_prefix, &base_hex);
            find_lease(store, &branch, sha)?
        }
        None => None,
    };
    let mut problems = control.problems;
    problems.extend(queue.problems);
    problems.extend(rewound_ledgers(session, "status")?);
    let policy = &session.policy;
    let mut report = StatusReport {
        recovery_why: recovery_why(&control.state, &base_hex, release.as_ref()),
        control: control.state,
        main: MainView {
            branch: policy.queue.base_branch.clone(),
            sha: base.map(|s| s.to_string()),
            release,
            log_tail,
        },
        queue: views,
        repair,
        verified_sha: store.tip(names::VERIFIED)?.map(|s| s.to_string()),
        source: match &store.sync {
            crate::git::store::Sync::Remote(name) => name.clone(),
            crate::git::store::Sync::Local => "local".to_string(),
        },
        problems,
        next: Vec::new(),
        recovery_owns_main,
        history: judgement
            .as_ref()
            .map(|j| j.history.clone())
            .unwrap_or_default(),
        watermark_next: judgement.and_then(|j| j.watermark_to),
        candidates: train
            .iter()
            .map(|(c, ci)| super::outcome::view_of(c, ci))
            .chain(probes.iter().map(|(c, ci)| super::outcome::CandidateView {
                probe: true,
                ..super::outcome::view_of(c, ci)
            }))
            .collect(),
        pause_resumable,
        plan,
        tested: policy.queue.landing == crate::core::policy::LandingMode::Tested,
        may: permissions(session),
    };
    report.next = next_steps(&report, policy);
    Ok(report)
}
