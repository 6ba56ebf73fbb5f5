//! `git deploybot serve`: a read-only queue page (`GET /`) and `GET /status.json`.
//!
//! Each connection on its own thread, bounded in time and size
//! ([`http`]); answers share one cache. The report is gathered at most every
//! [`REFRESH_SECONDS`] however many requests come; when a refresh fails (the
//! remote is down) the last report stays, shown with its age and a banner.
//! Nothing here writes.

pub mod chart;
pub mod http;
pub mod page;

use super::GlobalArgs;
use crate::cli::output::outln;
use crate::cli::status::StatusOutput;
use crate::core::queue::MergedEntry;
use crate::error::{CliError, CliResult};
use crate::git::store::Sync;
use crate::messages;
use crate::ops::status::{StatusReport, gather};
use crate::session::{Session, SessionOptions};
use clap::Args;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Re-gather the report only when the last attempt is older than this.
pub const REFRESH_SECONDS: u64 = 5;

/// Arguments of `serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "ADDR")]
    pub listen: String,
}

/// One gathered state: the report and what the page adds to it.
pub struct Snapshot {
    /// The status report.
    pub report: StatusReport,
    /// The queue state's recent merges, oldest first.
    pub merged: Vec<MergedEntry>,
    /// When it was gathered (Unix seconds).
    pub gathered_at: i64,
    /// When the mirror was last fetched from the remote (null locally).
    pub fetched_at: Option<i64>,
    /// Delivery figures (`stats`), gathered at most every [`STATS_SECONDS`].
    pub stats: Option<crate::core::stats::Stats>,
}

/// How often, at most, the delivery figures are recomputed: they read the
/// ledgers' history, so they follow the page's refresh only slowly.
pub const STATS_SECONDS: u64 = 60;

/// The window of the page's delivery figures: the last 30 days (`stats
/// --since 30d`), so a refresh reads what the window holds, not all history.
pub const STATS_WINDOW_SECONDS: i64 = 30 * 86_400;

/// The last snapshot, when it was tried, and why the last refresh failed.
pub struct Cache {
    options: SessionOptions,
    snapshot: Option<Snapshot>,
    tried: Option<Instant>,
    error: Option<String>,
    stats_tried: Option<Instant>,
}

/// Gathers a snapshot (fetching first unless `options.cached`), with the
/// delivery figures when `with_stats`.
pub fn snapshot(options: &SessionOptions, with_stats: bool) -> CliResult<Snapshot> {
    let session = Session::open(options)?;
    let report = gather(&session)?;
    let stats = if with_stats {
        let now = crate::ops::now_seconds();
        match crate::ops::stats::gather(&session, Some(now - STATS_WINDOW_SECONDS), now) {
            Ok(stats) => Some(stats),
            Err(e) => {
                // The page still shows the queue; the figures wait for the next try.
                eprintln!("{}", crate::messages::stats_unavailable(&e.message));
                None
            }
        }
    } else {
        None
    };
    let merged = crate::ops::queue::read_queue(&session.store)?.state.merged;
    let fetched_at = match &session.store.sync {
        Sync::Remote(name) => session.repo().last_fetch(name),
        Sync::Local => None,
    };
    Ok(Snapshot {
        report,
        merged,
        gathered_at: crate::ops::now_seconds(),
        fetched_at,
        stats,
    })
}

impl Cache {
    /// An empty cache reading with `options`.
    pub fn new(options: SessionOptions) -> Cache {
        Cache {
            options,
            snapshot: None,
            tried: None,
            error: None,
            stats_tried: None,
        }
    }

    /// Refreshes when the last attempt is older than [`REFRESH_SECONDS`];
    /// a failure keeps the previous snapshot (or, with none yet, reads the
    /// state last fetched) and remembers why.
    pub fn refresh(&mut self) {
        let fresh = self
            .tried
            .is_some_and(|t| t.elapsed() < Duration::from_secs(REFRESH_SECONDS));
        if fresh {
            return;
        }
        self.tried = Some(Instant::now());
        let with_stats = self
            .stats_tried
            .is_none_or(|t| t.elapsed() >= Duration::from_secs(STATS_SECONDS));
        match snapshot(&self.options, with_stats) {
            Ok(mut s) => {
                if with_stats {
                    self.stats_tried = Some(Instant::now());
                } else {
                    s.stats = self.snapshot.as_mut().and_then(|old| old.stats.take());
                }
                self.snapshot = Some(s);
                self.error = None;
            }
            Err(err) => {
                self.error = Some(err.message.clone());
                if self.snapshot.is_none() {
                    let cached = SessionOptions {
                        cached: true,
                        ..self.options.clone()
                    };
                    self.snapshot = snapshot(&cached, true).ok();
                }
            }
        }
    }

