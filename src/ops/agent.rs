//! The runner agent: a loop that finds the commits needing its check and
//! runs up to `jobs` of them at once, each on its own thread in its own
//! worktree, claimed with a lease it renews while the run lives
//! ([`super::runner::run`]). Woken like the coordinator ([`super::watch`]).
//! A stop (SIGTERM, SIGINT) launches nothing more; the runs in flight stop
//! their commands and give their claims back ([`super::worktree_run`]).

use super::claim::{PreClaim, claim_batch};
use super::runner::{PendingRun, Pipeline, RunOutcome, RunRequest, pending, run_then};
use super::watch::Watch;
use super::worktree_run::Echo;
use crate::core::schedule::Trigger;
use crate::error::{CliError, CliResult, ErrorKind};
use crate::git::ObjectId;
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

/// What a job thread sends back: its command ended (the slot is free), then
/// how the run ended.
enum JobNews {
    /// The command ended; its result is being published.
    CommandEnded(String),
    /// The run ended (published, lost, or failed).
    Done(String, CliResult<RunOutcome>),
}

/// The runs of one agent: which commands execute (each takes a slot) and
/// which runs are not yet reported (their results may still be publishing).
struct Jobs {
    tx: mpsc::Sender<JobNews>,
    rx: mpsc::Receiver<JobNews>,
    executing: BTreeSet<String>,
    unfinished: BTreeSet<String>,
    ran: u64,
    /// A slot came free since the last look for work.
    rescan: bool,
}

impl Jobs {
    fn new() -> Jobs {
        let (tx, rx) = mpsc::channel();
        Jobs {
            tx,
            rx,
            executing: BTreeSet::new(),
            unfinished: BTreeSet::new(),
            ran: 0,
            rescan: false,
        }
    }

    fn free_slots(&self, jobs: usize) -> usize {
        jobs.saturating_sub(self.executing.len())
    }

    /// Takes in one piece of news; true when a slot came free.
    fn take(
        &mut self,
        news: JobNews,
        report: &mut dyn FnMut(&AgentEvent) -> CliResult,
    ) -> CliResult<bool> {
        match news {
            JobNews::CommandEnded(sha) => Ok(self.executing.remove(&sha)),
            JobNews::Done(sha, result) => {
                let freed = self.executing.remove(&sha);
                self.unfinished.remove(&sha);
                self.ran += 1;
                report(&event_of(sha, result))?;
                Ok(freed)
            }
        }
    }

    /// Takes in what arrived without waiting.
    fn poll(&mut self, report: &mut dyn FnMut(&AgentEvent) -> CliResult) -> CliResult {
        while let Ok(news) = self.rx.try_recv() {
            if self.take(news, report)? {
                self.rescan = true;
            }
        }
        Ok(())
    }

    /// Sleeps until the next poll, waking early for a wake, a stop or a
    /// slot that came free.
    fn wait(
        &mut self,
        watch: &Watch,
        poll: Duration,
        stop: &AtomicUsize,
        report: &mut dyn FnMut(&AgentEvent) -> CliResult,
    ) -> CliResult {
        let until = std::time::Instant::now() + poll;
        while std::time::Instant::now() < until
            && stop.load(Ordering::SeqCst) == 0
            && !watch.woken()
        {
            if let Ok(news) = self.rx.recv_timeout(Duration::from_millis(50))
                && self.take(news, report)?
            {
                self.rescan = true;
                return Ok(());
            }
        }
        Ok(())
    }

    /// Starts `job` on its own thread.
    fn start(
        &mut self,
        options: &AgentOptions,
        remote: bool,
        job: PendingRun,
        claim: PreClaim,
        report: &mut dyn FnMut(&AgentEvent) -> CliResult,
    ) -> CliResult {
        self.executing.insert(job.sha.clone());
        self.unfinished.insert(job.sha.clone());
        report(&AgentEvent::Started {
            at: super::now_rfc3339(),
            sha: job.sha.clone(),
            source: job.source.clone(),
            branch: job.branch.clone(),
        })?;
        spawn_job(options, remote, job, claim, self.tx.clone());
        Ok(())
    }

