//! Bounds checked where input is parsed, so no duration ever overflows the
//! clock arithmetic later (`Instant + Duration`, HTTP timeouts).

use crate::core::policy::{Policy, PolicyError};
use crate::error::{CliError, CliResult};
use crate::messages::{self, MAX_SECONDS};
use std::time::Duration;

/// A seconds flag as a duration, or a usage error naming the flag and the range.
pub fn flag_seconds(flag: &str, given: u64) -> CliResult<Duration> {
    if (1..=MAX_SECONDS).contains(&given) {
        Ok(Duration::from_secs(given))
    } else {
        Err(CliError::usage(messages::flag_seconds_out_of_range(
            flag, given,
        )))
    }
}

/// Checks the policy's seconds keys against the same range; `origin` names the file.
pub fn check_policy(policy: Policy, origin: &str) -> Result<Policy, PolicyError> {
    let grace = policy.pipeline.ci_failure_grace_seconds;
    if u64::try_from(grace).is_ok_and(|g| g > MAX_SECONDS) {
        let key = "pipeline.ci_failure_grace_seconds";
        return Err(PolicyError {
            message: messages::key_seconds_out_of_range(origin, key, grace as u64),
        });
    }
    for (index, v) in policy.pipeline.verifications.iter().enumerate() {
        if v.timeout_seconds > MAX_SECONDS {
            let key = format!("pipeline.verifications[{index}].timeout_seconds");
            return Err(PolicyError {
                message: messages::key_seconds_out_of_range(origin, &key, v.timeout_seconds),
            });
        }
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_range_is_inclusive_and_names_the_flag() {
        assert!(flag_seconds("--poll", 1).is_ok());
        assert!(flag_seconds("--poll", MAX_SECONDS).is_ok());
        let err = flag_seconds("--poll", MAX_SECONDS + 1).expect_err("too big");
        assert!(err.message.starts_with("--poll "), "{}", err.message);
        assert!(flag_seconds("--timeout", 0).is_err());
    }
}
