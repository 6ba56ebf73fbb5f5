//! Reading what `stats` needs: one walk of each ledger, the base branch's
//! first-parent line, and each notes tree read once into a map (target →
//! note blobs), from which only the mains' notes are parsed.
//!
//! Every read goes through one gix handle with a delta-base cache
//! ([`DeltaCache`]): a year of ledger records and notes is packed as long
//! delta chains, and without the cache each object re-inflates its chain.

use std::collections::HashMap;

use anyhow::{Context, Result};
use gix::odb::pack::cache::DecodeEntry;

use crate::core::results::{ResultRecord, parse_note};
use crate::core::stats::{MainFacts, Stats, StatsInputs, WindowStart, compute};
use crate::core::time::{UnixSeconds, parse_rfc3339};
use crate::error::CliResult;
use crate::git::note_trees::NoteTrees;
use crate::git::{ObjectId, Repo, names};
use crate::ledger::{ControlLedger, LedgerKind, QueueLedger, RECORD_FILE, reader_record};
use crate::session::Session;

mod window;

/// How many bytes of decoded delta bases [`DeltaCache`] keeps.
const DELTA_CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Decoded pack entries by (pack, offset), dropped all at once when full:
/// a walk reads neighbours, whose delta bases are the entries just decoded.
#[derive(Default)]
struct DeltaCache {
    entries: HashMap<(u32, u64), (gix::object::Kind, usize, Vec<u8>)>,
    bytes: usize,
}

impl DecodeEntry for DeltaCache {
    fn put(&mut self, pack: u32, offset: u64, data: &[u8], kind: gix::object::Kind, size: usize) {
        if self.bytes + data.len() > DELTA_CACHE_BYTES {
            self.entries.clear();
            self.bytes = 0;
        }
        self.bytes += data.len();
        self.entries
            .insert((pack, offset), (kind, size, data.to_vec()));
    }

    fn get(
        &mut self,
        pack: u32,
        offset: u64,
        out: &mut Vec<u8>,
    ) -> Option<(gix::object::Kind, usize)> {
        let (kind, size, data) = self.entries.get(&(pack, offset))?;
        out.clear();
        out.extend_from_slice(data);
        Some((*kind, *size))
    }
}

/// The repository's objects, read through a delta-base cache.
struct Reader {
    repo: gix::Repository,
    /// The commit-graph file, when there is one: parents and trees without
    /// inflating commits (a commit it does not hold is read from the odb).
    graph: Option<gix::commitgraph::Graph>,
    /// Notes trees decoded once: the top two fan-out levels every lookup
    /// passes through, and big trees ([`Reader::note_blobs`]).
    notes: NoteTrees,
}

/// At most this many decoded tree entries are kept for lookups.
const KEPT_TREE_ITEMS: usize = 2_000_000;

impl Reader {
    fn new(repo: &Repo) -> Reader {
        let mut repo = repo.gix().clone();
        repo.objects.set_pack_cache(|| Box::<DeltaCache>::default());
        let graph = repo.commit_graph_if_enabled().ok().flatten();
        Reader {
            repo,
            graph,
            notes: NoteTrees::new(KEPT_TREE_ITEMS),
        }
    }

    /// The note blobs on `target` under the notes tree `root`, at any
    /// fan-out depth, shallowest first (as [`Repo::find_notes`] finds them).
    fn note_blobs(&self, root: ObjectId, target: &ObjectId) -> Result<Vec<ObjectId>> {
        self.notes.blobs_in(&self.repo, root, target)
    }

    /// A commit's tree and first parent.
    fn commit(&self, id: ObjectId) -> Result<(ObjectId, Option<ObjectId>)> {
        if let Some(graph) = &self.graph
            && let Some(commit) = graph.commit_by_id(id)
            && let Ok(parent) = commit.parent1()
        {
            let tree = commit.root_tree_id().to_owned();
            return Ok((tree, parent.map(|p| graph.id_at(p).to_owned())));
        }
        let commit = self
            .repo
            .find_commit(id)
            .with_context(|| format!("commit {id} is missing"))?;
        let parent = commit.parent_ids().next().map(|p| p.detach());
        Ok((commit.tree_id()?.detach(), parent))
    }

    fn blob(&self, id: ObjectId) -> Result<Vec<u8>> {
        Ok(self.repo.find_blob(id)?.detach().data)
    }

    /// The readable records of ledger `K` from the root to `tip`, read as
    /// every reader reads them ([`reader_record`]); unreadable commits are skipped.
    fn ledger<K: LedgerKind>(&self, tip: Option<ObjectId>) -> Result<Vec<K::Record>> {
        let mut trees = Vec::new();
        let mut cursor = tip;
        while let Some(commit) = cursor {
            let (tree, parent) = self.commit(commit)?;
            trees.push((commit, tree));
            cursor = parent;
        }
        trees.reverse();
        self.records_in::<K>(&trees)
    }

