//! The queued entries, indexed both ways: by ledger position (the FIFO
//! order) and by branch, so that one fold step costs O(log n) however long
//! the queue is. Serialized as the plain list, oldest request first.

use super::QueueEntry;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::{BTreeMap, HashMap};

/// Queued entries, oldest request first; one per branch.
#[derive(Debug, Clone, Default)]
pub struct QueueEntries {
    by_position: BTreeMap<u64, QueueEntry>,
    by_branch: HashMap<String, u64>,
}

impl QueueEntries {
    /// The entries in FIFO order.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &QueueEntry> + ExactSizeIterator {
        self.by_position.values()
    }

    /// How many entries are queued.
    pub fn len(&self) -> usize {
        self.by_position.len()
    }

    /// True when nothing is queued.
    pub fn is_empty(&self) -> bool {
        self.by_position.is_empty()
    }

    /// The entry queued for `branch`.
    pub fn get(&self, branch: &str) -> Option<&QueueEntry> {
        let position = self.by_branch.get(branch)?;
        self.by_position.get(position)
    }

    /// The entry queued for `branch`, to change in place (not its branch or position).
    pub fn get_mut(&mut self, branch: &str) -> Option<&mut QueueEntry> {
        let position = self.by_branch.get(branch)?;
        self.by_position.get_mut(position)
    }

    /// Removes the entry queued for `branch`.
    pub fn remove(&mut self, branch: &str) -> Option<QueueEntry> {
        let position = self.by_branch.remove(branch)?;
        self.by_position.remove(&position)
    }

    /// Queues `entry` at its position, replacing the branch's entry (and
    /// whatever held that position).
    pub fn push(&mut self, entry: QueueEntry) {
        self.remove(&entry.branch);
        if let Some(old) = self.by_position.remove(&entry.position) {
            self.by_branch.remove(&old.branch);
        }
        self.by_branch.insert(entry.branch.clone(), entry.position);
        self.by_position.insert(entry.position, entry);
    }
}

impl PartialEq for QueueEntries {
    fn eq(&self, other: &Self) -> bool {
        self.by_position == other.by_position
    }
}

impl Eq for QueueEntries {}

impl std::ops::Index<usize> for QueueEntries {
    type Output = QueueEntry;
    fn index(&self, index: usize) -> &QueueEntry {
        self.iter().nth(index).expect("index within the queue")
    }
}

impl<'a> IntoIterator for &'a QueueEntries {
    type Item = &'a QueueEntry;
    type IntoIter = std::collections::btree_map::Values<'a, u64, QueueEntry>;
    fn into_iter(self) -> Self::IntoIter {
        self.by_position.values()
    }
}

impl FromIterator<QueueEntry> for QueueEntries {
    fn from_iter<I: IntoIterator<Item = QueueEntry>>(entries: I) -> Self {
        let mut out = QueueEntries::default();
        for entry in entries {
            out.push(entry);
        }
        out
    }
}

impl Serialize for QueueEntries {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.by_position.values())
    }
}

impl<'de> Deserialize<'de> for QueueEntries {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Vec::<QueueEntry>::deserialize(deserializer)?
            .into_iter()
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(branch: &str, position: u64) -> QueueEntry {
        QueueEntry {
            branch: branch.into(),
            head_sha: "a".repeat(40),
            requested_by: "t".into(),
            requested_at: "2026-01-01T00:00:00Z".into(),
            blocked: None,
            position,
        }
    }

    #[test]
    fn fifo_order_one_entry_per_branch_and_the_list_round_trips() {
        let mut q = QueueEntries::default();
        q.push(entry("a", 0));
        q.push(entry("b", 1));
        q.push(entry("a", 2));
        let order: Vec<&str> = q.iter().map(|e| e.branch.as_str()).collect();
        assert_eq!(order, ["b", "a"], "a re-request moves to the back");
        assert_eq!(q.get("a").map(|e| e.position), Some(2));
        let json = serde_json::to_string(&q).expect("serializes");
        assert!(json.starts_with("[{\"branch\":\"b\""), "{json}");
        let back: QueueEntries = serde_json::from_str(&json).expect("round trip");
        assert_eq!(back, q);
        assert_eq!(q.remove("b").map(|e| e.position), Some(1));
        assert_eq!((q.len(), q[0].branch.as_str()), (1, "a"));
    }
}
