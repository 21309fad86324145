//! Committing a differencing disk into its parent: [`merge`].

use crate::{Disk, Error, Result, Storage, UNALLOCATED};

/// Bytes copied per read and write.
const CHUNK: usize = 1 << 20;

/// BAT entries read at a time.
const BAT_CHUNK: u64 = 1024;

/// What [`merge`] did.
///
/// ```
/// use vhd::{MemStorage, MergeStats, ParentLink, VhdBuilder};
/// let mut golden = VhdBuilder::dynamic(4 << 20).create(MemStorage::default())?;
/// # let link = ParentLink::without_locators(&golden, "golden.vhd");
/// let mut child = VhdBuilder::differencing(link).create(MemStorage::default())?;
/// child.write_at(&[1; 8192], 2 << 20)?; // two whole 4 KiB groups in block 1
/// let stats = vhd::merge(&child, &mut golden, &mut |_, _| {})?;
/// assert_eq!(stats, MergeStats { bytes_copied: 8192, blocks: 1 });
/// # Ok::<(), vhd::Error>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MergeStats {
    /// Bytes written into the parent: every sector the child holds.
    pub bytes_copied: u64,
    /// Blocks of the child that held data.
    pub blocks: u64,
}

/// Commits differencing disk `child` into `parent`, the disk it was made from: every sector
/// the child holds (its bitmap bit is set) is written at the same offset of the parent, which
/// is then flushed. Sectors the child does not hold are not touched, so the parent afterwards
/// reads exactly as the child did. This is how a golden image is re-baked from a client that
/// was changed on purpose.
///
/// Blocks the child never allocated are skipped without reading; inside allocated blocks the
/// runs of present sectors are copied in pieces of at most 1 MiB, so memory stays bounded. The
/// child needs no parent attached (only its own sectors are read), and with files it must be
/// opened alone (`Disk::open` over [`FileStorage::open_read_only`](crate::FileStorage)): a
/// child opened with its chain holds a shared lock on the parent, which then cannot be opened
/// for writing. A parent that is itself a differencing disk needs its own parent attached
/// ([`open_file`](crate::open_file) does it), since sectors written into it copy up their
/// 4 KiB group.
///
/// `progress(done, total)` is called as blocks are processed, `total` being the bytes of the
/// child's allocated blocks, and last with `done == total`.
///
/// # Dangers
///
/// - **The child is stale afterwards.** Its data now lives in the parent too; keep using it
///   only if you accept that it depends on the changed parent. Delete it, or recreate it empty.
/// - **Every other child of the parent breaks.** They were made over the old contents and their
///   clear bitmap bits now read the merged data underneath them: a guest sees its file system
///   change behind its back, which corrupts it. The parent keeps its Unique Id (the merge does
///   not change it, as Hyper-V's merge does not), so nothing will detect this. Merge only into
///   a parent no other child uses, e.g. a copy of the golden image, and create fresh children
///   of the result; a copy keeps the original's Unique Id too, so keep old and new images apart.
/// - **A merge is not atomic.** If it fails or the machine crashes half-way, the parent holds
///   part of the child's data. Merge into a copy and replace the original once it succeeds.
///
/// ```
/// use std::sync::Arc;
/// use vhd::{Disk, MemStorage, OpenOptions, ParentLink, VhdBuilder};
/// let mut golden = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// golden.write_at(&[1; 4096], 0)?;
/// let link = ParentLink::without_locators(&golden, "golden.vhd");
/// // The child reads through a read-only view of the golden image.
/// let view = Disk::open(MemStorage::read_only(golden.storage().to_vec()), OpenOptions::read_only())?;
/// let mut child = VhdBuilder::differencing(link).create(MemStorage::default())?;
/// child.attach_parent(Arc::new(view))?;
/// child.write_at(&[2; 512], 512)?; // copies up the rest of its 4 KiB group
/// let stats = vhd::merge(&child, &mut golden, &mut |_, _| {})?;
/// assert_eq!(stats.bytes_copied, 4096);
/// let mut sector = [0u8; 512];
/// golden.read_at(&mut sector, 512)?;
/// assert_eq!(sector, [2; 512]);
/// # Ok::<(), vhd::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] if `child` is not a differencing disk or is larger than `parent`;
/// [`Error::ParentMismatch`] if `parent`'s Unique Id is not the child's Parent Unique ID;
/// [`Error::ReadOnly`] if `parent` was not opened writable; read and write errors of either
/// disk (the parent is then partly merged).
pub fn merge<S: Storage, P: Storage>(
    child: &Disk<S>,
    parent: &mut Disk<P>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<MergeStats> {
    let (Some(expected), Some(header), Some(block_size)) =
        (child.parent_unique_id(), child.header(), child.block_size())
    else {
        return Err(Error::InvalidInput {
            what: "child",
            reason: "is not a differencing disk",
        });
    };
    let found = parent.footer().unique_id;
    if found != expected {
        return Err(Error::ParentMismatch {
            path: child.parent_name().into(),
            expected,
            found,
        });
    }
    if !parent.is_writable() {
        return Err(Error::ReadOnly);
    }
    let size = child.size();
    if size > parent.size() {
        return Err(Error::InvalidInput {
            what: "child",
            reason: "is larger than its parent, which a merge cannot grow",
        });
    }
    let total = child.allocated_blocks() * block_size;
    let mut done = 0;
    progress(done, total);
    let mut stats = MergeStats::default();
    let mut buf = vec![0u8; CHUNK.min(block_size as usize)];
    let blocks = size.div_ceil(block_size);
    let mut bat = vec![0u8; (BAT_CHUNK * 4) as usize];
    for first in (0..blocks).step_by(BAT_CHUNK as usize) {
        let n = BAT_CHUNK.min(blocks - first);
        let entries = &mut bat[..(n * 4) as usize];
        let at = header.table_offset + first * 4;
        child
            .storage()
            .read_exact_at(entries, at)
            .map_err(Error::io("reading the BAT", at))?;
        for (i, entry) in entries.chunks_exact(4).enumerate() {
            if u32::from_be_bytes([entry[0], entry[1], entry[2], entry[3]]) == UNALLOCATED {
                continue;
            }
            let start = (first + i as u64) * block_size;
            let end = (start + block_size).min(size);
            let copied = merge_block(child, parent, start, end, &mut buf)?;
            if copied > 0 {
                stats.blocks += 1;
                stats.bytes_copied += copied;
            }
            done = (done + block_size).min(total);
            progress(done, total);
        }
    }
    parent.flush()?;
    progress(total, total);
    Ok(stats)
}

/// Copies the runs of sectors in `start..end` that the child holds; returns the bytes copied.
fn merge_block<S: Storage, P: Storage>(
    child: &Disk<S>,
    parent: &mut Disk<P>,
    start: u64,
    end: u64,
    buf: &mut [u8],
) -> Result<u64> {
    if child.is_allocated(start, end - start) {
        copy(child, parent, start, end, buf)?;
        return Ok(end - start);
    }
    let mut copied = 0;
    let mut pos = start;
    while pos < end {
        let present = child.is_allocated(pos, 512);
        let mut run_end = pos + 512;
        while run_end < end && child.is_allocated(run_end, 512) == present {
            run_end += 512;
        }
        let run_end = run_end.min(end);
        if present {
            copy(child, parent, pos, run_end, buf)?;
            copied += run_end - pos;
        }
        pos = run_end;
    }
    Ok(copied)
}

fn copy<S: Storage, P: Storage>(
    child: &Disk<S>,
    parent: &mut Disk<P>,
    start: u64,
    end: u64,
    buf: &mut [u8],
) -> Result<()> {
    let mut pos = start;
    while pos < end {
        let n = (buf.len() as u64).min(end - pos) as usize;
        child.read_at(&mut buf[..n], pos)?;
        parent.write_at(&buf[..n], pos)?;
        pos += n as u64;
    }
    Ok(())
}
