//! [`Disk`]: an open VHD image, read and written at any byte offset.

use std::sync::Arc;

use uuid::Uuid;

use crate::bitmap;
use crate::blocks::{Block, Blocks};
use crate::dyn_header::{DynamicHeader, HEADER_LEN};
use crate::footer::{DiskType, FOOTER_LEN, Footer};
use crate::storage::{overlaps, read, write};
use crate::{Error, ParentLocator, Result, Storage};

/// The BAT value of a block that is not allocated.
///
/// ```
/// use vhd::{MemStorage, Storage, UNALLOCATED, VhdBuilder};
/// let disk = VhdBuilder::dynamic(4 << 20).create(MemStorage::default())?;
/// let table = disk.header().map_or(0, |h| h.table_offset);
/// let mut entry = [0u8; 4];
/// disk.storage().read_exact_at(&mut entry, table)?; // the BAT entry of block 0
/// assert_eq!(u32::from_be_bytes(entry), UNALLOCATED);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const UNALLOCATED: u32 = u32::MAX;

/// Bytes copied up together in a differencing disk, and the granularity at which bitmap bits
/// are set: 8 sectors, so that every bitmap byte this crate writes is `0x00` or `0xff`
/// (libvhdi misreads bitmap bytes that mix set and clear bits).
///
/// ```
/// use vhd::{COPY_UP_GRANULE, MemStorage, VhdBuilder};
/// let mut disk = VhdBuilder::dynamic(4 << 20).create(MemStorage::default())?;
/// disk.write_at(b"x", 100)?;
/// // The whole 4 KiB group around the byte is now stored in the file.
/// assert_eq!(disk.allocation(0)?, (true, COPY_UP_GRANULE));
/// # Ok::<(), vhd::Error>(())
/// ```
pub const COPY_UP_GRANULE: u64 = 4096;

/// Where a new block's data starts: a multiple of 4 KiB in the file, as Windows places it (the
/// block itself starts one bitmap length earlier). Page-aligned data costs one page-cache page
/// per 4 KiB read instead of two. Applies to blocks of [`ALIGNED_BLOCK_SIZE`] and more.
///
/// ```
/// use vhd::{DATA_ALIGNMENT, MemStorage, Storage, VhdBuilder};
/// let mut disk = VhdBuilder::dynamic(4 << 20).create(MemStorage::default())?;
/// disk.write_at(&[1; 512], 0)?;
/// // The new 2 MiB block is the last thing before the footer.
/// let data_at = disk.storage().len()? - 512 - (2 << 20);
/// assert_eq!(data_at % DATA_ALIGNMENT, 0);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const DATA_ALIGNMENT: u64 = 4096;

/// The smallest block size whose new blocks get [`DATA_ALIGNMENT`]: the padding (under 4 KiB
/// per block) then costs at most 5.4 % of the file, 0.17 % with the default 2 MiB blocks.
/// Smaller blocks are placed right after each other, as before.
///
/// ```
/// use vhd::{ALIGNED_BLOCK_SIZE, DATA_ALIGNMENT, MemStorage, Storage, VhdBuilder};
/// for (block, aligned) in [(4096, false), (ALIGNED_BLOCK_SIZE, true)] {
///     let builder = VhdBuilder::dynamic(1 << 20).block_size(block as u32);
///     let mut disk = builder.create(MemStorage::default())?;
///     disk.write_at(&[1; 512], 0)?;
///     let data_at = disk.storage().len()? - 512 - block; // the new block's data
///     assert_eq!(data_at % DATA_ALIGNMENT == 0, aligned);
/// }
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const ALIGNED_BLOCK_SIZE: u64 = 64 << 10;

/// Blocks [`Disk::allocation`] looks at past the first, at most: the run it reports stops there.
const MAX_RUN_BLOCKS: usize = 4096;

/// Largest zero buffer [`Disk::discard`] writes from.
const ZEROS_CHUNK: u64 = 1 << 20;

/// Largest BAT this crate loads (16 Mi entries, 32 TiB of 2 MiB blocks).
const MAX_BAT_ENTRIES: u64 = 16 << 20;

/// How to open a disk.
///
/// ```
/// let opts = vhd::OpenOptions::read_write();
/// assert!(opts.writable);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenOptions {
    /// Allow writes. Parents are always opened without it.
    pub writable: bool,
    /// For [`crate::open_file`] and [`crate::open_file_with`]: open a read-only file without
    /// a lock ([`crate::FileStorage::open_unlocked`]), to look at a disk another process holds
    /// open for writing. Ignored with `writable`; parents are still opened with their shared
    /// lock. [`Disk::open`] takes storage that is already open and ignores it.
    pub unlocked: bool,
}

impl OpenOptions {
    /// Reads only.
    ///
    /// ```
    /// use vhd::{Disk, ErrorKind, MemStorage, OpenOptions, VhdBuilder};
    /// let storage = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?.into_storage();
    /// let mut disk = Disk::open(storage, OpenOptions::read_only())?;
    /// assert!(!disk.is_writable());
    /// assert_eq!(disk.write_at(b"x", 0).map_err(|e| e.kind()), Err(ErrorKind::ReadOnly));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn read_only() -> Self {
        OpenOptions {
            writable: false,
            unlocked: false,
        }
    }

    /// Reads and writes.
    ///
    /// ```
    /// use vhd::{Disk, MemStorage, OpenOptions, VhdBuilder};
    /// let storage = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?.into_storage();
    /// let mut disk = Disk::open(storage, OpenOptions::read_write())?;
    /// disk.write_at(b"x", 0)?;
    /// assert_eq!(disk.allocated_blocks(), 1);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn read_write() -> Self {
        OpenOptions {
            writable: true,
            unlocked: false,
        }
    }

    /// The same options with [`OpenOptions::unlocked`] set: a read-only file is opened
    /// without a lock.
    ///
    /// ```no_run
    /// // A served client disk: `vhd info` looks at it while the server writes it.
    /// let disk = vhd::open_file("/srv/clients/a.vhd", vhd::OpenOptions::read_only().unlocked())?;
    /// println!("{} blocks allocated", disk.allocated_blocks());
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn unlocked(self) -> Self {
        OpenOptions {
            unlocked: true,
            ..self
        }
    }
}

