//! Logs in git (`refs/notes/deploybot/logs`): the tail of each run's output
//! as plain UTF-8 text on the exact commit, one entry per run, each headed
//! by its check, status and run id; a later run's entry appends. Pure
//! functions: the entry a runner writes, and the tail people are shown.

use crate::core::results::ResultRecord;

/// Most bytes of output one entry keeps (the tail).
pub const MAX_LOG_BYTES: usize = 64 * 1024;

/// The most bytes one note may hold on the server (`hook::rules::MAX_NOTE_BYTES`).
pub const NOTE_LIMIT_BYTES: usize = 1024 * 1024;

/// `entry` cut so that a note of `existing` bytes stays within
/// [`NOTE_LIMIT_BYTES`] once it is appended (its header always kept): a
/// full note never costs a run its result.
pub fn fit(entry: &str, existing: usize) -> String {
    let room = NOTE_LIMIT_BYTES.saturating_sub(existing + 2);
    if entry.len() <= room {
        return entry.to_owned();
    }
    let header = entry.lines().next().unwrap_or_default();
    let note = "[output not kept: the log note on this commit is full]";
    format!("{header}\n{note}")
}

/// How an entry starts: `== CI failure · run 1a2b · 2026-12-05T04:00:00Z ==`.
const HEADER_PREFIX: &str = "== ";

/// The log entry of one run: its header, then the last [`MAX_LOG_BYTES`] of
/// its output as valid UTF-8 (a cut mid-character or mid-line drops the
/// partial line; other invalid bytes read as U+FFFD).
pub fn log_entry(record: &ResultRecord, output: &[u8]) -> String {
    let run = record.run_id.as_deref().unwrap_or("-");
    let mut entry = format!(
        "{HEADER_PREFIX}{} {} · run {run} · {} ==\n",
        record.check,
        record.status.as_str(),
        record.at
    );
    let start = output.len().saturating_sub(MAX_LOG_BYTES);
    let mut tail = &output[start..];
    if start > 0 {
        // Start at a line boundary so the kept text is whole lines.
        if let Some(newline) = tail.iter().position(|b| *b == b'\n') {
            tail = &tail[newline + 1..];
        }
        entry.push_str(&format!("[… {start} earlier bytes not kept]\n"));
    }
    let text = String::from_utf8_lossy(tail);
    let text: String = text
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect();
    entry.push_str(text.trim_end());
    entry
}

/// The last entry of a note for `check` (None: no entry for it), and its
/// last `lines` lines: what `why` and `status` show of a failed run.
pub fn last_tail(note: &str, check: &str, lines: usize) -> Option<String> {
    let header = format!("{HEADER_PREFIX}{check} ");
    let start = note
        .rfind(&format!("\n{header}"))
        .map(|i| i + 1)
        .or_else(|| note.starts_with(&header).then_some(0))?;
    let entry = &note[start..];
    let is_header = |l: &str| l.starts_with(HEADER_PREFIX) && l.ends_with(" ==");
    let body: Vec<&str> = entry
        .lines()
        .skip(1)
        .take_while(|l| !is_header(l))
        .collect();
    let from = body.len().saturating_sub(lines);
    Some(body[from..].join("\n"))
}

/// The entries of a note, each its header line and the lines below it.
pub fn entries(note: &str) -> Vec<String> {
    let is_header = |l: &str| l.starts_with(HEADER_PREFIX) && l.ends_with(" ==");
    let mut out: Vec<String> = Vec::new();
    for line in note.lines() {
        match out.last_mut() {
            Some(entry) if !is_header(line) => {
                entry.push('\n');
                entry.push_str(line);
            }
            _ => out.push(line.to_owned()),
        }
    }
    out
}

/// When an entry was written: the time its header names (`· <at> ==`).
pub fn entry_at(entry: &str) -> Option<crate::core::time::UnixSeconds> {
    let header = entry.lines().next()?;
    let at = header.strip_suffix(" ==")?.rsplit(" · ").next()?;
    crate::core::time::parse_rfc3339(at)
}

