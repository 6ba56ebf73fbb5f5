//! What `stats` says.

/// `--since` that is neither RFC 3339 nor `YYYY-MM-DD`.
pub fn bad_since(text: &str) -> String {
    format!(
        "`{text}` is not a date: give RFC 3339 (2026-11-01T00:00:00Z), YYYY-MM-DD or a duration back from now (30d, 12h)"
    )
}

/// The text table's title line.
pub fn stats_title(since: Option<&str>) -> String {
    match since {
        Some(since) => format!("delivery since {since} (from the ledgers and notes)"),
        None => "delivery over all history (from the ledgers and notes)".to_owned(),
    }
}

/// A deployment frequency for people: `1 verified main a day`, `2.5
/// verified mains a day`.
pub fn per_day(frequency: f64) -> String {
    let mains = if frequency == 1.0 { "main" } else { "mains" };
    format!("{frequency} verified {mains} a day")
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_main_a_day_is_singular() {
        assert_eq!(super::per_day(1.0), "1 verified main a day");
        assert_eq!(super::per_day(2.5), "2.5 verified mains a day");
    }
}
