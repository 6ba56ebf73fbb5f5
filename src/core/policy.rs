//! `.deploybot.toml`: the policy read from the tip of the base branch.
//!
//! Keys and defaults are pinned in DESIGN.md "Policy file". Unknown keys are
//! an error naming the key's full path and the file; every error is one line.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::core::queue::validate_branch_name;
use crate::core::release::AdmissionMode;

/// The policy file's path at the root of the base branch's tree.
pub const POLICY_FILE: &str = ".deploybot.toml";

/// The whole policy file.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// `[queue]`: what may be merged and by whom.
    pub queue: QueuePolicy,
    /// `[pipeline]`: CI, deploy and verification of the base branch.
    pub pipeline: PipelinePolicy,
    /// `[hook]`: the server-side pre-receive hook.
    pub hook: HookPolicy,
    /// `[control]`: how pause and recovery records are trusted.
    pub control: ControlPolicy,
}

/// The `[control]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct ControlPolicy {
    /// Control records count only when their ledger commit is signed by a
    /// key the allowed-signers file lists for the record's actor.
    pub signed: bool,
    /// The allowed-signers file (ssh-keygen's format) at the base branch tip.
    pub allowed_signers: String,
}

impl Default for ControlPolicy {
    fn default() -> Self {
        ControlPolicy {
            signed: false,
            allowed_signers: ".deploybot/allowed_signers".to_owned(),
        }
    }
}

/// The `[queue]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct QueuePolicy {
    /// The branch the queue merges into (`main`).
    pub base_branch: String,
    /// The remote holding the shared state (`origin`).
    pub remote: String,
    /// Checks that must be green on a request's exact head (`["CI"]`).
    pub required_checks: Vec<String>,
    /// How entries are merged (`merge`).
    pub merge_method: MergeMethod,
    /// Entries merged per react pass (3); in tested landing, per candidate.
    pub max_batch_size: usize,
    /// How work lands: `merge` (the seed's flow) or `tested` (candidates).
    pub landing: LandingMode,
    /// Tested landing: candidates under test at once, stacked (3), or `"auto"`.
    pub speculation_depth: crate::core::train::depth::SpeculationDepth,
    /// Tested landing with `speculation_depth = "auto"`: candidates and probes under test at once (8).
    pub max_parallel_ci: usize,
    /// Tested landing: rebuilds of a failed single-entry candidate before its entry is blocked (1).
    pub max_retries: u32,
    /// May request, pause, unpause (empty: anyone).
    pub trusted_actors: Vec<String>,
    /// May move the base branch, write merged records and the watermark.
    pub coordinator_actors: Vec<String>,
    /// May write result notes.
    pub ci_runners: Vec<String>,
}

impl Default for QueuePolicy {
    fn default() -> Self {
        QueuePolicy {
            base_branch: "main".to_owned(),
            remote: "origin".to_owned(),
            required_checks: vec!["CI".to_owned()],
            merge_method: MergeMethod::Merge,
            max_batch_size: 3,
            landing: LandingMode::Merge,
            speculation_depth: crate::core::train::depth::SpeculationDepth::Fixed(3),
            max_parallel_ci: 8,
            max_retries: 1,
            trusted_actors: Vec::new(),
            coordinator_actors: Vec::new(),
            ci_runners: Vec::new(),
        }
    }
}

/// How the queue lands work on the base branch (`queue.landing`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LandingMode {
    /// Merge onto the base branch, then test it (the seed's flow).
    #[default]
    Merge,
    /// Build candidates, test them, fast-forward the base branch to a passing one.
    Tested,
}

/// How a queue entry lands on the base branch.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MergeMethod {
    /// A merge commit with the entry's head as second parent.
    #[default]
    Merge,
    /// One commit with the merged tree and the base as only parent.
    Squash,
}

/// The `[pipeline]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct PipelinePolicy {
    /// Checks that make up exact-main CI (`["CI"]`).
    pub ci_checks: Vec<String>,
    /// Checks that make up the deploy (`["Deploy"]`).
    pub deploy_checks: Vec<String>,
    /// Which base release states admit merging (`merged`).
    pub release_admission: AdmissionMode,
    /// Seconds a CI failure on the base may be retried before it counts (90).
    pub ci_failure_grace_seconds: i64,
    /// Pause the pipeline when the base's release fails (true).
    pub pause_on_failure: bool,
    /// Prefix of repair lease branches (`deploybot/repair`).
    pub repair_branch_prefix: String,
    /// Run with the new base sha after a merge; empty: none.
    pub ci_dispatch_command: String,
    /// Run to deploy an exact base sha; empty: none.
    pub deploy_command: String,
    /// HTTP checks after a deploy; none by default.
    pub verifications: Vec<Verification>,
    /// `"tree"`: a result proven on a commit counts for another commit of
    /// the same tree (a line with `reused_from`); `"off"` (default).
    pub reuse_results: ReuseResults,
}

