//! The files of a ledger's record index, under
//! `<git common dir>/deploybot-cache/index-v<N>/<ledger>/`: which ledger
//! commit holds the record at each position, and under which keys (a
//! branch, a candidate, a main) each position is filed. It lets an audit
//! (`why`) read only the records it needs instead of the whole ledger.
//!
//! - `head`: the indexed length and the commit at its end, written last
//!   (temporary file and rename), so it is the index's commit point;
//! - `commits`: one fixed-width hex commit id per line, position `i` at
//!   byte `i * width`;
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
use std::collections::BTreeSet;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::PathBuf;

/// Bumped whenever what a record is filed under changes.
pub const RECORD_INDEX_VERSION: u32 = 1;

const SHARDS: u64 = 256;

/// The index files of one ledger, locked for updates until [`RecordIndex::unlock`].
#[derive(Debug)]
pub struct RecordIndex {
    dir: PathBuf,
    locked: bool,
    /// Positions indexed.
    pub len: u64,
    /// The commit at position `len - 1`.
    pub tip: Option<ObjectId>,
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
        let width = repo.gix().object_hash().len_in_hex() as u64 + 1;
        let (len, tip) = std::fs::read_to_string(dir.join("head"))
            .ok()
            .and_then(|text| parse_head(&text))
            .unwrap_or((0, None));
        Some(RecordIndex {
            dir,
            locked: true,
            len,
            tip,
            width,
            pending_commits: Vec::new(),
            pending_keys: Default::default(),
        })
    }

    /// Forgets everything indexed (the ledger was rewritten).
    pub fn clear(&mut self) {
        self.len = 0;
        self.tip = None;
        self.pending_commits.clear();
        self.pending_keys.clear();
        let _ = std::fs::remove_file(self.dir.join("head"));
        let _ = std::fs::remove_dir_all(self.dir.join("keys"));
        let _ = std::fs::create_dir_all(self.dir.join("keys"));
    }

    /// Adds the record in `commit` at the next position, filed under `keys`.
    pub fn push(&mut self, commit: ObjectId, keys: &[String]) {
        let position = self.len;
        self.pending_commits
            .extend_from_slice(format!("{commit}\n").as_bytes());
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
        std::fs::write(&tmp, format!("{}\n{tip}\n", self.len))?;
        std::fs::rename(&tmp, self.dir.join("head"))?;
        Ok(())
    }

    /// The positions filed under `key`, ascending, below the indexed length.
    pub fn positions(&self, key: &str) -> Vec<u64> {
        let key = escape(key);
        let path = self
            .dir
            .join("keys")
            .join(format!("{:02x}", shard_of(&key)));
        let text = std::fs::read_to_string(path).unwrap_or_default();
        let found: BTreeSet<u64> = text
            .lines()
            .filter_map(|line| line.split_once('\t'))
            .filter(|(k, _)| *k == key)
            .filter_map(|(_, p)| p.parse().ok())
            .filter(|p| *p < self.len)
            .collect();
        found.into_iter().collect()
    }

    /// The commit at `position`, when indexed.
    pub fn commit_at(&self, position: u64) -> Option<ObjectId> {
        if position >= self.len {
            return None;
        }
        let mut file = File::open(self.dir.join("commits")).ok()?;
        file.seek(SeekFrom::Start(position * self.width)).ok()?;
        let mut line = vec![0; self.width as usize];
        file.read_exact(&mut line).ok()?;
        super::parse_oid(std::str::from_utf8(&line).ok()?.trim_end())
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

fn parse_head(text: &str) -> Option<(u64, Option<ObjectId>)> {
    let mut lines = text.lines();
    let len = lines.next()?.parse().ok()?;
    let tip = lines.next().and_then(super::parse_oid);
    (len == 0 || tip.is_some()).then_some((len, tip))
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
