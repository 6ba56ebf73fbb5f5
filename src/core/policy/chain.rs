//! Which policy is in force when the policy on the configured branch names
//! another base branch, as a pure function of the two files (DESIGN.md,
//! "Policy file"; issue 19: policy indirection fails closed).
//!
//! The server reads `.deploybot.toml` from the configured branch (`C`,
//! `deploybot.baseBranch`, else `main`). When that policy names another base
//! branch `X`, X's policy governs, one step only, and never more openly:
//!
//! - X has no policy file (or no tip yet): the policy that named X governs X.
//! - X's policy names no actors while C's does: C's actors keep governing
//!   (the last policy that named actors), with X's other settings.
//! - X's policy names yet another base: the chain stops; X stays the base.
//!
//! So nobody gains a role by pointing at, or writing to, a branch without a
//! policy; and a change of either file needs a coordinator of the policy it
//! replaces (the hook's `policy_change_need`).

use super::Policy;

/// Where the policy in force was read from, for `doctor` and messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyInForce {
    /// The policy every rule uses (its `base_branch` is the base).
    pub policy: Policy,
    /// The policy on the configured branch itself (the root of the chain):
    /// a change of that file needs one of its coordinators.
    pub root: Policy,
    /// One line: which file governs and why.
    pub source: String,
}

/// What was found on one branch: `None` when there is no policy file (or
/// no branch).
pub type Found = Option<Policy>;

/// The policy in force, from the configured branch's file (`root`) and, when
/// that names another base branch, that branch's file (`named`).
pub fn in_force(configured: &str, root: Found, named: Option<Found>) -> PolicyInForce {
    let file = super::POLICY_FILE;
    let Some(root_policy) = root else {
        let mut policy = Policy::default();
        policy.queue.base_branch = configured.to_string();
        return PolicyInForce {
            root: policy.clone(),
            policy,
            source: format!("no {file} on {configured}: the built-in defaults (no actors named)"),
        };
    };
    let base = root_policy.queue.base_branch.clone();
    if base == configured {
        return PolicyInForce {
            policy: root_policy.clone(),
            root: root_policy,
            source: format!("{configured}:{file}"),
        };
    }
    let Some(Some(named)) = named else {
        let mut policy = root_policy.clone();
        policy.queue.base_branch = base.clone();
        return PolicyInForce {
            policy,
            root: root_policy,
            source: format!(
                "{configured}:{file} (it names base branch {base}, which has no {file}: the policy that named it governs)"
            ),
        };
    };
    let mut policy = named;
    let mut notes = Vec::new();
    if policy.queue.base_branch != base {
        notes.push(format!(
            "{base}'s policy names base branch {} in turn; the chain stops at one step, {base} stays the base",
            policy.queue.base_branch
        ));
        policy.queue.base_branch = base.clone();
    }
    if !policy.names_actors() && root_policy.names_actors() {
        inherit_actors(&mut policy, &root_policy);
        notes.push(format!(
            "{base}'s policy names no actors: {configured}'s actors keep governing"
        ));
    }
    let mut source = format!("{base}:{file} (named as the base branch by {configured}:{file})");
    for note in notes {
        source.push_str(&format!("; {note}"));
    }
    PolicyInForce {
        policy,
        root: root_policy,
        source,
    }
}

/// Takes `from`'s actor lists and identity settings into `into`.
fn inherit_actors(into: &mut Policy, from: &Policy) {
    into.queue.trusted_actors = from.queue.trusted_actors.clone();
    into.queue.coordinator_actors = from.queue.coordinator_actors.clone();
    into.queue.ci_runners = from.queue.ci_runners.clone();
    into.hook.identity_env = from.hook.identity_env.clone();
    into.hook.base_override_actors = from.hook.base_override_actors.clone();
    into.hook.protect_base |= from.hook.protect_base;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named_actors(base: &str, coordinator: &str) -> Policy {
        let mut p = Policy::default();
        p.queue.base_branch = base.into();
        p.queue.coordinator_actors = vec![coordinator.into()];
        p
    }

    #[test]
    fn a_policy_naming_its_own_branch_governs() {
        let p = named_actors("main", "bot");
        let f = in_force("main", Some(p.clone()), None);
        assert_eq!(f.policy, p);
        assert_eq!(f.source, "main:.deploybot.toml");
    }

    #[test]
    fn a_named_base_without_a_policy_inherits_the_one_that_named_it() {
        let p = named_actors("prod", "bot");
        for named in [None, Some(None)] {
            let f = in_force("main", Some(p.clone()), named);
            assert_eq!(f.policy.queue.base_branch, "prod");
            assert_eq!(f.policy.queue.coordinator_actors, vec!["bot".to_string()]);
            assert!(
                f.source.contains("the policy that named it governs"),
                "{}",
                f.source
            );
        }
    }

    #[test]
    fn a_named_base_naming_no_actors_keeps_the_last_actors() {
        let mut open = Policy::default();
        open.queue.base_branch = "prod".into();
        open.pipeline.ci_checks = vec!["Build".into()];
        let f = in_force("main", Some(named_actors("prod", "bot")), Some(Some(open)));
        assert_eq!(f.policy.queue.coordinator_actors, vec!["bot".to_string()]);
        assert_eq!(
            f.policy.pipeline.ci_checks,
            vec!["Build".to_string()],
            "X's settings"
        );
        assert!(f.source.contains("names no actors"), "{}", f.source);
    }

    #[test]
    fn a_named_base_naming_actors_governs_and_the_chain_stops_at_one_step() {
        let f = in_force(
            "main",
            Some(named_actors("prod", "bot")),
            Some(Some(named_actors("elsewhere", "prod-bot"))),
        );
        assert_eq!(f.policy.queue.base_branch, "prod");
        assert_eq!(
            f.policy.queue.coordinator_actors,
            vec!["prod-bot".to_string()]
        );
        assert_eq!(f.root.queue.coordinator_actors, vec!["bot".to_string()]);
        assert!(f.source.contains("chain stops"), "{}", f.source);
    }

    #[test]
    fn no_file_is_the_defaults_named_as_such() {
        let f = in_force("trunk", None, None);
        assert_eq!(f.policy.queue.base_branch, "trunk");
        assert!(!f.policy.names_actors());
        assert!(f.source.contains("built-in defaults"));
    }
}
