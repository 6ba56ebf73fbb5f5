//! `git deploybot stats`: delivery figures from the ledgers' history and the notes.

use super::GlobalArgs;
use super::render::print_json;
use crate::cli::output::out;
use crate::core::stats::{Quantiles, Stats, prometheus};
use crate::core::time::{UnixSeconds, parse_rfc3339};
use crate::error::CliResult;
use crate::messages;
use crate::session::Session;
use clap::Args;

/// Arguments of `stats`.
#[derive(Debug, Args)]
pub struct StatsArgs {
    /// Only requests (pauses, CI runs, verified mains) at or after DATE: RFC 3339, YYYY-MM-DD (UTC midnight) or a duration back from now (30d, 12h).
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<UnixSeconds>,
    /// Print JSON instead of text.
    #[arg(long, conflicts_with = "prometheus")]
    pub json: bool,
    /// Print Prometheus text exposition (every metric prefixed `deploybot_`).
    #[arg(long)]
    pub prometheus: bool,
}

/// Parses `--since`: RFC 3339, a date `YYYY-MM-DD` taken as midnight UTC, or
/// a duration (`30d`, `12h`) counted back from now.
pub fn parse_since(text: &str) -> Result<UnixSeconds, String> {
    let date = text.len() == 10
        && text.bytes().enumerate().all(|(i, b)| {
            if i == 4 || i == 7 {
                b == b'-'
            } else {
                b.is_ascii_digit()
            }
        });
    let parsed = if date {
        parse_rfc3339(&format!("{text}T00:00:00Z"))
    } else {
        parse_rfc3339(text)
    };
    // A duration (`30d`, `12h`) counts back from now.
    let ago = || {
        crate::core::logs::parse_duration(text)
            .map(|seconds| crate::ops::now_seconds().saturating_sub(seconds))
    };
    parsed.or_else(ago).ok_or_else(|| messages::bad_since(text))
}

/// Runs `stats`.
pub fn run(global: &GlobalArgs, args: StatsArgs) -> CliResult {
    let session = Session::open(&global.session_options())?;
    let stats = crate::ops::stats::gather(&session, args.since, crate::ops::now_seconds())?;
    if args.json {
        return print_json(&stats);
    }
    if args.prometheus {
        out!("{}", prometheus(&stats))?;
        return Ok(());
    }
    out!("{}", render_text(&stats))?;
    Ok(())
}

/// A duration for people: `-`, `42s`, `7m 5s`, `3h 2m`, `2d 4h`.
pub fn human_seconds(seconds: Option<i64>) -> String {
    let Some(s) = seconds else {
        return "-".to_owned();
    };
    match s {
        s if s < 60 => format!("{s}s"),
        s if s < 3600 => format!("{}m {}s", s / 60, s % 60),
        s if s < 86_400 => format!("{}h {}m", s / 3600, (s % 3600) / 60),
        s => format!("{}d {}h", s / 86_400, (s % 86_400) / 3600),
    }
}

/// The text rendering: counts, then a short table of times.
pub fn render_text(stats: &Stats) -> String {
    let mut out = messages::stats_title(stats.since.as_deref());
    out.push('\n');
    out.push_str(&format!(
        "requests {}, merged {}, blocked {}; pauses {}, recoveries {}\n",
        stats.requests, stats.merged, stats.blocked, stats.pauses, stats.recoveries
    ));
    let rows: [(&str, &Quantiles); 5] = [
        ("queue wait", &stats.queue_wait_seconds),
        ("time to live", &stats.time_to_live_seconds),
        ("CI duration", &stats.ci_duration_seconds),
        ("lead time", &stats.dora.lead_time_seconds),
        ("time to restore", &stats.dora.time_to_restore_seconds),
    ];
    out.push_str(&format!("{:<16} {:>10} {:>10}\n", "", "p50", "p95"));
    for (label, q) in rows {
        out.push_str(&format!(
            "{label:<16} {:>10} {:>10}\n",
            human_seconds(q.p50),
            human_seconds(q.p95)
        ));
    }
    let d = &stats.dora;
    let frequency = d
        .deployment_frequency_per_day
        .map_or_else(|| "-".to_owned(), messages::per_day);
    let rate = d
        .change_failure_rate
        .map_or_else(|| "-".to_owned(), |r| format!("{:.1}%", r * 100.0));
    out.push_str(&format!("deploy frequency {frequency}\n"));
    out.push_str(&format!("change failure   {rate}\n"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_takes_rfc3339_or_a_date() {
        assert_eq!(
            parse_since("2026-11-01"),
            parse_since("2026-11-01T00:00:00Z")
        );
        assert_eq!(
            parse_since("2026-11-01T01:00:00+01:00"),
            parse_since("2026-11-01")
        );
        assert!(parse_since("last week").is_err());
        let month = parse_since("30d").expect("a duration");
        let now = crate::ops::now_seconds();
        assert!(
            (now - 30 * 86_400 - month).abs() <= 2,
            "30 days back from now"
        );
        assert!(parse_since("2026-13-01").is_err());
    }

    #[test]
    fn durations_read_well() {
        assert_eq!(human_seconds(None), "-");
        assert_eq!(human_seconds(Some(425)), "7m 5s");
        assert_eq!(human_seconds(Some(2 * 86_400 + 4 * 3600)), "2d 4h");
    }
}