/// What a differencing disk reads its unwritten sectors from: another open disk (usually a
/// `Disk` itself), shared read-only between any number of children.
///
/// ```
/// use std::sync::Arc;
/// use vhd::{MemStorage, ParentDisk, ParentLink, VhdBuilder};
/// // A read-only parent of 1 MiB of 0xab bytes.
/// struct Pattern;
/// impl ParentDisk for Pattern {
///     fn unique_id(&self) -> uuid::Uuid { uuid::Uuid::from_u128(0xab) }
///     fn size(&self) -> u64 { 1 << 20 }
///     fn read_at(&self, buf: &mut [u8], _offset: u64) -> vhd::Result<()> {
///         buf.fill(0xab);
///         Ok(())
///     }
/// }
/// let link = ParentLink::without_locators(&Pattern, "pattern");
/// let mut child = VhdBuilder::differencing(link).create(MemStorage::default())?;
/// child.attach_parent(Arc::new(Pattern))?;
/// child.write_at(b"hi", 0)?;
/// let mut buf = [0u8; 4];
/// child.read_at(&mut buf, 0)?;
/// assert_eq!(&buf, b"hi\xab\xab");
/// # Ok::<(), vhd::Error>(())
/// ```
pub trait ParentDisk: Send + Sync {
    /// The parent's footer Unique Id, which the child records.
    fn unique_id(&self) -> Uuid;
    /// The parent's virtual size in bytes.
    fn size(&self) -> u64;
    /// Reads `buf.len()` bytes at `offset` (within `size()`).
    ///
    /// # Errors
    /// The parent's read errors.
    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()>;
    /// Whether what this parent reads as cannot change while it is open, so that its data
    /// may be cached ([`crate::CachedParent`]). `false` unless an implementation says so; a
    /// [`Disk`] says so when it was opened without [`OpenOptions::writable`].
    ///
    /// ```
    /// use vhd::{Disk, MemStorage, OpenOptions, ParentDisk, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?;
    /// assert!(!ParentDisk::is_read_only(&disk));
    /// let disk = Disk::open(disk.into_storage(), OpenOptions::read_only())?;
    /// assert!(ParentDisk::is_read_only(&disk));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    fn is_read_only(&self) -> bool {
        false
    }
}

/// The block structures of a dynamic or differencing disk.
#[derive(Debug)]
struct Sparse {
    header: DynamicHeader,
    block_size: u64,
    bitmap_len: u64,
    blocks: Blocks,
    /// Where the trailing footer is, and so where the next block goes.
    footer_offset: u64,
}

/// An open VHD disk: fixed, dynamic or differencing.
///
/// Reads take `&self` and may run on many threads at once (a golden image is opened once and
/// shared by every child); writes take `&mut self`. A differencing disk reads unwritten sectors
/// from the parent attached with [`Disk::attach_parent`] (or [`Disk::open_with_parent`]).
///
/// # Crash safety
///
/// A write into an unallocated block allocates it at the trailing footer's place (moved on by
/// under 4 KiB of zeros so that the block's data starts on a 4 KiB boundary, for blocks of
/// [`ALIGNED_BLOCK_SIZE`] and more), in this order:
///
/// 1. the footer is written after the new block (the file's last 512 bytes are a valid footer
///    before and after), then flushed;
/// 2. the block's sector bitmap and data are written (over the old footer), then flushed;
/// 3. the BAT entry is written (a 4-byte aligned write within one sector).
///
/// A crash before step 3 completes leaves unreferenced space after the last block (`check`
/// reports it as leaked; the disk reads as before the write); the BAT never points at a block
/// whose bitmap is not durable. A write that sets bits in an allocated block writes and flushes
/// the data before the bitmap sector, so a crash exposes the old data, never garbage; the bits
/// change in memory only once the bitmap write succeeded. Writes over sectors already present
/// are written in place. Nothing is durable before [`Disk::flush`].
///
/// ```
/// use vhd::{Disk, MemStorage, VhdBuilder};
/// let mut disk = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?;
/// disk.write_at(b"hello", 1_000_000)?;
/// let mut buf = [0u8; 7];
/// disk.read_at(&mut buf, 999_999)?;
/// assert_eq!(&buf, b"\0hello\0");
/// disk.flush()?;
/// # Ok::<(), vhd::Error>(())
/// ```
pub struct Disk<S> {
    storage: S,
    footer: Footer,
    writable: bool,
    sparse: Option<Sparse>,
    parent: Option<Arc<dyn ParentDisk>>,
}

impl<S> core::fmt::Debug for Disk<S> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Disk")
            .field("type", &self.footer.disk_type)
            .field("size", &self.footer.current_size)
            .field("writable", &self.writable)
            .field("parent", &self.parent.as_ref().map(|p| p.unique_id()))
            .finish_non_exhaustive()
    }
}

