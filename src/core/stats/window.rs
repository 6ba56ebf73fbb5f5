//! Ledger slices that start inside the ledgers (`stats --since`): what the
//! records before a slice left, so figures over the slice equal figures
//! over the whole ledgers for the same window.

use std::collections::HashMap;

use crate::core::control::{ControlRecord, ControlState, fold_control};
use crate::core::queue::{QueueAction, QueueRecord};
use crate::core::time::parse_rfc3339;

/// Where ledger slices that start inside the ledgers begin: what the
/// records before them left, so figures over the slices equal figures over
/// the whole ledgers for the same window. A slice starts at the first record
/// whose time reaches the window (every earlier one is earlier), so that
/// record's own time is the ledger time the records before it would give it.
#[derive(Debug, Clone, Default)]
pub struct WindowStart {
    /// Requests open before the queue slice: branch → requested head.
    pub open_requests: HashMap<String, String>,
    /// The control fold's state before the control slice.
    pub control_state: ControlState,
}

/// The requests open after `queue` (branch → requested head), as
/// [`request_stories`] pairs them: only a branch's own records matter, so
/// a branch's records alone give its open request.
pub fn open_requests(queue: &[QueueRecord]) -> HashMap<String, String> {
    let mut open: HashMap<String, String> = HashMap::new();
    for record in queue {
        let branch = &record.branch;
        match record.action {
            QueueAction::Request => {
                if let Some(head) = &record.head_sha
                    && parse_rfc3339(&record.at).is_some()
                {
                    open.insert(branch.clone(), head.clone());
                }
            }
            QueueAction::Cancel | QueueAction::Dequeue => {
                open.remove(branch);
            }
            QueueAction::Merged
                if record.merge_sha.is_some()
                    && parse_rfc3339(&record.at).is_some()
                    && open.get(branch) == record.head_sha.as_ref() =>
            {
                open.remove(branch);
            }
            _ => {}
        }
    }
    open
}

impl WindowStart {
    /// What the whole prefixes `queue` and `control` leave.
    pub fn after(queue: &[QueueRecord], control: &[ControlRecord]) -> WindowStart {
        let control_state = control
            .iter()
            .fold(ControlState::default(), |state, record| {
                fold_control(&state, record).0
            });
        WindowStart {
            open_requests: open_requests(queue),
            control_state,
        }
    }
}
