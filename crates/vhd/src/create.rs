//! Creating disks: [`VhdBuilder`].

use uuid::Uuid;

use crate::disk::{OpenOptions, UNALLOCATED};
use crate::dyn_header::{DEFAULT_BLOCK_SIZE, DynamicHeader, HEADER_LEN, MAX_BLOCK_SIZE};
use crate::footer::{DiskType, FOOTER_LEN, Footer};
use crate::geometry::MAX_CHS;
use crate::locator::{ParentLocator, PlatformCode, encode_locator_path};
use crate::{Chs, Disk, Error, Result, Storage, VhdTime};

/// Largest disk size: 2040 GiB (the specification's limit for dynamic disks, which qemu
/// applies to all).
///
/// ```
/// use vhd::{ErrorKind, MAX_DISK_SIZE, VhdBuilder};
/// assert!(VhdBuilder::dynamic(MAX_DISK_SIZE).footer().is_ok());
/// let too_big = VhdBuilder::dynamic(MAX_DISK_SIZE + 512).footer();
/// assert_eq!(too_big.err().map(|e| e.kind()), Some(ErrorKind::InvalidInput));
/// ```
pub const MAX_DISK_SIZE: u64 = 2040 << 30;

/// How a differencing disk refers to its parent.
///
/// ```
/// use vhd::ParentLink;
/// let link = ParentLink {
///     unique_id: uuid::Uuid::from_u128(1),
///     size: 64 << 20,
///     timestamp: vhd::VhdTime(0),
///     name: "golden.vhd".into(),
///     absolute_path: Some(r"\srv\images\golden.vhd".into()),
///     relative_path: Some(r".\golden.vhd".into()),
/// };
/// let child = vhd::VhdBuilder::differencing(link).create(vhd::MemStorage::default())?;
/// assert_eq!(child.parent_name(), "golden.vhd");
/// assert_eq!(child.parent_locators().len(), 2);
/// # Ok::<(), vhd::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParentLink {
    /// The parent footer's Unique Id.
    pub unique_id: Uuid,
    /// The parent's virtual size; the child gets the same size.
    pub size: u64,
    /// The parent's modification time.
    pub timestamp: VhdTime,
    /// The parent's file name (Parent Unicode Name).
    pub name: String,
    /// An absolute path, stored in a `W2ku` locator (Windows writes `C:\dir\parent.vhd`).
    pub absolute_path: Option<String>,
    /// A path relative to the child's directory, stored in a `W2ru` locator (`.\parent.vhd`).
    pub relative_path: Option<String>,
}

/// Builds a new disk (STYLE B11: a consuming builder that validates in `create`).
///
/// Sizes are exact bytes by default (a multiple of 512). The footer carries the specification's
/// CHS geometry when it describes the size exactly; otherwise the largest geometry, which tells
/// qemu (that sizes other creators' disks by CHS) to use Current Size, as its own `force_size`
/// option does. [`VhdBuilder::round_to_chs`] instead rounds the size up to a geometry, as
/// qemu-img does by default. Hyper-V reads Current Size and libvhdi Original Size, which are
/// equal in a new disk: all three see the same size.
///
/// ```
/// use vhd::{DiskType, MemStorage, VhdBuilder};
/// let disk = VhdBuilder::dynamic(100 << 20).block_size(512 << 10).create(MemStorage::default())?;
/// assert_eq!(disk.disk_type(), DiskType::Dynamic);
/// assert_eq!(disk.size(), 100 << 20);
/// assert_eq!(disk.block_size(), Some(512 << 10));
/// # Ok::<(), vhd::Error>(())
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct VhdBuilder {
    disk_type: DiskType,
    size: u64,
    block_size: u32,
    parent: Option<ParentLink>,
    round_to_chs: bool,
    unique_id: Option<Uuid>,
    timestamp: Option<VhdTime>,
}

impl VhdBuilder {
    fn new(disk_type: DiskType, size: u64, parent: Option<ParentLink>) -> Self {
        VhdBuilder {
            disk_type,
            size,
            block_size: DEFAULT_BLOCK_SIZE,
            parent,
            round_to_chs: false,
            unique_id: None,
            timestamp: None,
        }
    }

    /// A fixed disk of `size` bytes: raw data, then the footer.
    ///
    /// ```
    /// use vhd::{DiskType, MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
    /// assert_eq!(disk.disk_type(), DiskType::Fixed);
    /// assert!(disk.header().is_none()); // no dynamic header, no BAT
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn fixed(size: u64) -> Self {
        Self::new(DiskType::Fixed, size, None)
    }

    /// A dynamic disk of `size` bytes: blocks are allocated as they are written.
    ///
    /// ```
    /// use vhd::{DiskType, MemStorage, Storage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 30).create(MemStorage::default())?;
    /// assert_eq!((disk.disk_type(), disk.size()), (DiskType::Dynamic, 1 << 30));
    /// assert!(disk.storage().len()? < 8192); // no block is allocated yet
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn dynamic(size: u64) -> Self {
        Self::new(DiskType::Dynamic, size, None)
    }

