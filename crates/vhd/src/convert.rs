//! Streaming conversion: raw images and disks into new VHDs ([`convert`]), and disks back to
//! raw images ([`to_raw`], [`to_writer`]).
//!
//! Sources are [`ParentDisk`]s: any open [`Disk`], or a raw image ([`RawImage`], [`RawFile`]).
//! Memory stays bounded: one chunk of at most 4 MiB (two for differencing outputs).

use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::Arc;

use uuid::Uuid;

use crate::{
    COPY_UP_GRANULE, Disk, DiskType, Error, FileStorage, ParentDisk, Result, Storage, VhdBuilder,
};

/// Chunk of fixed outputs and raw copies.
const RAW_CHUNK: u64 = 1 << 20;
/// Largest chunk of sparse outputs (their block size, up to this).
const MAX_CHUNK: u64 = 4 << 20;

/// A raw disk image (a plain file, a block device, memory): its bytes are the disk's bytes.
///
/// It is a [`ParentDisk`] with the nil Unique Id, so it can be the source of [`convert`].
///
/// ```
/// use vhd::{MemStorage, ParentDisk, RawImage};
/// let raw = RawImage::new(MemStorage::new(vec![7; 4096]))?;
/// assert_eq!(raw.size(), 4096);
/// let mut buf = [0u8; 2];
/// raw.read_at(&mut buf, 4094)?;
/// assert_eq!(buf, [7, 7]);
/// # Ok::<(), vhd::Error>(())
/// ```
#[derive(Debug)]
pub struct RawImage<S> {
    storage: S,
    size: u64,
}

/// A raw image in a file or block device, read with positional reads (`pread`).
///
/// ```
/// use vhd::{ParentDisk, RawFile};
/// # let dir = std::env::temp_dir().join(format!("vhd-doc-{}-raw-file", std::process::id()));
/// # let _ = std::fs::remove_dir_all(&dir);
/// # std::fs::create_dir_all(&dir)?;
/// let path = dir.join("disk.img");
/// std::fs::write(&path, [5u8; 4096])?;
/// let raw = RawFile::open(&path)?;
/// assert_eq!(raw.size(), 4096);
/// let mut buf = [0u8; 1];
/// raw.read_at(&mut buf, 4095)?;
/// assert_eq!(buf, [5]);
/// # let _ = std::fs::remove_dir_all(&dir);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub type RawFile = RawImage<FileStorage>;

impl<S: Storage> RawImage<S> {
    /// The raw image held by `storage`, as long as the storage.
    ///
    /// ```
    /// use vhd::{MemStorage, ParentDisk, RawImage};
    /// let raw = RawImage::new(MemStorage::new(vec![0; 1 << 20]))?;
    /// assert_eq!(raw.size(), 1 << 20);
    /// assert_eq!(raw.unique_id(), uuid::Uuid::nil());
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if the storage's length cannot be read.
    pub fn new(storage: S) -> Result<Self> {
        let size = storage
            .len()
            .map_err(Error::io("reading the raw image's length", 0))?;
        Ok(RawImage { storage, size })
    }

    /// The storage.
    ///
    /// ```
    /// use vhd::{MemStorage, RawImage};
    /// let raw = RawImage::new(MemStorage::new(vec![1, 2, 3]))?;
    /// assert_eq!(raw.into_storage().into_inner(), [1, 2, 3]);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn into_storage(self) -> S {
        self.storage
    }
}

