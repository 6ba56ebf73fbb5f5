#![warn(missing_docs)]
//! git-deploybot: a git-native merge queue and delivery controller.
//!
//! `core` is pure (folds, state machines, admission); `git` is the only layer
//! that touches gix or spawns git; `ledger` builds append-only logs on refs;
//! `ops` are the operations (library porcelain); `cli` parses, calls `ops` and
//! renders. User-visible text lives in `messages`.

pub mod cli;
pub mod core;
pub mod demo;
pub mod error;
pub mod git;
pub mod hook;
pub mod ledger;
pub mod messages;
pub mod ops;
pub mod session;
