//! The hard disk footer (VHD specification, "Hard Disk Footer Format"): 512 bytes at the end of
//! every VHD file, and a copy at offset 0 of dynamic and differencing disks.

use uuid::Uuid;

use crate::checksum::checksum;
use crate::{Chs, Error, Result, VhdTime};

/// Length of the footer.
///
/// ```
/// use vhd::{FOOTER_LEN, MemStorage, Storage, VhdBuilder};
/// let disk = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
/// assert_eq!(disk.storage().len()?, (1 << 20) + FOOTER_LEN as u64); // data, then the footer
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub const FOOTER_LEN: usize = 512;

mod field {
    pub(super) const COOKIE: usize = 0;
    pub(super) const FEATURES: usize = 8;
    pub(super) const VERSION: usize = 12;
    pub(super) const DATA_OFFSET: usize = 16;
    pub(super) const TIMESTAMP: usize = 24;
    pub(super) const CREATOR_APP: usize = 28;
    pub(super) const CREATOR_VERSION: usize = 32;
    pub(super) const CREATOR_OS: usize = 36;
    pub(super) const ORIGINAL_SIZE: usize = 40;
    pub(super) const CURRENT_SIZE: usize = 48;
    pub(super) const CYLINDERS: usize = 56;
    pub(super) const HEADS: usize = 58;
    pub(super) const SECTORS: usize = 59;
    pub(super) const DISK_TYPE: usize = 60;
    pub(super) const CHECKSUM: usize = 64;
    pub(super) const UNIQUE_ID: usize = 68;
    pub(super) const SAVED_STATE: usize = 84;
}

const COOKIE: &[u8; 8] = b"conectix";
/// File Format Version 1.0.
const VERSION: u32 = 0x0001_0000;
/// Features bit 1, "Reserved. This bit must always be set to 1."
///
/// ```
/// use vhd::{DiskType, FEATURE_RESERVED, Footer, VhdTime};
/// let footer = Footer::new(DiskType::Fixed, 1 << 20, VhdTime(0), uuid::Uuid::from_u128(1));
/// assert_eq!(footer.features, FEATURE_RESERVED);
/// ```
pub const FEATURE_RESERVED: u32 = 0x2;
/// Features bit 0: the disk is a candidate for deletion on shutdown.
///
/// ```
/// use vhd::{DiskType, FEATURE_RESERVED, FEATURE_TEMPORARY, Footer, VhdTime};
/// let mut footer = Footer::new(DiskType::Dynamic, 1 << 20, VhdTime(0), uuid::Uuid::from_u128(1));
/// footer.features |= FEATURE_TEMPORARY;
/// let parsed = Footer::parse(&footer.to_bytes(), 0)?;
/// assert_eq!(parsed.features, FEATURE_RESERVED | FEATURE_TEMPORARY);
/// # Ok::<(), vhd::Error>(())
/// ```
pub const FEATURE_TEMPORARY: u32 = 0x1;
/// The Data Offset of a fixed disk: "all 64 bits set", as every implementation writes it.
///
/// ```
/// use vhd::{NO_DATA_OFFSET, VhdBuilder};
/// assert_eq!(VhdBuilder::fixed(1 << 20).footer()?.data_offset, NO_DATA_OFFSET);
/// assert_eq!(VhdBuilder::dynamic(1 << 20).footer()?.data_offset, 512);
/// # Ok::<(), vhd::Error>(())
/// ```
pub const NO_DATA_OFFSET: u64 = u64::MAX;

/// The disk types of the footer's Disk Type field.
///
/// ```
/// assert_eq!(vhd::DiskType::Differencing as u32, 4);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DiskType {
    /// 2: raw data followed by the footer.
    Fixed = 2,
    /// 3: blocks allocated on first write; unwritten sectors read as zero.
    Dynamic = 3,
    /// 4: like dynamic, but unwritten sectors read from the parent disk.
    Differencing = 4,
}

impl DiskType {
    /// Whether the disk has a dynamic header, a BAT and blocks.
    ///
    /// ```
    /// use vhd::DiskType;
    /// assert!(!DiskType::Fixed.is_sparse());
    /// assert!(DiskType::Dynamic.is_sparse() && DiskType::Differencing.is_sparse());
    /// ```
    pub fn is_sparse(self) -> bool {
        self != DiskType::Fixed
    }
}