/// `pipeline.reuse_results`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReuseResults {
    /// Every commit is run for itself; reuse lines are refused and ignored.
    #[default]
    Off,
    /// A result counts for every commit with the identical tree.
    Tree,
}

impl Default for PipelinePolicy {
    fn default() -> Self {
        PipelinePolicy {
            ci_checks: vec!["CI".to_owned()],
            deploy_checks: vec!["Deploy".to_owned()],
            release_admission: AdmissionMode::Merged,
            ci_failure_grace_seconds: 90,
            pause_on_failure: true,
            repair_branch_prefix: "deploybot/repair".to_owned(),
            ci_dispatch_command: String::new(),
            deploy_command: String::new(),
            verifications: Vec::new(),
            reuse_results: ReuseResults::Off,
        }
    }
}

/// One `[[pipeline.verifications]]` HTTP check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Verification {
    /// The check name its results are recorded under.
    pub name: String,
    /// The `http://` or `https://` URL to request.
    pub url: String,
    /// The HTTP status that means healthy (200).
    #[serde(default = "default_expected_status")]
    pub expected_status: u16,
    /// Seconds before the request counts as failed (10).
    #[serde(default = "default_timeout_seconds")]
    pub timeout_seconds: u64,
}

/// Default of `expected_status`.
fn default_expected_status() -> u16 {
    200
}

/// Default of `timeout_seconds`.
fn default_timeout_seconds() -> u64 {
    10
}

/// The `[hook]` section.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HookPolicy {
    /// Environment variables naming the pusher, first set wins.
    pub identity_env: Vec<String>,
    /// Only `coordinator_actors` may move the base branch.
    pub protect_base: bool,
    /// The base branch may only move to a commit with a `success` note for
    /// every `pipeline.ci_checks` check.
    pub require_tested_base: bool,
    /// Break-glass pushers exempt from `require_tested_base`.
    pub base_override_actors: Vec<String>,
}

impl Default for HookPolicy {
    fn default() -> Self {
        HookPolicy {
            identity_env: ["GL_USER", "GITEA_PUSHER_NAME", "GL_USERNAME", "REMOTE_USER"]
                .map(str::to_owned)
                .to_vec(),
            protect_base: false,
            require_tested_base: false,
            base_override_actors: Vec::new(),
        }
    }
}

impl Policy {
    /// The base branch's full ref name, `refs/heads/<base>`.
    pub fn base_ref(&self) -> String {
        format!("refs/heads/{}", self.queue.base_branch)
    }

    /// The names of the configured verifications, in file order.
    pub fn verification_names(&self) -> Vec<String> {
        let verifications = &self.pipeline.verifications;
        verifications.iter().map(|v| v.name.clone()).collect()
    }

    /// Whether any actor list is non-empty (so identities must be checked).
    pub fn names_actors(&self) -> bool {
        let queue = &self.queue;
        !(queue.trusted_actors.is_empty()
            && queue.coordinator_actors.is_empty()
            && queue.ci_runners.is_empty())
    }

