//! Who pushes, and whether the policy lets them write a given kind of state:
//! the pure rules live in [`crate::core::roles`] (status and why use them to
//! suggest only what this clone may run); this is the hook's view of them.

pub use crate::core::roles::*;
