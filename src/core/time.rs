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

/// How far ahead of the reader's (or the server's) clock a writer's clock
/// may run: a record or a result dated later than `now` plus this is not
/// evidence yet (readers skip it) and the server refuses it.
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;

/// True when `at` is later than `now` by more than [`MAX_CLOCK_SKEW_SECONDS`].
pub fn ahead_of(at: UnixSeconds, now: UnixSeconds) -> bool {
    at > now.saturating_add(MAX_CLOCK_SKEW_SECONDS)
}

/// Ledger time: the `at` of each record in ledger (written) order, made
/// monotone: never earlier than the record before it (a writer whose clock
/// ran behind) and never later than `now` plus the allowed skew (one that
/// ran ahead). So durations between records of one ledger are never
/// negative and never reach into the future. Unreadable times stay `None`.
pub fn ledger_times<'a>(
    ats: impl IntoIterator<Item = &'a str>,
    now: UnixSeconds,
) -> Vec<Option<UnixSeconds>> {
    let ceiling = now.saturating_add(MAX_CLOCK_SKEW_SECONDS);
    let mut floor = UnixSeconds::MIN;
    ats.into_iter()
        .map(|at| {
            let at = parse_rfc3339(at)?.clamp(floor, ceiling.max(floor));
            floor = at;
            Some(at)
        })
        .collect()
}

/// The earliest and latest times formatted (years 0 and 9999).
const MIN_FORMATTED: UnixSeconds = -62_167_219_200;
const MAX_FORMATTED: UnixSeconds = 253_402_300_799;

/// Formats Unix seconds as an RFC 3339 UTC timestamp (`2026-11-27T19:45:29Z`);
/// a time past what the calendar holds is clamped to its ends (never read
/// back as 1970).
pub fn format_rfc3339(seconds: UnixSeconds) -> String {
    let seconds = seconds.clamp(MIN_FORMATTED, MAX_FORMATTED);
    OffsetDateTime::from_unix_timestamp(seconds)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
        .format(&Rfc3339)
        .expect("an in-range UTC timestamp always formats")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ends_of_time_clamp_instead_of_reading_as_1970() {
        assert!(format_rfc3339(i64::MAX).starts_with("9999-12-31"));
        assert!(format_rfc3339(i64::MIN).starts_with("0000-01-01"));
        assert!(ahead_of(1_000 + MAX_CLOCK_SKEW_SECONDS + 1, 1_000));
        assert!(!ahead_of(1_000 + MAX_CLOCK_SKEW_SECONDS, 1_000));
        assert!(!ahead_of(0, i64::MAX), "no overflow");
        assert!(!ahead_of(i64::MIN, 0));
    }

    #[test]
    fn ledger_time_follows_the_written_order_within_the_servers_bound() {
        let now = 1_000_000;
        let times = ledger_times(
            [
                "1970-01-12T13:46:00Z",
                "1970-01-01T00:00:00Z",
                "9999-01-01T00:00:00Z",
                "bad",
                "1970-01-12T13:46:40Z",
            ],
            now,
        );
        let ceiling = now + MAX_CLOCK_SKEW_SECONDS;
        assert_eq!(
            times,
            vec![
                Some(999_960),
                Some(999_960),
                Some(ceiling),
                None,
                Some(ceiling)
            ]
        );
    }

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
