//! Persisting the objects a command wrote in memory: loose when they are few,
//! one pack (indexed by `git index-pack`) when they are many, so that a
//! coordinator merging hundreds of branches creates two files, not thousands.

use super::{ObjectId, Repo};
use anyhow::{Context, Result, bail};
use gix::objs::{Kind, Write as _};
use std::io::Write;
use std::process::Stdio;

/// From this many objects on, a flush writes one pack instead of loose objects.
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

/// Encodes whole (undeltified) objects as a version-2 pack stream with its trailing checksum.
pub fn encode_pack<'a>(
    objects: impl ExactSizeIterator<Item = (Kind, &'a [u8])>,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    out.extend_from_slice(b"PACK");
    out.extend_from_slice(&2u32.to_be_bytes());
    out.extend_from_slice(&u32::try_from(objects.len())?.to_be_bytes());
    for (kind, data) in objects {
        let mut size = data.len();
        let mut byte = (type_code(kind) << 4) | (size & 0x0f) as u8;
        size >>= 4;
        while size > 0 {
            out.push(byte | 0x80);
            byte = (size & 0x7f) as u8;
            size >>= 7;
        }
        out.push(byte);
        let mut deflate =
            gix_zlib::stream::deflate::Write::new(&mut out, gix_zlib::Compression::BEST_SPEED);
        deflate.write_all(data)?;
        deflate.flush()?;
    }
    let mut hasher = gix::hash::hasher(gix::hash::Kind::Sha1);
    hasher.update(&out);
    let checksum: ObjectId = hasher.try_finalize().map_err(|e| anyhow::anyhow!("{e}"))?;
    out.extend_from_slice(checksum.as_bytes());
    Ok(out)
}

impl Repo {
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
                .values()
                .map(|(kind, data)| (*kind, data.as_slice())),
        )?;
        let mut child = self
            .git()
            .args(["index-pack", "--stdin"])
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .context("cannot run `git index-pack`; is git on PATH?")?;
        child
            .stdin
            .take()
            .context("index-pack has no stdin")?
            .write_all(&pack)?;
        let out = child.wait_with_output()?;
        if !out.status.success() {
            bail!(
                "cannot store {count} new objects: git index-pack failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        Ok(count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_header_counts_objects_and_encodes_sizes() {
        let big = vec![b'x'; 300];
        let pack =
            encode_pack([(Kind::Blob, &b"hi"[..]), (Kind::Blob, big.as_slice())].into_iter())
                .expect("encodes");
        assert_eq!(&pack[..4], b"PACK");
        assert_eq!(
            u32::from_be_bytes(pack[8..12].try_into().expect("4 bytes")),
            2
        );
        assert_eq!(
            pack[12],
            (3 << 4) | 2,
            "blob of 2 bytes fits in one header byte"
        );
        assert_eq!(
            pack.len() - pack.len().min(20),
            pack.len() - 20,
            "20-byte trailer"
        );
    }
}