    /// Checks the values serde cannot: `Err` is one line naming the key.
    fn validate(&self) -> Result<(), String> {
        if self.names_actors() && self.hook.identity_env.is_empty() {
            return Err(
                "`hook.identity_env` is empty while the policy names actors: the server could never say who pushes, so it would refuse every push; list the variable your server sets (GL_USER, GITEA_PUSHER_NAME, GL_USERNAME, REMOTE_USER)"
                    .to_owned(),
            );
        }
        let (queue, pipeline) = (&self.queue, &self.pipeline);
        validate_branch_name(&queue.base_branch)
            .map_err(|why| format!("`queue.base_branch` is not a valid branch name: {why}"))?;
        if queue.max_batch_size < 1 {
            return Err("`queue.max_batch_size` must be at least 1".to_owned());
        }
        if let crate::core::train::depth::SpeculationDepth::Fixed(depth) = queue.speculation_depth
            && !(1..=64).contains(&depth)
        {
            return Err("`queue.speculation_depth` must be 1 to 64, or \"auto\"".to_owned());
        }
        if !(1..=64).contains(&queue.max_parallel_ci) {
            return Err("`queue.max_parallel_ci` must be 1 to 64".to_owned());
        }
        if queue.max_retries > 10 {
            return Err("`queue.max_retries` must be 0 to 10".to_owned());
        }
        if pipeline.ci_failure_grace_seconds < 0 {
            return Err("`pipeline.ci_failure_grace_seconds` must not be negative".to_owned());
        }
        validate_branch_name(&pipeline.repair_branch_prefix).map_err(|why| {
            format!("`pipeline.repair_branch_prefix` is not a valid branch prefix: {why}")
        })?;
        let signers = &self.control.allowed_signers;
        let bad_path = signers.is_empty()
            || signers.starts_with('/')
            || signers
                .split('/')
                .any(|part| part.is_empty() || part == "." || part == "..");
        if bad_path {
            return Err(format!(
                "`control.allowed_signers` must be a relative path inside the repository, not `{signers}`"
            ));
        }
        let lists = [
            ("queue.required_checks", &queue.required_checks),
            ("pipeline.ci_checks", &pipeline.ci_checks),
            ("pipeline.deploy_checks", &pipeline.deploy_checks),
        ];
        for (key, list) in lists {
            if list.iter().any(|name| name.trim().is_empty()) {
                return Err(format!("`{key}` has an empty check name"));
            }
        }
        for (index, v) in pipeline.verifications.iter().enumerate() {
            let key = format!("pipeline.verifications[{index}]");
            if v.name.trim().is_empty() {
                return Err(format!("`{key}.name` is empty"));
            }
            let first = pipeline.verifications.iter().position(|o| o.name == v.name);
            if first != Some(index) {
                return Err(format!("`{key}.name` repeats the name `{}`", v.name));
            }
            if !(v.url.starts_with("http://") || v.url.starts_with("https://")) {
                return Err(format!("`{key}.url` must start with http:// or https://"));
            }
            if !(100..=599).contains(&v.expected_status) {
                return Err(format!(
                    "`{key}.expected_status` must be an HTTP status (100-599)"
                ));
            }
            if v.timeout_seconds < 1 {
                return Err(format!("`{key}.timeout_seconds` must be at least 1"));
            }
        }
        Ok(())
    }
}

/// A policy file that cannot be used: one line naming the file and the problem.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyError {
    /// The whole message, starting with the file's origin.
    pub message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PolicyError {}

/// Parses and validates a policy file's text. `origin` names where it came
/// from (e.g. `main:.deploybot.toml`) and starts every error message. An
/// empty text gives the defaults.
pub fn parse_policy(text: &str, origin: &str) -> Result<Policy, PolicyError> {
    let policy: Policy = toml::from_str(text).map_err(|error| PolicyError {
        message: format!("{origin}: {}", describe_toml_error(text, &error)),
    })?;
    policy.validate().map_err(|problem| PolicyError {
        message: format!("{origin}: {problem}"),
    })?;
    Ok(policy)
}

/// Condenses a toml error into one line naming the key's full path.
fn describe_toml_error(text: &str, error: &toml::de::Error) -> String {
    let message = one_line(error.message());
    let Some(span) = error.span() else {
        return message;
    };
    let (line, column) = line_column(text, span.start);
    let at = format!("line {line}, column {column}");
    let Ok(table) = toml::de::DeTable::parse(text) else {
        return format!("invalid TOML at {at}: {message}");
    };
    let path = key_path_at(table.get_ref(), &span, "");
    if let Some(rest) = message.strip_prefix("unknown field ") {
        let (name, expected) = rest.split_once(", ").unwrap_or((rest, ""));
        let key = path.unwrap_or_else(|| name.trim_matches('`').to_owned());
        let expected = expected.replace('`', "");
        return format!("unknown key `{key}` at {at} ({expected}); fix or remove it");
    }
    match path {
        Some(key) if message.starts_with("missing field ") => {
            let field = message.trim_start_matches("missing field ");
            format!("missing key {field} in `{key}` at {at}")
        }
        Some(key) => format!("bad value for `{key}` at {at}: {}", friendly(&message)),
        None => format!("{at}: {}", friendly(&message)),
    }
}

