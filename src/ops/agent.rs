//! The runner agent: a loop that finds the commits needing its check and
//! runs up to `jobs` of them at once, each on its own thread in its own
//! worktree, claimed with a lease it renews while the run lives
//! ([`super::runner::run`]). Woken like the coordinator ([`super::watch`]).
//! A stop (SIGTERM, SIGINT) launches nothing more; the runs in flight stop
//! their commands and give their claims back ([`super::worktree_run`]).

use super::runner::{PendingRun, Pipeline, RunOutcome, RunRequest, pending, run};
use super::watch::Watch;
use super::worktree_run::Echo;
use crate::core::schedule::Trigger;
use crate::error::{CliError, CliResult, ErrorKind};
use crate::session::{Session, SessionOptions};
use serde::Serialize;
use std::collections::BTreeSet;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How the agent runs.
#[derive(Debug, Clone)]
pub struct AgentOptions {
    /// How every session is opened.
    pub session: SessionOptions,
    /// CI or deploy.
    pub pipeline: Pipeline,
    /// The check it runs.
    pub check: String,
    /// The command and its arguments.
    pub command: Vec<String>,
    /// Runs at once.
    pub jobs: usize,
    /// Seconds between listings of the remote.
    pub poll: Duration,
    /// The lease of each claim, in seconds.
    pub lease: i64,
    /// This agent's own order of equal work ([`crate::core::claims::spread`]).
    pub seed: u64,
}

/// One thing the agent did, as one line of its output.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "kebab-case")]
pub enum AgentEvent {
    /// A run began (claimed).
    Started {
        /// When.
        at: String,
        /// The commit.
        sha: String,
        /// Where it comes from (`main`, `candidate`, `request`).
        source: String,
        /// The branch.
        branch: String,
    },
    /// A run ended with a recorded result.
    Finished {
        /// When.
        at: String,
        /// What it recorded.
        #[serde(flatten)]
        outcome: RunOutcome,
    },
    /// Another runner claimed the commit first: nothing ran.
    Lost {
        /// When.
        at: String,
        /// The commit.
        sha: String,
    },
    /// A run or a pass failed (a stopped run gave its claim back).
    Failed {
        /// When.
        at: String,
        /// The commit, when it was a run.
        sha: Option<String>,
        /// Why.
        error: String,
    },
}

/// What a job thread sends back.
type Done = (String, CliResult<RunOutcome>);

/// Runs the agent until `stop` is set; `report` gets each event.
pub fn run_agent(
    options: &AgentOptions,
    stop: &AtomicUsize,
    report: &mut dyn FnMut(&AgentEvent) -> CliResult,
) -> CliResult<u64> {
    let first = Session::open(&options.session)?;
    let remote = first.store.is_remote();
    let mut watch = Watch::new(&first.store);
    watch.set_sweep(Duration::from_secs((options.lease / 2).max(1) as u64));
    let (tx, rx) = mpsc::channel::<Done>();
    let mut running: BTreeSet<String> = BTreeSet::new();
    let mut ran = 0u64;
    let mut rescan = false;
    while stop.load(Ordering::SeqCst) == 0 {
        for (sha, result) in rx.try_iter() {
            running.remove(&sha);
            ran += 1;
            rescan = true;
            report(&event_of(sha, result))?;
        }
        let trigger = match watch.check(first.repo()) {
            // A slot came free: look again, fetching (other agents' claims
            // since the last fetch are in the remote, not the mirror).
            Ok(t) => t.or(rescan.then_some(Trigger::Changed)),
            Err(e) => {
                watch.failed();
                report(&failed(None, format!("{e:#}")))?;
                None
            }
        };
        if let Some(trigger) = trigger.filter(|_| running.len() < options.jobs) {
            rescan = false;
            watch.begin();
            let found = find_work(options, trigger, remote, &running);
            watch.end(first.repo(), found.is_ok());
            match found {
                Ok(work) => {
                    for job in work.into_iter().take(options.jobs - running.len()) {
                        running.insert(job.sha.clone());
                        report(&AgentEvent::Started {
                            at: super::now_rfc3339(),
                            sha: job.sha.clone(),
                            source: job.source.clone(),
                            branch: job.branch.clone(),
                        })?;
                        spawn_job(options, remote, job, tx.clone());
                    }
                }
                Err(e) => report(&failed(None, e.message))?,
            }
        }
        wait(
            &watch,
            options.poll,
            stop,
            &rx,
            &mut running,
            &mut ran,
            report,
        )?;
    }
    // Draining: each run in flight got the signal too; wait for them to
    // stop their commands and give their claims back.
    drop(tx);
    for (sha, result) in rx.iter() {
        running.remove(&sha);
        ran += 1;
        report(&event_of(sha, result))?;
    }
    Ok(ran)
}

