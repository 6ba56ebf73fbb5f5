//! Who writes, and whether the policy lets them write a given kind of state.
//!
//! Each actor list means "anyone" while it is empty (DESIGN: `trusted_actors =
//! [] # empty: anyone`), coordinators may do whatever trusted actors and CI
//! runners may (react writes block records, pauses and pending CI notes), and
//! a policy that names no actor at all checks no identity.

use crate::core::policy::Policy;

/// A kind of writer the policy knows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Requests, cancels, blocks, pauses, unpauses, repair leases: `trusted_actors`.
    Trusted,
    /// Base branch (with `hook.protect_base`), merged and dequeue records, the watermark.
    Coordinator,
    /// Result notes: `ci_runners`.
    CiRunner,
    /// `ci_runners` alone, not coordinators: a `success` on the CI notes
    /// (it certifies a commit as tested; a coordinator that could certify
    /// its own merge would defeat `hook.require_tested_base`) and run logs.
    RunnerOnly,
    /// Any identified pusher (a governed ref no list restricts further).
    Anyone,
}

/// Why a write is not allowed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Denied {
    /// The policy names actors and the server did not say who pushes.
    NoIdentity,
    /// The pusher is in none of the lists that may.
    NotListed {
        /// The pusher.
        who: String,
        /// The lists that may, for the message (`queue.trusted_actors or …`).
        lists: String,
    },
}

/// The pusher's identity: the first variable of `identity_env` that is set and non-empty.
pub fn pusher(identity_env: &[String], var: impl Fn(&str) -> Option<String>) -> Option<String> {
    identity_env.iter().find_map(|name| {
        var(name)
            .map(|v| v.trim().to_string())
            .filter(|v| !v.is_empty())
    })
}

/// Decides whether `who` may write state that needs `role` under `policy`.
pub fn authorize(policy: &Policy, who: Option<&str>, role: Role) -> Result<(), Denied> {
    if !policy.names_actors() {
        return Ok(());
    }
    let Some(who) = who else {
        return Err(Denied::NoIdentity);
    };
    let queue = &policy.queue;
    let (own, own_name): (&[String], &str) = match role {
        Role::Anyone => return Ok(()),
        Role::Trusted => (&queue.trusted_actors, "queue.trusted_actors"),
        Role::Coordinator => (&queue.coordinator_actors, "queue.coordinator_actors"),
        Role::CiRunner | Role::RunnerOnly => (&queue.ci_runners, "queue.ci_runners"),
    };
    if own.is_empty() || own.iter().any(|a| a == who) {
        return Ok(());
    }
    let coordinators = &queue.coordinator_actors;
    let coordinators_may = !matches!(role, Role::Coordinator | Role::RunnerOnly);
    if coordinators_may && coordinators.iter().any(|a| a == who) {
        return Ok(());
    }
    let lists = if !coordinators_may {
        own_name.to_string()
    } else {
        format!("{own_name} or queue.coordinator_actors")
    };
    Err(Denied::NotListed {
        who: who.to_string(),
        lists,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(trusted: &[&str], coordinators: &[&str], runners: &[&str]) -> Policy {
        let mut p = Policy::default();
        let own = |l: &[&str]| l.iter().map(|s| s.to_string()).collect();
        p.queue.trusted_actors = own(trusted);
        p.queue.coordinator_actors = own(coordinators);
        p.queue.ci_runners = own(runners);
        p
    }

    #[test]
    fn no_actors_named_means_no_identity_check() {
        assert_eq!(
            authorize(&Policy::default(), None, Role::Coordinator),
            Ok(())
        );
    }

    #[test]
    fn named_actors_need_an_identity_even_for_open_lists() {
        let p = policy(&[], &["bot"], &[]);
        assert_eq!(authorize(&p, None, Role::Trusted), Err(Denied::NoIdentity));
        assert_eq!(
            authorize(&p, Some("anyone"), Role::Trusted),
            Ok(()),
            "an empty trusted list lets any identified pusher request"
        );
    }

    #[test]
    fn lists_restrict_and_coordinators_cover_the_others() {
        let p = policy(&["alice"], &["bot"], &["ci"]);
        assert_eq!(authorize(&p, Some("alice"), Role::Trusted), Ok(()));
        assert_eq!(authorize(&p, Some("bot"), Role::Trusted), Ok(()));
        assert_eq!(authorize(&p, Some("bot"), Role::CiRunner), Ok(()));
        assert_eq!(
            authorize(&p, Some("alice"), Role::Coordinator),
            Err(Denied::NotListed {
                who: "alice".into(),
                lists: "queue.coordinator_actors".into()
            })
        );
        assert!(matches!(
            authorize(&p, Some("ci"), Role::Trusted),
            Err(Denied::NotListed { .. })
        ));
    }

    #[test]
    fn first_set_variable_wins() {
        let vars = ["GL_USER".to_string(), "REMOTE_USER".to_string()];
        let who = pusher(&vars, |n| match n {
            "GL_USER" => Some(" ".into()),
            "REMOTE_USER" => Some("carol".into()),
            _ => None,
        });
        assert_eq!(who.as_deref(), Some("carol"), "blank values are skipped");
    }
}