impl<S: Storage> Disk<S> {
    /// Opens a disk, validating the footer (and its copy), the dynamic header, the BAT and the
    /// placement of every block. A differencing disk opens without its parent: sectors it holds
    /// read normally, the others fail with [`Error::ParentRequired`] until a parent is attached.
    ///
    /// ```
    /// use vhd::{Disk, DiskType, MemStorage, OpenOptions, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// let bytes = disk.into_storage().into_inner();
    /// let disk = Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only())?;
    /// assert_eq!((disk.disk_type(), disk.size()), (DiskType::Dynamic, 1 << 20));
    /// assert!(Disk::open(MemStorage::new(vec![0; 511]), OpenOptions::read_only()).is_err());
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidFormat`], [`Error::Checksum`], [`Error::Unsupported`] or
    /// [`Error::Corrupt`] for a file that is not a valid VHD, with the offending offset;
    /// [`Error::Io`] for storage failures.
    pub fn open(storage: S, options: OpenOptions) -> Result<Self> {
        let len = storage
            .len()
            .map_err(Error::io("reading the file length", 0))?;
        if len < FOOTER_LEN as u64 {
            return Err(Error::InvalidFormat {
                what: "file is shorter than a VHD footer",
                offset: 0,
            });
        }
        let footer_offset = len - FOOTER_LEN as u64;
        let mut raw = [0u8; FOOTER_LEN];
        read(&storage, &mut raw, footer_offset, "reading the footer")?;
        let footer = match Footer::parse(&raw, footer_offset) {
            Ok(footer) => footer,
            // "A copy of the footer [is kept] at the beginning of the file for redundancy": a
            // damaged trailing footer can be read around, but not written after.
            Err(trailing) if !options.writable => {
                read(&storage, &mut raw, 0, "reading the footer copy")?;
                match Footer::parse(&raw, 0) {
                    Ok(copy) if copy.disk_type.is_sparse() => copy,
                    _ => return Err(trailing),
                }
            }
            Err(e) => return Err(e),
        };
        let sparse = match footer.disk_type {
            DiskType::Fixed => {
                if footer.current_size > footer_offset {
                    return Err(Error::Corrupt {
                        what: "fixed disk's size exceeds the data before the footer",
                        offset: footer_offset,
                    });
                }
                None
            }
            DiskType::Dynamic | DiskType::Differencing => {
                Some(Self::open_sparse(&storage, &footer, footer_offset)?)
            }
        };
        if options.writable && len % 512 != 0 {
            return Err(Error::Corrupt {
                what: "file length is not a multiple of 512",
                offset: len,
            });
        }
        Ok(Disk {
            storage,
            footer,
            writable: options.writable,
            sparse,
            parent: None,
        })
    }

    fn open_sparse(storage: &S, footer: &Footer, footer_offset: u64) -> Result<Sparse> {
        let header_offset = footer.data_offset;
        if !header_offset.is_multiple_of(512)
            || header_offset < FOOTER_LEN as u64
            || header_offset.saturating_add(HEADER_LEN as u64) > footer_offset
        {
            return Err(Error::Corrupt {
                what: "dynamic header offset is not a sector inside the file",
                offset: header_offset,
            });
        }
        let mut raw = [0u8; HEADER_LEN];
        read(
            storage,
            &mut raw,
            header_offset,
            "reading the dynamic header",
        )?;
        let header = DynamicHeader::parse(&raw, header_offset)?;
        let block_size = u64::from(header.block_size);
        let bitmap_len = header.bitmap_len();
        let entries = u64::from(header.max_table_entries);
        let table = header.table_offset;
        let table_len = entries * 4;
        if entries < footer.current_size.div_ceil(block_size) {
            return Err(Error::Corrupt {
                what: "BAT has fewer entries than the disk size needs",
                offset: header_offset + 28,
            });
        }
        if entries > MAX_BAT_ENTRIES
            || table < FOOTER_LEN as u64
            || table.saturating_add(table_len) > footer_offset
            || overlaps(table, table_len, header_offset, HEADER_LEN as u64)
        {
            return Err(Error::Corrupt {
                what: "BAT lies outside the file's metadata area",
                offset: table,
            });
        }
        // The BAT is backed by the file's length (checked above), so this allocation is too.
        let mut bat_raw = vec![0u8; table_len as usize];
        read(storage, &mut bat_raw, table, "reading the BAT")?;
        let bat: Vec<u32> = bat_raw
            .chunks_exact(4)
            .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        // Regions no block may overlap: footer copy, header, BAT, locator payloads.
        let mut reserved = vec![
            (0, FOOTER_LEN as u64),
            (header_offset, HEADER_LEN as u64),
            (table, table_len),
        ];
        for (i, loc) in header
            .locators
            .iter()
            .enumerate()
            .filter(|(_, l)| !l.is_empty())
        {
            let space = loc.space_bytes().max(u64::from(loc.data_length));
            if loc.data_offset.saturating_add(space) > footer_offset {
                return Err(Error::Corrupt {
                    what: "parent locator data lies outside the file",
                    offset: header_offset + 576 + 24 * i as u64,
                });
            }
            reserved.push((loc.data_offset, space));
        }
        let span = bitmap_len + block_size;
        let mut placed: Vec<(u64, usize)> = Vec::new();
        for (i, &entry) in bat.iter().enumerate() {
            if entry == UNALLOCATED {
                continue;
            }
            let start = u64::from(entry) * 512;
            let bat_entry_offset = table + 4 * i as u64;
            if start.saturating_add(span) > footer_offset {
                return Err(Error::Corrupt {
                    what: "BAT entry points past the end of the file",
                    offset: bat_entry_offset,
                });
            }
            if reserved
                .iter()
                .any(|&(r, rlen)| overlaps(start, span, r, rlen))
            {
                return Err(Error::Corrupt {
                    what: "BAT entry points into the file's metadata",
                    offset: bat_entry_offset,
                });
            }
            placed.push((start, i));
        }
        placed.sort_unstable();
        for pair in placed.windows(2) {
            if pair[1].0 < pair[0].0 + span {
                return Err(Error::Corrupt {
                    what: "two BAT entries point at overlapping blocks",
                    offset: table + 4 * pair[1].1 as u64,
                });
            }
        }
        let mut blocks = Blocks::new(bat, block_size / 512);
        let mut bm = vec![0u8; bitmap_len as usize];
        for &(start, i) in &placed {
            read(storage, &mut bm, start, "reading a sector bitmap")?;
            blocks.set(i, (start / 512) as u32, &bm);
        }
        Ok(Sparse {
            header,
            block_size,
            bitmap_len,
            blocks,
            footer_offset,
        })
    }

    /// Opens a differencing disk and attaches its parent (see [`Disk::attach_parent`]).
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{Disk, MemStorage, OpenOptions, ParentLink, VhdBuilder};
    /// let mut golden = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// golden.write_at(&[9; 512], 0)?;
    /// # let link = ParentLink::without_locators(&golden, "golden.vhd");
    /// let storage = VhdBuilder::differencing(link).create(MemStorage::default())?.into_storage();
    /// let child = Disk::open_with_parent(storage, OpenOptions::read_write(), Arc::new(golden))?;
    /// let mut buf = [0u8; 1];
    /// child.read_at(&mut buf, 0)?;
    /// assert_eq!(buf, [9]);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`Disk::open`] and [`Disk::attach_parent`].
    pub fn open_with_parent(
        storage: S,
        options: OpenOptions,
        parent: Arc<dyn ParentDisk>,
    ) -> Result<Self> {
        let mut disk = Self::open(storage, options)?;
        disk.attach_parent(parent)?;
        Ok(disk)
    }

    /// Attaches the parent of a differencing disk, after checking that its unique id is the
    /// one the child records ("the parent's UUID must match", VHD specification).
    ///
    /// The sizes need not match: a child made larger than its parent (as Hyper-V allows when
    /// a differencing disk is expanded) reads zeros past the parent's end, and one made
    /// smaller reads only the parent's first bytes.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{ErrorKind, MemStorage, ParentLink, VhdBuilder};
    /// let golden = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// let other = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// # let link = ParentLink::without_locators(&golden, "golden.vhd");
    /// let mut child = VhdBuilder::differencing(link).create(MemStorage::default())?;
    /// let wrong = child.attach_parent(Arc::new(other)); // another Unique Id
    /// assert_eq!(wrong.err().map(|e| e.kind()), Some(ErrorKind::Parent));
    /// child.attach_parent(Arc::new(golden))?;
    /// assert!(child.parent().is_some());
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ParentMismatch`] for another disk; [`Error::InvalidInput`] if this disk is not
    /// a differencing disk.
    pub fn attach_parent(&mut self, parent: Arc<dyn ParentDisk>) -> Result<()> {
        let Some(expected) = self.parent_unique_id() else {
            return Err(Error::InvalidInput {
                what: "parent",
                reason: "only a differencing disk has a parent",
            });
        };
        let found = parent.unique_id();
        if found != expected {
            return Err(Error::ParentMismatch {
                path: self.parent_name().into(),
                expected,
                found,
            });
        }
        self.parent = Some(parent);
        Ok(())
    }

    /// The footer.
    ///
    /// ```
    /// use vhd::{CREATOR_APP, MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// assert_eq!(disk.footer().current_size, disk.size());
    /// assert_eq!(disk.footer().creator_app, CREATOR_APP);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn footer(&self) -> &Footer {
        &self.footer
    }

    /// The dynamic header (dynamic and differencing disks).
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// assert_eq!(disk.header().map(|h| h.max_table_entries), Some(1)); // one 2 MiB block
    /// let fixed = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
    /// assert!(fixed.header().is_none());
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn header(&self) -> Option<&DynamicHeader> {
        self.sparse.as_ref().map(|s| &s.header)
    }

    /// The disk type.
    ///
    /// ```
    /// use vhd::{DiskType, MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
    /// assert_eq!(disk.disk_type(), DiskType::Fixed);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn disk_type(&self) -> DiskType {
        self.footer.disk_type
    }

    /// The virtual size in bytes (the footer's Current Size).
    ///
    /// ```
    /// let disk = vhd::VhdBuilder::dynamic(100 << 20).create(vhd::MemStorage::default())?;
    /// assert_eq!(disk.size(), 100 << 20);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn size(&self) -> u64 {
        self.footer.current_size
    }

    /// Whether writes are allowed.
    ///
    /// ```
    /// use vhd::{Disk, MemStorage, OpenOptions, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// assert!(disk.is_writable()); // `create` opens read-write
    /// let disk = Disk::open(disk.into_storage(), OpenOptions::read_only())?;
    /// assert!(!disk.is_writable());
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn is_writable(&self) -> bool {
        self.writable
    }

    /// The Parent Unique ID of a differencing disk.
    ///
    /// ```
    /// use vhd::{MemStorage, ParentLink, VhdBuilder};
    /// let golden = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// # let link = ParentLink::without_locators(&golden, "golden.vhd");
    /// let child = VhdBuilder::differencing(link).create(MemStorage::default())?;
    /// assert_eq!(child.parent_unique_id(), Some(golden.footer().unique_id));
    /// assert_eq!(golden.parent_unique_id(), None);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn parent_unique_id(&self) -> Option<Uuid> {
        match (&self.sparse, self.footer.disk_type) {
            (Some(s), DiskType::Differencing) => Some(s.header.parent_unique_id),
            _ => None,
        }
    }

    /// The Parent Unicode Name of a differencing disk ("" otherwise).
    ///
    /// ```
    /// use vhd::{MemStorage, ParentLink, VhdBuilder};
    /// let golden = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// # let link = ParentLink::without_locators(&golden, "golden.vhd");
    /// let child = VhdBuilder::differencing(link).create(MemStorage::default())?;
    /// assert_eq!(child.parent_name(), "golden.vhd");
    /// assert_eq!(golden.parent_name(), "");
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn parent_name(&self) -> &str {
        match &self.sparse {
            Some(s) if self.footer.disk_type == DiskType::Differencing => &s.header.parent_name,
            _ => "",
        }
    }

    /// The parent locators in use.
    ///
    /// ```
    /// use vhd::{MemStorage, ParentLink, PlatformCode, VhdBuilder, VhdTime};
    /// let link = ParentLink { unique_id: uuid::Uuid::from_u128(1), size: 1 << 20, timestamp: VhdTime(0),
    ///     name: "golden.vhd".into(), absolute_path: None, relative_path: Some(r".\golden.vhd".into()) };
    /// let child = VhdBuilder::differencing(link).create(MemStorage::default())?;
    /// let locators = child.parent_locators();
    /// assert_eq!(locators.len(), 1);
    /// assert_eq!((locators[0].platform, locators[0].data_length), (PlatformCode::W2RU, 24));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn parent_locators(&self) -> Vec<ParentLocator> {
        match &self.sparse {
            Some(s) => s
                .header
                .locators
                .iter()
                .copied()
                .filter(|l| !l.is_empty())
                .collect(),
            None => Vec::new(),
        }
    }

    /// The attached parent.
    ///
    /// ```
    /// use std::sync::Arc;
    /// use vhd::{MemStorage, ParentDisk, ParentLink, VhdBuilder};
    /// let golden = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// # let link = ParentLink::without_locators(&golden, "golden.vhd");
    /// let mut child = VhdBuilder::differencing(link).create(MemStorage::default())?;
    /// assert!(child.parent().is_none());
    /// child.attach_parent(Arc::new(golden))?;
    /// assert_eq!(child.parent().map(|p| p.size()), Some(1 << 20));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn parent(&self) -> Option<&Arc<dyn ParentDisk>> {
        self.parent.as_ref()
    }

    /// The storage.
    ///
    /// ```
    /// use vhd::{FOOTER_LEN, MemStorage, Storage, VhdBuilder};
    /// let disk = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
    /// assert_eq!(disk.storage().len()?, (1 << 20) + FOOTER_LEN as u64);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn storage(&self) -> &S {
        &self.storage
    }

    /// Consumes the disk, returning its storage.
    ///
    /// ```
    /// use vhd::{Disk, MemStorage, OpenOptions, VhdBuilder};
    /// let mut disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// disk.write_at(b"kept", 0)?;
    /// let reopened = Disk::open(disk.into_storage(), OpenOptions::read_only())?;
    /// let mut buf = [0u8; 4];
    /// reopened.read_at(&mut buf, 0)?;
    /// assert_eq!(&buf, b"kept");
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn into_storage(self) -> S {
        self.storage
    }

    /// Block size (dynamic and differencing disks).
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let dynamic = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// assert_eq!(dynamic.block_size(), Some(2 << 20));
    /// let fixed = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
    /// assert_eq!(fixed.block_size(), None);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn block_size(&self) -> Option<u64> {
        self.sparse.as_ref().map(|s| s.block_size)
    }

    /// Number of blocks allocated in this file (dynamic and differencing disks).
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let mut disk = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?;
    /// assert_eq!(disk.allocated_blocks(), 0);
    /// disk.write_at(&[1; 512], 3 << 20)?; // in block 1
    /// assert_eq!(disk.allocated_blocks(), 1);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn allocated_blocks(&self) -> u64 {
        self.sparse
            .as_ref()
            .map_or(0, |s| s.blocks.allocated() as u64)
    }

    /// Bytes of memory the open disk holds for its block table: 4 per BAT entry, plus the
    /// sector bitmap of each block that is only partly written (0 for a fixed disk).
    ///
    /// ```
    /// let disk = vhd::VhdBuilder::dynamic(64 << 20).create(vhd::MemStorage::default())?;
    /// assert_eq!(disk.table_memory(), 32 * 4); // 32 blocks of 2 MiB, none allocated
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn table_memory(&self) -> usize {
        self.sparse.as_ref().map_or(0, |s| s.blocks.memory())
    }

    /// Whether the bytes `offset..offset + len` are all stored in this file (rather than read
    /// as zeros or from the parent). Fixed disks hold everything.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let mut disk = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?;
    /// disk.write_at(&[1; 4096], 0)?;
    /// assert!(disk.is_allocated(0, 4096));
    /// assert!(!disk.is_allocated(0, 4097));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn is_allocated(&self, offset: u64, len: u64) -> bool {
        let Some(s) = &self.sparse else { return true };
        let end = offset.saturating_add(len).min(self.size());
        let mut pos = offset;
        while pos < end {
            let idx = (pos / s.block_size) as usize;
            let in_block = pos % s.block_size;
            let n = (s.block_size - in_block).min(end - pos);
            let present = match s.blocks.get(idx) {
                Block::Full { .. } => true,
                Block::Partial { bitmap, .. } => {
                    bitmap::all_set(bitmap, in_block / 512, (in_block + n).div_ceil(512))
                }
                Block::Unallocated => false,
            };
            if !present {
                return false;
            }
            pos += n;
        }
        true
    }

    /// Whether the bytes at virtual `offset` are stored in this file, and how many bytes from
    /// `offset` share that answer: `(allocated, run_len)`, with `run_len >= 1`.
    ///
    /// - fixed disk: always `(true, size - offset)`;
    /// - dynamic disk: allocated means the block is allocated and the sector's bitmap bit set;
    ///   unallocated bytes read as zeros;
    /// - differencing disk: allocated means the sector's bit is set in this file; unallocated
    ///   bytes come from the parent (they are not necessarily zeros).
    ///
    /// The run is cut at the end of the disk and after looking at 4096 blocks; it may therefore
    /// be shorter than the true run, never longer. This is what SCSI GET LBA STATUS and a
    /// thin-provisioning map need.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let mut disk = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?;
    /// disk.write_at(&[1; 4096], 2 << 20)?; // the first 4 KiB of block 1
    /// assert_eq!(disk.allocation(0)?, (false, 2 << 20));
    /// assert_eq!(disk.allocation(2 << 20)?, (true, 4096));
    /// assert_eq!(disk.allocation((2 << 20) + 4096)?, (false, (6 << 20) - 4096));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] if `offset` is not below the disk size.
    pub fn allocation(&self, offset: u64) -> Result<(bool, u64)> {
        let size = self.size();
        if offset >= size {
            return Err(Error::OutOfBounds {
                offset,
                len: 0,
                size,
            });
        }
        let Some(s) = &self.sparse else {
            return Ok((true, size - offset));
        };
        let (allocated, mut len) = s.run_at(offset, size);
        for _ in 0..MAX_RUN_BLOCKS {
            let pos = offset + len;
            // A run that ends inside a block ends there.
            if pos >= size || !pos.is_multiple_of(s.block_size) {
                break;
            }
            let (next, n) = s.run_at(pos, size);
            if next != allocated {
                break;
            }
            len += n;
        }
        Ok((allocated, len))
    }

    /// Makes `len` bytes at virtual `offset` read as zeros, releasing space where the format
    /// allows it (SCSI UNMAP, WRITE SAME with UNMAP, TRIM):
    ///
    /// - dynamic disk: every allocated block the range covers entirely gets its BAT entry set
    ///   back to unallocated (one 4-byte write, not flushed: like any write, the discard is
    ///   durable after [`Disk::flush`], and a crash before that leaves the old data). The
    ///   block's space is not reused: it stays in the file, unreferenced, until the disk is
    ///   compacted by converting it into a new file ([`crate::convert`]); [`crate::check`]
    ///   reports it as [`crate::Problem::UnusedSpace`] (a warning), or as leaked space when it
    ///   is at the end of the file. In partly covered blocks, zeros are written over the
    ///   sectors the block holds; sectors it does not hold already read as zeros.
    /// - differencing disk: zeros are written over the whole range (copied up like any
    ///   write), since an unallocated sector would show the parent's data. This saves no
    ///   space; it takes space.
    /// - fixed disk: zeros are written.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let mut disk = VhdBuilder::dynamic(8 << 20).create(MemStorage::default())?;
    /// disk.write_at(&[7; 3 << 20], 0)?;
    /// disk.discard(1000, (4 << 20) - 1000)?; // part of block 0, all of block 1
    /// assert_eq!(disk.allocated_blocks(), 1);
    /// let mut buf = [9u8; 2];
    /// disk.read_at(&mut buf, 999)?;
    /// assert_eq!(buf, [7, 0]);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ReadOnly`], [`Error::OutOfBounds`], [`Error::ParentRequired`] (a differencing
    /// disk without its parent, for copy-up), [`Error::Io`]. After an error the range may be
    /// partly discarded.
    pub fn discard(&mut self, offset: u64, len: u64) -> Result<()> {
        if !self.writable {
            return Err(Error::ReadOnly);
        }
        self.check_range(offset, len)?;
        match self.footer.disk_type {
            DiskType::Fixed => self.write_zeros_raw(offset, len),
            DiskType::Differencing => {
                let zeros = vec![0u8; len.min(ZEROS_CHUNK) as usize];
                let mut done = 0;
                while done < len {
                    let n = (len - done).min(ZEROS_CHUNK);
                    self.write_at(&zeros[..n as usize], offset + done)?;
                    done += n;
                }
                Ok(())
            }
            DiskType::Dynamic => {
                let Some(block_size) = self.block_size() else {
                    return Ok(());
                };
                let size = self.size();
                let mut done = 0;
                while done < len {
                    let pos = offset + done;
                    let in_block = pos % block_size;
                    let block_len = block_size.min(size - (pos - in_block));
                    let n = (block_size - in_block).min(len - done);
                    let idx = (pos / block_size) as usize;
                    if in_block == 0 && n >= block_len {
                        self.unallocate(idx)?;
                    } else {
                        self.zero_present(idx, in_block, n)?;
                    }
                    done += n;
                }
                Ok(())
            }
        }
    }

    /// Sets block `idx`'s BAT entry to unallocated (a 4-byte write within one sector).
    fn unallocate(&mut self, idx: usize) -> Result<()> {
        let Some(s) = self.sparse.as_mut() else {
            return Ok(());
        };
        if s.blocks.get(idx) == Block::Unallocated {
            return Ok(());
        }
        let entry_at = s.header.table_offset + 4 * idx as u64;
        write(
            &self.storage,
            &UNALLOCATED.to_be_bytes(),
            entry_at,
            "clearing a BAT entry",
        )?;
        s.blocks.clear(idx);
        Ok(())
    }

    /// Writes zeros over the sectors of `in_block..in_block + len` that block `idx` holds.
    fn zero_present(&self, idx: usize, in_block: u64, len: u64) -> Result<()> {
        let Some(s) = &self.sparse else {
            return Ok(());
        };
        let block = s.blocks.get(idx);
        let Some(sector) = block.sector() else {
            return Ok(());
        };
        let data_at = u64::from(sector) * 512 + s.bitmap_len;
        let end = in_block + len;
        let mut at = in_block;
        while at < end {
            let (present, run) = match block {
                Block::Partial { bitmap, .. } => {
                    let first = at / 512;
                    let run = bitmap::run_len(bitmap, first, end.div_ceil(512));
                    (bitmap::is_set(bitmap, first), (first + run) * 512 - at)
                }
                _ => (true, end - at),
            };
            let n = run.min(end - at);
            if present {
                self.write_zeros_raw(data_at + at, n)?;
            }
            at += n;
        }
        Ok(())
    }

    /// Writes `len` zeros at file offset `at`, from a buffer of at most 1 MiB.
    fn write_zeros_raw(&self, at: u64, len: u64) -> Result<()> {
        let zeros = vec![0u8; len.min(ZEROS_CHUNK) as usize];
        let mut done = 0;
        while done < len {
            let n = (len - done).min(ZEROS_CHUNK);
            write(
                &self.storage,
                &zeros[..n as usize],
                at + done,
                "writing zeros",
            )?;
            done += n;
        }
        Ok(())
    }

    fn check_bounds(&self, offset: u64, len: usize) -> Result<()> {
        self.check_range(offset, len as u64)
    }

    fn check_range(&self, offset: u64, len: u64) -> Result<()> {
        Error::check_range(offset, len, self.size())
    }

    /// Reads `buf.len()` bytes at virtual byte `offset`.
    ///
    /// ```
    /// use vhd::{ErrorKind, MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// let mut buf = [0xffu8; 512];
    /// disk.read_at(&mut buf, 0)?; // never written: zeros
    /// assert_eq!(buf, [0; 512]);
    /// let past_end = disk.read_at(&mut buf, (1 << 20) - 256);
    /// assert_eq!(past_end.err().map(|e| e.kind()), Some(ErrorKind::OutOfBounds));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::OutOfBounds`] past the end of the disk; [`Error::ParentRequired`] for sectors of
    /// a differencing disk without an attached parent; [`Error::Io`].
    pub fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        self.check_bounds(offset, buf.len())?;
        let Some(s) = &self.sparse else {
            return read(&self.storage, buf, offset, "reading data");
        };
        let mut done = 0;
        while done < buf.len() {
            let pos = offset + done as u64;
            let idx = (pos / s.block_size) as usize;
            let in_block = pos % s.block_size;
            let n = ((s.block_size - in_block) as usize).min(buf.len() - done);
            self.read_in_block(s, idx, in_block, &mut buf[done..done + n], pos)?;
            done += n;
        }
        Ok(())
    }

    /// Reads within one block: `in_block` is the offset in the block, `pos` the virtual offset.
    fn read_in_block(
        &self,
        s: &Sparse,
        idx: usize,
        in_block: u64,
        buf: &mut [u8],
        pos: u64,
    ) -> Result<()> {
        let data_at = |sector: u32| u64::from(sector) * 512 + s.bitmap_len + in_block;
        match s.blocks.get(idx) {
            Block::Unallocated => self.read_absent(buf, pos),
            Block::Full { sector } => read(&self.storage, buf, data_at(sector), "reading data"),
            Block::Partial { sector, bitmap } => {
                let base = data_at(sector) - in_block;
                let (first, last) = (in_block / 512, (in_block + buf.len() as u64).div_ceil(512));
                if self.parent.is_some() && bitmap::clear_runs(bitmap, first, last) > 1 {
                    // Several pieces from the parent: read the whole range from it once (one
                    // call down the chain), then lay this file's runs over it.
                    self.read_absent(buf, pos)?;
                    let mut done = 0;
                    while done < buf.len() {
                        let at = in_block + done as u64;
                        let sector_no = at / 512;
                        let run = bitmap::run_len(bitmap, sector_no, last);
                        let piece_end =
                            (((sector_no + run) * 512 - in_block) as usize).min(buf.len());
                        if bitmap::is_set(bitmap, sector_no) {
                            read(
                                &self.storage,
                                &mut buf[done..piece_end],
                                base + at,
                                "reading data",
                            )?;
                        }
                        done = piece_end;
                    }
                    return Ok(());
                }
                let mut done = 0;
                while done < buf.len() {
                    let at = in_block + done as u64;
                    let sector_no = at / 512;
                    let last = (in_block + buf.len() as u64).div_ceil(512);
                    let run = bitmap::run_len(bitmap, sector_no, last);
                    let run_end = ((sector_no + run) * 512 - in_block) as usize;
                    let piece_end = run_end.min(buf.len());
                    let piece = &mut buf[done..piece_end];
                    if bitmap::is_set(bitmap, sector_no) {
                        read(&self.storage, piece, base + at, "reading data")?;
                    } else {
                        self.read_absent(piece, pos + done as u64)?;
                    }
                    done += piece.len();
                }
                Ok(())
            }
        }
    }

    /// Fills `buf` with what the disk holds at `pos` when this file does not: zeros for a
    /// dynamic disk, the parent's data for a differencing disk (zeros past the parent's end).
    fn read_absent(&self, buf: &mut [u8], pos: u64) -> Result<()> {
        if self.footer.disk_type != DiskType::Differencing {
            buf.fill(0);
            return Ok(());
        }
        let Some(parent) = &self.parent else {
            return Err(Error::ParentRequired {
                name: self.parent_name().into(),
            });
        };
        // A child may be larger than its parent (resized after it was made): past the
        // parent's end it reads zeros, and the parent is not asked for bytes it does not have.
        let in_parent = parent.size().saturating_sub(pos).min(buf.len() as u64) as usize;
        if in_parent > 0 {
            parent.read_at(&mut buf[..in_parent], pos)?;
        }
        buf[in_parent..].fill(0);
        Ok(())
    }

    /// Writes `data` at virtual byte `offset`. Partial sectors are read, modified and written;
    /// in a differencing disk, the rest of every 4 KiB group that the write touches is copied
    /// up from the parent first, so that later reads see the parent's data there.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let mut disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// disk.write_at(b"boot", 510)?; // across a sector boundary
    /// let mut buf = [0u8; 4];
    /// disk.read_at(&mut buf, 510)?;
    /// assert_eq!(&buf, b"boot");
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::ReadOnly`], [`Error::OutOfBounds`], [`Error::ParentRequired`] (a differencing
    /// disk without its parent), [`Error::Io`]. After an error the disk remains consistent:
    /// the write may be partly done, as with any disk.
    pub fn write_at(&mut self, data: &[u8], offset: u64) -> Result<()> {
        if !self.writable {
            return Err(Error::ReadOnly);
        }
        self.check_bounds(offset, data.len())?;
        let Some(block_size) = self.block_size() else {
            return write(&self.storage, data, offset, "writing data");
        };
        let mut done = 0;
        while done < data.len() {
            let pos = offset + done as u64;
            let in_block = pos % block_size;
            let n = ((block_size - in_block) as usize).min(data.len() - done);
            self.write_in_block((pos / block_size) as usize, in_block, &data[done..done + n])?;
            done += n;
        }
        Ok(())
    }

    fn write_in_block(&mut self, idx: usize, in_block: u64, data: &[u8]) -> Result<()> {
        let Some(s) = &self.sparse else { return Ok(()) };
        let (block_size, bitmap_len) = (s.block_size, s.bitmap_len);
        let granule = COPY_UP_GRANULE.min(block_size);
        let block_start = idx as u64 * block_size;
        let start = in_block / granule * granule;
        // The last granule of a disk whose size is not a multiple of it ends with the disk.
        let end = (in_block + data.len() as u64)
            .next_multiple_of(granule)
            .min(block_size)
            .min(self.footer.current_size - block_start);
        let whole = start == in_block && end == in_block + data.len() as u64;

        let sector = s.blocks.get(idx).sector();
        // Fast path: every touched sector already lives here; write in place.
        if let Some(sector) = sector
            && self.is_allocated(block_start + in_block, data.len() as u64)
        {
            let at = u64::from(sector) * 512 + bitmap_len + in_block;
            return write(&self.storage, data, at, "writing data");
        }

        // The granules' new contents: what the disk reads there now, overlaid with `data`.
        let mut chunk;
        let content: &[u8] = if whole {
            data
        } else {
            chunk = vec![0u8; (end - start) as usize];
            self.read_at(&mut chunk, block_start + start)?;
            let from = (in_block - start) as usize;
            chunk[from..from + data.len()].copy_from_slice(data);
            &chunk
        };
        let sectors = (start / 512, end.div_ceil(512));
        match sector {
            None => self.allocate(idx, start, content),
            Some(sector) => {
                let at = u64::from(sector) * 512 + bitmap_len + start;
                write(&self.storage, content, at, "writing data")?;
                // The data must be durable before a bit says it is here: a bit persisted
                // alone would expose this file's zeros instead of the parent's data.
                self.storage
                    .flush()
                    .map_err(Error::io("flushing copied-up data", at))?;
                self.set_bits(idx, sectors)
            }
        }
    }

    /// Sets the bitmap bits of `sectors` of allocated block `idx` and writes the bitmap sectors
    /// that changed.
    fn set_bits(&mut self, idx: usize, (first, end): (u64, u64)) -> Result<()> {
        let Some(s) = self.sparse.as_mut() else {
            return Ok(());
        };
        let Block::Partial { sector, bitmap } = s.blocks.get(idx) else {
            return Ok(());
        };
        // Memory follows the file: the bits change only once their sectors are written.
        let mut updated = bitmap.to_vec();
        bitmap::set_range(&mut updated, first, end);
        let from = (first / 8 / 512) * 512;
        let to = end
            .div_ceil(8)
            .next_multiple_of(512)
            .min(updated.len() as u64);
        write(
            &self.storage,
            &updated[from as usize..to as usize],
            u64::from(sector) * 512 + from,
            "writing a sector bitmap",
        )?;
        s.blocks.set(idx, sector, &updated);
        Ok(())
    }

    /// Allocates block `idx` at the trailing footer's place (moved on to where the block's data
    /// starts on a 4 KiB boundary) with `content` at `start` (a multiple of the copy-up
    /// granule), in the crash-safe order documented on [`Disk`].
    fn allocate(&mut self, idx: usize, start: u64, content: &[u8]) -> Result<()> {
        let footer = self.footer.to_bytes();
        let Some(s) = self.sparse.as_mut() else {
            return Ok(());
        };
        let old_end = s.footer_offset;
        let block_at = if s.block_size >= ALIGNED_BLOCK_SIZE {
            aligned_block_start(old_end, s.bitmap_len)
        } else {
            old_end
        };
        let sector = u32::try_from(block_at / 512).map_err(|_| Error::Unsupported {
            what: "a block beyond 2 TiB of file (BAT entries are 32-bit sector numbers)",
        })?;
        let new_footer_at = block_at + s.bitmap_len + s.block_size;
        // 1. The new trailing footer, after the block.
        write(&self.storage, &footer, new_footer_at, "writing the footer")?;
        self.storage
            .flush()
            .map_err(Error::io("flushing the footer", new_footer_at))?;
        s.footer_offset = new_footer_at;
        // 2. Padding (zeros), bitmap and data over the old footer; the rest of the block is
        //    beyond the old end of the file, so it reads as zeros.
        let pad = (block_at - old_end) as usize;
        let mut head = vec![0u8; pad + s.bitmap_len as usize];
        let end = start + content.len() as u64;
        bitmap::set_range(&mut head[pad..], start / 512, end.div_ceil(512));
        write(&self.storage, &head, old_end, "writing a sector bitmap")?;
        write(
            &self.storage,
            content,
            block_at + s.bitmap_len + start,
            "writing data",
        )?;
        self.storage
            .flush()
            .map_err(Error::io("flushing a new block", block_at))?;
        // 3. The BAT entry.
        let entry_at = s.header.table_offset + 4 * idx as u64;
        write(
            &self.storage,
            &sector.to_be_bytes(),
            entry_at,
            "writing a BAT entry",
        )?;
        s.blocks.set(idx, sector, &head[pad..]);
        Ok(())
    }

    /// Makes every completed write durable.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let mut disk = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
    /// disk.write_at(b"data", 0)?;
    /// disk.flush()?; // on a file: `fdatasync`, the write now survives a crash
    /// assert_eq!(&disk.into_storage().into_inner()[..4], b"data");
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::Io`].
    pub fn flush(&self) -> Result<()> {
        self.storage.flush().map_err(Error::io("flushing", 0))
    }
}

