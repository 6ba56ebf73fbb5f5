//! Control ids are unique across the ledger, checked at a cost that follows
//! the push, not the ledger's length: the server keeps an index of every id
//! up to a ledger commit it covers (`<common dir>/deploybot-cache/control-ids-v1/`,
//! ids spread over 4096 bucket files), and brings it up to the current tip by
//! reading only the records appended since. A missing or foreign index is
//! rebuilt once. The index only ever holds ids of commits already on the
//! server, so a refused push leaves nothing behind.

use crate::git::{ObjectId, Repo};
use crate::ledger::{self, ControlLedger, LedgerKind};
use anyhow::Result;
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// The ids known on the server at one ledger tip.
pub struct KnownIds {
    dir: PathBuf,
    recent: HashSet<String>,
}

impl KnownIds {
    /// True when `id` names a record already in the ledger.
    pub fn contains(&self, id: &str) -> bool {
        if self.recent.contains(id) {
            return true;
        }
        std::fs::read_to_string(bucket(&self.dir, id))
            .map(|text| text.lines().any(|line| line == id))
            .unwrap_or(false)
    }
}

fn bucket(dir: &Path, id: &str) -> PathBuf {
    let hash = crate::core::hash::fnv1a(id.as_bytes());
    dir.join(format!("{:03x}", hash & 0xfff))
}

/// The ids of the control ledger at `tip`, from the index brought up to date.
pub fn known_ids(repo: &Repo, tip: Option<ObjectId>) -> Result<KnownIds> {
    let dir = repo
        .common_dir()
        .join("deploybot-cache")
        .join("control-ids-v1");
    let covered_file = dir.join("covered");
    let covered = std::fs::read_to_string(&covered_file)
        .ok()
        .and_then(|t| crate::git::parse_oid(t.trim()));
    // Walk back from the tip to what the index covers.
    let mut recent = HashSet::new();
    let mut cursor = tip;
    let mut met_covered = covered.is_none();
    while let Some(commit) = cursor {
        if Some(commit) == covered {
            met_covered = true;
            break;
        }
        let info = repo.find_commit_info(commit)?;
        if let Some(blob) = repo.try_find_path_id(info.tree, ledger::RECORD_FILE)?
            && let Ok(mut record) = ledger::parse_record::<ControlLedger>(&repo.find_blob(blob)?)
        {
            ControlLedger::adopt(&mut record, commit);
            recent.insert(record.control_id);
        }
        cursor = info.parents.first().copied();
    }
    if !met_covered {
        // The index covers another history: start it again from this walk.
        let _ = std::fs::remove_dir_all(&dir);
    }
    let known = KnownIds { dir, recent };
    if let Some(tip) = tip
        && Some(tip) != covered
    {
        persist(&known, tip, &covered_file);
    }
    Ok(known)
}

/// Adds the recent ids to their buckets, then moves `covered` to `tip`
/// (best effort: a failure only means the next push reads more).
fn persist(known: &KnownIds, tip: ObjectId, covered_file: &Path) {
    if std::fs::create_dir_all(&known.dir).is_err() {
        return;
    }
    let lock = known.dir.join("lock");
    // A lock left by a killed hook is taken over after a minute.
    let stale = std::fs::metadata(&lock)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.elapsed().ok())
        .is_some_and(|age| age.as_secs() > 60);
    if stale {
        let _ = std::fs::remove_file(&lock);
    }
    let Ok(_guard) = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&lock)
    else {
        return;
    };
    let mut by_bucket: std::collections::BTreeMap<PathBuf, Vec<&str>> = Default::default();
    for id in &known.recent {
        by_bucket
            .entry(bucket(&known.dir, id))
            .or_default()
            .push(id);
    }
    let mut ok = true;
    for (path, ids) in by_bucket {
        let mut text = std::fs::read_to_string(&path).unwrap_or_default();
        for id in ids {
            if !text.lines().any(|line| line == id) {
                text.push_str(id);
                text.push('\n');
            }
        }
        let tmp = path.with_extension("tmp");
        ok &= std::fs::write(&tmp, text).is_ok() && std::fs::rename(&tmp, &path).is_ok();
    }
    if ok {
        let tmp = covered_file.with_extension("tmp");
        if std::fs::write(&tmp, tip.to_string()).is_ok() {
            let _ = std::fs::rename(&tmp, covered_file);
        }
    }
    let _ = std::fs::remove_file(&lock);
}