/// A note with its entries written before `cutoff` left out (an entry whose
/// time cannot be read is kept); None when nothing is left.
pub fn prune(note: &str, cutoff: crate::core::time::UnixSeconds) -> Option<String> {
    let kept: Vec<String> = entries(note)
        .into_iter()
        .filter(|e| entry_at(e).is_none_or(|at| at >= cutoff))
        .collect();
    (!kept.is_empty()).then(|| kept.join("\n") + "\n")
}

/// A duration as `--logs-older-than` takes it: a whole number with a unit,
/// `s`, `m`, `h` or `d` (`90d`); its seconds.
pub fn parse_duration(text: &str) -> Option<i64> {
    let unit = text.chars().last()?;
    let number: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3_600,
        'd' => 86_400,
        _ => return None,
    };
    number.checked_mul(scale).filter(|s| *s > 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::results::ResultStatus;

    fn record() -> ResultRecord {
        let mut r = ResultRecord::new("CI", ResultStatus::Failure, "2026-12-05T04:00:00Z");
        r.run_id = Some("r1".into());
        r
    }

    #[test]
    fn an_entry_is_headed_whole_lines_and_valid_utf8() {
        let entry = log_entry(&record(), b"building\n\xffboom\x1b[31m\n");
        assert!(entry.starts_with("== CI failure · run r1 · 2026-12-05T04:00:00Z ==\n"));
        assert!(entry.contains("\u{fffd}boom[31m"), "{entry}");
        let long: Vec<u8> = (0..100_000)
            .flat_map(|i| format!("line {i}\n").into_bytes())
            .collect();
        let entry = log_entry(&record(), &long);
        assert!(entry.len() <= MAX_LOG_BYTES + 200, "{}", entry.len());
        assert!(entry.contains("earlier bytes not kept"));
        assert!(entry.ends_with("line 99999"));
        let second_line = entry.lines().nth(2).expect("a kept line");
        assert!(second_line.starts_with("line "), "{second_line}");
    }

    #[test]
    fn a_full_note_keeps_the_header_and_says_why() {
        let entry = log_entry(&record(), b"output");
        assert_eq!(fit(&entry, 10), entry);
        let fitted = fit(&entry, NOTE_LIMIT_BYTES - 10);
        assert!(fitted.starts_with("== CI failure"), "{fitted}");
        assert!(fitted.contains("is full"), "{fitted}");
    }

    #[test]
    fn pruning_keeps_the_entries_written_since_the_cutoff() {
        let old = ResultRecord::new("CI", ResultStatus::Failure, "2026-01-01T00:00:00Z");
        let new = ResultRecord::new("CI", ResultStatus::Success, "2026-12-01T00:00:00Z");
        let note = format!(
            "{}\n{}\n",
            log_entry(&old, b"old"),
            log_entry(&new, b"new\nlines")
        );
        assert_eq!(entries(&note).len(), 2);
        let cutoff = crate::core::time::parse_rfc3339("2026-06-01T00:00:00Z").expect("a time");
        let pruned = prune(&note, cutoff).expect("one left");
        assert!(
            !pruned.contains("old") && pruned.contains("new\nlines"),
            "{pruned}"
        );
        assert_eq!(prune(&log_entry(&old, b"old"), cutoff), None);
        assert_eq!(parse_duration("90d"), Some(90 * 86_400));
        assert_eq!(parse_duration("12h"), Some(43_200));
        assert_eq!(parse_duration("0d"), None);
        assert_eq!(parse_duration("ten"), None);
        assert_eq!(parse_duration("9999999999999999d"), None);
    }

    #[test]
    fn the_last_entry_of_a_check_is_shown() {
        let note = format!(
            "{}\n{}\n{}",
            log_entry(&record(), b"first run\nfailed here"),
            log_entry(
                &ResultRecord::new("Lint", ResultStatus::Success, "t"),
                b"lint ok"
            ),
            log_entry(&record(), b"second run\nfailed there"),
        );
        assert_eq!(last_tail(&note, "CI", 1).as_deref(), Some("failed there"));
        assert_eq!(last_tail(&note, "Lint", 5).as_deref(), Some("lint ok"));
        assert_eq!(last_tail(&note, "Deploy", 5), None);
    }
}
