//! The queue page: pure string building from a status report (no I/O).

use super::chart;
use crate::core::control::ControlMode;
use crate::core::queue::MergedEntry;
use crate::core::release::ReleaseState;
use crate::messages::{self, short};
use crate::ops::status::StatusReport;
use std::fmt::Write;

/// Everything the page shows.
pub struct PageView<'a> {
    /// The last report gathered.
    pub report: &'a StatusReport,
    /// The queue state's recent merges, oldest first.
    pub merged: &'a [MergedEntry],
    /// Seconds since the report was gathered.
    pub age_seconds: u64,
    /// Why the last refresh failed (the report shown is older), if it did.
    pub refresh_error: Option<&'a str>,
    /// How often, at most, the server refreshes (seconds).
    pub refresh_every: u64,
    /// Now, in Unix seconds (for the merges chart).
    pub now: i64,
    /// Delivery figures (`stats`), when gathered.
    pub stats: Option<&'a crate::core::stats::Stats>,
}

/// Escapes text for HTML element content and quoted attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A coloured state badge (the class is one of ours, the text is escaped).
fn badge(class: &str, text: &str) -> String {
    format!("<span class=\"badge {class}\">{}</span>", escape(text))
}

/// The badge class of a state name: good, bad, busy or idle.
pub fn tone(state: &str) -> &'static str {
    match state {
        "running" | "verified" | "queued" | "passed" => "good",
        "paused" | "ci-failed" | "deploy-failed" | "verify-failed" | "blocked" | "failed" => "bad",
        "testing" | "deploying" | "awaiting-deploy" | "waiting-checks" => "busy",
        _ => "idle",
    }
}

/// The whole HTML page.
pub fn render(view: &PageView) -> String {
    let r = view.report;
    let mut html =
        String::from("<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">");
    html.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">");
    let _ = write!(
        html,
        "<meta http-equiv=\"refresh\" content=\"{}\"><title>deploybot: {} {}</title><style>{}</style></head><body><main>",
        view.refresh_every.max(5),
        escape(&r.main.branch),
        r.control.state.as_str(),
        include_str!("style.css")
    );
    let _ = write!(
        html,
        "<header><h1>git-deploybot <span class=\"muted\">queue</span></h1><p class=\"muted\">{}</p></header>",
        escape(&messages::page_freshness(
            &r.source,
            view.age_seconds,
            view.refresh_every
        ))
    );
    if let Some(why) = view.refresh_error {
        let text = messages::stale_banner(&r.source, view.age_seconds, why);
        let _ = write!(
            html,
            "<p class=\"banner\" role=\"alert\">{}</p>",
            escape(&text)
        );
    }
    html.push_str("<div class=\"grid\">");
    html.push_str(&control_card(r));
    html.push_str(&release_card(r));
    html.push_str("</div>");
    html.push_str(&queue_section(r));
    html.push_str(&candidates_section(r));
    html.push_str(&merged_section(view));
    if let Some(stats) = view.stats {
        html.push_str(&delivery_section(stats));
    }
    html.push_str(&problems_section(r));
    html.push_str("</main></body></html>\n");
    html
}

/// The delivery figures of `stats`: counts, the DORA rates, and p50/p95 bars.
fn delivery_section(stats: &crate::core::stats::Stats) -> String {
    let mut html =
        String::from("<section class=\"card\" id=\"delivery\"><h2>Delivery, the last 30 days</h2>");
    let rate = |v: Option<f64>, unit: &str| match v {
        Some(v) => format!("{v:.2}{unit}"),
        None => "-".to_owned(),
    };
    let _ = write!(
        html,
        "<p class=\"muted\">{} requests, {} merged, {} blocked, {} pauses, {} recoveries; deployment frequency {}; change failure rate {}</p>",
        stats.requests,
        stats.merged,
        stats.blocked,
        stats.pauses,
        stats.recoveries,
        rate(stats.dora.deployment_frequency_per_day, " per day"),
        rate(stats.dora.change_failure_rate.map(|r| r * 100.0), "%"),
    );
    let figures = [
        ("queue wait", &stats.queue_wait_seconds),
        ("time to live", &stats.time_to_live_seconds),
        ("CI duration", &stats.ci_duration_seconds),
        ("lead time", &stats.dora.lead_time_seconds),
        ("time to restore", &stats.dora.time_to_restore_seconds),
    ];
    let minutes = |s: Option<i64>| s.map_or(0, |s| (s.max(0) as u64).div_ceil(60));
    let p50: Vec<(String, u64)> = figures
        .iter()
        .map(|(label, q)| (label.to_string(), minutes(q.p50)))
        .collect();
    let p95: Vec<(String, u64)> = figures
        .iter()
        .map(|(label, q)| (label.to_string(), minutes(q.p95)))
        .collect();
    html.push_str(&chart::bars("p50, minutes", &p50));
    html.push_str(&chart::bars("p95, minutes", &p95));
    html.push_str("</section>");
    html
}

