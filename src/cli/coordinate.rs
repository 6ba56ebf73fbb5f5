//! `git deploybot coordinate`: the long-running coordinator. A react pass
//! (and one step of following the base tip) whenever the remote's refs
//! change, found by one `ls-remote` per poll, or at once when a
//! post-receive hook on this host wakes it; one line per pass.

use super::GlobalArgs;
use crate::cli::output::outln;
use crate::core::schedule::backoff;
use crate::error::{CliError, CliResult};
use crate::messages::{self, short};
use crate::ops::coordinate::{PassRecord, coordinator_pass};
use crate::ops::watch::Watch;
use crate::session::{Session, SessionOptions};
use clap::Args;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// Arguments of `coordinate`.
#[derive(Debug, Args)]
pub struct CoordinateArgs {
    /// Seconds between listings of the remote's refs (one `git ls-remote`; nothing is fetched unless they changed).
    #[arg(long, default_value_t = 2, value_name = "SECONDS")]
    pub poll: u64,
    /// Also serve the queue page on this address (as `serve --listen`), from the coordinator's fresh mirror.
    #[arg(long, value_name = "ADDR")]
    pub serve: Option<String>,
    /// One JSON object per pass, one per line.
    #[arg(long)]
    pub json: bool,
}

/// Runs the coordinator until SIGTERM or SIGINT, which end it after the
/// current pass (exit 0).
pub fn run(global: &GlobalArgs, args: CoordinateArgs) -> CliResult {
    let poll = crate::ops::limits::flag_seconds("--poll", args.poll)?;
    let stop = stop_flag()?;
    let options = global.session_options();
    let session = Session::open(&options)?;
    let remote = session.store.is_remote();
    let mut watch = Watch::new(&session.store);
    if let Some(listen) = &args.serve {
        start_page(listen, &options, remote)?;
    }
    eprintln!(
        "{}",
        messages::coordinating(
            &session.store.read_name(&session.base_ref()),
            args.poll,
            watch.wake_file()
        )
    );
    let mut passes = 0u64;
    while stop.load(Ordering::SeqCst) == 0 {
        let trigger = match watch.check(session.repo()) {
            Ok(trigger) => trigger,
            Err(e) => {
                watch.failed();
                let wait = backoff(watch.failures()).as_secs();
                emit_error(args.json, &format!("{e:#}"), wait)?;
                None
            }
        };
        if let Some(trigger) = trigger {
            watch.begin();
            let record = coordinator_pass(&options, trigger, remote)?;
            watch.end(session.repo(), record.error.is_none());
            passes += 1;
            emit(args.json, &record, backoff(watch.failures()).as_secs())?;
        }
        wait_for_next(&watch, poll, &stop);
    }
    eprintln!(
        "{}",
        messages::coordinator_stopped(stopped_by(&stop), passes)
    );
    Ok(())
}

/// SIGTERM and SIGINT store their number here; the loop ends after the
/// current pass.
pub fn stop_flag() -> CliResult<Arc<AtomicUsize>> {
    let flag = Arc::new(AtomicUsize::new(0));
    for signal in [libc::SIGTERM, libc::SIGINT] {
        signal_hook::flag::register_usize(signal, Arc::clone(&flag), signal as usize)
            .map_err(|e| CliError::from(anyhow::anyhow!("cannot handle signals: {e}")))?;
    }
    Ok(flag)
}

/// The name of the signal that set `stop`.
pub fn stopped_by(stop: &AtomicUsize) -> &'static str {
    if stop.load(Ordering::SeqCst) == libc::SIGINT as usize {
        "SIGINT"
    } else {
        "SIGTERM"
    }
}

/// Sleeps until the next poll, waking early for a wake or a stop.
pub fn wait_for_next(watch: &Watch, poll: Duration, stop: &AtomicUsize) {
    let until = Instant::now() + poll;
    while Instant::now() < until && stop.load(Ordering::SeqCst) == 0 && !watch.woken() {
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Serves the queue page from a thread of this process, reading the mirror
/// this coordinator keeps fresh (no fetch of its own when there is a remote).
fn start_page(listen: &str, options: &SessionOptions, remote: bool) -> CliResult {
    let listener = super::serve::bind(listen)?;
    let options = SessionOptions {
        cached: remote,
        ..options.clone()
    };
    std::thread::spawn(move || {
        let served = super::serve::serve_on(listener, options, |line| {
            eprintln!("{line}");
            Ok(())
        });
        if let Err(e) = served {
            eprintln!("error: the queue page stopped: {}", e.message);
        }
    });
    Ok(())
}

/// One pass's line.
fn emit(json: bool, record: &PassRecord, retry_in: u64) -> CliResult {
    if json {
        let text = serde_json::to_string(record)
            .map_err(|e| CliError::from(anyhow::anyhow!("cannot render JSON: {e}")))?;
        outln!("{text}")?;
    } else {
        outln!("{}", render_line(record, retry_in))?;
    }
    Ok(())
}

/// A failed listing's line.
fn emit_error(json: bool, error: &str, retry_in: u64) -> CliResult {
    if json {
        let value = serde_json::json!({
            "at": crate::ops::now_rfc3339(),
            "trigger": "poll",
            "error": error,
            "retry_in_seconds": retry_in,
        });
        outln!("{value}")?;
    } else {
        outln!(
            "{} poll: {}",
            crate::ops::now_rfc3339(),
            messages::pass_failed(error, retry_in)
        )?;
    }
    Ok(())
}

/// `2026-12-05T06:01:02Z changed: react: complete — main 1a2b… → 9f8e…, merged 1; 0.41s`.
pub fn render_line(record: &PassRecord, retry_in: u64) -> String {
    let trigger = serde_json::to_value(record.trigger)
        .ok()
        .and_then(|v| v.as_str().map(str::to_owned))
        .unwrap_or_default();
    let what = match (&record.error, &record.react) {
        (Some(error), _) => messages::pass_failed(error, retry_in),
        (None, Some(pass)) => {
            let mut line = super::react::render_pass(pass)
                .lines()
                .next()
                .unwrap_or_default()
                .to_owned();
            if let Some(reason) = &pass.paused_with {
                line.push_str(&format!("; paused: {reason}"));
            }
            let moved = pass.new_base_sha.is_some() && pass.new_base_sha != pass.base_sha;
            if let Some(f) = record.follow.as_ref() {
                // The headline names an unmoved main's state already.
                if let (true, Some(sha), Some(release)) = (moved, &f.sha, &f.release) {
                    line.push_str(&format!("; main {} {}", short(sha), release.state.as_str()));
                }
                if let Some(reason) = &f.paused_with {
                    line.push_str(&format!("; paused: {reason}"));
                }
            }
            line
        }
        (None, None) => String::new(),
    };
    let fetched = if record.fetched { "" } else { " (no fetch)" };
    let raced = match record.lost_races {
        0 => String::new(),
        n => messages::lost_races(n),
    };
    format!(
        "{} {trigger}{fetched}: {what}{raced} ({:.2}s)",
        record.at, record.seconds
    )
}