    /// The readable records of the ledger commits `commits` (oldest first),
    /// read as every reader reads them; unreadable ones are skipped.
    fn records<K: LedgerKind>(&self, commits: &[ObjectId]) -> Result<Vec<K::Record>> {
        let mut trees = Vec::with_capacity(commits.len());
        for commit in commits {
            trees.push((*commit, self.commit(*commit)?.0));
        }
        self.records_in::<K>(&trees)
    }

    /// [`Reader::records`] of (commit, tree) pairs: the trees first, then
    /// their record blobs, each kind in one sweep (pack delta chains run in
    /// either direction, and reading each kind together lets the cache meet
    /// a chain's bases).
    fn records_in<K: LedgerKind>(&self, trees: &[(ObjectId, ObjectId)]) -> Result<Vec<K::Record>> {
        let mut blobs = Vec::with_capacity(trees.len());
        for (commit, tree) in trees {
            let tree = self.repo.find_tree(*tree)?;
            let blob = tree
                .find_entry(RECORD_FILE)
                .filter(|e| e.mode().is_blob())
                .map(|e| e.oid().to_owned());
            blobs.push((*commit, blob));
        }
        let mut out = Vec::with_capacity(blobs.len());
        for (commit, blob) in blobs {
            if let Some(blob) = blob
                && let Ok(record) = reader_record::<K>(&self.blob(blob)?, commit)
            {
                out.push(record);
            }
        }
        Ok(out)
    }

    /// The first-parent line ending at `tip`, oldest first.
    fn first_parent_line(&self, tip: ObjectId) -> Result<Vec<ObjectId>> {
        let mut line = Vec::new();
        let mut cursor = Some(tip);
        while let Some(commit) = cursor {
            line.push(commit);
            cursor = self.commit(commit)?.1;
        }
        line.reverse();
        Ok(line)
    }

    /// A commit's committer time, when it is here and readable (from the
    /// commit-graph when it holds the commit).
    fn commit_time(&self, commit: ObjectId) -> Option<UnixSeconds> {
        if let Some(graph) = &self.graph
            && let Some(c) = graph.commit_by_id(commit)
        {
            return i64::try_from(c.committer_timestamp()).ok();
        }
        let object = self.repo.try_find_object(commit).ok()??;
        object
            .try_into_commit()
            .ok()?
            .time()
            .ok()
            .map(|t| t.seconds)
    }

    /// Every note in the notes commit `tip`: target → its note blobs (several
    /// when a hand-made tree holds one at different fan-out depths). One pass
    /// over the tree, descending into two-hex-digit fan-out directories.
    fn notes_map(&self, tip: Option<ObjectId>) -> Result<HashMap<ObjectId, Vec<ObjectId>>> {
        let mut map: HashMap<ObjectId, Vec<ObjectId>> = HashMap::new();
        let Some(tip) = tip else {
            return Ok(map);
        };
        let mut pending = vec![(self.commit(tip)?.0, String::new())];
        while let Some((tree_id, prefix)) = pending.pop() {
            let tree = self.repo.find_tree(tree_id)?;
            let decoded = tree.decode()?;
            for entry in &decoded.entries {
                let Ok(name) = std::str::from_utf8(entry.filename) else {
                    continue;
                };
                if !name.bytes().all(|b| b.is_ascii_hexdigit()) {
                    continue;
                }
                let path = format!("{prefix}{name}");
                if entry.mode.is_tree() && name.len() == 2 && path.len() < 40 {
                    pending.push((entry.oid.to_owned(), path));
                } else if entry.mode.is_blob()
                    && path.len() == 40
                    && let Some(target) = crate::git::parse_oid(&path.to_ascii_lowercase())
                {
                    map.entry(target).or_default().push(entry.oid.to_owned());
                }
            }
        }
        Ok(map)
    }

    /// The result records of the notes `blobs` (none: no note).
    fn note_records(&self, blobs: Option<&Vec<ObjectId>>) -> Result<Vec<ResultRecord>> {
        let mut records = Vec::new();
        for blob in blobs.into_iter().flatten() {
            let bytes = self.blob(*blob)?;
            records.extend(parse_note(&String::from_utf8_lossy(&bytes)).records);
        }
        Ok(records)
    }

    /// Receipts: merge sha → the earliest `verified_at` a receipt gives it,
    /// read as every reader reads them ([`crate::core::story::receipts_on`]:
    /// on the head they name, once per merge).
    fn receipts(&self, tip: Option<ObjectId>) -> Result<HashMap<String, UnixSeconds>> {
        let mut receipts: HashMap<String, UnixSeconds> = HashMap::new();
        for (head, blobs) in self.notes_map(tip)? {
            for blob in blobs {
                let bytes = self.blob(blob)?;
                let text = String::from_utf8_lossy(&bytes);
                for receipt in crate::core::story::receipts_on(&text, Some(&head.to_string())) {
                    if let Some(at) = parse_rfc3339(&receipt.verified_at) {
                        let slot = receipts.entry(receipt.merge_sha).or_insert(at);
                        *slot = (*slot).min(at);
                    }
                }
            }
        }
        Ok(receipts)
    }
}