/// The dotted path of the key whose name or value spans exactly `span`.
fn key_path_at(
    table: &toml::de::DeTable<'_>,
    span: &std::ops::Range<usize>,
    prefix: &str,
) -> Option<String> {
    table.iter().find_map(|(key, value)| {
        let path = format!("{prefix}{}", key.get_ref());
        if key.span() == *span || value.span() == *span {
            return Some(path);
        }
        value_path_at(value.get_ref(), span, &path)
    })
}

/// Searches inside a value (tables and arrays) for the key at `span`.
fn value_path_at(
    value: &toml::de::DeValue<'_>,
    span: &std::ops::Range<usize>,
    path: &str,
) -> Option<String> {
    match value {
        toml::de::DeValue::Table(inner) => key_path_at(inner, span, &format!("{path}.")),
        toml::de::DeValue::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
            let element = format!("{path}[{i}]");
            if item.span() == *span {
                return Some(element);
            }
            value_path_at(item.get_ref(), span, &element)
        }),
        _ => None,
    }
}

/// 1-based line and column (in characters) of a byte offset.
fn line_column(text: &str, offset: usize) -> (usize, usize) {
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    (line, before[line_start..].chars().count() + 1)
}

/// Joins a possibly multi-line message into one line.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Replaces Rust type names in serde messages with TOML words.
fn friendly(message: &str) -> String {
    let words = [
        ("struct QueuePolicy", "a table"),
        ("struct PipelinePolicy", "a table"),
        ("struct HookPolicy", "a table"),
        ("struct Verification", "a table"),
        ("expected a sequence", "expected an array"),
        ("expected usize", "expected a non-negative integer"),
        ("expected u64", "expected a non-negative integer"),
        ("expected u16", "expected an integer from 0 to 65535"),
        ("expected i64", "expected an integer"),
    ];
    words
        .iter()
        .fold(message.to_owned(), |m, (from, to)| m.replace(from, to))
}

/// A commented starter `.deploybot.toml` with every key at its default.
pub fn starter_toml() -> &'static str {
    r#"# git-deploybot policy, read from the tip of the base branch.
# Every key is shown at its default; delete what you do not change.

[queue]
base_branch = "main"
remote = "origin"
required_checks = ["CI"]        # checks that must be green on a request's exact head
merge_method = "merge"          # merge | squash
max_batch_size = 3              # entries merged per react pass (tested: per candidate)
landing = "merge"               # merge (merge, then test main) | tested (test candidates, land what passed)
speculation_depth = 3           # tested: candidates under test at once, stacked; or "auto"
max_parallel_ci = 8             # tested, auto depth: candidates under test at once, at most
max_retries = 1                 # tested: rebuilds of a failed single-entry candidate before blocking it
trusted_actors = []             # may request, pause, unpause (empty: anyone)
coordinator_actors = []         # may move the base branch, write merged records, the watermark
ci_runners = []                 # may write result notes

[pipeline]
ci_checks = ["CI"]              # checks that make up exact-main CI
deploy_checks = ["Deploy"]      # checks that make up the deploy
release_admission = "merged"    # merged | ci-passed | verified
ci_failure_grace_seconds = 90   # a CI failure on main counts after this long without a retry
pause_on_failure = true
repair_branch_prefix = "deploybot/repair"
ci_dispatch_command = ""        # optional, run with the new base sha after a merge
deploy_command = ""             # optional, run to deploy an exact base sha
reuse_results = "off"           # "tree": a result counts for every commit with the identical tree

# [[pipeline.verifications]]    # optional HTTP checks after a deploy; none by default
# name = "health"
# url = "https://example.com/healthz"
# expected_status = 200
# timeout_seconds = 10

[hook]
identity_env = ["GL_USER", "GITEA_PUSHER_NAME", "GL_USERNAME", "REMOTE_USER"]
protect_base = false            # true: only coordinator_actors may move the base branch
require_tested_base = false     # true: the base branch may only move to a commit with green pipeline.ci_checks notes
base_override_actors = []       # break-glass pushers exempt from require_tested_base

[control]
signed = false                  # true: control records count only when signed by an allowed key
allowed_signers = ".deploybot/allowed_signers"   # ssh-keygen allowed-signers file on the base branch
"#
}

pub mod chain;

#[cfg(test)]
mod tests;