/// Sleeps until the next poll, waking early for a wake, a stop or a run that ended.
fn wait(
    watch: &Watch,
    poll: Duration,
    stop: &AtomicUsize,
    rx: &mpsc::Receiver<Done>,
    running: &mut BTreeSet<String>,
    ran: &mut u64,
    report: &mut dyn FnMut(&AgentEvent) -> CliResult,
) -> CliResult {
    let until = std::time::Instant::now() + poll;
    while std::time::Instant::now() < until && stop.load(Ordering::SeqCst) == 0 && !watch.woken() {
        match rx.recv_timeout(Duration::from_millis(50)) {
            Ok((sha, result)) => {
                running.remove(&sha);
                *ran += 1;
                report(&event_of(sha, result))?;
                // A slot is free: look for more work at once.
                return Ok(());
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    Ok(())
}

/// The commits needing this agent's check, not already running here.
fn find_work(
    options: &AgentOptions,
    trigger: Trigger,
    remote: bool,
    running: &BTreeSet<String>,
) -> CliResult<Vec<PendingRun>> {
    let session = Session::open(&SessionOptions {
        cached: remote && !trigger.fetches(),
        ..options.session.clone()
    })?;
    let reclaim_after = super::runner::DEFAULT_RECLAIM_AFTER;
    let mut work: Vec<PendingRun> = pending(&session, options.pipeline, reclaim_after)?
        .into_iter()
        .filter(|p| p.check == options.check && !running.contains(&p.sha))
        .collect();
    let rank = |p: &PendingRun| match p.source.as_str() {
        "candidate" => 0,
        "main" => 1,
        _ => 2,
    };
    crate::core::claims::spread(&mut work, options.seed, rank, |p| p.sha.as_str());
    Ok(work)
}

/// Runs one job on its own thread, with its own session (reading the mirror
/// just fetched; the claim's compare-and-swap re-reads the remote on conflict).
fn spawn_job(options: &AgentOptions, remote: bool, job: PendingRun, tx: mpsc::Sender<Done>) {
    let session_options = SessionOptions {
        cached: remote,
        ..options.session.clone()
    };
    let request = |sha| RunRequest {
        pipeline: options.pipeline,
        check: options.check.clone(),
        sha: Some(sha),
        command: options.command.clone(),
        echo: Echo::Nothing,
        reclaim_after: super::runner::DEFAULT_RECLAIM_AFTER,
        force: false,
        lease: Some(options.lease),
    };
    let sha = crate::git::parse_oid(&job.sha).expect("pending shas come from refs");
    let request = request(sha);
    std::thread::spawn(move || {
        let result = Session::open(&session_options).and_then(|s| run(&s, &request));
        let _ = tx.send((job.sha, result));
    });
}

/// The event for a job's end.
fn event_of(sha: String, result: CliResult<RunOutcome>) -> AgentEvent {
    let at = super::now_rfc3339();
    match result {
        Ok(outcome) => AgentEvent::Finished { at, outcome },
        Err(e) if e.kind == ErrorKind::Precondition => AgentEvent::Lost { at, sha },
        Err(e) => failed(Some(sha), e.message),
    }
}

fn failed(sha: Option<String>, error: String) -> AgentEvent {
    AgentEvent::Failed {
        at: super::now_rfc3339(),
        sha,
        error,
    }
}

/// A usage error for a bad `--jobs`.
pub fn check_jobs(jobs: usize) -> CliResult<usize> {
    if (1..=64).contains(&jobs) {
        Ok(jobs)
    } else {
        Err(CliError::usage(crate::messages::bad_jobs(jobs)))
    }
}
