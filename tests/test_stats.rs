//! `stats` through the real binary against a real bare server: counts,
//! percentiles with and without data, DORA, `--prometheus`, `--since`.

mod common;
use common::{Clone, FAST_POLICY, World};
use serde_json::Value;

fn stats(c: &Clone, extra: &[&str]) -> Value {
    let mut args = vec!["stats", "--json"];
    args.extend_from_slice(extra);
    let text = c.ok(&args);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("stats --json is JSON ({e}): {text}"))
}

fn deploy_ok(c: &Clone, sha: &str) {
    c.ok(&[
        "deploy", "report", "--sha", sha, "--check", "Deploy", "--status", "success",
    ]);
}

/// Two merges (the second fails CI and pauses), a repair landed by the
/// recovery and verified, then an operator pause on that verified main.
fn history() -> (World, Clone) {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    let first = dev.push_green_request("a", "a.txt");
    assert_eq!(coord.react()["merged"].as_array().expect("merged").len(), 1);
    let m1 = w.server_ref("refs/heads/main").expect("main");
    assert_ne!(m1, first);
    // A real CI run: a pending claim with a run id, then its report.
    dev.ok(&["ci", "run", "--check", "CI", "--", "true"]);
    deploy_ok(&dev, &m1);
    dev.ok(&["follow", "--timeout", "20", "--poll", "1"]);
    dev.push_green_request("b", "b.txt");
    coord.react();
    let m2 = w.server_ref("refs/heads/main").expect("main");
    dev.report_ci(&m2, "failure");
    assert_eq!(coord.react()["paused_with"], format!("ci-failed on {m2}"));
    dev.ok(&["claim-repair", "--owner", "dev"]);
    dev.push_fix_to_repair(&m2);
    let (id, sha) = coord.pause_ids();
    coord.ok(&["unpause", "--sha", &sha, "--control-id", &id]);
    let m3 = w.server_ref("refs/heads/main").expect("main");
    assert_ne!(m3, m2, "the repair landed");
    dev.report_ci(&m3, "success");
    deploy_ok(&dev, &m3);
    dev.ok(&["follow", "--timeout", "20", "--poll", "1"]);
    coord.ok(&["pause", "--reason", "production is broken"]);
    (w, dev)
}

#[test]
fn stats_tell_the_story_in_figures() {
    let (_w, dev) = history();
    let s = stats(&dev, &[]);
    assert_eq!(s["since"], Value::Null);
    assert_eq!(s["requests"], 3, "{s}");
    assert_eq!(s["merged"], 3, "{s}");
    assert_eq!(s["blocked"], 0, "{s}");
    assert_eq!(s["pauses"], 2, "the CI failure and the operator's: {s}");
    assert_eq!(s["recoveries"], 1, "{s}");
    for figure in [
        &s["queue_wait_seconds"],
        &s["time_to_live_seconds"],
        &s["ci_duration_seconds"],
        &s["dora"]["lead_time_seconds"],
        &s["dora"]["time_to_restore_seconds"],
    ] {
        assert!(figure["p50"].is_i64() && figure["p95"].is_i64(), "{s}");
    }
    assert!(
        s["dora"]["deployment_frequency_per_day"]
            .as_f64()
            .expect("frequency")
            > 0.0
    );
    // Two verified mains (m1 and the repair), the repair paused afterwards.
    assert_eq!(s["dora"]["change_failure_rate"], 0.5, "{s}");

    let text = dev.ok(&["stats", "--prometheus"]);
    for line in [
        "# TYPE deploybot_requests gauge",
        "deploybot_requests 3",
        "deploybot_pauses 2",
        "deploybot_recoveries 1",
        "deploybot_change_failure_rate 0.5",
        "deploybot_queue_wait_seconds{quantile=\"0.5\"} ",
        "deploybot_time_to_restore_seconds{quantile=\"0.95\"} ",
    ] {
        assert!(text.contains(line), "{line}: {text}");
    }
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        assert!(line.starts_with("deploybot_"), "{line}");
        assert!(!line.ends_with("NaN"), "every figure has data: {line}");
    }
    let human = dev.ok(&["stats"]);
    assert!(human.contains("requests 3, merged 3"), "{human}");
    assert!(human.contains("queue wait"), "{human}");
}

#[test]
fn since_limits_the_window_and_a_bad_date_is_a_usage_error() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    dev.push_green_request("a", "a.txt");
    dev.react();
    let all = stats(&dev, &[]);
    assert_eq!(
        (all["requests"].as_u64(), all["merged"].as_u64()),
        (Some(1), Some(1))
    );
    assert!(all["queue_wait_seconds"]["p50"].is_i64(), "{all}");
    assert_eq!(
        all["time_to_live_seconds"]["p50"],
        Value::Null,
        "nothing verified: {all}"
    );
    assert_eq!(all["dora"]["change_failure_rate"], Value::Null, "{all}");
    let later = stats(&dev, &["--since", "2999-01-01"]);
    assert_eq!(later["since"], "2999-01-01T00:00:00Z");
    assert_eq!(later["requests"], 0);
    assert_eq!(later["queue_wait_seconds"]["p50"], Value::Null);
    let earlier = stats(&dev, &["--since", "2000-01-01T00:00:00Z"]);
    assert_eq!(earlier["requests"], 1);
    let text = dev.ok(&["stats", "--prometheus", "--since", "2999-01-01"]);
    assert!(
        text.contains("deploybot_queue_wait_seconds{quantile=\"0.5\"} NaN"),
        "{text}"
    );

    let out = dev.run(&["stats", "--since", "last tuesday"]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("last tuesday") && err.contains("YYYY-MM-DD"),
        "{err}"
    );
    let out = dev.run(&["stats", "--json", "--prometheus"]);
    assert_eq!(out.status.code(), Some(2), "one output format at a time");
}

#[test]
fn a_window_read_through_the_record_index_equals_the_whole_ledgers() {
    let w = World::with_policy(FAST_POLICY);
    let dev = w.clone_as("dev");
    let coord = w.clone_as("coord");
    dev.push_green_request("a", "a.txt");
    coord.react();
    let m1 = w.server_ref("refs/heads/main").expect("main");
    dev.report_ci(&m1, "failure");
    coord.react();
    // The window starts a few seconds later, inside the ledgers.
    std::thread::sleep(std::time::Duration::from_secs(2));
    dev.push_green_request("b", "b.txt");
    let why: Value = serde_json::from_str(&dev.ok(&["why", "b", "--json"])).expect("json");
    let since = why["events"][0]["at"]
        .as_str()
        .expect("requested at")
        .to_string();
    let window = stats(&dev, &["--since", &since]);
    assert_eq!(
        (window["requests"].as_u64(), window["pauses"].as_u64()),
        (Some(1), Some(0)),
        "{window}"
    );
    let all = stats(&dev, &[]);
    assert_eq!(
        (all["requests"].as_u64(), all["pauses"].as_u64()),
        (Some(2), Some(1)),
        "{all}"
    );
    // Another process updating the index: the whole ledgers are read, and
    // the figures are the same.
    let index = dev.path.join(".git/deploybot-cache/index-v1");
    std::fs::write(index.join("queue/lock"), "1").expect("holds the lock");
    assert_eq!(stats(&dev, &["--since", &since]), window);
    std::fs::remove_file(index.join("queue/lock")).expect("gives it back");
    std::fs::remove_dir_all(&index).expect("drops the index");
    assert_eq!(stats(&dev, &["--since", &since]), window, "rebuilt");
}