    /// The answer to one request: status code, content type, body.
    pub fn answer(&mut self, method: &str, url: &str) -> (u16, &'static str, String) {
        if !matches!(method, "GET" | "HEAD") {
            let text = messages::method_not_allowed(method);
            return (405, "text/plain; charset=utf-8", text);
        }
        let path = url.split('?').next().unwrap_or("/");
        if path != "/" && path != "/status.json" {
            return (404, "text/plain; charset=utf-8", messages::not_found(path));
        }
        self.refresh();
        let Some(snap) = &self.snapshot else {
            let why = self.error.clone().unwrap_or_default();
            return (503, "text/plain; charset=utf-8", format!("{why}\n"));
        };
        let now = crate::ops::now_seconds();
        if path == "/status.json" {
            let json = serde_json::to_string_pretty(&StatusOutput {
                report: &snap.report,
                cached: self.error.is_some(),
                fetched_at: snap.fetched_at.map(crate::core::time::format_rfc3339),
                age_seconds: snap.fetched_at.map(|at| (now - at).max(0) as u64),
            })
            .expect("a status report serializes");
            return (200, "application/json", json + "\n");
        }
        let html = page::render(&page::PageView {
            report: &snap.report,
            merged: &snap.merged,
            age_seconds: (now - snap.gathered_at).max(0) as u64,
            refresh_error: self.error.as_deref(),
            refresh_every: REFRESH_SECONDS,
            now,
            stats: snap.stats.as_ref(),
        });
        (200, "text/html; charset=utf-8", html)
    }
}

/// Runs `serve` until killed.
pub fn run(global: &GlobalArgs, args: ServeArgs) -> CliResult {
    let listener = bind(&args.listen)?;
    serve_on(listener, global.session_options(), |line| {
        outln!("{line}")?;
        Ok(())
    })
}

/// Binds the page's address (a usage error naming it when it cannot).
pub fn bind(listen: &str) -> CliResult<std::net::TcpListener> {
    std::net::TcpListener::bind(listen)
        .map_err(|e| CliError::usage(messages::cannot_listen(listen, &e.to_string())))
}

/// Serves the page on `listener`, read with `options`, until the process
/// ends; `announce` gets the serving line once the first state is read.
pub fn serve_on(
    listener: std::net::TcpListener,
    options: SessionOptions,
    announce: impl FnOnce(&str) -> CliResult,
) -> CliResult {
    let mut cache = Cache::new(options);
    cache.refresh();
    if let (None, Some(why)) = (&cache.snapshot, &cache.error) {
        return Err(CliError::usage(why.clone()));
    }
    let addr = listener
        .local_addr()
        .map_or_else(|_| "?".to_owned(), |a| a.to_string());
    let source = cache
        .snapshot
        .as_ref()
        .map_or("local", |s| s.report.source.as_str())
        .to_owned();
    announce(&messages::serving(&addr, &source, REFRESH_SECONDS))?;
    let cache = Mutex::new(cache);
    http::serve(listener, move |method, url| {
        // A panic in one answer poisons nothing that matters: the cache is
        // rebuilt on the next refresh.
        let mut cache = cache.lock().unwrap_or_else(|p| p.into_inner());
        let (code, kind, body) = cache.answer(method, url);
        let headers = if code == 405 {
            vec![("Allow", "GET, HEAD")]
        } else {
            Vec::new()
        };
        http::Answer {
            code,
            kind,
            body,
            headers,
        }
    })
    .map_err(|e| CliError::new(crate::error::ErrorKind::Runtime, e.to_string()))?;
    Ok(())
}
