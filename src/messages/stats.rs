//! What `stats` says.

/// `--since` that is neither RFC 3339 nor `YYYY-MM-DD`.
pub fn bad_since(text: &str) -> String {
    format!("`{text}` is not a date: give RFC 3339 (2026-11-01T00:00:00Z) or YYYY-MM-DD")
}

/// The text table's title line.
pub fn stats_title(since: Option<&str>) -> String {
    match since {
        Some(since) => format!("delivery since {since} (from the ledgers and notes)"),
        None => "delivery over all history (from the ledgers and notes)".to_owned(),
    }
}
