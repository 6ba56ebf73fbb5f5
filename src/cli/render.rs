//! Shared rendering: JSON for agents, aligned text for people, from the same data.

use crate::cli::output::outln;
use crate::error::{CliError, CliResult};
use serde::Serialize;

/// Prints `value` as pretty JSON on stdout.
pub fn print_json<T: Serialize>(value: &T) -> CliResult {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| CliError::from(anyhow::anyhow!("cannot render JSON: {e}")))?;
    outln!("{text}")?;
    Ok(())
}

/// `label: value` with the label padded so values align.
pub fn field(label: &str, value: impl std::fmt::Display) -> String {
    format!("{label:<10} {value}")
}

/// An optional string, or `-`.
pub fn or_dash(value: Option<&str>) -> &str {
    value.unwrap_or("-")
}
