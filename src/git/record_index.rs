//! The files of a ledger's record index, under
//! `<git common dir>/deploybot-cache/index-v<N>/<ledger>/`: which ledger
//! commit holds the record at each position, and under which keys (a
//! branch, a candidate, a main) each position is filed. It lets an audit
//! (`why`) read only the records it needs instead of the whole ledger.
//!
//! - `head`: the indexed length and the commit at its end, written last
//!   (temporary file and rename), so it is the index's commit point;
//! - `commits`: one fixed-width line per position, at byte `i * width`:
//!   the hex commit id and the latest record time (Unix seconds) up to and
//!   including it, so a window of time is found by binary search;
//! - `keys/<xx>`: lines `key<TAB>position`, appended, sharded by a hash of
//!   the key.
//!
//! The index is a hint that only adds records: readers ignore positions at
//! or past `head`'s length and re-check every record they read, and an
//! interrupted update only leaves lines that are written again. Losing it
//! costs one rebuild. One process updates it at a time (a lock file);
//! reading needs no lock, because an update only appends, except after the
//! ledger was rewritten, when the index is rebuilt and a reader at that
//! moment may miss records until it reads again.

use super::{ObjectId, Repo};
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Bumped whenever what a record is filed under changes.
pub const RECORD_INDEX_VERSION: u32 = 1;

const SHARDS: u64 = 256;

/// The width of a time in `commits` (an i64, right-aligned).
const TIME_WIDTH: u64 = 20;

/// The index files of one ledger, locked for updates until [`RecordIndex::unlock`].
#[derive(Debug)]
pub struct RecordIndex {
    dir: PathBuf,
    locked: bool,
    /// Positions indexed.
    pub len: u64,
    /// The commit at position `len - 1`.
    pub tip: Option<ObjectId>,
    /// The latest record time up to position `len - 1` (`i64::MIN`: none).
    pub latest: i64,
    width: u64,
    pending_commits: Vec<u8>,
    pending_keys: std::collections::BTreeMap<u64, Vec<u8>>,
}

impl RecordIndex {
    /// Opens (creating) the index of `ledger` in `repo` and takes its lock,
    /// waiting up to two seconds for another process; None when the lock
    /// stays taken or the directory cannot be written.
    pub fn open(repo: &Repo, ledger: &str) -> Option<RecordIndex> {
        let dir = repo
            .common_dir()
            .join("deploybot-cache")
            .join(format!("index-v{RECORD_INDEX_VERSION}"))
            .join(ledger);
        std::fs::create_dir_all(dir.join("keys")).ok()?;
        take_lock(&dir)?;
        let width = repo.gix().object_hash().len_in_hex() as u64 + TIME_WIDTH + 2;
        let (len, tip, latest) = std::fs::read_to_string(dir.join("head"))
            .ok()
            .and_then(|text| parse_head(&text))
            .unwrap_or((0, None, i64::MIN));
        Some(RecordIndex {
            dir,
            locked: true,
            len,
            tip,
            latest,
            width,
            pending_commits: Vec::new(),
            pending_keys: Default::default(),
        })
    }

    /// Forgets everything indexed (the ledger was rewritten).
    pub fn clear(&mut self) {
        self.len = 0;
        self.tip = None;
        self.latest = i64::MIN;
        self.pending_commits.clear();
        self.pending_keys.clear();
        let _ = std::fs::remove_file(self.dir.join("head"));
        let _ = std::fs::remove_dir_all(self.dir.join("keys"));
        let _ = std::fs::create_dir_all(self.dir.join("keys"));
    }

    /// Adds the record in `commit`, written at `at` (Unix seconds, when
    /// readable), at the next position, filed under `keys`.
    pub fn push(&mut self, commit: ObjectId, at: Option<i64>, keys: &[String]) {
        let position = self.len;
        self.latest = self.latest.max(at.unwrap_or(i64::MIN));
        let latest = self.latest;
        self.pending_commits
            .extend_from_slice(format!("{commit} {latest:>20}\n").as_bytes());
        for key in keys {
            let key = escape(key);
            let line = format!("{key}\t{position}\n");
            self.pending_keys
                .entry(shard_of(&key))
                .or_default()
                .extend_from_slice(line.as_bytes());
        }
        self.len += 1;
        self.tip = Some(commit);
    }

    /// Writes what was pushed: the commits and keys first, `head` last.
    pub fn save(&mut self) -> Result<()> {
        let indexed = self.len - (self.pending_commits.len() as u64 / self.width);
        let mut commits = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(self.dir.join("commits"))
            .context("opening the record index")?;
        // A crashed update may have appended past the length `head` says.
        commits.set_len(indexed * self.width)?;
        commits.seek(SeekFrom::End(0))?;
        commits.write_all(&self.pending_commits)?;
        for (shard, lines) in std::mem::take(&mut self.pending_keys) {
            let mut file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(self.dir.join("keys").join(format!("{shard:02x}")))?;
            file.write_all(&lines)?;
        }
        self.pending_commits.clear();
        let tip = self.tip.map(|t| t.to_string()).unwrap_or_default();
        let tmp = self
            .dir
            .join(format!(".head.{}.tmp", super::store::random_u64()));
        std::fs::write(&tmp, format!("{}\n{tip}\n{}\n", self.len, self.latest))?;
        std::fs::rename(&tmp, self.dir.join("head"))?;
        Ok(())
    }

