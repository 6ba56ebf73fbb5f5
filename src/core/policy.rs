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
    /// Entries merged per react pass (3).
    pub max_batch_size: usize,
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
            trusted_actors: Vec::new(),
            coordinator_actors: Vec::new(),
            ci_runners: Vec::new(),
        }
    }
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
}

impl Default for HookPolicy {
    fn default() -> Self {
        HookPolicy {
            identity_env: ["GL_USER", "GITEA_PUSHER_NAME", "GL_USERNAME", "REMOTE_USER"]
                .map(str::to_owned)
                .to_vec(),
            protect_base: false,
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
        let (queue, pipeline) = (&self.queue, &self.pipeline);
        validate_branch_name(&queue.base_branch)
            .map_err(|why| format!("`queue.base_branch` is not a valid branch name: {why}"))?;
        if queue.max_batch_size < 1 {
            return Err("`queue.max_batch_size` must be at least 1".to_owned());
        }
        if pipeline.ci_failure_grace_seconds < 0 {
            return Err("`pipeline.ci_failure_grace_seconds` must not be negative".to_owned());
        }
        validate_branch_name(&pipeline.repair_branch_prefix).map_err(|why| {
            format!("`pipeline.repair_branch_prefix` is not a valid branch prefix: {why}")
        })?;
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
max_batch_size = 3              # entries merged per react pass
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

# [[pipeline.verifications]]    # optional HTTP checks after a deploy; none by default
# name = "health"
# url = "https://example.com/healthz"
# expected_status = 200
# timeout_seconds = 10

[hook]
identity_env = ["GL_USER", "GITEA_PUSHER_NAME", "GL_USERNAME", "REMOTE_USER"]
protect_base = false            # true: only coordinator_actors may move the base branch
"#
}

#[cfg(test)]
mod tests {
    use super::*;

    const ORIGIN: &str = "main:.deploybot.toml";

    /// The error message for `text`, which must fail.
    fn error(text: &str) -> String {
        let message = parse_policy(text, ORIGIN)
            .expect_err("must be rejected")
            .message;
        // Every message is one line that starts with the file's origin.
        assert!(!message.contains('\n'), "{message}");
        assert!(message.starts_with("main:.deploybot.toml: "), "{message}");
        message
    }

    #[test]
    fn empty_text_is_the_pinned_defaults() {
        let policy = parse_policy("", ORIGIN).expect("empty is valid");
        assert_eq!(policy, Policy::default());
        // Spot-check the values pinned in DESIGN.md.
        assert_eq!(policy.queue.base_branch, "main");
        assert_eq!(policy.queue.remote, "origin");
        assert_eq!(policy.queue.required_checks, ["CI"]);
        assert_eq!(policy.queue.merge_method, MergeMethod::Merge);
        assert_eq!(policy.queue.max_batch_size, 3);
        assert_eq!(policy.pipeline.ci_checks, ["CI"]);
        assert_eq!(policy.pipeline.deploy_checks, ["Deploy"]);
        assert_eq!(policy.pipeline.release_admission, AdmissionMode::Merged);
        assert_eq!(policy.pipeline.ci_failure_grace_seconds, 90);
        assert!(policy.pipeline.pause_on_failure);
        assert_eq!(policy.pipeline.repair_branch_prefix, "deploybot/repair");
        assert!(policy.pipeline.verifications.is_empty());
        let env = ["GL_USER", "GITEA_PUSHER_NAME", "GL_USERNAME", "REMOTE_USER"];
        assert_eq!(policy.hook.identity_env, env);
        assert!(!policy.hook.protect_base);
        assert_eq!(policy.base_ref(), "refs/heads/main");
        assert!(!policy.names_actors(), "empty actor lists mean anyone");
    }

    #[test]
    fn starter_parses_back_to_the_defaults_and_shows_every_key() {
        assert_eq!(parse_policy(starter_toml(), ORIGIN), Ok(Policy::default()));
        // Every key of every section appears, so the starter documents them all.
        let value = toml::Value::try_from(Policy::default()).expect("serializes");
        for (section, table) in value.as_table().expect("table") {
            assert!(
                starter_toml().contains(&format!("[{section}]")),
                "{section}"
            );
            let keys = table.as_table().expect("section").keys();
            // `verifications` is an empty list by default: shown commented out below.
            for key in keys.filter(|k| *k != "verifications") {
                assert!(
                    starter_toml().contains(&format!("{key} = ")),
                    "{section}.{key}"
                );
            }
        }
        for key in ["name", "url", "expected_status", "timeout_seconds"] {
            assert!(
                starter_toml().contains(&format!("# {key} = ")),
                "verification {key}"
            );
        }
    }

    #[test]
    fn every_key_round_trips() {
        let text = r#"
[queue]
base_branch = "trunk"
remote = "upstream"
required_checks = ["build", "test"]
merge_method = "squash"
max_batch_size = 1
trusted_actors = ["alice"]
coordinator_actors = ["bot"]
ci_runners = ["runner"]

[pipeline]
ci_checks = ["build"]
deploy_checks = []
release_admission = "ci-passed"
ci_failure_grace_seconds = 0
pause_on_failure = false
repair_branch_prefix = "fix"
ci_dispatch_command = "ci.sh"
deploy_command = "deploy.sh"

[[pipeline.verifications]]
name = "health"
url = "https://example.com/healthz"

[[pipeline.verifications]]
name = "api"
url = "http://localhost/api"
expected_status = 204
timeout_seconds = 3

[hook]
identity_env = ["USER"]
protect_base = true
"#;
        let policy = parse_policy(text, ORIGIN).expect("valid");
        assert_eq!(policy.queue.base_branch, "trunk");
        assert_eq!(policy.queue.remote, "upstream");
        assert_eq!(policy.queue.required_checks, ["build", "test"]);
        assert_eq!(policy.queue.merge_method, MergeMethod::Squash);
        assert_eq!(policy.queue.max_batch_size, 1);
        assert_eq!(policy.queue.trusted_actors, ["alice"]);
        assert_eq!(policy.queue.coordinator_actors, ["bot"]);
        assert_eq!(policy.queue.ci_runners, ["runner"]);
        assert_eq!(policy.pipeline.ci_checks, ["build"]);
        assert!(policy.pipeline.deploy_checks.is_empty());
        assert_eq!(policy.pipeline.release_admission, AdmissionMode::CiPassed);
        assert_eq!(policy.pipeline.ci_failure_grace_seconds, 0);
        assert!(!policy.pipeline.pause_on_failure);
        assert_eq!(policy.pipeline.repair_branch_prefix, "fix");
        assert_eq!(policy.pipeline.ci_dispatch_command, "ci.sh");
        assert_eq!(policy.pipeline.deploy_command, "deploy.sh");
        // Omitted verification fields take their defaults (200, 10s).
        let health = &policy.pipeline.verifications[0];
        assert_eq!((health.expected_status, health.timeout_seconds), (200, 10));
        let api = &policy.pipeline.verifications[1];
        assert_eq!((api.expected_status, api.timeout_seconds), (204, 3));
        assert_eq!(policy.verification_names(), ["health", "api"]);
        assert_eq!(policy.hook.identity_env, ["USER"]);
        assert!(policy.hook.protect_base);
        assert!(policy.names_actors());
        // Serializing and parsing again gives the same policy.
        let again = toml::to_string(&policy).expect("serializes");
        assert_eq!(parse_policy(&again, ORIGIN), Ok(policy));
    }

    #[test]
    fn a_section_may_set_only_some_keys() {
        let policy =
            parse_policy("[pipeline]\nrelease_admission = \"verified\"\n", ORIGIN).expect("valid");
        assert_eq!(policy.pipeline.release_admission, AdmissionMode::Verified);
        // The rest of the section keeps its defaults.
        assert_eq!(policy.pipeline.ci_checks, ["CI"]);
        assert_eq!(policy.queue, QueuePolicy::default());
    }

    #[test]
    fn unknown_keys_are_named_with_their_section() {
        let cases = [
            ("[queue]\nfoo = 1\n", "`queue.foo` at line 2, column 1"),
            ("[pipeline]\nbar = true\n", "`pipeline.bar`"),
            ("[hook]\n\nbaz = []\n", "`hook.baz` at line 3"),
            ("zzz = 1\n", "`zzz`"),
            ("[deploy]\nx = 1\n", "`deploy`"),
            // Dotted and inline forms name the same path.
            ("queue.foo = 1\n", "`queue.foo`"),
            ("queue = { foo = 1 }\n", "`queue.foo`"),
            (
                "[[pipeline.verifications]]\nname = \"h\"\nurl = \"https://x\"\nmethod = \"GET\"\n",
                "`pipeline.verifications[0].method`",
            ),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(message.contains("unknown key "), "{message}");
            assert!(message.contains(expected), "{text:?}: {message}");
            assert!(message.ends_with("fix or remove it"), "{message}");
        }
        // The known keys are listed so a typo is easy to fix.
        let message = error("[queue]\nbase_brnch = \"main\"\n");
        assert!(
            message.contains("expected one of base_branch, remote"),
            "{message}"
        );
    }

    #[test]
    fn wrong_types_name_the_key() {
        let cases = [
            (
                "[queue]\nmax_batch_size = \"3\"\n",
                "`queue.max_batch_size`",
            ),
            ("[queue]\nmax_batch_size = -1\n", "`queue.max_batch_size`"),
            (
                "[queue]\nrequired_checks = \"CI\"\n",
                "`queue.required_checks`",
            ),
            (
                "[queue]\nrequired_checks = [\"CI\", 7]\n",
                "`queue.required_checks[1]`",
            ),
            (
                "[queue]\nmerge_method = \"rebase\"\n",
                "`queue.merge_method`",
            ),
            (
                "[pipeline]\nrelease_admission = \"soon\"\n",
                "`pipeline.release_admission`",
            ),
            (
                "[pipeline]\npause_on_failure = \"yes\"\n",
                "`pipeline.pause_on_failure`",
            ),
            ("[hook]\nprotect_base = 1\n", "`hook.protect_base`"),
            ("queue = 3\n", "`queue`"),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(
                message.contains(&format!("bad value for {expected}")),
                "{message}"
            );
        }
        // Enum errors list the allowed values; Rust type names do not leak.
        assert!(error("[queue]\nmerge_method = \"rebase\"\n").contains("`merge` or `squash`"));
        assert!(error("queue = 3\n").contains("expected a table"));
    }

    #[test]
    fn syntax_errors_give_a_position() {
        let message = error("[queue]\nbase_branch = \n");
        assert!(message.contains("invalid TOML at line 2"), "{message}");
    }

    #[test]
    fn missing_verification_fields_are_reported() {
        let message = error("[[pipeline.verifications]]\nname = \"h\"\n");
        let expected = "missing key `url` in `pipeline.verifications` at line 1";
        assert!(message.contains(expected), "{message}");
    }

    #[test]
    fn values_are_validated() {
        let cases = [
            (
                "[queue]\nmax_batch_size = 0\n",
                "`queue.max_batch_size` must be at least 1",
            ),
            (
                "[pipeline]\nci_failure_grace_seconds = -1\n",
                "must not be negative",
            ),
            (
                "[queue]\nbase_branch = \"\"\n",
                "`queue.base_branch` is not a valid",
            ),
            (
                "[queue]\nbase_branch = \"my branch\"\n",
                "`queue.base_branch`",
            ),
            ("[queue]\nbase_branch = \"a..b\"\n", "`queue.base_branch`"),
            ("[queue]\nbase_branch = \"-main\"\n", "`queue.base_branch`"),
            (
                "[pipeline]\nrepair_branch_prefix = \"\"\n",
                "`pipeline.repair_branch_prefix`",
            ),
            (
                "[queue]\nrequired_checks = [\"\"]\n",
                "`queue.required_checks` has an empty",
            ),
            (
                "[[pipeline.verifications]]\nname = \"h\"\nurl = \"ftp://x\"\n",
                "`pipeline.verifications[0].url` must start with http:// or https://",
            ),
            (
                "[[pipeline.verifications]]\nname = \"h\"\nurl = \"https://x\"\n\
                 [[pipeline.verifications]]\nname = \"h\"\nurl = \"https://y\"\n",
                "`pipeline.verifications[1].name` repeats",
            ),
            (
                "[[pipeline.verifications]]\nname = \"h\"\nurl = \"https://x\"\ntimeout_seconds = 0\n",
                "`pipeline.verifications[0].timeout_seconds`",
            ),
        ];
        for (text, expected) in cases {
            let message = error(text);
            assert!(message.contains(expected), "{text:?}: {message}");
        }
    }

    #[test]
    fn error_is_a_std_error_displaying_its_message() {
        let err = parse_policy("x = 1", "HEAD:.deploybot.toml").expect_err("unknown key");
        let boxed: Box<dyn std::error::Error> = Box::new(err.clone());
        assert_eq!(boxed.to_string(), err.message);
        assert!(err.message.starts_with("HEAD:.deploybot.toml: "));
    }
}
