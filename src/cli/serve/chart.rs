//! Inline SVG bar charts for the queue page: no script, no external assets.

use super::page::{escape, tone};
use crate::core::queue::MergedEntry;
use std::fmt::Write;

/// The queue's entry states in display order, with how many entries are in each.
pub fn state_counts<'a>(states: impl Iterator<Item = &'a str>) -> Vec<(String, u64)> {
    let mut counts: Vec<(String, u64)> =
        ["queued", "testing", "waiting-checks", "blocked", "stale"]
            .iter()
            .map(|s| (s.to_string(), 0))
            .collect();
    for state in states {
        match counts.iter_mut().find(|(name, _)| name == state) {
            Some((_, n)) => *n += 1,
            None => counts.push((state.to_string(), 1)),
        }
    }
    counts
}

/// A horizontal bar chart: one labelled bar per `(label, value)`.
pub fn bars(title: &str, data: &[(String, u64)]) -> String {
    let max = data.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let row = 22;
    let height = row * data.len().max(1);
    let mut svg = format!(
        "<figure class=\"chart\"><svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 320 {height}\" preserveAspectRatio=\"xMinYMin meet\">",
        escape(title)
    );
    for (i, (label, value)) in data.iter().enumerate() {
        let y = i * row;
        let width = (*value as f64 / max as f64 * 170.0).round() as u64;
        let _ = write!(
            svg,
            "<text x=\"0\" y=\"{}\" class=\"label\">{}</text><rect x=\"110\" y=\"{}\" width=\"{}\" height=\"14\" rx=\"3\" class=\"bar {}\"/><text x=\"{}\" y=\"{}\" class=\"value\">{value}</text>",
            y + 15,
            escape(label),
            y + 4,
            width.max(1),
            tone(label),
            116 + width,
            y + 15
        );
    }
    let _ = write!(
        svg,
        "</svg><figcaption>{}</figcaption></figure>",
        escape(title)
    );
    svg
}

/// A column chart of merges per day over the last `days` days (today last).
pub fn merges_per_day(merged: &[MergedEntry], now: i64, days: usize) -> String {
    const DAY: i64 = 86_400;
    let today = now.div_euclid(DAY);
    let mut counts = vec![0u64; days];
    for m in merged {
        let Some(at) = crate::core::time::parse_rfc3339(&m.at) else {
            continue;
        };
        let ago = today - at.div_euclid(DAY);
        if (0..days as i64).contains(&ago) {
            counts[days - 1 - ago as usize] += 1;
        }
    }
    let max = counts.iter().copied().max().unwrap_or(0).max(1);
    let (col, height) = (28usize, 80u64);
    let width = col * days;
    let title = format!("merges per day, last {days} days (today on the right)");
    let mut svg = format!(
        "<figure class=\"chart columns\"><svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 {width} {}\" preserveAspectRatio=\"xMinYMin meet\">",
        escape(&title),
        height + 16
    );
    for (i, n) in counts.iter().enumerate() {
        let h = n * height / max;
        let x = i * col + 4;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"2\" class=\"bar good\"><title>{n}</title></rect>",
            height - h,
            col - 8,
            h.max(1)
        );
        if *n > 0 {
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" class=\"value\" text-anchor=\"middle\">{n}</text>",
                x + (col - 8) / 2,
                height + 13
            );
        }
    }
    let _ = write!(
        svg,
        "</svg><figcaption>{}</figcaption></figure>",
        escape(&title)
    );
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_keep_the_display_order_and_add_unknown_states() {
        let counts = state_counts(["blocked", "queued", "queued", "odd"].into_iter());
        assert_eq!(counts[0], ("queued".to_string(), 2));
        assert_eq!(counts[3], ("blocked".to_string(), 1));
        assert_eq!(counts.last(), Some(&("odd".to_string(), 1)));
    }

    #[test]
    fn merges_land_in_their_day() {
        let m = |at: &str| MergedEntry {
            branch: "<b>".into(),
            head_sha: "a".repeat(40),
            merge_sha: "b".repeat(40),
            at: at.into(),
        };
        let now = crate::core::time::parse_rfc3339("2026-11-29T12:00:00Z").expect("time");
        let svg = merges_per_day(
            &[
                m("2026-11-29T01:00:00Z"),
                m("2026-11-29T02:00:00Z"),
                m("2026-11-28T02:00:00Z"),
            ],
            now,
            3,
        );
        assert!(svg.contains("<title>2</title>"), "{svg}");
        assert!(svg.contains("<title>1</title>"), "{svg}");
        assert!(svg.contains("<title>0</title>"), "{svg}");
    }
}