fn control_card(r: &StatusReport) -> String {
    let c = &r.control;
    let mut html = String::from("<section class=\"card\" id=\"control\"><h2>Control</h2>");
    let _ = write!(
        html,
        "<p class=\"big\">{}</p>",
        badge(tone(c.state.as_str()), c.state.as_str())
    );
    let mut rows = Vec::new();
    if c.state == ControlMode::Paused {
        rows.push(("reason", c.reason.clone().unwrap_or_default()));
        rows.push(("sha", c.main_sha.clone().unwrap_or_default()));
        rows.push(("control id", c.control_id.clone().unwrap_or_default()));
    } else if let Some(sha) = &c.recovered_main_sha {
        let reason = c.recovered_reason.clone().unwrap_or_default();
        rows.push((
            "last recovery",
            crate::messages::recovered_what(&reason, sha),
        ));
    }
    if let Some(actor) = &c.actor {
        rows.push(("by", actor.clone()));
    }
    if let Some(at) = &c.at {
        rows.push(("at", at.clone()));
    }
    html.push_str(&rows_html(&rows));
    if let Some(why) = &r.recovery_why {
        let _ = write!(html, "<p>{}</p>", escape(why));
    }
    if !r.next.is_empty() {
        html.push_str("<h3>Next</h3><ul class=\"next\">");
        for step in &r.next {
            let class = if step.starts_with("git deploybot unpause") {
                " class=\"unpause\""
            } else {
                ""
            };
            let _ = write!(html, "<li><code{class}>{}</code></li>", escape(step));
        }
        html.push_str("</ul>");
    }
    html.push_str("</section>");
    html
}

fn release_card(r: &StatusReport) -> String {
    let mut html = String::from("<section class=\"card\" id=\"release\"><h2>Base release</h2>");
    let (Some(sha), Some(release)) = (&r.main.sha, &r.main.release) else {
        let _ = write!(
            html,
            "<p>{} does not exist yet</p></section>",
            escape(&r.main.branch)
        );
        return html;
    };
    let state = release.state.as_str();
    let _ = write!(
        html,
        "<p class=\"big\"><code>{}</code> at <code>{}</code> {}</p><p>{}</p>",
        escape(&r.main.branch),
        short(sha),
        badge(tone(state), state),
        escape(&release.why)
    );
    html.push_str(&pipeline(release.state));
    let watermark = match r.verified_sha.as_deref() {
        Some(v) if v == sha => format!("{} (this main)", short(v)),
        Some(v) => format!("{} (an older main)", short(v)),
        None => "nothing verified yet".to_owned(),
    };
    let mut rows = vec![("watermark", watermark)];
    if !release.waiting_for.is_empty() {
        rows.push(("waiting for", release.waiting_for.join(", ")));
    }
    if let Some(next) = &r.watermark_next {
        rows.push(("watermark next", short(next).to_owned()));
    }
    if let Some(f) = &r.history.failure {
        let line = format!("{} on {} — {}", f.state.as_str(), short(&f.sha), f.why);
        rows.push(("older main", line));
    }
    if let Some(repair) = &r.repair {
        let line = format!("{} owned by {}", repair.branch, repair.lease.owner);
        rows.push(("repair", line));
    }
    html.push_str(&rows_html(&rows));
    // The failing run's own words (refs/notes/deploybot/logs), escaped.
    if let Some(tail) = &r.main.log_tail {
        let _ = write!(
            html,
            "<details open><summary>log of the failing run</summary><pre class=\"log\">{}</pre></details>",
            escape(tail)
        );
    }
    html.push_str("</section>");
    html
}