impl core::fmt::Display for DiskType {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            DiskType::Fixed => "fixed",
            DiskType::Dynamic => "dynamic",
            DiskType::Differencing => "differencing",
        })
    }
}

/// The hard disk footer.
///
/// ```
/// use vhd::{Chs, DiskType, Footer, VhdTime};
/// let footer = Footer::new(DiskType::Dynamic, 1 << 30, VhdTime(0), uuid::Uuid::from_u128(7));
/// let bytes = footer.to_bytes();
/// assert_eq!(&bytes[..8], b"conectix");
/// assert_eq!(Footer::parse(&bytes, 0)?, footer);
/// assert_eq!(footer.geometry, Chs::from_size(1 << 30));
/// # Ok::<(), vhd::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Footer {
    /// Features: [`FEATURE_RESERVED`] (always set) and [`FEATURE_TEMPORARY`].
    pub features: u32,
    /// Byte offset of the dynamic header; [`NO_DATA_OFFSET`] for fixed disks.
    pub data_offset: u64,
    /// Creation time.
    pub timestamp: VhdTime,
    /// Creator Application, four ASCII bytes (`b"vpc "`, `b"win "`, `b"qemu"`, ...).
    pub creator_app: [u8; 4],
    /// Creator Version, major << 16 | minor.
    pub creator_version: u32,
    /// Creator Host OS: `b"Wi2k"` or `b"Mac "`.
    pub creator_os: [u8; 4],
    /// Original Size: the size at creation (libvhdi reads the disk size from here).
    pub original_size: u64,
    /// Current Size: the size the guest sees.
    pub current_size: u64,
    /// Disk geometry.
    pub geometry: Chs,
    /// Disk Type.
    pub disk_type: DiskType,
    /// Unique Id; a differencing child records its parent's.
    pub unique_id: Uuid,
    /// Saved State: the VM that uses the disk is in a saved state.
    pub saved_state: bool,
}

/// This crate's Creator Application value.
///
/// ```
/// let footer = vhd::VhdBuilder::fixed(1 << 20).footer()?;
/// assert_eq!(footer.creator_app, vhd::CREATOR_APP);
/// assert_eq!(&vhd::CREATOR_APP, b"dlis");
/// # Ok::<(), vhd::Error>(())
/// ```
pub const CREATOR_APP: [u8; 4] = *b"dlis";
/// This crate's Creator Version (0.1).
///
/// ```
/// use vhd::CREATOR_VERSION;
/// let footer = vhd::VhdBuilder::fixed(1 << 20).footer()?;
/// assert_eq!(footer.creator_version, CREATOR_VERSION);
/// assert_eq!((CREATOR_VERSION >> 16, CREATOR_VERSION & 0xffff), (0, 1)); // major, minor
/// # Ok::<(), vhd::Error>(())
/// ```
pub const CREATOR_VERSION: u32 = 0x0000_0001;

impl Footer {
    /// A footer for a new disk: exact size, the specification's geometry for it, this crate as
    /// creator, and the data offset each type needs (512 for dynamic and differencing disks).
    ///
    /// ```
    /// use vhd::{DiskType, Footer, VhdTime};
    /// let footer = Footer::new(DiskType::Dynamic, 100 << 20, VhdTime(0), uuid::Uuid::from_u128(1));
    /// assert_eq!((footer.original_size, footer.current_size), (100 << 20, 100 << 20));
    /// assert_eq!(footer.data_offset, 512);
    /// assert_eq!(footer.creator_app, vhd::CREATOR_APP);
    /// ```
    pub fn new(disk_type: DiskType, size: u64, timestamp: VhdTime, unique_id: Uuid) -> Footer {
        Footer {
            features: FEATURE_RESERVED,
            data_offset: if disk_type.is_sparse() {
                FOOTER_LEN as u64
            } else {
                NO_DATA_OFFSET
            },
            timestamp,
            creator_app: CREATOR_APP,
            creator_version: CREATOR_VERSION,
            creator_os: *b"Wi2k",
            original_size: size,
            current_size: size,
            geometry: Chs::from_size(size),
            disk_type,
            unique_id,
            saved_state: false,
        }
    }

