//! Issue 11, measurement 1: throughput of tested landing against merge mode,
//! on a virtual clock (no sleeping, no git).
//!
//! Both modes drive the planning code `react` uses: merge mode calls
//! `deploybot::core::react::plan` each pass (with the older mains judged by
//! `deploybot::core::judgement::judge_older_mains`), tested mode calls
//! `plan_train` gated by the same `plan` decision, and applies its plan in the
//! order the planner documents (discard, block, land, build), as
//! `src/core/train/tests.rs` `simulate` does.
//!
//! World: requests arrive over time; a culprit breaks CI of any commit that
//! contains it (a candidate stacked on a candidate holding it, or a main
//! after it merged until it is reverted); CI takes a fixed time per commit and
//! runners are unlimited (everything pushed is tested in parallel); `react`
//! runs once a virtual minute. In merge mode a CI failure pauses; an operator
//! requests the culprit's revert as the repair and unpauses after a fixed
//! delay (and at once again when the pass re-pauses for a newer red main
//! while the repair is ready); the repair lands past the failed tip.
//!
//! Run: `cargo run --release --example train_simulation`

mod merge;
mod tested;
mod world;

use merge::simulate_merge;
use tested::{Tested, simulate_tested};
use world::Scenario;

/// Requests in the scenario.
pub const REQUESTS: usize = 200;
/// Share of culprits, in percent (exactly this many of the requests).
pub const CULPRIT_PERCENT: usize = 5;
/// Virtual minutes one CI run takes (candidate or main commit).
pub const CI_MINUTES: u64 = 20;
/// Merge mode: minutes from a pause until the operator has the revert
/// requested as the repair and unpauses.
pub const RECOVERY_MINUTES: u64 = 30;
/// Merge mode: minutes the operator takes to unpause again when the pass
/// re-pauses for a newer red main while the repair is already requested.
pub const REUNPAUSE_MINUTES: u64 = 1;
/// `queue.max_batch_size` in tested mode, and in merge mode.
pub const MAX_BATCH: usize = 3;
/// `queue.max_retries`.
pub const MAX_RETRIES: u32 = 1;
/// The PRNG seed (which requests are culprits).
pub const SEED: u64 = 11;
/// Seeds of the many-seed table.
pub const SEEDS: u64 = 40;
/// A run that has not drained by then is a bug.
pub const HORIZON: u64 = 100_000;