/// CI → deploy → verify, each step done, current, failed or still to come.
fn pipeline(state: ReleaseState) -> String {
    use ReleaseState::*;
    let steps: [(&str, &str); 3] = match state {
        Testing => [("CI", "busy"), ("deploy", "idle"), ("verify", "idle")],
        CiFailed => [("CI", "bad"), ("deploy", "idle"), ("verify", "idle")],
        AwaitingDeploy => [("CI", "good"), ("deploy", "idle"), ("verify", "idle")],
        Deploying => [("CI", "good"), ("deploy", "busy"), ("verify", "busy")],
        DeployFailed => [("CI", "good"), ("deploy", "bad"), ("verify", "idle")],
        VerifyFailed => [("CI", "good"), ("deploy", "good"), ("verify", "bad")],
        Verified => [("CI", "good"), ("deploy", "good"), ("verify", "good")],
    };
    let mut html = String::from("<ol class=\"pipeline\">");
    for (name, class) in steps {
        let _ = write!(html, "<li class=\"{class}\">{name}</li>");
    }
    html.push_str("</ol>");
    html
}

fn queue_section(r: &StatusReport) -> String {
    let mut html = String::from("<section class=\"card\" id=\"queue\"><h2>Queue</h2>");
    if r.queue.is_empty() {
        html.push_str("<p class=\"muted\">empty</p></section>");
        return html;
    }
    let counts = chart::state_counts(r.queue.iter().map(|e| e.state.as_str()));
    html.push_str(&chart::bars("entries by state", &counts));
    html.push_str("<table><thead><tr><th>#</th><th>branch</th><th>state</th><th>head</th><th>why</th></tr></thead><tbody>");
    for (i, e) in r.queue.iter().enumerate() {
        let _ = write!(
            html,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            i + 1,
            escape(&e.branch),
            badge(tone(e.state.as_str()), e.state.as_str()),
            escape(short(&e.head_sha)),
            escape(&e.why)
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

fn candidates_section(r: &StatusReport) -> String {
    if r.candidates.is_empty() {
        return String::new();
    }
    let mut html = String::from(
        "<section class=\"card\" id=\"candidates\"><h2>Candidates under test</h2><table><thead><tr><th>candidate</th><th>state</th><th>sha</th><th>entries</th><th>why</th></tr></thead><tbody>",
    );
    for c in &r.candidates {
        let branches: Vec<&str> = c.entries.iter().map(|e| e.branch.as_str()).collect();
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td></tr>",
            escape(&c.candidate_id),
            badge(tone(&c.state), &c.state),
            escape(short(&c.sha)),
            escape(&branches.join(", ")),
            escape(&c.why)
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

fn merged_section(view: &PageView) -> String {
    let mut html = String::from("<section class=\"card\" id=\"merged\"><h2>Recent merges</h2>");
    if view.merged.is_empty() {
        html.push_str("<p class=\"muted\">nothing merged yet</p></section>");
        return html;
    }
    html.push_str(&chart::merges_per_day(view.merged, view.now, 14));
    html.push_str("<table><thead><tr><th>branch</th><th>head</th><th>merge</th><th>at</th></tr></thead><tbody>");
    for m in view.merged.iter().rev() {
        let _ = write!(
            html,
            "<tr><td><code>{}</code></td><td><code>{}</code></td><td><code>{}</code></td><td>{}</td></tr>",
            escape(&m.branch),
            escape(short(&m.head_sha)),
            escape(short(&m.merge_sha)),
            escape(&m.at)
        );
    }
    html.push_str("</tbody></table></section>");
    html
}

fn problems_section(r: &StatusReport) -> String {
    if r.problems.is_empty() {
        return String::new();
    }
    let mut html = String::from("<section class=\"card\" id=\"problems\"><h2>Warnings</h2><ul>");
    for p in &r.problems {
        let _ = write!(html, "<li>{}</li>", escape(p));
    }
    html.push_str("</ul></section>");
    html
}

/// A definition list of label/value rows (values escaped).
fn rows_html(rows: &[(&str, String)]) -> String {
    let mut html = String::from("<dl>");
    for (label, value) in rows {
        let _ = write!(html, "<dt>{label}</dt><dd>{}</dd>", escape(value));
    }
    html.push_str("</dl>");
    html
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escape_neutralises_markup_and_quotes() {
        assert_eq!(
            escape("<script>alert(\"x\")</script>"),
            "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;"
        );
        assert_eq!(escape("a & 'b'"), "a &amp; &#39;b&#39;");
        assert_eq!(escape("feature/plain-name"), "feature/plain-name");
    }

    #[test]
    fn tones_follow_the_state_names() {
        assert_eq!(tone("paused"), "bad");
        assert_eq!(tone("verified"), "good");
        assert_eq!(tone("waiting-checks"), "busy");
        assert_eq!(tone("stale"), "idle");
    }
}