impl RawImage<FileStorage> {
    /// Opens the raw image at `path` read-only. Its size is found by seeking to its end, so
    /// block devices (whose metadata says 0 bytes) work too.
    ///
    /// ```no_run
    /// use vhd::{MemStorage, ParentDisk, RawFile, VhdBuilder};
    /// let raw = RawFile::open("disk.img")?;
    /// let size = raw.size().next_multiple_of(512);
    /// let disk = vhd::convert(&raw, VhdBuilder::dynamic(size), MemStorage::default(), None, &mut |_, _| {})?;
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`] if the file cannot be opened or its size found.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let mut file = std::fs::File::open(path).map_err(Error::io("opening the raw image", 0))?;
        let size = file
            .seek(SeekFrom::End(0))
            .map_err(Error::io("finding the raw image's size", 0))?;
        Ok(RawImage {
            storage: FileStorage::from_file(file),
            size,
        })
    }
}

impl<S: Storage> ParentDisk for RawImage<S> {
    /// The nil UUID: a raw image has no identity.
    fn unique_id(&self) -> Uuid {
        Uuid::nil()
    }

    fn size(&self) -> u64 {
        self.size
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        Error::check_range(offset, buf.len() as u64, self.size)?;
        self.storage
            .read_exact_at(buf, offset)
            .map_err(Error::io("reading the raw image", offset))
    }
}

/// Reads `buf.len()` bytes of `source` at `pos`; bytes past its end read as zeros.
fn read_padded(source: &dyn ParentDisk, buf: &mut [u8], pos: u64) -> Result<()> {
    let have = source.size().saturating_sub(pos).min(buf.len() as u64) as usize;
    if have > 0 {
        source.read_at(&mut buf[..have], pos)?;
    }
    buf[have..].fill(0);
    Ok(())
}

/// Creates a disk with `builder` on `out` and fills it with `source`'s bytes, so that it reads
/// exactly as `source` does (and zeros past `source`'s end, if the disk is larger).
///
/// - A **fixed** output is written in 1 MiB chunks. The new file is created sparse
///   ([`Storage::set_len`]), so all-zero chunks are skipped and stay holes.
/// - A **dynamic** output is written block by block (chunks of its block size, at most 4 MiB);
///   all-zero chunks are skipped, so their blocks stay unallocated and the file sparse.
/// - A **differencing** output stores only what differs from the given `parent`: each chunk is
///   compared with the parent in 4 KiB groups ([`COPY_UP_GRANULE`]) and only groups whose bytes
///   differ are written, so blocks equal to the parent stay unallocated. `parent` must be the
///   disk the builder's [`ParentLink`](crate::ParentLink) describes.
///
/// `progress(done, total)` is called after each chunk, `total` being the output's size. The
/// output is flushed before it is returned.
///
/// ```
/// use vhd::{MemStorage, RawImage, VhdBuilder};
/// let mut bytes = vec![0u8; 8 << 20];
/// bytes[5 << 20] = 1; // one non-zero byte in the third 2 MiB block
/// let raw = RawImage::new(MemStorage::new(bytes))?;
/// let disk = vhd::convert(&raw, VhdBuilder::dynamic(8 << 20), MemStorage::default(), None, &mut |_, _| {})?;
/// assert_eq!(disk.allocated_blocks(), 1);
/// # Ok::<(), vhd::Error>(())
/// ```
///
/// # Errors
/// [`Error::InvalidInput`] if the builder's size is smaller than `source`, if a differencing
/// output has no `parent` or another output has one; [`VhdBuilder::create`]'s errors;
/// [`Error::ParentMismatch`] for a `parent` that is not the builder's; read and write errors.
pub fn convert<S: Storage>(
    source: &dyn ParentDisk,
    builder: VhdBuilder,
    out: S,
    parent: Option<Arc<dyn ParentDisk>>,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Disk<S>> {
    let footer = builder.footer()?;
    if footer.current_size < source.size() {
        return Err(Error::InvalidInput {
            what: "size",
            reason: "is smaller than the source",
        });
    }
    match (footer.disk_type, &parent) {
        (DiskType::Differencing, None) => {
            return Err(Error::InvalidInput {
                what: "parent",
                reason: "a differencing output needs its parent's open disk",
            });
        }
        (DiskType::Fixed | DiskType::Dynamic, Some(_)) => {
            return Err(Error::InvalidInput {
                what: "parent",
                reason: "only a differencing output has a parent",
            });
        }
        _ => {}
    }
    let mut disk = builder.create(out)?;
    if let Some(parent) = parent {
        disk.attach_parent(parent)?;
    }
    let size = disk.size();
    let chunk = disk.block_size().map_or(RAW_CHUNK, |b| b.min(MAX_CHUNK)) as usize;
    let differencing = disk.disk_type() == DiskType::Differencing;
    let mut data = vec![0u8; chunk];
    let mut base = vec![0u8; if differencing { chunk } else { 0 }];
    let mut pos = 0;
    progress(0, size);
    while pos < size {
        let n = (chunk as u64).min(size - pos) as usize;
        let data = &mut data[..n];
        read_padded(source, data, pos)?;
        if differencing {
            let base = &mut base[..n];
            disk.read_at(base, pos)?;
            write_differences(&mut disk, data, base, pos)?;
        } else if data.iter().any(|&b| b != 0) {
            disk.write_at(data, pos)?;
        }
        pos += n as u64;
        progress(pos, size);
    }
    disk.flush()?;
    Ok(disk)
}

/// Writes the runs of 4 KiB groups where `data` differs from `base`, the disk's current
/// contents at `pos`.
fn write_differences<S: Storage>(
    disk: &mut Disk<S>,
    data: &[u8],
    base: &[u8],
    pos: u64,
) -> Result<()> {
    let g = COPY_UP_GRANULE as usize;
    let mut at = 0;
    while at < data.len() {
        let differs = |i: usize| {
            let end = (i + g).min(data.len());
            data[i..end] != base[i..end]
        };
        if !differs(at) {
            at += g;
            continue;
        }
        let mut end = at + g;
        while end < data.len() && differs(end) {
            end += g;
        }
        let end = end.min(data.len());
        disk.write_at(&data[at..end], pos + at as u64)?;
        at = end;
    }
    Ok(())
}

/// Writes `source`'s bytes to `out` as a raw image: `out` is truncated, sized to
/// `source.size()` (a sparse file, where the storage supports it) and only non-zero 1 MiB
/// chunks are written, so zeros stay holes. Returns the bytes of the image. `out` must be
/// resizable: write to a block device or a pipe with [`to_writer`].
///
/// ```
/// use vhd::{MemStorage, VhdBuilder};
/// let mut disk = VhdBuilder::dynamic(4 << 20).create(MemStorage::default())?;
/// disk.write_at(b"boot", 0)?;
/// let raw = MemStorage::default();
/// assert_eq!(vhd::to_raw(&disk, &raw, &mut |_, _| {})?, 4 << 20);
/// assert_eq!(&raw.to_vec()[..4], b"boot");
/// # Ok::<(), vhd::Error>(())
/// ```
///
/// # Errors
/// The source's read errors; [`Error::Io`] from `out`.
pub fn to_raw<S: Storage + ?Sized>(
    source: &dyn ParentDisk,
    out: &S,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64> {
    let size = source.size();
    out.set_len(0)
        .and_then(|()| out.set_len(size))
        .map_err(Error::io("sizing the raw output", 0))?;
    for_each_chunk(source, progress, |chunk, pos| {
        if chunk.iter().any(|&b| b != 0) {
            out.write_all_at(chunk, pos)
                .map_err(Error::io("writing the raw output", pos))?;
        }
        Ok(())
    })?;
    out.flush()
        .map_err(Error::io("flushing the raw output", size))?;
    Ok(size)
}

/// Writes all of `source`'s bytes to `out` in order, in 1 MiB chunks (for pipes and other
/// streams; [`to_raw`] leaves holes instead). Returns the bytes written.
///
/// ```
/// use vhd::{MemStorage, VhdBuilder};
/// let disk = VhdBuilder::fixed(64 << 10).create(MemStorage::default())?;
/// let mut out = Vec::new();
/// assert_eq!(vhd::to_writer(&disk, &mut out, &mut |_, _| {})?, 64 << 10);
/// assert_eq!(out, vec![0; 64 << 10]);
/// # Ok::<(), vhd::Error>(())
/// ```
///
/// # Errors
/// The source's read errors; [`Error::Io`] from `out`, with the offset reached.
pub fn to_writer<W: std::io::Write + ?Sized>(
    source: &dyn ParentDisk,
    out: &mut W,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<u64> {
    for_each_chunk(source, progress, |chunk, pos| {
        out.write_all(chunk)
            .map_err(Error::io("writing the raw output", pos))
    })?;
    let size = source.size();
    out.flush()
        .map_err(Error::io("flushing the raw output", size))?;
    Ok(size)
}

/// Reads all of `source` in order, in chunks of at most [`RAW_CHUNK`] bytes, handing each to
/// `sink` with its offset and reporting progress.
fn for_each_chunk(
    source: &dyn ParentDisk,
    progress: &mut dyn FnMut(u64, u64),
    mut sink: impl FnMut(&[u8], u64) -> Result<()>,
) -> Result<()> {
    let size = source.size();
    let mut buf = vec![0u8; RAW_CHUNK.min(size) as usize];
    let mut pos = 0;
    progress(0, size);
    while pos < size {
        let n = RAW_CHUNK.min(size - pos) as usize;
        let chunk = &mut buf[..n];
        source.read_at(chunk, pos)?;
        sink(chunk, pos)?;
        pos += n as u64;
        progress(pos, size);
    }
    Ok(())
}