    /// A differencing disk over `parent`, of the parent's size.
    ///
    /// ```
    /// use vhd::{DiskType, MemStorage, ParentLink, VhdBuilder};
    /// let golden = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// let link = ParentLink::without_locators(&golden, "golden.vhd");
    /// let child = VhdBuilder::differencing(link).create(MemStorage::default())?;
    /// assert_eq!((child.disk_type(), child.size()), (DiskType::Differencing, golden.size()));
    /// assert_eq!(child.parent_unique_id(), Some(golden.footer().unique_id));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn differencing(parent: ParentLink) -> Self {
        Self::new(DiskType::Differencing, parent.size, Some(parent))
    }

    /// The block size of a dynamic or differencing disk: a power of two from 4 KiB to 256 MiB
    /// (default 2 MiB, the only size some readers support).
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).block_size(64 << 10).create(MemStorage::default())?;
    /// assert_eq!(disk.block_size(), Some(64 << 10));
    /// assert!(VhdBuilder::dynamic(1 << 20).block_size(3 << 10).footer().is_err()); // not a power of two
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn block_size(mut self, bytes: u32) -> Self {
        self.block_size = bytes;
        self
    }

    /// Round the size up to a CHS geometry, as qemu-img does by default.
    ///
    /// ```
    /// use vhd::{Chs, MAX_CHS, VhdBuilder};
    /// let rounded = VhdBuilder::dynamic(1 << 30).round_to_chs(true).footer()?;
    /// assert_eq!(rounded.current_size, 1_073_995_776);
    /// assert_eq!(rounded.geometry, Chs::round_up(1 << 30).0);
    /// let exact = VhdBuilder::dynamic(1 << 30).footer()?; // no geometry is exactly 1 GiB
    /// assert_eq!((exact.current_size, exact.geometry), (1 << 30, MAX_CHS));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn round_to_chs(mut self, yes: bool) -> Self {
        self.round_to_chs = yes;
        self
    }

    /// The disk's Unique Id (default: random).
    ///
    /// ```
    /// let id = uuid::Uuid::from_u128(42);
    /// let footer = vhd::VhdBuilder::fixed(1 << 20).unique_id(id).footer()?;
    /// assert_eq!(footer.unique_id, id);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn unique_id(mut self, id: Uuid) -> Self {
        self.unique_id = Some(id);
        self
    }

    /// The creation time stamp (default: now).
    ///
    /// ```
    /// use vhd::{VhdBuilder, VhdTime};
    /// let footer = VhdBuilder::fixed(1 << 20).timestamp(VhdTime(1234)).footer()?;
    /// assert_eq!(footer.timestamp, VhdTime(1234));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn timestamp(mut self, t: VhdTime) -> Self {
        self.timestamp = Some(t);
        self
    }

    /// The type of disk this builder creates.
    ///
    /// ```
    /// use vhd::{DiskType, VhdBuilder};
    /// assert_eq!(VhdBuilder::fixed(1 << 20).disk_type(), DiskType::Fixed);
    /// assert_eq!(VhdBuilder::dynamic(1 << 20).disk_type(), DiskType::Dynamic);
    /// ```
    pub fn disk_type(&self) -> DiskType {
        self.disk_type
    }

    /// The parent of a differencing disk.
    ///
    /// ```
    /// use vhd::{ParentLink, VhdBuilder, VhdTime};
    /// let link = ParentLink { unique_id: uuid::Uuid::from_u128(1), size: 1 << 20, timestamp: VhdTime(0),
    ///     name: "golden.vhd".into(), absolute_path: None, relative_path: None };
    /// assert_eq!(VhdBuilder::differencing(link.clone()).parent_link(), Some(&link));
    /// assert_eq!(VhdBuilder::dynamic(1 << 20).parent_link(), None);
    /// ```
    pub fn parent_link(&self) -> Option<&ParentLink> {
        self.parent.as_ref()
    }

    /// The footer this builder will write.
    ///
    /// ```
    /// use vhd::{DiskType, VhdBuilder};
    /// let footer = VhdBuilder::dynamic(1 << 20).footer()?;
    /// assert_eq!((footer.disk_type, footer.current_size), (DiskType::Dynamic, 1 << 20));
    /// assert_eq!(footer.data_offset, 512); // the dynamic header follows the footer copy
    /// assert!(VhdBuilder::dynamic(1000).footer().is_err()); // not a multiple of 512
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a size that is zero, not a multiple of 512 or over
    /// [`MAX_DISK_SIZE`], or a block size out of range.
    pub fn footer(&self) -> Result<Footer> {
        let invalid = |what, reason| Err(Error::InvalidInput { what, reason });
        if self.size == 0 || !self.size.is_multiple_of(512) {
            return invalid("size", "must be a positive multiple of 512 bytes");
        }
        if self.size > MAX_DISK_SIZE {
            return invalid("size", "must be at most 2040 GiB");
        }
        if self.disk_type.is_sparse()
            && (!self.block_size.is_power_of_two()
                || !(4096..=MAX_BLOCK_SIZE).contains(&self.block_size))
        {
            return invalid("block size", "must be a power of two from 4 KiB to 256 MiB");
        }
        let id = self.unique_id.unwrap_or_else(Uuid::new_v4);
        let mut footer = Footer::new(
            self.disk_type,
            self.size,
            self.timestamp.unwrap_or_else(VhdTime::now),
            id,
        );
        if self.round_to_chs {
            let (chs, size) = Chs::round_up(self.size);
            footer.geometry = chs;
            footer.original_size = size;
            footer.current_size = size;
        } else if footer.geometry.size() != self.size {
            footer.geometry = MAX_CHS;
        }
        Ok(footer)
    }

    /// Writes the new disk to `storage` (which is truncated first) and opens it read-write.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let old = MemStorage::new(vec![0xaa; 4096]); // whatever it held is discarded
    /// let disk = VhdBuilder::fixed(1 << 20).create(old)?;
    /// assert!(disk.is_writable());
    /// let mut buf = [1u8; 2];
    /// disk.read_at(&mut buf, 0)?;
    /// assert_eq!(buf, [0, 0]);
    /// # Ok::<(), vhd::Error>(())
    /// ```
    ///
    /// # Errors
    /// As [`VhdBuilder::footer`]; [`Error::Io`] from the storage.
    pub fn create<S: Storage>(self, storage: S) -> Result<Disk<S>> {
        let footer = self.footer()?;
        let io = |op| Error::io(op, 0);
        storage.set_len(0).map_err(io("truncating the new file"))?;
        let footer_bytes = footer.to_bytes();
        if self.disk_type == DiskType::Fixed {
            let size = footer.current_size;
            storage.set_len(size).map_err(io("sizing the new file"))?;
            storage
                .write_all_at(&footer_bytes, size)
                .map_err(Error::io("writing the footer", size))?;
        } else {
            self.write_sparse(&storage, &footer)?;
        }
        storage.flush().map_err(io("flushing the new file"))?;
        Disk::open(storage, OpenOptions::read_write())
    }

    fn write_sparse<S: Storage>(&self, storage: &S, footer: &Footer) -> Result<()> {
        let header_at = FOOTER_LEN as u64;
        let table_at = header_at + HEADER_LEN as u64;
        let entries = footer.current_size.div_ceil(u64::from(self.block_size));
        let max_table_entries = u32::try_from(entries).map_err(|_| Error::InvalidInput {
            what: "size",
            reason: "needs too many blocks",
        })?;
        let table_len = (entries * 4).next_multiple_of(512);
        let mut end = table_at + table_len;
        let mut header = DynamicHeader {
            table_offset: table_at,
            max_table_entries,
            block_size: self.block_size,
            parent_unique_id: Uuid::nil(),
            parent_timestamp: VhdTime(0),
            parent_name: String::new(),
            locators: [ParentLocator::default(); 8],
        };
        let mut payloads = Vec::new();
        if let Some(parent) = &self.parent {
            header.parent_unique_id = parent.unique_id;
            header.parent_timestamp = parent.timestamp;
            header.parent_name = parent.name.clone();
            let paths = [
                (PlatformCode::W2KU, &parent.absolute_path),
                (PlatformCode::W2RU, &parent.relative_path),
            ];
            for (slot, (platform, path)) in paths.into_iter().enumerate() {
                let Some(path) = path else { continue };
                let payload = encode_locator_path(platform, path);
                let space = (payload.len() as u64).next_multiple_of(512).max(512);
                header.locators[slot] = ParentLocator {
                    platform,
                    data_space: u32::try_from(space).map_err(|_| Error::InvalidInput {
                        what: "parent path",
                        reason: "too long",
                    })?,
                    data_length: payload.len() as u32,
                    data_offset: end,
                };
                payloads.push((end, payload));
                end += space;
            }
        }
        let io = |op, at| Error::io(op, at);
        storage
            .write_all_at(&footer.to_bytes(), 0)
            .map_err(io("writing the footer copy", 0))?;
        let header_bytes = header.to_bytes()?;
        storage
            .write_all_at(&header_bytes, header_at)
            .map_err(io("writing the header", header_at))?;
        let bat = vec![0xffu8; table_len as usize];
        debug_assert_eq!(UNALLOCATED, u32::MAX);
        storage
            .write_all_at(&bat, table_at)
            .map_err(io("writing the BAT", table_at))?;
        for (at, payload) in payloads {
            storage
                .write_all_at(&payload, at)
                .map_err(io("writing a parent locator", at))?;
        }
        storage
            .write_all_at(&footer.to_bytes(), end)
            .map_err(io("writing the footer", end))?;
        Ok(())
    }
}