    /// Waits for every run in flight to end (each got the stop signal too:
    /// it stops its command and gives its claim back).
    fn drain(mut self, report: &mut dyn FnMut(&AgentEvent) -> CliResult) -> CliResult<u64> {
        while !self.unfinished.is_empty() {
            match self.rx.recv() {
                Ok(news) => {
                    self.take(news, report)?;
                }
                Err(_) => break,
            }
        }
        Ok(self.ran)
    }
}

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
    let mut jobs = Jobs::new();
    while stop.load(Ordering::SeqCst) == 0 {
        jobs.poll(report)?;
        let trigger = match watch.check(first.repo()) {
            // A slot came free: look again, fetching (other agents' claims
            // since the last fetch are in the remote, not the mirror).
            Ok(t) => t.or(jobs.rescan.then_some(Trigger::Changed)),
            Err(e) => {
                watch.failed();
                report(&failed(None, format!("{e:#}")))?;
                None
            }
        };
        let free = jobs.free_slots(options.jobs);
        if let Some(trigger) = trigger.filter(|_| free > 0) {
            jobs.rescan = false;
            watch.begin();
            let found = find_work(options, trigger, remote, &jobs.unfinished, free);
            watch.end(first.repo(), found.is_ok());
            match found {
                Ok(work) => {
                    for (job, claim) in work {
                        jobs.start(options, remote, job, claim, report)?;
                    }
                }
                Err(e) => report(&failed(None, e.message))?,
            }
        }
        jobs.wait(&watch, options.poll, stop, report)?;
    }
    jobs.drain(report)
}

/// Up to `free` commits needing this agent's check, not already running
/// here, claimed in one push (trying the next ones when others won some).
fn find_work(
    options: &AgentOptions,
    trigger: Trigger,
    remote: bool,
    running: &BTreeSet<String>,
    free: usize,
) -> CliResult<Vec<(PendingRun, PreClaim)>> {
    let session = Session::open(&SessionOptions {
        cached: remote && !trigger.fetches(),
        moved: trigger == Trigger::Changed,
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
    let request = request_for(options, None);
    let mut claimed = Vec::new();
    // A few rounds at most: each looks at the next `free` candidates.
    for chunk in work.chunks(free.max(1)).take(4) {
        let want = free - claimed.len();
        let shas: Vec<ObjectId> = chunk
            .iter()
            .take(want)
            .filter_map(|p| crate::git::parse_oid(&p.sha))
            .collect();
        for (sha, claim) in claim_batch(&session, &request, &shas)? {
            let sha = sha.to_string();
            if let Some(job) = chunk.iter().find(|p| p.sha == sha) {
                claimed.push((job.clone(), claim));
            }
        }
        if claimed.len() >= free {
            break;
        }
    }
    Ok(claimed)
}

/// The run request of this agent, on `sha` when given.
fn request_for(options: &AgentOptions, sha: Option<ObjectId>) -> RunRequest {
    RunRequest {
        pipeline: options.pipeline,
        check: options.check.clone(),
        sha,
        command: options.command.clone(),
        echo: Echo::Nothing,
        reclaim_after: super::runner::DEFAULT_RECLAIM_AFTER,
        force: false,
        lease: Some(options.lease),
        claimed: None,
    }
}

/// Runs one job on its own thread, with its own session (reading the mirror
/// just fetched; the claim's compare-and-swap re-reads the remote on conflict).
fn spawn_job(
    options: &AgentOptions,
    remote: bool,
    job: PendingRun,
    claim: PreClaim,
    tx: mpsc::Sender<JobNews>,
) {
    let session_options = SessionOptions {
        cached: remote,
        ..options.session.clone()
    };
    let sha = crate::git::parse_oid(&job.sha).expect("pending shas come from refs");
    let request = RunRequest {
        claimed: Some(claim),
        ..request_for(options, Some(sha))
    };
    std::thread::spawn(move || {
        let sha = job.sha;
        let ended = tx.clone();
        let mut command_ended = || {
            let _ = ended.send(JobNews::CommandEnded(sha.clone()));
        };
        let result = Session::open(&session_options)
            .and_then(|s| run_then(&s, &request, &mut command_ended));
        let _ = tx.send(JobNews::Done(sha.clone(), result));
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
