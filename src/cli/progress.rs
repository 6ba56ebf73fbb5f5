//! Progress for commands that wait, always on stderr (stdout is left to the
//! result, so `--json` output stays pure): a live line on a terminal, redrawn
//! every second with the elapsed time; otherwise a line per change plus a
//! heartbeat (`still …`) when nothing changed for a while, so a long wait in
//! a log or a pipe is never silent.

use std::io::{IsTerminal, Write};
use std::sync::mpsc::{self, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Seconds without a change after which a plain-lines progress repeats its line.
const HEARTBEAT_SECONDS: u64 = 15;
/// Overrides [`HEARTBEAT_SECONDS`] (tests).
const HEARTBEAT_ENV: &str = "DEPLOYBOT_PROGRESS_HEARTBEAT_SECONDS";

/// Where progress goes.
pub struct Progress {
    shared: Arc<Mutex<Shown>>,
    ticker: Option<(Sender<()>, JoinHandle<()>)>,
}

/// What is on stderr, shared with the ticker thread.
struct Shown {
    live: bool,
    last: String,
    start: Instant,
    printed_at: Instant,
}

impl Shown {
    /// Draws the live line (terminal) with the elapsed time.
    fn redraw(&self, err: &mut impl Write) {
        let elapsed = self.start.elapsed().as_secs();
        let _ = write!(err, "\r\x1b[2K{} [{elapsed}s]", self.last);
        let _ = err.flush();
    }

    /// Called every tick: redraws the live line, or repeats an unchanged line
    /// once `heartbeat` passed since anything was printed.
    fn tick(&mut self, heartbeat: Duration) {
        if self.last.is_empty() {
            return;
        }
        let mut err = std::io::stderr().lock();
        if self.live {
            self.redraw(&mut err);
        } else if self.printed_at.elapsed() >= heartbeat {
            let elapsed = self.start.elapsed().as_secs();
            let _ = writeln!(err, "still {} [{elapsed}s]", self.last);
            self.printed_at = Instant::now();
        }
    }
}

impl Progress {
    /// Live on a terminal, plain lines otherwise; always on stderr, so a
    /// command printing JSON (`_json`) keeps stdout pure either way.
    pub fn new(_json: bool) -> Progress {
        let live = std::io::stderr().is_terminal();
        let heartbeat = std::env::var(HEARTBEAT_ENV)
            .ok()
            .and_then(|s| s.trim().parse::<u64>().ok())
            .filter(|s| *s > 0)
            .unwrap_or(HEARTBEAT_SECONDS);
        let heartbeat = Duration::from_secs(heartbeat);
        let shared = Arc::new(Mutex::new(Shown {
            live,
            last: String::new(),
            start: Instant::now(),
            printed_at: Instant::now(),
        }));
        let tick = if live {
            Duration::from_secs(1)
        } else {
            heartbeat.min(Duration::from_secs(1))
        };
        let (stop, stopped) = mpsc::channel::<()>();
        let state = Arc::clone(&shared);
        let handle = std::thread::spawn(move || {
            while let Err(RecvTimeoutError::Timeout) = stopped.recv_timeout(tick) {
                if let Ok(mut shown) = state.lock() {
                    shown.tick(heartbeat);
                }
            }
        });
        Progress {
            shared,
            ticker: Some((stop, handle)),
        }
    }

    /// Shows `line`: redrawn in place on a terminal, printed when it changed otherwise.
    pub fn update(&mut self, line: &str) {
        let Ok(mut shown) = self.shared.lock() else {
            return;
        };
        let changed = line != shown.last;
        shown.last = line.to_string();
        let mut err = std::io::stderr().lock();
        if shown.live {
            shown.redraw(&mut err);
        } else if changed {
            let _ = writeln!(err, "{line}");
            shown.printed_at = Instant::now();
        }
    }

    /// Stops the ticker and ends a live line so the next output starts on a fresh line.
    pub fn finish(&mut self) {
        if let Some((stop, handle)) = self.ticker.take() {
            drop(stop);
            let _ = handle.join();
        }
        if let Ok(mut shown) = self.shared.lock() {
            if shown.live && !shown.last.is_empty() {
                let _ = writeln!(std::io::stderr());
            }
            shown.last.clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}
