//! Persisting the objects a command wrote in memory: loose when they are few,
//! one pack with its index when they are many, so that a coordinator merging
//! hundreds of branches creates two files, not thousands.
//!
//! The pack holds whole objects (no deltas), so its index (version 2) is
//! written here from what encoding the pack already knows: each entry's id,
//! offset and CRC-32. No `git index-pack` runs, which would inflate and hash
//! every object again.

use super::{ObjectId, Repo};
use anyhow::{Context, Result};
use gix::objs::{Kind, Write as _};
use gix_zlib::stream::deflate::{Compress, FlushCompress};
use std::io::Write;
use std::path::Path;

/// From this many objects on, a flush writes one pack instead of loose
/// objects. Not lower: every pack counts toward `gc.autoPackLimit` (50), and
/// a pack per small write (a runner's claim or result) had `git gc --auto`
/// repack a runner's clone every few minutes, under processes still reading
/// the packs it removed (the drain bench lost a result that way: gix found
/// no object while the repack ran, and the run was made again once its
/// lease lapsed). Loose objects are counted against `gc.auto` (6,700).
pub const PACK_THRESHOLD: usize = 64;

/// The pack type code of an object kind.
fn type_code(kind: Kind) -> u8 {
    match kind {
        Kind::Commit => 1,
        Kind::Tree => 2,
        Kind::Blob => 3,
        Kind::Tag => 4,
    }
}

/// A version-2 pack of whole objects and what its index needs.
pub struct EncodedPack {
    /// The pack file, trailing checksum included.
    pub data: Vec<u8>,
    /// Each object's id, the CRC-32 of its entry and the entry's offset.
    pub entries: Vec<(ObjectId, u32, u64)>,
    /// The pack's checksum (its last 20 bytes), which names its files.
    pub checksum: ObjectId,
}

/// Encodes whole (undeltified) objects as a version-2 pack stream with its trailing checksum.
pub fn encode_pack<'a>(
    objects: impl ExactSizeIterator<Item = (ObjectId, Kind, &'a [u8])>,
) -> Result<EncodedPack> {
    let mut data = Vec::new();
    data.extend_from_slice(b"PACK");
    data.extend_from_slice(&2u32.to_be_bytes());
    data.extend_from_slice(&u32::try_from(objects.len())?.to_be_bytes());
    let mut entries = Vec::with_capacity(objects.len());
    // One compressor, reset per object: setting one up costs more than
    // compressing a small tree.
    let mut compress = Compress::new(gix_zlib::Compression::BEST_SPEED);
    let mut scratch = vec![0u8; 32 * 1024];
    for (id, kind, object) in objects {
        let offset = data.len();
        let mut size = object.len();
        let mut byte = (type_code(kind) << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            data.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        data.push(byte);
        deflate_into(&mut compress, object, &mut data, &mut scratch)?;
        let crc = crc32fast::hash(&data[offset..]);
        entries.push((id, crc, offset as u64));
    }
    let checksum = sha1(&data)?;
    data.extend_from_slice(checksum.as_bytes());
    Ok(EncodedPack {
        data,
        entries,
        checksum,
    })
}

/// Appends one complete zlib stream of `input` to `out`.
fn deflate_into(
    compress: &mut Compress,
    mut input: &[u8],
    out: &mut Vec<u8>,
    scratch: &mut [u8],
) -> Result<()> {
    compress.reset();
    loop {
        let (read, written) = (compress.total_in(), compress.total_out());
        let status = compress
            .compress(input, scratch, FlushCompress::Finish)
            .map_err(|e| anyhow::anyhow!("cannot compress an object: {e}"))?;
        input = &input[(compress.total_in() - read) as usize..];
        out.extend_from_slice(&scratch[..(compress.total_out() - written) as usize]);
        if status == gix_zlib::Status::StreamEnd {
            return Ok(());
        }
    }
}

/// The SHA-1 of `bytes` (pack and index checksums).
fn sha1(bytes: &[u8]) -> Result<ObjectId> {
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(bytes);
    hasher.try_finalize().map_err(|e| anyhow::anyhow!("{e}"))
}

/// The version-2 index of `pack`: fan-out, sorted ids, CRC-32s, offsets
/// (large ones in the 64-bit table), the pack's checksum, its own checksum.
pub fn encode_index(pack: &EncodedPack) -> Result<Vec<u8>> {
    let mut sorted: Vec<&(ObjectId, u32, u64)> = pack.entries.iter().collect();
    sorted.sort_unstable_by_key(|(id, _, _)| *id);
    let mut out = Vec::with_capacity(8 + 1024 + sorted.len() * 28 + 40);
    out.extend_from_slice(b"\xfftOc");
    out.extend_from_slice(&2u32.to_be_bytes());
    let mut fanout = [0u32; 256];
    for (id, _, _) in &sorted {
        fanout[usize::from(id.as_bytes()[0])] += 1;
    }
    let mut total = 0u32;
    for count in fanout {
        total += count;
        out.extend_from_slice(&total.to_be_bytes());
    }
    for (id, _, _) in &sorted {
        out.extend_from_slice(id.as_bytes());
    }
    for (_, crc, _) in &sorted {
        out.extend_from_slice(&crc.to_be_bytes());
    }
    let mut large = Vec::new();
    for (_, _, offset) in &sorted {
        let small = if *offset < 0x8000_0000 {
            *offset as u32
        } else {
            large.push(*offset);
            0x8000_0000 | u32::try_from(large.len() - 1)?
        };
        out.extend_from_slice(&small.to_be_bytes());
    }
    for offset in large {
        out.extend_from_slice(&offset.to_be_bytes());
    }
    out.extend_from_slice(pack.checksum.as_bytes());
    let own = sha1(&out)?;
    out.extend_from_slice(own.as_bytes());
    Ok(out)
}

/// Writes `bytes` to `dir/name` through a temporary file, synced, read-only.
fn write_durably(dir: &Path, name: &str, bytes: &[u8]) -> Result<()> {
    let tmp = dir.join(format!(
        "tmp_{name}_{}_{:x}",
        std::process::id(),
        super::store::random_u64()
    ));
    let mut file =
        std::fs::File::create(&tmp).with_context(|| format!("cannot create {}", tmp.display()))?;
    file.write_all(bytes)?;
    file.sync_all()?;
    let mut permissions = file.metadata()?.permissions();
    permissions.set_readonly(true);
    std::fs::set_permissions(&tmp, permissions)?;
    std::fs::rename(&tmp, dir.join(name)).with_context(|| format!("cannot store {name}"))
}

/// How the object database is indexed, for the biggest repositories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PackIndexes {
    /// Objects in the biggest pack (from its index's fan-out table).
    pub biggest_pack: u64,
    /// Whether a multi-pack index exists.
    pub multi_pack_index: bool,
}

