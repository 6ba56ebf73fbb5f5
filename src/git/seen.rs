//! The ledger tips a reader saw last, under `<git common dir>/deploybot-cache/seen/`,
//! so a ledger rewound on the server (an admin's `update-ref` past the hook)
//! is said out loud instead of silently followed. Ledgers only grow: a tip
//! that no longer contains the last one seen lost records.

use super::{ObjectId, Repo};
use anyhow::Result;

/// A ledger whose tip no longer contains the tip last seen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rewound {
    /// The ledger ref.
    pub ledger: String,
    /// The tip seen before.
    pub seen: ObjectId,
    /// The tip now (None: the ledger is gone).
    pub now: Option<ObjectId>,
}

impl Repo {
    /// Compares `tip` of `ledger` with the one `reader` (e.g. `status`) saw
    /// last from `source` (a remote's name, or `local`), records `tip`, and
    /// returns the rewind when the new tip does not contain the old.
    pub fn check_rewound(
        &self,
        reader: &str,
        source: &str,
        ledger: &str,
        tip: Option<ObjectId>,
    ) -> Result<Option<Rewound>> {
        let key = format!("{reader}-{source}-{}", ledger.replace('/', "-"));
        let dir = self.common_dir().join("deploybot-cache").join("seen");
        let path = dir.join(key);
        let seen = std::fs::read_to_string(&path)
            .ok()
            .and_then(|t| super::parse_oid(t.trim()));
        let rewound = match (seen, tip) {
            (Some(seen), _) if Some(seen) == tip => None,
            (Some(seen), Some(now)) if self.has_object(seen) && self.is_ancestor(seen, now)? => {
                None
            }
            (Some(seen), now) if self.has_object(seen) => Some(Rewound {
                ledger: ledger.to_string(),
                seen,
                now,
            }),
            _ => None,
        };
        if seen != tip {
            let text = tip.map(|t| t.to_string()).unwrap_or_default();
            if std::fs::create_dir_all(&dir).is_ok() {
                let _ = std::fs::write(&path, text);
            }
        }
        Ok(rewound)
    }
}
