//! The pure core: folds, state machines and admission rules over plain data.
//! Nothing in here touches git, the file system, the clock or the network.

pub mod claims;
pub mod control;
pub mod hash;
pub mod json;
pub mod judgement;
pub mod logs;
pub mod next;
pub mod pass;
pub mod policy;
pub mod queue;
pub mod react;
pub mod release;
pub mod results;
pub mod roles;
pub mod schedule;
pub mod stats;
pub mod story;
pub mod time;
pub mod train;
