//! The dynamic disk header (VHD specification, "Dynamic Disk Header Format"): 1024 bytes at the
//! footer's Data Offset in dynamic and differencing disks.

use uuid::Uuid;

use crate::checksum::checksum;
use crate::footer::{be32, be64, bytes16, put32};
use crate::locator::{LOCATOR_LEN, ParentLocator};
use crate::{Error, Result, VhdTime};

/// Length of the dynamic disk header.
///
/// ```
/// use vhd::{HEADER_LEN, MemStorage, VhdBuilder};
/// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// let header = disk.header().ok_or("not a sparse disk")?;
/// assert_eq!(header.to_bytes()?.len(), HEADER_LEN);
/// // This crate puts the BAT right after the header.
/// assert_eq!(header.table_offset, disk.footer().data_offset + HEADER_LEN as u64);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const HEADER_LEN: usize = 1024;

mod field {
    pub(super) const COOKIE: usize = 0;
    pub(super) const DATA_OFFSET: usize = 8;
    pub(super) const TABLE_OFFSET: usize = 16;
    pub(super) const VERSION: usize = 24;
    pub(super) const MAX_TABLE_ENTRIES: usize = 28;
    pub(super) const BLOCK_SIZE: usize = 32;
    pub(super) const CHECKSUM: usize = 36;
    pub(super) const PARENT_UNIQUE_ID: usize = 40;
    pub(super) const PARENT_TIMESTAMP: usize = 56;
    pub(super) const PARENT_NAME: usize = 64;
    pub(super) const PARENT_NAME_LEN: usize = 512;
    pub(super) const LOCATORS: usize = 576;
}

const COOKIE: &[u8; 8] = b"cxsparse";
const VERSION: u32 = 0x0001_0000;
/// Smallest block size accepted: one sector.
///
/// ```
/// use vhd::{DynamicHeader, MIN_BLOCK_SIZE, MemStorage, VhdBuilder};
/// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// let mut header = disk.header().cloned().ok_or("not a sparse disk")?;
/// header.block_size = MIN_BLOCK_SIZE;
/// assert!(DynamicHeader::parse(&header.to_bytes()?, 512).is_ok());
/// header.block_size = MIN_BLOCK_SIZE / 2;
/// assert!(DynamicHeader::parse(&header.to_bytes()?, 512).is_err());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const MIN_BLOCK_SIZE: u32 = 512;
/// Largest block size accepted (its sector bitmap is 64 KiB).
///
/// ```
/// use vhd::{MAX_BLOCK_SIZE, VhdBuilder};
/// assert!(VhdBuilder::dynamic(1 << 30).block_size(MAX_BLOCK_SIZE).footer().is_ok());
/// assert!(VhdBuilder::dynamic(1 << 30).block_size(2 * MAX_BLOCK_SIZE).footer().is_err());
/// ```
pub const MAX_BLOCK_SIZE: u32 = 256 << 20;
/// The default block size, 2 MiB, which every reader supports.
///
/// ```
/// use vhd::{DEFAULT_BLOCK_SIZE, MemStorage, VhdBuilder};
/// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// assert_eq!(disk.block_size(), Some(u64::from(DEFAULT_BLOCK_SIZE)));
/// # Ok::<(), vhd::Error>(())
/// ```
pub const DEFAULT_BLOCK_SIZE: u32 = 2 << 20;

/// The dynamic disk header.
///
/// ```
/// use vhd::{DynamicHeader, ParentLocator, VhdTime};
/// let header = DynamicHeader {
///     table_offset: 1536,
///     max_table_entries: 512,
///     block_size: 2 << 20,
///     parent_unique_id: uuid::Uuid::nil(),
///     parent_timestamp: VhdTime(0),
///     parent_name: String::new(),
///     locators: [ParentLocator::default(); 8],
/// };
/// let bytes = header.to_bytes()?;
/// assert_eq!(&bytes[..8], b"cxsparse");
/// assert_eq!(DynamicHeader::parse(&bytes, 512)?, header);
/// # Ok::<(), vhd::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DynamicHeader {
    /// Byte offset of the Block Allocation Table.
    pub table_offset: u64,
    /// Number of BAT entries.
    pub max_table_entries: u32,
    /// Bytes of data per block (a power of two), not counting the sector bitmap.
    pub block_size: u32,
    /// Differencing disks: the parent footer's Unique Id.
    pub parent_unique_id: Uuid,
    /// Differencing disks: the parent's modification time.
    pub parent_timestamp: VhdTime,
    /// Differencing disks: the parent's file name (stored as UTF-16BE, at most 256 units).
    pub parent_name: String,
    /// The eight parent locator entries.
    pub locators: [ParentLocator; 8],
}

