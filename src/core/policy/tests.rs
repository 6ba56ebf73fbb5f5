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

#[test]
fn the_every_key_fixture_sets_every_key_away_from_its_default() {
    let text = include_str!("../../../fixtures/policies/every-key.toml");
    let p = parse_policy(text, "fixtures/policies/every-key.toml").expect("the fixture parses");
    let d = Policy::default();
    assert_ne!(p.queue.base_branch, d.queue.base_branch);
    assert_ne!(p.queue.remote, d.queue.remote);
    assert_ne!(p.queue.required_checks, d.queue.required_checks);
    assert_eq!(p.queue.merge_method, MergeMethod::Squash);
    assert_eq!(p.queue.max_batch_size, 7);
    assert_eq!(p.queue.trusted_actors, ["alice", "bob"]);
    assert_eq!(p.queue.coordinator_actors, ["coordinator"]);
    assert_eq!(p.queue.ci_runners, ["runner-1"]);
    assert_eq!(p.pipeline.ci_checks, ["CI", "e2e"]);
    assert_eq!(p.pipeline.deploy_checks, ["Deploy", "Migrate"]);
    assert_eq!(
        p.pipeline.release_admission,
        crate::core::release::AdmissionMode::CiPassed
    );
    assert_eq!(p.pipeline.ci_failure_grace_seconds, 30);
    assert!(!p.pipeline.pause_on_failure);
    assert_eq!(p.pipeline.repair_branch_prefix, "hotfix/repair");
    assert!(!p.pipeline.ci_dispatch_command.is_empty() && !p.pipeline.deploy_command.is_empty());
    assert_eq!(p.verification_names(), ["health", "api"]);
    assert_eq!(p.pipeline.verifications[0].expected_status, 204);
    assert_eq!(
        p.pipeline.verifications[1].expected_status, 200,
        "defaulted"
    );
    assert_eq!(p.pipeline.verifications[1].timeout_seconds, 10, "defaulted");
    assert_eq!(p.hook.identity_env, ["GL_USER"]);
    assert!(p.hook.protect_base);
    assert_eq!(p.queue.landing, LandingMode::Tested);
    assert_eq!(
        (p.queue.speculation_depth, p.queue.max_retries),
        (crate::core::train::depth::SpeculationDepth::Fixed(5), 2)
    );
    assert!(p.hook.require_tested_base);
    assert_eq!(p.hook.base_override_actors, ["oncall"]);
    assert!(p.control.signed);
    assert_eq!(p.control.allowed_signers, "keys/allowed");
}