/// The object count a version-2 pack index's header declares, if it is one.
fn indexed_objects(path: &Path) -> Option<u64> {
    use std::io::Read as _;
    let mut header = [0u8; 8 + 256 * 4];
    std::fs::File::open(path)
        .ok()?
        .read_exact(&mut header)
        .ok()?;
    if header[..8] != *b"\xfftOc\0\0\0\x02" {
        return None;
    }
    let total: [u8; 4] = header[header.len() - 4..].try_into().ok()?;
    Some(u64::from(u32::from_be_bytes(total)))
}

impl Repo {
    /// The biggest pack and whether a multi-pack index covers the packs
    /// (each index's header only; nothing is mapped).
    pub fn pack_indexes(&self) -> PackIndexes {
        let dir = self.gix().objects.store_ref().path().join("pack");
        let mut found = PackIndexes {
            multi_pack_index: dir.join("multi-pack-index").is_file(),
            ..PackIndexes::default()
        };
        for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.extension().is_some_and(|e| e == "idx")
                && let Some(objects) = indexed_objects(&path)
            {
                found.biggest_pack = found.biggest_pack.max(objects);
            }
        }
        found
    }

    /// Writes every object held in memory to the object database; returns how many.
    pub fn flush_objects(&self) -> Result<usize> {
        let Some(storage) = self.gix().objects.reset_object_memory() else {
            return Ok(0);
        };
        let count = storage.len();
        if count < PACK_THRESHOLD {
            for (kind, data) in storage.values() {
                (*self.gix().objects).write_buf(*kind, data)?;
            }
            return Ok(count);
        }
        let pack = encode_pack(
            storage
                .iter()
                .map(|(id, (kind, data))| (*id, *kind, data.as_slice())),
        )?;
        let index = encode_index(&pack)?;
        let dir = self.gix().objects.store_ref().path().join("pack");
        std::fs::create_dir_all(&dir)?;
        let name = format!("pack-{}", pack.checksum);
        // The pack first, its index last: git and gix find a pack by its index.
        write_durably(&dir, &format!("{name}.pack"), &pack.data)
            .and_then(|()| write_durably(&dir, &format!("{name}.idx"), &index))
            .with_context(|| format!("cannot store {count} new objects in {}", dir.display()))?;
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn id(n: u8) -> ObjectId {
        ObjectId::from_bytes_or_panic(&[n; 20])
    }

    #[test]
    fn pack_header_counts_objects_and_encodes_sizes() {
        let big = vec![b'x'; 300];
        let objects = [
            (id(1), Kind::Blob, &b"hi"[..]),
            (id(2), Kind::Blob, big.as_slice()),
        ];
        let pack = encode_pack(objects.into_iter()).expect("encodes");
        assert_eq!(&pack.data[..4], b"PACK");
        assert_eq!(
            u32::from_be_bytes(pack.data[8..12].try_into().expect("4 bytes")),
            2
        );
        assert_eq!(
            pack.data[12],
            (3 << 4) | 2,
            "blob of 2 bytes fits in one header byte"
        );
        assert_eq!(pack.entries[0].2, 12, "the first entry follows the header");
        assert_eq!(&pack.data[pack.data.len() - 20..], pack.checksum.as_bytes());
    }

    #[test]
    fn index_sorts_ids_counts_the_fanout_and_moves_large_offsets_to_their_table() {
        let pack = EncodedPack {
            data: Vec::new(),
            entries: vec![(id(9), 7, 1 << 33), (id(3), 5, 12)],
            checksum: id(0xaa),
        };
        let index = encode_index(&pack).expect("encodes");
        let word = |at: usize| u32::from_be_bytes(index[at..at + 4].try_into().expect("4"));
        assert_eq!(&index[..8], b"\xfftOc\0\0\0\x02");
        assert_eq!(word(8 + 2 * 4), 0, "no id starts below 3");
        assert_eq!(word(8 + 3 * 4), 1);
        assert_eq!(word(8 + 255 * 4), 2);
        let ids = 8 + 1024;
        assert_eq!(&index[ids..ids + 20], id(3).as_bytes(), "sorted");
        let crcs = ids + 40;
        assert_eq!((word(crcs), word(crcs + 4)), (5, 7));
        let offsets = crcs + 8;
        assert_eq!(word(offsets), 12);
        assert_eq!(word(offsets + 4), 0x8000_0000, "the first large offset");
        let large = u64::from_be_bytes(index[offsets + 8..offsets + 16].try_into().expect("8"));
        assert_eq!(large, 1 << 33);
        assert_eq!(index.len(), offsets + 16 + 40);
    }

    /// Many objects, some larger than the compressor's scratch buffer and
    /// some incompressible, flushed as one pack that git verifies and reads.
    #[test]
    fn a_flushed_pack_and_its_index_are_what_git_would_write() {
        let (dir, repo) = crate::git::memory_repo_for_tests();
        let git = |args: &[&str]| {
            std::process::Command::new("git")
                .arg("-C")
                .arg(dir.path())
                .args(args)
                .output()
                .expect("git runs")
        };
        let mut blobs = Vec::new();
        let mut noise = 0x2545_f491_4f6c_dd1du64;
        for n in 0..100u32 {
            let size = match n % 3 {
                0 => n as usize,
                1 => 40_000 + n as usize,
                _ => 70_000,
            };
            let bytes: Vec<u8> = (0..size)
                .map(|_| {
                    noise ^= noise << 13;
                    noise ^= noise >> 7;
                    noise ^= noise << 17;
                    if n % 2 == 0 {
                        b'a' + (noise % 3) as u8
                    } else {
                        noise as u8
                    }
                })
                .collect();
            blobs.push((repo.write_blob(&bytes).expect("written"), bytes));
        }
        let files: Vec<(String, ObjectId)> = blobs
            .iter()
            .enumerate()
            .map(|(n, (id, _))| (format!("f{n}"), *id))
            .collect();
        let files: Vec<(&str, ObjectId)> = files.iter().map(|(n, id)| (n.as_str(), *id)).collect();
        let tree = repo.write_flat_tree(&files).expect("tree");
        let who = crate::git::objects::Identity::for_actor("test");
        let commit = repo
            .write_commit(tree, &[], "packed", &who)
            .expect("commit");
        assert_eq!(repo.flush_objects().expect("flushed"), 102);
        let packs: Vec<_> = std::fs::read_dir(dir.path().join("objects/pack"))
            .expect("pack dir")
            .map(|e| e.expect("entry").path())
            .collect();
        let idx = packs
            .iter()
            .find(|p| p.extension().is_some_and(|e| e == "idx"))
            .expect("an index");
        assert_eq!(packs.len(), 2, "one pack, one index: {packs:?}");
        let verify = git(&["verify-pack", "-v", idx.to_str().expect("utf-8")]);
        assert!(
            verify.status.success(),
            "{}",
            String::from_utf8_lossy(&verify.stderr)
        );
        assert!(String::from_utf8_lossy(&verify.stdout).contains("non delta: 102 objects"));
        let fsck = git(&["fsck", "--strict", "--no-dangling"]);
        assert!(
            fsck.status.success(),
            "{}",
            String::from_utf8_lossy(&fsck.stderr)
        );
        let reread = Repo::open(dir.path()).expect("opens");
        for (id, bytes) in &blobs {
            assert_eq!(&reread.find_blob(*id).expect("readable"), bytes);
        }
        assert_eq!(reread.find_commit_info(commit).expect("commit").tree, tree);
    }
}
