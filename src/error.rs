//! The one error type of the CLI: a kind (which fixes the exit code) and one line of text.

use crate::git::store::WriteError;

/// What went wrong, which decides the exit code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorKind {
    /// A git, I/O or environment failure (exit 1).
    Runtime,
    /// Bad input: flags, shas, reasons, policy (exit 2).
    Usage,
    /// State changed or does not allow this; refresh status and retry (exit 3).
    Precondition,
    /// The server's pre-receive hook refused the push (exit 4).
    Refused,
    /// Other writers kept winning the race (exit 5).
    Contended,
    /// A followed release failed (exit 6).
    ReleaseFailed,
    /// A wait reached its timeout (exit 7).
    TimedOut,
}

impl ErrorKind {
    /// The process exit code for this kind.
    pub fn exit_code(self) -> u8 {
        match self {
            ErrorKind::Runtime => 1,
            ErrorKind::Usage => 2,
            ErrorKind::Precondition => 3,
            ErrorKind::Refused => 4,
            ErrorKind::Contended => 5,
            ErrorKind::ReleaseFailed => 6,
            ErrorKind::TimedOut => 7,
        }
    }
}

/// An error shown to the user as `error: <message>` plus optional detail lines.
#[derive(Debug)]
pub struct CliError {
    /// Decides the exit code.
    pub kind: ErrorKind,
    /// One line naming the problem and the next step.
    pub message: String,
    /// Further lines (for example each reason the server gave).
    pub details: Vec<String>,
}

impl CliError {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> CliError {
        CliError {
            kind,
            message: message.into(),
            details: Vec::new(),
        }
    }

    /// A usage error.
    pub fn usage(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Usage, message)
    }

    /// A precondition failure (the user should refresh status).
    pub fn precondition(message: impl Into<String>) -> CliError {
        CliError::new(ErrorKind::Precondition, message)
    }
}

impl From<anyhow::Error> for CliError {
    fn from(err: anyhow::Error) -> CliError {
        if let Some(cli) = err.downcast_ref::<CliError>() {
            return CliError {
                kind: cli.kind,
                message: cli.message.clone(),
                details: cli.details.clone(),
            };
        }
        match err.downcast_ref::<WriteError>() {
            Some(WriteError::Rejected(lines)) => CliError {
                kind: ErrorKind::Refused,
                message: "the server refused the push; nothing was written (reasons below)".into(),
                details: lines.clone(),
            },
            Some(WriteError::Contended(_)) => CliError::new(ErrorKind::Contended, err.to_string()),
            Some(WriteError::StaleLock(_)) => CliError::new(ErrorKind::Runtime, err.to_string()),
            None => {
                let text = format!("{err:#}");
                let one_line = text.lines().next().unwrap_or("unknown error").to_string();
                CliError::new(ErrorKind::Runtime, one_line)
            }
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

/// The CLI's result type.
pub type CliResult<T = ()> = Result<T, CliError>;