    /// The positions filed under `key`, ascending, below the indexed length.
    pub fn positions(&self, key: &str) -> Vec<u64> {
        self.positions_of(&[key]).remove(key).unwrap_or_default()
    }

    /// The positions filed under each of `keys` (each shard read once),
    /// ascending, below the indexed length; a key filed nowhere is absent.
    pub fn positions_of(&self, keys: &[&str]) -> HashMap<String, Vec<u64>> {
        let mut by_shard: BTreeMap<u64, HashMap<String, &str>> = BTreeMap::new();
        for key in keys {
            let escaped = escape(key);
            by_shard
                .entry(shard_of(&escaped))
                .or_default()
                .insert(escaped, key);
        }
        let mut found: HashMap<String, BTreeSet<u64>> = HashMap::new();
        for (shard, wanted) in by_shard {
            let path = self.dir.join("keys").join(format!("{shard:02x}"));
            let text = std::fs::read_to_string(path).unwrap_or_default();
            for (key, position) in text.lines().filter_map(|line| line.split_once('\t')) {
                if let Some(original) = wanted.get(key)
                    && let Ok(position) = position.parse::<u64>()
                    && position < self.len
                {
                    found
                        .entry((*original).to_owned())
                        .or_default()
                        .insert(position);
                }
            }
        }
        found
            .into_iter()
            .map(|(key, positions)| (key, positions.into_iter().collect()))
            .collect()
    }

    /// The commit at `position` and the latest record time up to it, when indexed.
    pub fn entry_at(&self, position: u64) -> Option<(ObjectId, i64)> {
        if position >= self.len {
            return None;
        }
        let mut file = File::open(self.dir.join("commits")).ok()?;
        file.seek(SeekFrom::Start(position * self.width)).ok()?;
        let mut line = vec![0; self.width as usize];
        file.read_exact(&mut line).ok()?;
        let (commit, latest) = std::str::from_utf8(&line).ok()?.split_once(' ')?;
        Some((super::parse_oid(commit)?, latest.trim().parse().ok()?))
    }

    /// The commits from `position` to the end, in order (one read of the file).
    pub fn commits_from(&self, position: u64) -> Vec<ObjectId> {
        let Ok(mut file) = File::open(self.dir.join("commits")) else {
            return Vec::new();
        };
        let count = self.len.saturating_sub(position);
        let mut bytes = vec![0; (count * self.width) as usize];
        if file.seek(SeekFrom::Start(position * self.width)).is_err()
            || file.read_exact(&mut bytes).is_err()
        {
            return Vec::new();
        }
        bytes
            .chunks(self.width as usize)
            .filter_map(|line| {
                let line = std::str::from_utf8(line).ok()?;
                super::parse_oid(line.split_once(' ')?.0)
            })
            .collect()
    }

    /// The commit at `position`, when indexed.
    pub fn commit_at(&self, position: u64) -> Option<ObjectId> {
        self.entry_at(position).map(|(commit, _)| commit)
    }

    /// The first position whose latest record time is at or after `since`
    /// (`len` when none): every record before it was written before `since`.
    pub fn first_at_or_after(&self, since: i64) -> u64 {
        let (mut low, mut high) = (0, self.len);
        while low < high {
            let middle = low + (high - low) / 2;
            match self.entry_at(middle) {
                Some((_, latest)) if latest < since => low = middle + 1,
                _ => high = middle,
            }
        }
        low
    }
}

impl RecordIndex {
    /// Gives the update lock back: what was saved stays readable (appends
    /// by a later update never move a position below this length).
    pub fn unlock(&mut self) {
        if std::mem::take(&mut self.locked) {
            let _ = std::fs::remove_file(self.dir.join("lock"));
        }
    }
}

impl Drop for RecordIndex {
    fn drop(&mut self) {
        self.unlock();
    }
}

/// Takes `dir/lock`, waiting up to two seconds; a lock older than ten
/// minutes is left by a process that died and is taken over.
fn take_lock(dir: &std::path::Path) -> Option<()> {
    let lock = dir.join("lock");
    for _ in 0..100 {
        match OpenOptions::new().write(true).create_new(true).open(&lock) {
            Ok(mut file) => {
                let _ = write!(file, "{}", std::process::id());
                return Some(());
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let stale = std::fs::metadata(&lock)
                    .and_then(|m| m.modified())
                    .ok()
                    .and_then(|t| t.elapsed().ok())
                    .is_some_and(|age| age.as_secs() > 600);
                if stale {
                    let _ = std::fs::remove_file(&lock);
                    continue;
                }
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(_) => return None,
        }
    }
    None
}

fn parse_head(text: &str) -> Option<(u64, Option<ObjectId>, i64)> {
    let mut lines = text.lines();
    let len = lines.next()?.parse().ok()?;
    let tip = lines.next().and_then(super::parse_oid);
    let latest = lines.next()?.parse().ok()?;
    (len == 0 || tip.is_some()).then_some((len, tip, latest))
}

/// A key with `%`, tab and newline escaped, so it fits one line's field.
fn escape(key: &str) -> String {
    key.replace('%', "%25")
        .replace('\t', "%09")
        .replace('\n', "%0A")
}

/// FNV-1a of the key, into one of [`SHARDS`].
fn shard_of(key: &str) -> u64 {
    let mut hash: u64 = 0xcbf29ce484222325;
    for byte in key.bytes() {
        hash ^= byte as u64;
        hash = hash.wrapping_mul(0x100000001b3);
    }
    hash % SHARDS
}