impl DynamicHeader {
    /// Parses a header read at byte `offset` of the file.
    ///
    /// ```
    /// use vhd::{DynamicHeader, ErrorKind, HEADER_LEN, MemStorage, Storage, VhdBuilder};
    /// let storage = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?.into_storage();
    /// let mut raw = [0u8; HEADER_LEN];
    /// storage.read_exact_at(&mut raw, 512)?; // at the footer's Data Offset
    /// assert_eq!(DynamicHeader::parse(&raw, 512)?.block_size, 2 << 20);
    /// raw[100] ^= 1;
    /// let damaged = DynamicHeader::parse(&raw, 512);
    /// assert_eq!(damaged.err().map(|e| e.kind()), Some(ErrorKind::Corrupt)); // checksum
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidFormat`] for a wrong cookie, [`Error::Checksum`],
    /// [`Error::Unsupported`] for another version or a block size that is not a power of two
    /// from 512 bytes to 256 MiB, [`Error::Corrupt`] for a parent name that is not UTF-16.
    pub fn parse(b: &[u8; HEADER_LEN], offset: u64) -> Result<DynamicHeader> {
        if &b[..8] != COOKIE {
            return Err(Error::InvalidFormat {
                what: "dynamic header cookie is not \"cxsparse\"",
                offset,
            });
        }
        let stored = be32(b, field::CHECKSUM);
        let expected = checksum(b, field::CHECKSUM);
        if stored != expected {
            return Err(Error::Checksum {
                structure: "dynamic header",
                offset,
                expected,
                found: stored,
            });
        }
        if be32(b, field::VERSION) != VERSION {
            return Err(Error::Unsupported {
                what: "dynamic header version other than 1.0",
            });
        }
        let block_size = be32(b, field::BLOCK_SIZE);
        if !block_size.is_power_of_two() || !(MIN_BLOCK_SIZE..=MAX_BLOCK_SIZE).contains(&block_size)
        {
            return Err(Error::Unsupported {
                what: "block size that is not a power of two from 512 bytes to 256 MiB",
            });
        }
        let name = &b[field::PARENT_NAME..field::PARENT_NAME + field::PARENT_NAME_LEN];
        let units: Vec<u16> = name
            .chunks_exact(2)
            .map(|c| u16::from_be_bytes([c[0], c[1]]))
            .take_while(|&u| u != 0)
            .collect();
        let parent_name = String::from_utf16(&units).map_err(|_| Error::Corrupt {
            what: "parent name is not UTF-16",
            offset: offset + field::PARENT_NAME as u64,
        })?;
        let mut locators = [ParentLocator::default(); 8];
        for (i, loc) in locators.iter_mut().enumerate() {
            let at = field::LOCATORS + i * LOCATOR_LEN;
            let mut entry = [0u8; LOCATOR_LEN];
            entry.copy_from_slice(&b[at..at + LOCATOR_LEN]);
            *loc = ParentLocator::parse(&entry);
        }
        Ok(DynamicHeader {
            table_offset: be64(b, field::TABLE_OFFSET),
            max_table_entries: be32(b, field::MAX_TABLE_ENTRIES),
            block_size,
            parent_unique_id: Uuid::from_bytes(bytes16(b, field::PARENT_UNIQUE_ID)),
            parent_timestamp: VhdTime(be32(b, field::PARENT_TIMESTAMP)),
            parent_name,
            locators,
        })
    }

    /// The 1024 bytes of this header, checksum computed.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// let mut header = disk.header().cloned().ok_or("not a sparse disk")?;
    /// assert_eq!(&header.to_bytes()?[..8], b"cxsparse");
    /// header.parent_name = "x".repeat(257);
    /// assert!(header.to_bytes().is_err()); // more than 256 UTF-16 units
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] if the parent name needs more than 256 UTF-16 units.
    pub fn to_bytes(&self) -> Result<[u8; HEADER_LEN]> {
        let mut b = [0u8; HEADER_LEN];
        b[field::COOKIE..8].copy_from_slice(COOKIE);
        b[field::DATA_OFFSET..field::DATA_OFFSET + 8].copy_from_slice(&u64::MAX.to_be_bytes());
        b[field::TABLE_OFFSET..field::TABLE_OFFSET + 8]
            .copy_from_slice(&self.table_offset.to_be_bytes());
        put32(&mut b, field::VERSION, VERSION);
        put32(&mut b, field::MAX_TABLE_ENTRIES, self.max_table_entries);
        put32(&mut b, field::BLOCK_SIZE, self.block_size);
        b[field::PARENT_UNIQUE_ID..field::PARENT_UNIQUE_ID + 16]
            .copy_from_slice(self.parent_unique_id.as_bytes());
        put32(&mut b, field::PARENT_TIMESTAMP, self.parent_timestamp.0);
        let units: Vec<u16> = self.parent_name.encode_utf16().collect();
        if units.len() > field::PARENT_NAME_LEN / 2 {
            return Err(Error::InvalidInput {
                what: "parent name",
                reason: "longer than 256 UTF-16 code units",
            });
        }
        for (i, u) in units.iter().enumerate() {
            let at = field::PARENT_NAME + 2 * i;
            b[at..at + 2].copy_from_slice(&u.to_be_bytes());
        }
        for (i, loc) in self.locators.iter().enumerate() {
            let at = field::LOCATORS + i * LOCATOR_LEN;
            b[at..at + LOCATOR_LEN].copy_from_slice(&loc.to_bytes());
        }
        let sum = checksum(&b, field::CHECKSUM);
        put32(&mut b, field::CHECKSUM, sum);
        Ok(b)
    }

    /// Bytes of the sector bitmap that precedes each block's data, padded to a sector.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// // 2 MiB blocks: 4096 sectors, 512 bytes of bits.
    /// assert_eq!(disk.header().map(|h| h.bitmap_len()), Some(512));
    /// let big = VhdBuilder::dynamic(256 << 20).block_size(256 << 20).create(MemStorage::default())?;
    /// assert_eq!(big.header().map(|h| h.bitmap_len()), Some(64 << 10));
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn bitmap_len(&self) -> u64 {
        (u64::from(self.block_size) / 512)
            .div_ceil(8)
            .next_multiple_of(512)
    }
}