/// Computes `stats` for requests at or after `since` (None: all history) at
/// `now`. A window reads only its slice of the ledgers and the mains since
/// the one live when it began ([`window`]); all history reads everything.
pub fn gather(session: &Session, since: Option<UnixSeconds>, now: UnixSeconds) -> CliResult<Stats> {
    let reader = Reader::new(session.repo());
    let store = &session.store;
    let window = match since {
        Some(since) => window::ledger_window(session, &reader, since)?,
        None => None,
    };
    let (queue, control, start) = match window {
        Some(w) => (w.queue, w.control, w.start),
        None => (
            reader.ledger::<QueueLedger>(store.tip(names::QUEUE)?)?,
            reader.ledger::<ControlLedger>(store.tip(names::CONTROL)?)?,
            WindowStart::default(),
        ),
    };
    let (facts, receipts) = match since {
        Some(since) => (
            window::window_mains(session, &reader, session.base_sha()?, since)?,
            window::window_receipts(&reader, store.tip(names::NOTES_RECEIPTS)?, &queue)?,
        ),
        None => (
            all_mains(&reader, session.base_sha()?, session)?,
            reader.receipts(store.tip(names::NOTES_RECEIPTS)?)?,
        ),
    };
    let mut head_times = HashMap::new();
    for record in &queue {
        if record.action != crate::core::queue::QueueAction::Merged {
            continue;
        }
        let Some(head) = record.head_sha.as_deref() else {
            continue;
        };
        if head_times.contains_key(head) {
            continue;
        }
        if let Some(t) = crate::git::parse_oid(head).and_then(|oid| reader.commit_time(oid)) {
            head_times.insert(head.to_owned(), t);
        }
    }
    let policy = &session.policy;
    let mut checks = policy.pipeline.deploy_checks.clone();
    checks.extend(policy.verification_names());
    Ok(compute(&StatsInputs {
        queue: &queue,
        control: &control,
        mains: &facts,
        receipts: &receipts,
        head_times: &head_times,
        verified_checks: &checks,
        since,
        now,
        start: &start,
    }))
}

/// Every main on the first-parent line with its notes (each notes tree read once).
fn all_mains(reader: &Reader, tip: Option<ObjectId>, session: &Session) -> Result<Vec<MainFacts>> {
    let mains = match tip {
        Some(tip) => reader.first_parent_line(tip)?,
        None => Vec::new(),
    };
    mains_with_notes(reader, session, &mains)
}

/// From how many mains each notes tree is read whole instead of one lookup
/// per main. A lookup reads about three trees of a fanned-out notes tree;
/// a whole read touches every note, and holds a map of them. Measured on
/// the scale worlds (bench/scale): at 71,000 mains of a million, both take
/// about 5.7 s and the lookups half the memory; at 100,000 mains of
/// 100,000, the whole read is twice as fast.
const WHOLE_NOTES_FROM: usize = 100_000;

/// The mains `mains` with their CI and deploy notes: one lookup per main
/// for a few, each notes tree read once for many.
fn mains_with_notes(
    reader: &Reader,
    session: &Session,
    mains: &[ObjectId],
) -> Result<Vec<MainFacts>> {
    let store = &session.store;
    let (ci_tip, deploy_tip) = (store.tip(names::NOTES_CI)?, store.tip(names::NOTES_DEPLOY)?);
    let mut facts = Vec::with_capacity(mains.len());
    if mains.len() < WHOLE_NOTES_FROM {
        let root = |tip: Option<ObjectId>| tip.map(|t| reader.commit(t).map(|c| c.0)).transpose();
        let (ci_root, deploy_root) = (root(ci_tip)?, root(deploy_tip)?);
        let note = |root: Option<ObjectId>, sha| -> Result<Vec<ResultRecord>> {
            let Some(root) = root else {
                return Ok(Vec::new());
            };
            reader.note_records(Some(&reader.note_blobs(root, sha)?))
        };
        for sha in mains {
            facts.push(MainFacts {
                sha: sha.to_string(),
                ci: note(ci_root, sha)?,
                deploy: note(deploy_root, sha)?,
            });
        }
        return Ok(facts);
    }
    let ci = reader.notes_map(ci_tip)?;
    let deploy = reader.notes_map(deploy_tip)?;
    for sha in mains {
        facts.push(MainFacts {
            sha: sha.to_string(),
            ci: reader.note_records(ci.get(sha))?,
            deploy: reader.note_records(deploy.get(sha))?,
        });
    }
    Ok(facts)
}
