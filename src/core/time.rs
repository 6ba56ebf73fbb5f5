//! RFC 3339 timestamps as the ledger and notes store them.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

/// Seconds since the Unix epoch, the unit every pure rule compares.
pub type UnixSeconds = i64;

/// Parses an RFC 3339 timestamp into Unix seconds; `None` when malformed.
pub fn parse_rfc3339(text: &str) -> Option<UnixSeconds> {
    OffsetDateTime::parse(text, &Rfc3339)
        .ok()
        .map(|t| t.unix_timestamp())
}

/// Formats Unix seconds as an RFC 3339 UTC timestamp (`2026-11-27T19:45:29Z`).
pub fn format_rfc3339(seconds: UnixSeconds) -> String {
    OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .expect("an in-range UTC timestamp always formats")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_utc() {
        let s = format_rfc3339(1_795_000_000);
        assert!(s.ends_with('Z'), "{s}");
        assert_eq!(parse_rfc3339(&s), Some(1_795_000_000));
    }

    #[test]
    fn honours_offsets_and_rejects_garbage() {
        assert_eq!(
            parse_rfc3339("2026-01-01T01:00:00+01:00"),
            parse_rfc3339("2026-01-01T00:00:00Z")
        );
        assert_eq!(parse_rfc3339("yesterday"), None);
    }
}
