//! `git deploybot demo`: the seed story, played with the real binary in real
//! processes against a throwaway world (a bare server with the pre-receive
//! hook installed and a clone per role), checking every step's effect.
//!
//! The story (see `story` and `recovery`): two branches are requested and
//! merged; CI fails on the new main; react pauses; a repair is claimed, fixed,
//! made green and requested; the operator unpauses, which wakes the reactor and
//! lands the repair past the failed sha; an older worker's byte-identical
//! stale re-pause is refused by the hook, and the same record written without a
//! snapshot (or straight into the server) is ignored by the fold; the new main
//! is reported green and deployed and followed to verified.
//!
//! A second act (see `tested`) switches main to tested landing: two branches,
//! green on their own, break CI together; each gets a candidate, stacked; the
//! one holding both fails before main moves, the innocent one lands as
//! exactly the commit that was tested and the culprit is blocked.
//!
//! A third act (see `running`) runs it for real: a coordinator and a runner
//! agent in the background, woken by the server's post-receive hook, land a
//! request with no step by hand, and stop cleanly on SIGTERM.

mod recovery;
mod running;
pub mod show;
mod story;
mod tested;
pub mod world;

use anyhow::Result;
use serde_json::Value;
use show::Show;
use std::io::Write;
use std::path::PathBuf;
use world::World;

/// How to run the demo.
#[derive(Debug, Clone)]
pub struct DemoOptions {
    /// Build the world here (absent or empty) and keep it; default: a temporary directory.
    pub dir: Option<PathBuf>,
    /// Keep the temporary world afterwards.
    pub keep: bool,
    /// The git-deploybot binary to run (the running one).
    pub binary: PathBuf,
    /// ANSI colour in the output.
    pub color: bool,
}

/// How the demo went.
#[derive(Debug, Clone)]
pub struct DemoSummary {
    /// Expectations met.
    pub met: usize,
    /// Expectations missed, one line each.
    pub missed: Vec<String>,
    /// Where the world was built (removed afterwards unless kept).
    pub world: PathBuf,
}

impl DemoSummary {
    /// True when every expectation was met.
    pub fn passed(&self) -> bool {
        self.missed.is_empty()
    }
}

/// The names of the story's clones.
pub mod roles {
    /// Writes the policy (runs `init`).
    pub const SEED: &str = "seed";
    /// Pushes branches, claims and fixes the repair.
    pub const DEV: &str = "dev";
    /// Runs `react`.
    pub const COORDINATOR: &str = "coordinator";
    /// Reads status, unpauses.
    pub const OPERATOR: &str = "operator";
    /// Reports CI and deploy results.
    pub const RUNNER: &str = "runner";
    /// An older release of a worker, replaying a stale pause with plain git.
    pub const OLD_WORKER: &str = "old-worker";
}

/// What the story carries from step to step.
pub struct Demo<'a> {
    /// The world.
    pub world: World,
    /// The output.
    pub show: Show<'a>,
}

/// Plays the story, writing to `out`; an error means the world could not be built.
pub fn run(options: &DemoOptions, out: &mut dyn Write) -> Result<DemoSummary> {
    let started = std::time::Instant::now();
    let world = World::create(options.dir.as_deref(), options.binary.clone(), options.keep)?;
    let root = world.root.clone();
    let kept = !world.remove_on_drop;
    let mut demo = Demo {
        world,
        show: Show::new(out, options.color),
    };
    demo.show.line(&format!(
        "git-deploybot demo: the seed story, live, in {}",
        root.display()
    ));
    demo.show.note(&format!(
        "`git deploybot` below is {}; `⇒` lines are `git deploybot -C operator status --json` after the step",
        options.binary.display()
    ));
    let played = story::play(&mut demo)
        .and_then(|facts| recovery::play(&mut demo, facts))
        .and_then(|()| tested::play(&mut demo))
        .and_then(|()| running::play(&mut demo));
    if let Err(err) = played {
        demo.show
            .expect(false, "the story to run to its end", format!("{err:#}"));
    }
    let where_ = if kept {
        format!("the world is kept in {}", root.display())
    } else {
        "the world was removed (pass --keep or --dir DIR to look around)".to_string()
    };
    demo.show.summary(started.elapsed().as_secs_f64(), &where_);
    let missed = demo
        .show
        .missed
        .iter()
        .map(|m| format!("{}: expected {} — saw: {}", m.step, m.expected, m.seen))
        .collect();
    Ok(DemoSummary {
        met: demo.show.met,
        missed,
        world: root,
    })
}

/// `value[a][b]…` as a string ("" when absent or not a string).
pub fn text_at(value: &Value, path: &[&str]) -> String {
    let mut v = value;
    for key in path {
        v = &v[*key];
    }
    v.as_str().unwrap_or_default().to_string()
}

/// The first 12 hex of a sha.
pub fn short(sha: &str) -> &str {
    crate::messages::short(sha)
}

impl Demo<'_> {
    /// Reads the operator's `status --json` and shows the state line; returns the JSON.
    pub fn state(&mut self) -> Result<Value> {
        let ran = self
            .world
            .deploybot(roles::OPERATOR, &["status", "--json"])?;
        if !ran.ok() {
            anyhow::bail!("`{}` failed: {}", ran.shown, ran.first_error());
        }
        let status = ran.json();
        self.show.state(&state_line(&status));
        Ok(status)
    }
}

/// One line summing up a `status --json`.
pub fn state_line(status: &Value) -> String {
    let control = &status["control"];
    let mut line = match text_at(control, &["state"]).as_str() {
        "paused" => format!("paused ({})", text_at(control, &["reason"])),
        other => {
            let recovered = text_at(control, &["recovered_main_sha"]);
            if recovered.is_empty() {
                other.to_string()
            } else {
                format!(
                    "{other}, recovered {}",
                    text_at(control, &["recovered_reason"])
                )
            }
        }
    };
    let main = text_at(status, &["main", "sha"]);
    line.push_str(&format!(
        " · main {} {}",
        short(&main),
        text_at(status, &["main", "release", "state"])
    ));
    let verified = text_at(status, &["verified_sha"]);
    let verified = if verified.is_empty() {
        "-"
    } else {
        short(&verified)
    };
    line.push_str(&format!(" · verified {verified}"));
    let queue: Vec<String> = status["queue"]
        .as_array()
        .map(|q| {
            q.iter()
                .map(|e| format!("{} {}", text_at(e, &["branch"]), text_at(e, &["state"])))
                .collect()
        })
        .unwrap_or_default();
    if queue.is_empty() {
        line.push_str(" · queue empty");
    } else {
        line.push_str(&format!(" · queue: {}", queue.join(", ")));
    }
    if !status["repair"].is_null() {
        line.push_str(&format!(
            " · repair {} ({})",
            text_at(status, &["repair", "branch"]),
            text_at(status, &["repair", "owner"])
        ));
    }
    line
}