fn table(title: &str, s: &Scenario, variants: bool) -> Vec<(String, f64)> {
    let merge = simulate_merge(s, MAX_BATCH);
    let mut runs = vec![merge];
    for depth in [1, 3, 8] {
        runs.push(simulate_tested(
            s,
            Tested::planner(depth, MAX_BATCH, MAX_RETRIES),
        ));
    }
    if variants {
        // What would change it: no retry of a deterministic failure, bigger
        // batches, a deeper train, one entry per candidate (no bisection),
        // and the bound no planner can pass.
        for config in [
            Tested::planner(3, 3, 0),
            Tested::planner(3, 6, 1),
            Tested::planner(8, 3, 0),
            Tested::planner(8, 1, 0),
            Tested::planner(12, 1, 0),
            Tested::bound(3, 3),
            Tested::bound(3, 6),
            Tested::bound(8, 3),
        ] {
            runs.push(simulate_tested(s, config));
        }
    }
    println!("### {title}\n");
    println!(
        "| mode | landed | last landing (min) | landed/hour | vs merge | p50 request→land (min) | p95 (min) | max (min) | CI runs / landed | main red (min) | pauses |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    let mut reference = None;
    let mut out = Vec::new();
    for run in &runs {
        let (row, per_hour) = run.row(s, reference);
        reference.get_or_insert(per_hour);
        println!("{row}");
        out.push((run.label.clone(), per_hour));
    }
    println!(
        "\nCulprits: merge mode merged then reverted {}; tested mode blocked {} in every run.\n",
        runs[0].culprits_out, runs[1].culprits_out
    );
    out
}

/// The same scenario over many seeds (which requests are culprits): one seed
/// can put several culprits at the very end, where nothing is left to hide
/// their cost behind.
fn seeds(culprits: usize) {
    let configs = [
        Tested::planner(3, 3, 1),
        Tested::planner(3, 6, 1),
        Tested::planner(8, 3, 1),
        Tested::bound(3, 3),
        Tested::bound(3, 6),
    ];
    let mut ratios: Vec<Vec<f64>> = vec![Vec::new(); configs.len()];
    let mut merge_red = Vec::new();
    for seed in 1..=SEEDS {
        let s = Scenario::new(REQUESTS, 3, culprits, seed);
        let merge = simulate_merge(&s, MAX_BATCH);
        let (_, reference) = merge.row(&s, None);
        merge_red.push(merge.red_minutes as f64);
        for (k, &config) in configs.iter().enumerate() {
            let run = simulate_tested(&s, config);
            let (_, per_hour) = run.row(&s, Some(reference));
            ratios[k].push(100.0 * per_hour / reference);
        }
    }
    println!("### Requests arriving one every 3 minutes, seeds 1 to {SEEDS}\n");
    println!("| mode | median vs merge | p10 | min | max | seeds >= 90% |");
    println!("| --- | --- | --- | --- | --- | --- |");
    for (k, config) in configs.iter().enumerate() {
        let r = &mut ratios[k];
        r.sort_by(f64::total_cmp);
        let at = |p: f64| r[((r.len() as f64 * p) as usize).min(r.len() - 1)];
        println!(
            "| {} | {:.0}% | {:.0}% | {:.0}% | {:.0}% | {} of {SEEDS} |",
            config.label(),
            at(0.5),
            at(0.1),
            r[0],
            r[r.len() - 1],
            r.iter().filter(|x| **x >= 90.0).count()
        );
    }
    merge_red.sort_by(f64::total_cmp);
    println!(
        "\nMerge mode: main red for a median of {:.0} minutes per run (tested: 0 in every run).\n",
        merge_red[merge_red.len() / 2]
    );
}

/// Issue 22: auto depth against fixed depth 8, over seeds 1 to 40, on the
/// issue's scenario and with every CI run flaky 3% of the time.
fn adaptive(culprits: usize) {
    let configs = [
        Tested::planner(8, MAX_BATCH, MAX_RETRIES),
        Tested::auto(8, MAX_BATCH, MAX_RETRIES),
        Tested::auto_probes(8, MAX_BATCH, MAX_RETRIES),
        Tested::bound(8, MAX_BATCH),
    ];
    for (title, per_mille) in [("no flaky runs", 0), ("every CI run flaky 3%", 30)] {
        println!("### Auto depth, seeds 1 to {SEEDS}, {title}\n");
        println!(
            "| mode | median vs merge | p10 | CI runs / landed (median) | p50 request→land (median, min) | p95 (median, min) | longest wait (max, min) | longest wait to be built (max, min) | longest behind later requests (max, min; bound 40) | most ready-but-untested in all (max, min) | main red (max, min) | innocents blocked (all seeds) |"
        );
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for config in configs {
            let mut ratio = Vec::new();
            let mut runs = Vec::new();
            let mut p50 = Vec::new();
            let mut p95 = Vec::new();
            let (mut longest, mut red, mut blocked, mut innocents) = (0u64, 0u64, 0usize, 0usize);
            let (mut idle, mut wait, mut behind) = (0u64, 0u64, 0u64);
            for seed in 1..=SEEDS {
                let s = Scenario::new(REQUESTS, 3, culprits, seed).flaky(per_mille);
                let clean = Scenario::new(REQUESTS, 3, culprits, seed);
                let (_, reference) = simulate_merge(&clean, MAX_BATCH).row(&clean, None);
                let run = simulate_tested(&s, config);
                let (_, per_hour) = run.row(&s, Some(reference));
                ratio.push(100.0 * per_hour / reference);
                let lat = run.innocent_latencies(&s);
                let landed = lat.len().max(1);
                runs.push(run.ci_runs as f64 / landed as f64);
                let pct = |p: f64| {
                    lat[((lat.len() as f64 * p).ceil() as usize).clamp(1, lat.len()) - 1] as f64
                };
                p50.push(pct(0.5));
                p95.push(pct(0.95));
                longest = longest.max(lat.last().copied().unwrap_or(0));
                red = red.max(run.red_minutes);
                idle = idle.max(run.longest_idle);
                wait = wait.max(run.longest_wait_to_build);
                behind = behind.max(run.longest_behind_later);
                blocked += run.innocents_blocked;
                innocents += REQUESTS - culprits;
            }
            let at = |v: &mut Vec<f64>, p: f64| {
                v.sort_by(f64::total_cmp);
                v[((v.len() as f64 * p) as usize).min(v.len() - 1)]
            };
            println!(
                "| {} | {:.0}% | {:.0}% | {:.2} | {:.0} | {:.0} | {} | {} | {} | {} | {} | {} of {} ({:.1} per 1,000) |",
                config.label(),
                at(&mut ratio, 0.5),
                at(&mut ratio, 0.1),
                at(&mut runs, 0.5),
                at(&mut p50, 0.5),
                at(&mut p95, 0.5),
                longest,
                wait,
                behind,
                idle,
                red,
                blocked,
                innocents,
                1000.0 * blocked as f64 / innocents as f64,
            );
        }
        println!();
    }
}

/// Issue 22, item 4: CI runs per landed entry with and without
/// `reuse_results = "tree"`, both modes, medians over seeds 1 to 40.
fn reuse(culprits: usize) {
    println!("### Reused results, seeds 1 to {SEEDS} (medians)\n");
    println!(
        "| mode | CI runs / landed, reuse off | reuse tree | median vs merge, reuse off | reuse tree |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let modes: [(&str, Option<Tested>); 2] = [
        ("merge (max_batch 3)", None),
        (
            "tested auto depth, max_parallel_ci 8, probes",
            Some(Tested::auto_probes(8, MAX_BATCH, MAX_RETRIES)),
        ),
    ];
    for (label, tested) in modes {
        let mut cells = Vec::new();
        let mut ratios = Vec::new();
        for reuse in [false, true] {
            let mut runs = Vec::new();
            let mut ratio = Vec::new();
            for seed in 1..=SEEDS {
                let clean = Scenario::new(REQUESTS, 3, culprits, seed);
                let (_, reference) = simulate_merge(&clean, MAX_BATCH).row(&clean, None);
                let s = if reuse { clean.reusing() } else { clean };
                let run = match tested {
                    Some(t) => simulate_tested(&s, t),
                    None => simulate_merge(&s, MAX_BATCH),
                };
                let (_, per_hour) = run.row(&s, Some(reference));
                let landed = run.innocent_latencies(&s).len().max(1);
                runs.push(run.ci_runs as f64 / landed as f64);
                ratio.push(100.0 * per_hour / reference);
            }
            runs.sort_by(f64::total_cmp);
            ratio.sort_by(f64::total_cmp);
            cells.push(format!("{:.2}", runs[runs.len() / 2]));
            ratios.push(format!("{:.0}%", ratio[ratio.len() / 2]));
        }
        println!(
            "| {label} | {} | {} | {} | {} |",
            cells[0], cells[1], ratios[0], ratios[1]
        );
    }
    println!();
}

fn main() {
    let culprits = REQUESTS * CULPRIT_PERCENT / 100;
    println!(
        "Scenario: {REQUESTS} requests, {culprits} culprits (seed {SEED}), CI {CI_MINUTES} min per \
         candidate or main, a react pass every minute, unlimited runners; merge mode: \
         max_batch {MAX_BATCH}, recovery {RECOVERY_MINUTES} min to the revert plus \
         {REUNPAUSE_MINUTES} min per re-pause.\n"
    );
    let arriving = Scenario::new(REQUESTS, 3, culprits, SEED);
    let rates = table(
        "Requests arriving one every 3 minutes (the issue's scenario)",
        &arriving,
        true,
    );
    let merge = rates[0].1;
    let depth3 = rates[2].1;
    println!(
        "Goal (tested depth 3 >= 90% of merge landed/hour): {:.1}% -> {}\n",
        100.0 * depth3 / merge,
        if depth3 >= 0.9 * merge {
            "met"
        } else {
            "NOT met"
        }
    );
    seeds(culprits);
    adaptive(culprits);
    reuse(culprits);
    let backlog = Scenario::new(REQUESTS, 0, culprits, SEED);
    table(
        "All 200 requested at minute 0 (capacity, same culprits)",
        &backlog,
        true,
    );
}