impl Sparse {
    /// Whether the byte at `pos` (below `size`) is stored here, and for how many bytes from
    /// `pos`, up to the end of its block, that holds.
    fn run_at(&self, pos: u64, size: u64) -> (bool, u64) {
        let idx = (pos / self.block_size) as usize;
        let in_block = pos % self.block_size;
        let to_end = (self.block_size - in_block).min(size - pos);
        match self.blocks.get(idx) {
            Block::Unallocated => (false, to_end),
            Block::Full { .. } => (true, to_end),
            Block::Partial { bitmap, .. } => {
                let first = in_block / 512;
                let last = (in_block + to_end).div_ceil(512);
                let run = bitmap::run_len(bitmap, first, last);
                let bytes = ((first + run) * 512 - in_block).min(to_end);
                (bitmap::is_set(bitmap, first), bytes)
            }
        }
    }
}

/// Where a block allocated at the end of the file, `end`, starts so that its data (after
/// `bitmap_len` bytes of bitmap) begins on a [`DATA_ALIGNMENT`] boundary: the gap before it is
/// under 4 KiB.
pub(crate) fn aligned_block_start(end: u64, bitmap_len: u64) -> u64 {
    (end + bitmap_len).next_multiple_of(DATA_ALIGNMENT) - bitmap_len
}

impl<S: Storage> ParentDisk for Disk<S> {
    fn unique_id(&self) -> Uuid {
        self.footer.unique_id
    }

    fn size(&self) -> u64 {
        self.footer.current_size
    }

    fn read_at(&self, buf: &mut [u8], offset: u64) -> Result<()> {
        Disk::read_at(self, buf, offset)
    }

    fn is_read_only(&self) -> bool {
        !self.writable
    }
}
