//! Writing to stdout without ever panicking. `println!` panics when the reader
//! went away (`git deploybot status | head -1`); here a closed stdout ends the
//! process quietly with exit 0, because what was asked for has been done and
//! written as far as anyone reads it. Any other write failure is an error.

use crate::error::{CliError, CliResult};
use std::io::Write;

/// Writes `text` to stdout and flushes it; see the module comment for a closed stdout.
pub fn emit(text: &[u8]) -> CliResult {
    let mut out = std::io::stdout().lock();
    match out.write_all(text).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(e) => Err(CliError::from(anyhow::anyhow!(
            crate::messages::cannot_write_stdout(&e.to_string())
        ))),
    }
}

/// Writes formatted text (no newline added); see [`emit`].
pub fn emit_fmt(args: std::fmt::Arguments<'_>) -> CliResult {
    emit(args.to_string().as_bytes())
}

/// Writes formatted text and a newline; see [`emit`].
pub fn emit_line(args: std::fmt::Arguments<'_>) -> CliResult {
    let mut text = args.to_string();
    text.push('\n');
    emit(text.as_bytes())
}

/// Writes lines to stderr, ignoring failures (nobody is left to tell).
pub fn warn_lines(lines: &[&str]) {
    let mut err = std::io::stderr().lock();
    for line in lines {
        let _ = writeln!(err, "{line}");
    }
}

/// `print!` that never panics: a [`CliResult`] to propagate with `?`.
macro_rules! out {
    ($($arg:tt)*) => { $crate::cli::output::emit_fmt(format_args!($($arg)*)) };
}

/// `println!` that never panics: a [`CliResult`] to propagate with `?`.
macro_rules! outln {
    ($($arg:tt)*) => { $crate::cli::output::emit_line(format_args!($($arg)*)) };
}

pub(crate) use {out, outln};
