//! Progress for commands that wait: a live line on a terminal, plain lines
//! (only when something changed) otherwise, nothing at all with `--json`.

use std::io::{IsTerminal, Write};
use std::time::Instant;

/// Where progress goes.
pub struct Progress {
    mode: Mode,
    last: String,
    start: Instant,
}

enum Mode {
    Silent,
    Live,
    Lines,
}

impl Progress {
    /// Silent for JSON output; live on a terminal; plain lines otherwise (all on stderr).
    pub fn new(json: bool) -> Progress {
        let mode = if json {
            Mode::Silent
        } else if std::io::stderr().is_terminal() {
            Mode::Live
        } else {
            Mode::Lines
        };
        Progress {
            mode,
            last: String::new(),
            start: Instant::now(),
        }
    }

    /// Shows `line` (with the elapsed time on a terminal).
    pub fn update(&mut self, line: &str) {
        let mut err = std::io::stderr().lock();
        match self.mode {
            Mode::Silent => {}
            Mode::Live => {
                let elapsed = self.start.elapsed().as_secs();
                let _ = write!(err, "\r\x1b[2K{line} [{elapsed}s]");
                let _ = err.flush();
            }
            Mode::Lines if line != self.last => {
                let _ = writeln!(err, "{line}");
            }
            Mode::Lines => {}
        }
        self.last = line.to_string();
    }

    /// Ends a live line so the next output starts on a fresh line.
    pub fn finish(&mut self) {
        if matches!(self.mode, Mode::Live) && !self.last.is_empty() {
            let _ = writeln!(std::io::stderr());
            self.last.clear();
        }
    }
}