    /// Parses a footer read at byte `offset` of the file (the offset is for error messages).
    ///
    /// ```
    /// use vhd::{ErrorKind, FOOTER_LEN, Footer, MemStorage, Storage, VhdBuilder};
    /// let storage = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?.into_storage();
    /// let mut raw = [0u8; FOOTER_LEN];
    /// storage.read_exact_at(&mut raw, 1 << 20)?; // the last 512 bytes
    /// assert_eq!(Footer::parse(&raw, 1 << 20)?.current_size, 1 << 20);
    /// raw[100] ^= 1;
    /// let damaged = Footer::parse(&raw, 1 << 20);
    /// assert_eq!(damaged.err().map(|e| e.kind()), Some(ErrorKind::Corrupt)); // checksum
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidFormat`] for a wrong cookie, [`Error::Checksum`], and
    /// [`Error::Unsupported`] for another format version or disk type.
    pub fn parse(b: &[u8; FOOTER_LEN], offset: u64) -> Result<Footer> {
        if &b[..8] != COOKIE {
            return Err(Error::InvalidFormat {
                what: "footer cookie is not \"conectix\"",
                offset,
            });
        }
        let stored = be32(b, field::CHECKSUM);
        let expected = checksum(b, field::CHECKSUM);
        if stored != expected {
            return Err(Error::Checksum {
                structure: "footer",
                offset,
                expected,
                found: stored,
            });
        }
        if be32(b, field::VERSION) != VERSION {
            return Err(Error::Unsupported {
                what: "footer file format version other than 1.0",
            });
        }
        let disk_type = match be32(b, field::DISK_TYPE) {
            2 => DiskType::Fixed,
            3 => DiskType::Dynamic,
            4 => DiskType::Differencing,
            _ => {
                return Err(Error::Unsupported {
                    what: "disk type other than 2, 3 or 4",
                });
            }
        };
        Ok(Footer {
            features: be32(b, field::FEATURES),
            data_offset: be64(b, field::DATA_OFFSET),
            timestamp: VhdTime(be32(b, field::TIMESTAMP)),
            creator_app: bytes4(b, field::CREATOR_APP),
            creator_version: be32(b, field::CREATOR_VERSION),
            creator_os: bytes4(b, field::CREATOR_OS),
            original_size: be64(b, field::ORIGINAL_SIZE),
            current_size: be64(b, field::CURRENT_SIZE),
            geometry: Chs {
                cylinders: u16::from_be_bytes([b[field::CYLINDERS], b[field::CYLINDERS + 1]]),
                heads: b[field::HEADS],
                sectors: b[field::SECTORS],
            },
            disk_type,
            unique_id: Uuid::from_bytes(bytes16(b, field::UNIQUE_ID)),
            saved_state: b[field::SAVED_STATE] != 0,
        })
    }

    /// The 512 bytes of this footer, checksum computed.
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::fixed(1 << 20).create(MemStorage::default())?;
    /// let file = disk.storage().to_vec();
    /// assert_eq!(disk.footer().to_bytes()[..], file[1 << 20..]); // the file's last 512 bytes
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn to_bytes(&self) -> [u8; FOOTER_LEN] {
        let mut b = [0u8; FOOTER_LEN];
        b[field::COOKIE..8].copy_from_slice(COOKIE);
        put32(&mut b, field::FEATURES, self.features);
        put32(&mut b, field::VERSION, VERSION);
        b[field::DATA_OFFSET..field::DATA_OFFSET + 8]
            .copy_from_slice(&self.data_offset.to_be_bytes());
        put32(&mut b, field::TIMESTAMP, self.timestamp.0);
        b[field::CREATOR_APP..field::CREATOR_APP + 4].copy_from_slice(&self.creator_app);
        put32(&mut b, field::CREATOR_VERSION, self.creator_version);
        b[field::CREATOR_OS..field::CREATOR_OS + 4].copy_from_slice(&self.creator_os);
        b[field::ORIGINAL_SIZE..field::ORIGINAL_SIZE + 8]
            .copy_from_slice(&self.original_size.to_be_bytes());
        b[field::CURRENT_SIZE..field::CURRENT_SIZE + 8]
            .copy_from_slice(&self.current_size.to_be_bytes());
        b[field::CYLINDERS..field::CYLINDERS + 2]
            .copy_from_slice(&self.geometry.cylinders.to_be_bytes());
        b[field::HEADS] = self.geometry.heads;
        b[field::SECTORS] = self.geometry.sectors;
        put32(&mut b, field::DISK_TYPE, self.disk_type as u32);
        b[field::UNIQUE_ID..field::UNIQUE_ID + 16].copy_from_slice(self.unique_id.as_bytes());
        b[field::SAVED_STATE] = u8::from(self.saved_state);
        let sum = checksum(&b, field::CHECKSUM);
        put32(&mut b, field::CHECKSUM, sum);
        b
    }
}

pub(crate) fn be32(b: &[u8], at: usize) -> u32 {
    u32::from_be_bytes(bytes4(b, at))
}

pub(crate) fn be64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_be_bytes(x)
}

pub(crate) fn bytes4(b: &[u8], at: usize) -> [u8; 4] {
    [b[at], b[at + 1], b[at + 2], b[at + 3]]
}

pub(crate) fn bytes16(b: &[u8], at: usize) -> [u8; 16] {
    let mut x = [0u8; 16];
    x.copy_from_slice(&b[at..at + 16]);
    x
}

pub(crate) fn put32(b: &mut [u8], at: usize, v: u32) {
    b[at..at + 4].copy_from_slice(&v.to_be_bytes());
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The Azure-exported fixed footer quoted in the reference notes, field by field.
    #[test]
    fn parses_azure_fixed_footer() {
        let mut b = [0u8; 512];
        b[..0x58].copy_from_slice(&[
            0x63, 0x6f, 0x6e, 0x65, 0x63, 0x74, 0x69, 0x78, // "conectix"
            0x00, 0x00, 0x00, 0x02, // features: reserved bit
            0x00, 0x01, 0x00, 0x00, // version 1.0
            0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, // data offset: none (fixed)
            0x2e, 0xc7, 0x9b, 0x96, // time stamp
            0x77, 0x61, 0x00, 0x00, // creator "wa\0\0" (Azure)
            0x00, 0x07, 0x00, 0x00, // creator version 7.0
            0x57, 0x69, 0x32, 0x6b, // "Wi2k"
            0x00, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x00, // original size 5 GiB
            0x00, 0x00, 0x00, 0x01, 0x40, 0x00, 0x00, 0x00, // current size 5 GiB
            0x28, 0xa2, 0x10, 0x3f, // CHS 10402/16/63
            0x00, 0x00, 0x00, 0x02, // fixed
            0xff, 0xff, 0xe7, 0x47, // checksum
            0x8c, 0x54, 0xdf, 0x94, 0xbd, 0x35, 0x71, 0x4c, 0x94, 0x5f, 0xe5, 0x44, 0x44, 0x53,
            0x92, 0x1a, // unique id
            0x00, 0x00, 0x00, 0x00, // saved state, reserved
        ]);
        let f = Footer::parse(&b, 0).unwrap();
        assert_eq!(f.disk_type, DiskType::Fixed);
        assert_eq!(f.current_size, 5 << 30);
        assert_eq!(
            f.geometry,
            Chs {
                cylinders: 10402,
                heads: 16,
                sectors: 63
            }
        );
        assert_eq!(f.geometry, Chs::from_size(5 << 30));
        assert_eq!(&f.creator_app, b"wa\0\0");
        assert_eq!(f.data_offset, NO_DATA_OFFSET);
        assert_eq!(f.to_bytes(), b);
    }

    #[test]
    fn rejects_bad_cookie_checksum_and_type() {
        let good = Footer::new(DiskType::Dynamic, 1 << 20, VhdTime(1), Uuid::from_u128(1));
        let mut b = good.to_bytes();
        b[0] = b'C';
        assert!(matches!(
            Footer::parse(&b, 4096),
            Err(Error::InvalidFormat { offset: 4096, .. })
        ));
        let mut b = good.to_bytes();
        b[100] = 1;
        assert!(matches!(
            Footer::parse(&b, 0),
            Err(Error::Checksum {
                structure: "footer",
                ..
            })
        ));
        let mut bad_type = good;
        bad_type.disk_type = DiskType::Fixed;
        let mut b = bad_type.to_bytes();
        b[63] = 5;
        let sum = checksum(&b, 64);
        put32(&mut b, 64, sum);
        assert!(matches!(
            Footer::parse(&b, 0),
            Err(Error::Unsupported { .. })
        ));
    }
}
