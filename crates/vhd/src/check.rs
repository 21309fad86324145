//! Checking and repairing VHD files, as `qemu-img check` and `vhd-util check`/`repair` do.
//!
//! [`check`] reads the raw structures itself (footer and copy, dynamic header, BAT, locators
//! and, on request, the data behind clear bitmap bits), so it works on files that
//! [`Disk::open`](crate::Disk::open) refuses, and lists every [`Problem`] it finds with the
//! byte offset concerned. [`repair`] fixes what can be fixed without guessing, in an order that
//! keeps the file valid (or at least repairable again) if it is itself interrupted.
//!
//! The rules follow the reference checkers (VHD specification; blktap `vhd-util-check.c` and
//! `vhd-util-repair.c`; VirtualBox `vhdRepair`): the trailing footer is primary and the copy at
//! offset 0 must be byte-identical; the header checksum must match; every BAT entry must point
//! at a block inside the file, clear of the metadata and of every other block; and the space
//! between the last block and the trailing footer is unreferenced ("leaked"), which a crash in
//! the middle of a block allocation leaves behind (see the crash-safety notes on
//! [`Disk`](crate::Disk)).

use crate::bitmap;
use crate::checksum::checksum;
use crate::disk::{DATA_ALIGNMENT, UNALLOCATED, aligned_block_start};
use crate::dyn_header::{DynamicHeader, HEADER_LEN};
use crate::footer::{
    DiskType, FEATURE_RESERVED, FEATURE_TEMPORARY, FOOTER_LEN, Footer, NO_DATA_OFFSET, be32, be64,
    put32,
};
use crate::storage::{overlaps, read, write};
use crate::{Error, PlatformCode, Result, Storage};

/// Byte offsets inside the footer and the dynamic header (VHD specification, "Hard Disk Footer
/// Format" and "Dynamic Disk Header Format") that the checker reads raw.
mod field {
    pub(super) const FOOTER_DATA_OFFSET: u64 = 16;
    /// Footer bytes 85..512 are reserved.
    pub(super) const FOOTER_RESERVED: usize = 85;
    pub(super) const HEADER_DATA_OFFSET: usize = 8;
    pub(super) const HEADER_CHECKSUM: usize = 36;
    /// Header bytes 60..64 and 768..1024 are reserved.
    pub(super) const HEADER_RESERVED: [(usize, usize); 2] = [(60, 64), (768, 1024)];
    pub(super) const HEADER_MAX_TABLE_ENTRIES: u64 = 28;
    pub(super) const LOCATORS: usize = 576;
    pub(super) const LOCATOR_LEN: usize = 24;
    /// Bytes 12..16 of each locator entry are reserved.
    pub(super) const LOCATOR_RESERVED: (usize, usize) = (12, 16);
}

/// Largest BAT the checker reads (as [`Disk::open`](crate::Disk::open): 16 Mi entries).
const MAX_BAT_ENTRIES: u64 = 16 << 20;

const SECTOR: u64 = 512;

/// How bad a [`Problem`] is.
///
/// ```
/// use vhd::Severity;
/// assert!(Severity::Error > Severity::Leak && Severity::Leak > Severity::Warning);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Informational: readers accept the file, but it departs from the specification or
    /// from what other tools write (non-zero reserved bytes, a null unique id, ...).
    Warning,
    /// Unreferenced space in the file: harmless, but it wastes room ([`repair`] reclaims it).
    Leak,
    /// The structures are inconsistent: some reader refuses the file or may return wrong data.
    Error,
}

impl core::fmt::Display for Severity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Severity::Warning => "warning",
            Severity::Leak => "leak",
            Severity::Error => "error",
        })
    }
}

/// What is wrong with one copy of the footer.
///
/// ```
/// use vhd::FooterDamage;
/// let d = FooterDamage::Checksum { stored: 1, computed: 2 };
/// assert_eq!(d.to_string(), "checksum is 0x00000001, contents give 0x00000002");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FooterDamage {
    /// No `conectix` cookie: there is no footer there at all.
    Missing,
    /// The checksum does not match the contents.
    Checksum {
        /// The checksum stored in the footer.
        stored: u32,
        /// The checksum of the contents.
        computed: u32,
    },
    /// A file format version or disk type this crate does not know.
    Unsupported {
        /// What, e.g. `"disk type other than 2, 3 or 4"`.
        what: &'static str,
    },
}

impl core::fmt::Display for FooterDamage {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FooterDamage::Missing => f.write_str("no \"conectix\" cookie"),
            FooterDamage::Checksum { stored, computed } => {
                write!(
                    f,
                    "checksum is {stored:#010x}, contents give {computed:#010x}"
                )
            }
            FooterDamage::Unsupported { what } => write!(f, "unsupported {what}"),
        }
    }
}

/// One problem [`check`] found. Offsets are byte offsets in the file.
///
/// ```
/// use vhd::{Problem, Severity};
/// let p = Problem::LeakedSpace { offset: 4096, len: 2048 };
/// assert_eq!(p.severity(), Severity::Leak);
/// assert!(p.is_repairable());
/// assert_eq!(p.offset(), Some(4096));
/// assert_eq!(p.to_string(), "2048 bytes at byte 4096 are not referenced by the BAT (leaked)");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Problem {
    /// The file is shorter than a footer.
    FileTooShort {
        /// The file length.
        len: u64,
    },
    /// Neither the trailing footer nor (dynamic and differencing disks) the copy at offset 0
    /// is valid: nothing says what the file is. Not repairable.
    NoValidFooter {
        /// Where the trailing footer should be.
        offset: u64,
        /// What is wrong with it.
        damage: FooterDamage,
        /// What is wrong with the copy at offset 0; `None` when offset 0 holds a valid footer
        /// of a fixed disk (which has no copy: that is guest data).
        copy: Option<FooterDamage>,
    },
    /// The trailing footer is damaged, the copy at offset 0 is good: [`repair`] rewrites the
    /// trailing footer from the copy.
    TrailingFooterDamaged {
        /// Where the trailing footer is.
        offset: u64,
        /// What is wrong with it.
        damage: FooterDamage,
    },
    /// The footer copy at offset 0 of a dynamic or differencing disk is damaged (or missing):
    /// [`repair`] rewrites it from the trailing footer.
    FooterCopyDamaged {
        /// What is wrong with the copy.
        damage: FooterDamage,
    },
    /// Both footers are valid but differ: [`repair`] rewrites the copy from the trailing
    /// footer, which is primary.
    FooterCopyMismatch {
        /// The first byte (within the 512) where they differ.
        first_difference: usize,
    },
    /// The length of a dynamic or differencing file is not a multiple of 512 bytes:
    /// [`repair`] moves the footer to the end of the data and truncates.
    UnalignedLength {
        /// The file length.
        len: u64,
    },
    /// A fixed disk's Current Size is not the length of the data before the footer. An error
    /// when the size is larger (readers refuse the file), a warning when smaller.
    FixedSizeMismatch {
        /// The footer's Current Size.
        current_size: u64,
        /// The bytes before the footer.
        data_len: u64,
    },
    /// Features lack the reserved bit `0x2` ("must always be set") or carry unknown bits.
    FooterFeatures {
        /// The Features field.
        features: u32,
    },
    /// The footer's Unique Id is all zeros.
    NullUniqueId,
    /// A Data Offset field that should have all 64 bits set does not (the fixed footer's, or
    /// the dynamic header's "next structure" field).
    UnexpectedDataOffset {
        /// Where the field is.
        offset: u64,
        /// Its value.
        value: u64,
    },
    /// A reserved field is not zero.
    NonZeroReserved {
        /// `"footer"`, `"dynamic header"` or `"parent locator"`.
        structure: &'static str,
        /// The first non-zero byte.
        offset: u64,
    },
    /// The footer's Data Offset does not point at a sector of the file where a dynamic header
    /// fits. Not repairable.
    HeaderOffsetInvalid {
        /// The footer's Data Offset.
        offset: u64,
    },
    /// The dynamic header is not one this crate can read (cookie, version, block size, parent
    /// name). Not repairable.
    HeaderUnreadable {
        /// Where the header is.
        offset: u64,
        /// What is wrong.
        what: &'static str,
    },
    /// The dynamic header's checksum does not match its (otherwise sane) contents:
    /// [`repair`] recomputes it.
    HeaderChecksum {
        /// Where the header is.
        offset: u64,
        /// The checksum stored.
        stored: u32,
        /// The checksum of the contents.
        computed: u32,
    },
    /// The BAT has fewer entries than the disk size needs. Not repairable.
    BatTooSmall {
        /// The Max Table Entries field.
        offset: u64,
        /// Its value.
        entries: u32,
        /// Entries the disk size needs.
        needed: u64,
    },
    /// The BAT is not inside the file's metadata area (or is larger than this crate reads).
    /// Not repairable.
    BatOutOfFile {
        /// The Table Offset.
        offset: u64,
        /// The BAT's length in bytes.
        len: u64,
    },
    /// A BAT entry points at a block that does not fit before the trailing footer:
    /// [`repair`] clears it (the block then reads as zeros, or from the parent).
    BatEntryOutOfFile {
        /// The block index.
        block: u32,
        /// Where the BAT entry is.
        entry_offset: u64,
        /// Where it points.
        block_offset: u64,
    },
    /// A BAT entry points at a block that overlaps the footer copy, the header, the BAT or a
    /// parent locator: [`repair`] clears it.
    BatEntryInMetadata {
        /// The block index.
        block: u32,
        /// Where the BAT entry is.
        entry_offset: u64,
        /// Where it points.
        block_offset: u64,
        /// The structure it overlaps.
        structure: &'static str,
    },
    /// Two BAT entries point at overlapping blocks. [`repair`] keeps `a`, the block that
    /// starts first in the file (the lower index when both start at the same place), and
    /// clears `b`: no rule can tell whose data the shared sectors hold, so the rule is simply
    /// the one that keeps the earliest allocation.
    BatEntriesOverlap {
        /// The block kept.
        a: u32,
        /// The block cleared.
        b: u32,
        /// Where block `a` starts.
        a_offset: u64,
        /// Where block `b` starts.
        b_offset: u64,
    },
    /// Space between the end of the last block (or of the metadata) and the trailing footer
    /// that nothing references, e.g. after a crash in the middle of a block allocation:
    /// [`repair`] moves the footer back and truncates.
    LeakedSpace {
        /// Where the leaked space starts.
        offset: u64,
        /// Its length.
        len: u64,
    },
    /// Sectors of a dynamic disk whose bitmap bit is clear hold non-zero bytes (found only
    /// with [`CheckOptions::scan_unwritten_sectors`]). The specification requires them to be
    /// zero; this crate reads them as zeros, qemu reads the bytes. [`repair`] zeroes them.
    BitmapClearButDataNonZero {
        /// The block index.
        block: u32,
        /// Where the first such sector is.
        offset: u64,
        /// Bytes in the run of such sectors.
        len: u64,
    },
    /// A parent locator's payload does not lie inside the file. Not repairable.
    LocatorOutOfFile {
        /// The locator's index (0..8).
        index: usize,
        /// Its Platform Data Offset.
        offset: u64,
        /// The bytes it claims.
        len: u64,
    },
    /// A parent locator has a platform code the specification does not define.
    UnknownLocatorPlatform {
        /// The locator's index (0..8).
        index: usize,
        /// The code.
        code: PlatformCode,
    },
    /// A disk that is not differencing has a parent unique id, name or locators.
    UnexpectedParentFields,
    /// At least 4 KiB before a block that nothing references: the place of a block that
    /// [`Disk::discard`](crate::Disk::discard) released, or space another tool left. Harmless
    /// (a warning); converting the disk into a new file ([`crate::convert`]) reclaims it,
    /// [`repair`] does not (it only truncates space at the end of the file).
    UnusedSpace {
        /// Where the unused space starts.
        offset: u64,
        /// Its length.
        len: u64,
    },
}

impl Problem {
    /// How bad the problem is.
    ///
    /// ```
    /// use vhd::{Problem, Severity};
    /// assert_eq!(Problem::NullUniqueId.severity(), Severity::Warning);
    /// assert_eq!(Problem::LeakedSpace { offset: 8192, len: 4096 }.severity(), Severity::Leak);
    /// assert_eq!(Problem::UnalignedLength { len: 1000 }.severity(), Severity::Error);
    /// ```
    pub fn severity(&self) -> Severity {
        match self {
            Problem::LeakedSpace { .. } => Severity::Leak,
            Problem::FixedSizeMismatch {
                current_size,
                data_len,
            } if current_size <= data_len => Severity::Warning,
            Problem::FooterFeatures { .. }
            | Problem::NullUniqueId
            | Problem::UnexpectedDataOffset { .. }
            | Problem::NonZeroReserved { .. }
            | Problem::UnknownLocatorPlatform { .. }
            | Problem::UnexpectedParentFields
            | Problem::UnusedSpace { .. } => Severity::Warning,
            _ => Severity::Error,
        }
    }

    /// Whether [`repair`] fixes this problem. Warnings are left alone.
    ///
    /// ```
    /// use vhd::Problem;
    /// assert!(Problem::UnalignedLength { len: 1000 }.is_repairable());
    /// assert!(!Problem::LocatorOutOfFile { index: 0, offset: 1 << 40, len: 512 }.is_repairable());
    /// ```
    pub fn is_repairable(&self) -> bool {
        matches!(
            self,
            Problem::TrailingFooterDamaged { .. }
                | Problem::FooterCopyDamaged { .. }
                | Problem::FooterCopyMismatch { .. }
                | Problem::UnalignedLength { .. }
                | Problem::HeaderChecksum { .. }
                | Problem::BatEntryOutOfFile { .. }
                | Problem::BatEntryInMetadata { .. }
                | Problem::BatEntriesOverlap { .. }
                | Problem::LeakedSpace { .. }
                | Problem::BitmapClearButDataNonZero { .. }
        )
    }

    /// The byte offset in the file the problem concerns, where there is one.
    ///
    /// ```
    /// use vhd::Problem;
    /// assert_eq!(Problem::UnalignedLength { len: 1000 }.offset(), Some(1000));
    /// assert_eq!(Problem::NullUniqueId.offset(), None);
    /// ```
    pub fn offset(&self) -> Option<u64> {
        match self {
            Problem::NoValidFooter { offset, .. }
            | Problem::TrailingFooterDamaged { offset, .. }
            | Problem::UnexpectedDataOffset { offset, .. }
            | Problem::NonZeroReserved { offset, .. }
            | Problem::HeaderOffsetInvalid { offset }
            | Problem::HeaderUnreadable { offset, .. }
            | Problem::HeaderChecksum { offset, .. }
            | Problem::BatTooSmall { offset, .. }
            | Problem::BatOutOfFile { offset, .. }
            | Problem::LeakedSpace { offset, .. }
            | Problem::UnusedSpace { offset, .. }
            | Problem::BitmapClearButDataNonZero { offset, .. }
            | Problem::LocatorOutOfFile { offset, .. } => Some(*offset),
            Problem::FooterCopyDamaged { .. } => Some(0),
            Problem::FooterCopyMismatch { first_difference } => Some(*first_difference as u64),
            Problem::UnalignedLength { len } | Problem::FileTooShort { len } => Some(*len),
            Problem::FixedSizeMismatch { data_len, .. } => Some(*data_len),
            Problem::BatEntryOutOfFile { entry_offset, .. }
            | Problem::BatEntryInMetadata { entry_offset, .. } => Some(*entry_offset),
            Problem::BatEntriesOverlap { b_offset, .. } => Some(*b_offset),
            Problem::FooterFeatures { .. }
            | Problem::NullUniqueId
            | Problem::UnknownLocatorPlatform { .. }
            | Problem::UnexpectedParentFields => None,
        }
    }
}

impl core::fmt::Display for Problem {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Problem::FileTooShort { len } => {
                write!(f, "the file is {len} bytes long, shorter than a VHD footer")
            }
            Problem::NoValidFooter {
                offset,
                damage,
                copy,
            } => {
                write!(
                    f,
                    "no valid footer: the trailing footer at byte {offset} has {damage}"
                )?;
                match copy {
                    Some(copy) => write!(f, ", the copy at byte 0 has {copy}"),
                    None => f.write_str(" and the file has no footer copy"),
                }
            }
            Problem::TrailingFooterDamaged { offset, damage } => write!(
                f,
                "the trailing footer at byte {offset} has {damage}; the copy at byte 0 is good"
            ),
            Problem::FooterCopyDamaged { damage } => {
                write!(f, "the footer copy at byte 0 has {damage}")
            }
            Problem::FooterCopyMismatch { first_difference } => write!(
                f,
                "the footer copy at byte 0 differs from the trailing footer (first at footer byte \
                 {first_difference})"
            ),
            Problem::UnalignedLength { len } => {
                write!(f, "the file length {len} is not a multiple of 512 bytes")
            }
            Problem::FixedSizeMismatch {
                current_size,
                data_len,
            } => write!(
                f,
                "the fixed disk's size is {current_size} bytes but {data_len} bytes precede the \
                 footer"
            ),
            Problem::FooterFeatures { features } => write!(
                f,
                "footer features {features:#010x}: the reserved bit 0x2 must be set and no \
                 other bit than 0x1"
            ),
            Problem::NullUniqueId => f.write_str("the footer's unique id is all zeros"),
            Problem::UnexpectedDataOffset { offset, value } => write!(
                f,
                "the data offset at byte {offset} is {value:#x}, not all ones"
            ),
            Problem::NonZeroReserved { structure, offset } => {
                write!(
                    f,
                    "reserved bytes of the {structure} are not zero (byte {offset})"
                )
            }
            Problem::HeaderOffsetInvalid { offset } => write!(
                f,
                "the footer's data offset {offset} is not a sector of the file with room for \
                 the dynamic header"
            ),
            Problem::HeaderUnreadable { offset, what } => {
                write!(
                    f,
                    "the dynamic header at byte {offset} is unreadable: {what}"
                )
            }
            Problem::HeaderChecksum {
                offset,
                stored,
                computed,
            } => write!(
                f,
                "the dynamic header checksum at byte {offset} is {stored:#010x}, contents give \
                 {computed:#010x}"
            ),
            Problem::BatTooSmall {
                offset,
                entries,
                needed,
            } => write!(
                f,
                "the BAT has {entries} entries (byte {offset}), the disk size needs {needed}"
            ),
            Problem::BatOutOfFile { offset, len } => write!(
                f,
                "the BAT ({len} bytes at byte {offset}) is not inside the file's metadata area"
            ),
            Problem::BatEntryOutOfFile {
                block,
                entry_offset,
                block_offset,
            } => write!(
                f,
                "BAT entry {block} (byte {entry_offset}) points at byte {block_offset}, past the \
                 end of the data"
            ),
            Problem::BatEntryInMetadata {
                block,
                entry_offset,
                block_offset,
                structure,
            } => write!(
                f,
                "BAT entry {block} (byte {entry_offset}) points at byte {block_offset}, over \
                 the {structure}"
            ),
            Problem::BatEntriesOverlap {
                a,
                b,
                a_offset,
                b_offset,
            } => write!(
                f,
                "blocks {a} (byte {a_offset}) and {b} (byte {b_offset}) overlap"
            ),
            Problem::LeakedSpace { offset, len } => write!(
                f,
                "{len} bytes at byte {offset} are not referenced by the BAT (leaked)"
            ),
            Problem::BitmapClearButDataNonZero { block, offset, len } => write!(
                f,
                "block {block}: {len} bytes at byte {offset} are not zero but their bitmap \
                 bits are clear"
            ),
            Problem::LocatorOutOfFile { index, offset, len } => write!(
                f,
                "parent locator {index} claims {len} bytes at byte {offset}, outside the file"
            ),
            Problem::UnknownLocatorPlatform { index, code } => {
                write!(
                    f,
                    "parent locator {index} has unknown platform code {code:?}"
                )
            }
            Problem::UnexpectedParentFields => f.write_str(
                "a disk that is not differencing has a parent unique id, name or locators",
            ),
            Problem::UnusedSpace { offset, len } => write!(
                f,
                "{len} bytes at byte {offset}, before a block, are not referenced by the BAT \
                 (unused, e.g. a discarded block)"
            ),
        }
    }
}

/// What [`check_with`] and [`repair_with`] look at beyond the structures.
///
/// ```
/// let options = vhd::CheckOptions { scan_unwritten_sectors: true };
/// assert!(!vhd::CheckOptions::default().scan_unwritten_sectors);
/// # let _ = options;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CheckOptions {
    /// Dynamic disks: read the sectors whose bitmap bit is clear and report those that are not
    /// zero ([`Problem::BitmapClearButDataNonZero`]). This reads data, not only metadata.
    pub scan_unwritten_sectors: bool,
}

/// What [`check`] found.
///
/// ```
/// use vhd::{DiskType, MemStorage, VhdBuilder};
/// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// let report = vhd::check(disk.storage())?;
/// assert!(report.is_clean());
/// assert_eq!(report.disk_type, Some(DiskType::Dynamic));
/// println!("{report}");
/// # Ok::<(), vhd::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckReport {
    /// Every problem found, in file order as far as the structures allow.
    pub problems: Vec<Problem>,
    /// The disk type, when a valid footer says it.
    pub disk_type: Option<DiskType>,
    /// The file length.
    pub file_len: u64,
    /// The virtual size (Current Size), when a valid footer says it.
    pub virtual_size: Option<u64>,
    /// Blocks with a valid BAT entry (dynamic and differencing disks).
    pub allocated_blocks: u64,
    /// Dynamic and differencing disks: where the trailing footer belongs, right after the
    /// last block or the metadata, when the structures could be read.
    pub data_end: Option<u64>,
}

impl CheckReport {
    /// No errors and no leaks (warnings are informational).
    ///
    /// ```
    /// use vhd::{MemStorage, Storage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// assert!(vhd::check(disk.storage())?.is_clean());
    /// disk.storage().write_all_at(&[0; 4], 0)?; // damage the footer copy
    /// assert!(!vhd::check(disk.storage())?.is_clean());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_clean(&self) -> bool {
        self.problems
            .iter()
            .all(|p| p.severity() == Severity::Warning)
    }

    /// Whether any problem is an error.
    ///
    /// ```
    /// use vhd::{MemStorage, Problem, Storage, VhdBuilder};
    /// let storage = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?.into_storage();
    /// storage.write_all_at(&[0; 4], 0)?; // damage the footer copy
    /// let report = vhd::check(&storage)?;
    /// assert!(report.has_errors());
    /// assert!(matches!(report.problems[..], [Problem::FooterCopyDamaged { .. }]));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn has_errors(&self) -> bool {
        self.problems
            .iter()
            .any(|p| p.severity() == Severity::Error)
    }

    /// Total bytes of [`Problem::LeakedSpace`].
    ///
    /// ```
    /// use vhd::{MemStorage, VhdBuilder};
    /// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
    /// let mut bytes = disk.into_storage().into_inner();
    /// let footer = bytes.split_off(bytes.len() - 512);
    /// bytes.extend_from_slice(&[0; 1024]); // unreferenced, as a crash may leave it
    /// bytes.extend_from_slice(&footer);
    /// let report = vhd::check(&MemStorage::new(bytes))?;
    /// assert_eq!(report.leaked_bytes(), 1024);
    /// assert!(!report.has_errors());
    /// # Ok::<(), vhd::Error>(())
    /// ```
    pub fn leaked_bytes(&self) -> u64 {
        self.problems
            .iter()
            .map(|p| match p {
                Problem::LeakedSpace { len, .. } => *len,
                _ => 0,
            })
            .sum()
    }

    /// Whether [`repair`] can fix every error and leak found.
    ///
    /// ```
    /// use vhd::{MemStorage, Storage, VhdBuilder};
    /// let storage = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?.into_storage();
    /// storage.write_all_at(&[0; 4], 0)?; // damage the footer copy...
    /// assert!(vhd::check(&storage)?.is_repairable());
    /// let end = storage.len()? - 512;
    /// storage.write_all_at(&[0; 4], end)?; // ...and the trailing footer: nothing to repair from
    /// assert!(!vhd::check(&storage)?.is_repairable());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_repairable(&self) -> bool {
        self.problems
            .iter()
            .all(|p| p.severity() == Severity::Warning || p.is_repairable())
    }
}

impl core::fmt::Display for CheckReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.disk_type {
            Some(t) => write!(f, "{t} disk")?,
            None => f.write_str("unrecognised file")?,
        }
        if let Some(size) = self.virtual_size {
            write!(f, " of {size} bytes")?;
        }
        write!(f, ", file {} bytes", self.file_len)?;
        if self.disk_type.is_some_and(DiskType::is_sparse) {
            write!(f, ", {} blocks allocated", self.allocated_blocks)?;
        }
        if self.problems.is_empty() {
            return f.write_str(": no problems found");
        }
        f.write_str(":")?;
        for p in &self.problems {
            write!(f, "\n{}: {p}", p.severity())?;
        }
        Ok(())
    }
}

/// One change [`repair`] made.
///
/// ```
/// let a = vhd::RepairAction::FileTruncated { from: 8192, to: 4096 };
/// assert_eq!(a.to_string(), "truncated the file from 8192 to 4096 bytes");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RepairAction {
    /// Rewrote the dynamic header's checksum.
    HeaderChecksumRewritten {
        /// Where the header is.
        offset: u64,
        /// The checksum that was stored.
        old: u32,
        /// The checksum written.
        new: u32,
    },
    /// Set a BAT entry to `0xffffffff` (unallocated).
    BatEntryCleared {
        /// The block index.
        block: u32,
        /// Where the BAT entry is.
        entry_offset: u64,
        /// The sector number it held.
        was: u32,
    },
    /// Zeroed sectors of a dynamic disk whose bitmap bits are clear.
    SectorsZeroed {
        /// The block index.
        block: u32,
        /// Where the sectors are.
        offset: u64,
        /// How many bytes.
        len: u64,
    },
    /// Wrote the trailing footer at `offset`: moved back to the end of the data, or restored
    /// from the copy at offset 0.
    FooterWritten {
        /// Where it was written.
        offset: u64,
        /// Whether its contents came from the copy at offset 0 (else from the trailing footer).
        from_copy: bool,
    },
    /// Truncated the file after the footer.
    FileTruncated {
        /// The old length.
        from: u64,
        /// The new length.
        to: u64,
    },
    /// Rewrote the footer copy at offset 0 from the trailing footer.
    FooterCopyWritten,
}

impl core::fmt::Display for RepairAction {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RepairAction::HeaderChecksumRewritten { offset, old, new } => write!(
                f,
                "rewrote the dynamic header checksum at byte {offset}: {old:#010x} -> {new:#010x}"
            ),
            RepairAction::BatEntryCleared {
                block,
                entry_offset,
                was,
            } => write!(
                f,
                "cleared BAT entry {block} at byte {entry_offset} (was sector {was})"
            ),
            RepairAction::SectorsZeroed { block, offset, len } => {
                write!(f, "block {block}: zeroed {len} bytes at byte {offset}")
            }
            RepairAction::FooterWritten { offset, from_copy } => write!(
                f,
                "wrote the trailing footer at byte {offset} from the {}",
                if *from_copy {
                    "copy at byte 0"
                } else {
                    "old trailing footer"
                }
            ),
            RepairAction::FileTruncated { from, to } => {
                write!(f, "truncated the file from {from} to {to} bytes")
            }
            RepairAction::FooterCopyWritten => {
                f.write_str("rewrote the footer copy at byte 0 from the trailing footer")
            }
        }
    }
}

/// What [`repair`] did: the report before, the changes, and a fresh check after.
///
/// ```
/// use vhd::{MemStorage, Storage, VhdBuilder};
/// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// let storage = disk.into_storage();
/// storage.write_all_at(&[0xff; 4], 0)?; // break the footer copy
/// let report = vhd::repair(&storage)?;
/// assert!(!report.before.is_clean());
/// assert_eq!(report.actions, [vhd::RepairAction::FooterCopyWritten]);
/// assert!(report.is_clean());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RepairReport {
    /// The check before any change.
    pub before: CheckReport,
    /// The changes, in the order they were made (empty when nothing needed or could be done).
    pub actions: Vec<RepairAction>,
    /// The check after the changes.
    pub after: CheckReport,
}

impl RepairReport {
    /// Whether the file is clean now (warnings aside).
    ///
    /// ```
    /// use vhd::{MemStorage, Storage, VhdBuilder};
    /// let storage = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?.into_storage();
    /// storage.write_all_at(&[0; 4], 0)?; // damage the footer copy
    /// assert!(vhd::repair(&storage)?.is_clean());
    /// let end = storage.len()? - 512;
    /// storage.write_all_at(&[0; 4], 0)?;
    /// storage.write_all_at(&[0; 4], end)?; // both footers: beyond repair
    /// let report = vhd::repair(&storage)?;
    /// assert!(!report.is_clean() && report.actions.is_empty());
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn is_clean(&self) -> bool {
        self.after.is_clean()
    }
}

impl core::fmt::Display for RepairReport {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "before: {}", self.before)?;
        if self.actions.is_empty() {
            f.write_str("\nno changes made")?;
        }
        for a in &self.actions {
            write!(f, "\nrepair: {a}")?;
        }
        write!(f, "\nafter: {}", self.after)
    }
}

/// Checks the VHD file in `storage`, reading its raw structures (it never writes). Works on
/// files that [`Disk::open`](crate::Disk::open) refuses; problems are reported, not returned
/// as errors. Data sectors are not read (see [`check_with`]).
///
/// ```
/// use vhd::{MemStorage, Problem, Storage, VhdBuilder};
/// let disk = VhdBuilder::dynamic(1 << 20).block_size(4096).create(MemStorage::default())?;
/// let storage = disk.into_storage();
/// let mut bytes = storage.into_inner();
/// // Leak 4 KiB: move the trailing footer 4 KiB further.
/// let footer = bytes.split_off(bytes.len() - 512);
/// let leak_at = bytes.len() as u64;
/// bytes.extend_from_slice(&[0; 4096]);
/// bytes.extend_from_slice(&footer);
/// let report = vhd::check(&MemStorage::new(bytes))?;
/// assert_eq!(report.problems, [Problem::LeakedSpace { offset: leak_at, len: 4096 }]);
/// # Ok::<(), vhd::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the storage fails.
pub fn check<S: Storage>(storage: &S) -> Result<CheckReport> {
    check_with(storage, &CheckOptions::default())
}

/// [`check`] with options.
///
/// ```
/// use vhd::{CheckOptions, MemStorage, VhdBuilder};
/// let mut disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// disk.write_at(b"data", 0)?;
/// let options = CheckOptions { scan_unwritten_sectors: true };
/// assert!(vhd::check_with(disk.storage(), &options)?.is_clean());
/// # Ok::<(), vhd::Error>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the storage fails.
pub fn check_with<S: Storage>(storage: &S, options: &CheckOptions) -> Result<CheckReport> {
    Ok(inspect(storage, options)?.report)
}

/// Repairs what [`check`] finds, when every error is repairable (otherwise nothing is
/// changed and the report says so), then checks again.
///
/// What it does, in this order, flushing after each step:
///
/// 1. rewrites a bad dynamic header checksum (header first: everything else is found
///    through it);
/// 2. clears BAT entries that point outside the data, into metadata or onto another block
///    (4-byte writes, each within one sector);
/// 3. ([`repair_with`] and [`CheckOptions::scan_unwritten_sectors`]) zeroes non-zero sectors
///    whose bitmap bits are clear;
/// 4. writes the trailing footer at the end of the data (from the trailing footer, or from the
///    copy at offset 0 when the trailing one is damaged), flushes, and only then truncates the
///    file after it. The new footer lands in unreferenced space (or over the damaged footer),
///    so a crash before the truncation leaves the old footer (or the copy) valid and the file
///    repairable again; after the truncation the last 512 bytes are the new footer;
/// 5. rewrites the copy at offset 0 from the trailing footer if it is damaged or differs. The
///    copy is written only once the trailing footer is valid, so one valid footer exists at
///    every moment.
///
/// An interrupted repair therefore leaves a file that `repair` completes.
///
/// ```
/// use vhd::{MemStorage, Storage, VhdBuilder};
/// let disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// let mut bytes = disk.into_storage().into_inner();
/// let footer = bytes.split_off(bytes.len() - 512);
/// bytes.extend_from_slice(&[7; 1024]); // leaked space, e.g. after a crash
/// bytes.extend_from_slice(&footer);
/// let storage = MemStorage::new(bytes);
/// let report = vhd::repair(&storage)?;
/// assert_eq!(report.before.leaked_bytes(), 1024);
/// assert!(report.is_clean());
/// assert_eq!(storage.len()?, report.after.file_len);
/// vhd::Disk::open(storage, vhd::OpenOptions::read_write())?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the storage fails (reads, writes, flushes or the truncation).
pub fn repair<S: Storage>(storage: &S) -> Result<RepairReport> {
    repair_with(storage, &CheckOptions::default())
}

/// [`repair`] with options: with [`CheckOptions::scan_unwritten_sectors`], also zeroes the
/// sectors [`Problem::BitmapClearButDataNonZero`] reports.
///
/// ```
/// use vhd::{CheckOptions, MemStorage, Problem, Storage, VhdBuilder};
/// let mut disk = VhdBuilder::dynamic(1 << 20).create(MemStorage::default())?;
/// disk.write_at(&[1; 4096], 0)?; // allocates block 0 (2 MiB), marking its first 4 KiB written
/// let storage = disk.into_storage();
/// // The new block is the last thing before the footer; put bytes behind a clear bitmap bit.
/// let data_at = storage.len()? - 512 - (2 << 20);
/// storage.write_all_at(&[0xee; 512], data_at + 4096)?;
/// let options = CheckOptions { scan_unwritten_sectors: true };
/// let report = vhd::repair_with(&storage, &options)?;
/// let found = Problem::BitmapClearButDataNonZero { block: 0, offset: data_at + 4096, len: 512 };
/// assert_eq!(report.before.problems, [found]);
/// assert!(report.is_clean());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
///
/// # Errors
/// [`Error::Io`] when the storage fails.
pub fn repair_with<S: Storage>(storage: &S, options: &CheckOptions) -> Result<RepairReport> {
    let found = inspect(storage, options)?;
    let before = found.report;
    let needed = !before.is_clean();
    let (Some(layout), true, true) = (found.layout, needed, before.is_repairable()) else {
        return Ok(RepairReport {
            after: before.clone(),
            before,
            actions: Vec::new(),
        });
    };
    let mut actions = Vec::new();
    let flush = |at| storage.flush().map_err(Error::io("flushing a repair", at));

    // 1. The header checksum.
    if let Some((old, new)) = layout.header_checksum {
        let at = layout.header_offset + field::HEADER_CHECKSUM as u64;
        write(
            storage,
            &new.to_be_bytes(),
            at,
            "rewriting the header checksum",
        )?;
        flush(at)?;
        actions.push(RepairAction::HeaderChecksumRewritten {
            offset: layout.header_offset,
            old,
            new,
        });
    }
    // 2. BAT entries.
    for &(block, was) in &layout.clear {
        let entry_offset = layout.table_offset + 4 * u64::from(block);
        write(
            storage,
            &UNALLOCATED.to_be_bytes(),
            entry_offset,
            "clearing a BAT entry",
        )?;
        actions.push(RepairAction::BatEntryCleared {
            block,
            entry_offset,
            was,
        });
    }
    if !layout.clear.is_empty() {
        flush(layout.table_offset)?;
    }
    // 3. Non-zero sectors behind clear bits.
    for &(block, offset, len) in &layout.zero {
        let zeros = vec![0u8; len as usize];
        write(storage, &zeros, offset, "zeroing unwritten sectors")?;
        actions.push(RepairAction::SectorsZeroed { block, offset, len });
    }
    if !layout.zero.is_empty() {
        flush(0)?;
    }
    // 4. The trailing footer at the end of the data, then the truncation.
    let target = layout.data_end;
    let new_len = target + FOOTER_LEN as u64;
    if !layout.trailing_good || layout.footer_offset != target {
        write(storage, &layout.footer, target, "writing the footer")?;
        flush(target)?;
        actions.push(RepairAction::FooterWritten {
            offset: target,
            from_copy: !layout.trailing_good,
        });
    }
    if before.file_len != new_len {
        storage
            .set_len(new_len)
            .map_err(Error::io("truncating the file", new_len))?;
        flush(new_len)?;
        actions.push(RepairAction::FileTruncated {
            from: before.file_len,
            to: new_len,
        });
    }
    // 5. The copy at offset 0.
    if !layout.copy_good {
        write(storage, &layout.footer, 0, "writing the footer copy")?;
        flush(0)?;
        actions.push(RepairAction::FooterCopyWritten);
    }
    let after = inspect(storage, options)?.report;
    Ok(RepairReport {
        before,
        actions,
        after,
    })
}

/// What the repair needs to know about a dynamic or differencing file.
struct Layout {
    /// The footer to keep: the trailing one when valid, else the copy.
    footer: [u8; FOOTER_LEN],
    trailing_good: bool,
    /// The copy at offset 0 equals `footer`.
    copy_good: bool,
    footer_offset: u64,
    header_offset: u64,
    /// `(stored, computed)` when the header checksum is wrong.
    header_checksum: Option<(u32, u32)>,
    table_offset: u64,
    /// BAT entries to clear: `(block, old value)`.
    clear: Vec<(u32, u32)>,
    /// Runs to zero: `(block, offset, len)`.
    zero: Vec<(u32, u64, u64)>,
    data_end: u64,
}

struct Inspection {
    report: CheckReport,
    /// `None` for fixed disks and files whose structures could not be read.
    layout: Option<Layout>,
}

/// A footer read at `offset`: the parsed footer and its bytes, or the damage.
fn read_footer<S: Storage>(
    storage: &S,
    offset: u64,
) -> Result<core::result::Result<(Footer, [u8; FOOTER_LEN]), FooterDamage>> {
    let mut raw = [0u8; FOOTER_LEN];
    read(storage, &mut raw, offset, "reading a footer")?;
    Ok(match Footer::parse(&raw, offset) {
        Ok(footer) => Ok((footer, raw)),
        Err(Error::InvalidFormat { .. }) => Err(FooterDamage::Missing),
        Err(Error::Checksum {
            expected, found, ..
        }) => Err(FooterDamage::Checksum {
            stored: found,
            computed: expected,
        }),
        Err(Error::Unsupported { what }) => Err(FooterDamage::Unsupported { what }),
        Err(e) => return Err(e),
    })
}

/// The first non-zero byte of `b[from..to]`, as an index into `b`.
fn first_non_zero(b: &[u8], from: usize, to: usize) -> Option<usize> {
    b.get(from..to)?
        .iter()
        .position(|&x| x != 0)
        .map(|i| from + i)
}

fn inspect<S: Storage>(storage: &S, options: &CheckOptions) -> Result<Inspection> {
    let len = storage
        .len()
        .map_err(Error::io("reading the file length", 0))?;
    let mut report = CheckReport {
        problems: Vec::new(),
        disk_type: None,
        file_len: len,
        virtual_size: None,
        allocated_blocks: 0,
        data_end: None,
    };
    if len < FOOTER_LEN as u64 {
        report.problems.push(Problem::FileTooShort { len });
        return Ok(Inspection {
            report,
            layout: None,
        });
    }
    let footer_offset = len - FOOTER_LEN as u64;
    let problems = &mut report.problems;

    // The footers: the trailing one is primary, the copy at offset 0 its fallback.
    let (footer, raw, trailing_good, copy_good) = match read_footer(storage, footer_offset)? {
        Ok((footer, raw)) => {
            let mut copy_good = true;
            if footer.disk_type.is_sparse() {
                match read_footer(storage, 0)? {
                    Ok((_, copy)) if copy == raw => {}
                    Ok((_, copy)) => {
                        let first_difference =
                            copy.iter().zip(&raw).position(|(a, b)| a != b).unwrap_or(0);
                        problems.push(Problem::FooterCopyMismatch { first_difference });
                        copy_good = false;
                    }
                    Err(damage) => {
                        problems.push(Problem::FooterCopyDamaged { damage });
                        copy_good = false;
                    }
                }
            }
            (footer, raw, true, copy_good)
        }
        Err(damage) => match read_footer(storage, 0)? {
            Ok((copy, raw)) if copy.disk_type.is_sparse() => {
                problems.push(Problem::TrailingFooterDamaged {
                    offset: footer_offset,
                    damage,
                });
                (copy, raw, false, true)
            }
            copy => {
                problems.push(Problem::NoValidFooter {
                    offset: footer_offset,
                    damage,
                    copy: copy.err(),
                });
                return Ok(Inspection {
                    report,
                    layout: None,
                });
            }
        },
    };
    report.disk_type = Some(footer.disk_type);
    report.virtual_size = Some(footer.current_size);
    // The footer's own fields (vhd-util check): features, unique id, reserved bytes.
    if footer.features & FEATURE_RESERVED == 0
        || footer.features & !(FEATURE_RESERVED | FEATURE_TEMPORARY) != 0
    {
        problems.push(Problem::FooterFeatures {
            features: footer.features,
        });
    }
    if footer.unique_id.is_nil() {
        problems.push(Problem::NullUniqueId);
    }
    let footer_at = if trailing_good { footer_offset } else { 0 };
    if let Some(i) = first_non_zero(&raw, field::FOOTER_RESERVED, FOOTER_LEN) {
        problems.push(Problem::NonZeroReserved {
            structure: "footer",
            offset: footer_at + i as u64,
        });
    }

    if footer.disk_type == DiskType::Fixed {
        if footer.data_offset != NO_DATA_OFFSET {
            problems.push(Problem::UnexpectedDataOffset {
                offset: footer_offset + field::FOOTER_DATA_OFFSET,
                value: footer.data_offset,
            });
        }
        if footer.current_size != footer_offset {
            problems.push(Problem::FixedSizeMismatch {
                current_size: footer.current_size,
                data_len: footer_offset,
            });
        }
        return Ok(Inspection {
            report,
            layout: None,
        });
    }

    if len % SECTOR != 0 {
        problems.push(Problem::UnalignedLength { len });
    }
    let header_offset = footer.data_offset;
    if header_offset % SECTOR != 0
        || header_offset < FOOTER_LEN as u64
        || header_offset.saturating_add(HEADER_LEN as u64) > footer_offset
    {
        problems.push(Problem::HeaderOffsetInvalid {
            offset: header_offset,
        });
        return Ok(Inspection {
            report,
            layout: None,
        });
    }
    let mut hraw = [0u8; HEADER_LEN];
    read(
        storage,
        &mut hraw,
        header_offset,
        "reading the dynamic header",
    )?;
    let stored = be32(&hraw, field::HEADER_CHECKSUM);
    let computed = checksum(&hraw, field::HEADER_CHECKSUM);
    // Parse with the checksum corrected: the other fields decide whether the header is sane
    // enough for its checksum to be recomputed.
    let mut patched = hraw;
    put32(&mut patched, field::HEADER_CHECKSUM, computed);
    let header = match DynamicHeader::parse(&patched, header_offset) {
        Ok(header) => header,
        Err(
            Error::InvalidFormat { what, .. }
            | Error::Unsupported { what }
            | Error::Corrupt { what, .. },
        ) => {
            problems.push(Problem::HeaderUnreadable {
                offset: header_offset,
                what,
            });
            return Ok(Inspection {
                report,
                layout: None,
            });
        }
        Err(e) => return Err(e),
    };
    let header_checksum = (stored != computed).then_some((stored, computed));
    if header_checksum.is_some() {
        problems.push(Problem::HeaderChecksum {
            offset: header_offset,
            stored,
            computed,
        });
    }
    let next = be64(&hraw, field::HEADER_DATA_OFFSET);
    if next != u64::MAX {
        problems.push(Problem::UnexpectedDataOffset {
            offset: header_offset + field::HEADER_DATA_OFFSET as u64,
            value: next,
        });
    }
    let mut reserved = field::HEADER_RESERVED.to_vec();
    for i in 0..8 {
        let at = field::LOCATORS + i * field::LOCATOR_LEN;
        reserved.push((
            at + field::LOCATOR_RESERVED.0,
            at + field::LOCATOR_RESERVED.1,
        ));
    }
    for (from, to) in reserved {
        if let Some(i) = first_non_zero(&hraw, from, to) {
            let structure = if from >= field::LOCATORS && to <= 768 {
                "parent locator"
            } else {
                "dynamic header"
            };
            problems.push(Problem::NonZeroReserved {
                structure,
                offset: header_offset + i as u64,
            });
        }
    }

    let block_size = u64::from(header.block_size);
    let bitmap_len = header.bitmap_len();
    let entries = u64::from(header.max_table_entries);
    let table = header.table_offset;
    let table_len = entries * 4;
    let needed = footer.current_size.div_ceil(block_size);
    if entries < needed {
        problems.push(Problem::BatTooSmall {
            offset: header_offset + field::HEADER_MAX_TABLE_ENTRIES,
            entries: header.max_table_entries,
            needed,
        });
    }
    if entries > MAX_BAT_ENTRIES
        || table < FOOTER_LEN as u64
        || table.saturating_add(table_len) > footer_offset
        || overlaps(table, table_len, header_offset, HEADER_LEN as u64)
    {
        problems.push(Problem::BatOutOfFile {
            offset: table,
            len: table_len,
        });
        return Ok(Inspection {
            report,
            layout: None,
        });
    }

    // Metadata: what no block may overlap, and what the data end must cover.
    let mut metadata: Vec<(u64, u64, &'static str)> = vec![
        (0, FOOTER_LEN as u64, "footer copy"),
        (header_offset, HEADER_LEN as u64, "dynamic header"),
        (table, table_len, "BAT"),
    ];
    let differencing = footer.disk_type == DiskType::Differencing;
    let known = [
        PlatformCode::WI2R,
        PlatformCode::WI2K,
        PlatformCode::W2RU,
        PlatformCode::W2KU,
        PlatformCode::MAC,
        PlatformCode::MACX,
    ];
    for (index, loc) in header.locators.iter().enumerate() {
        if loc.is_empty() {
            continue;
        }
        if !known.contains(&loc.platform) {
            problems.push(Problem::UnknownLocatorPlatform {
                index,
                code: loc.platform,
            });
        }
        let claim = loc.space_bytes().max(u64::from(loc.data_length));
        if loc.data_offset.saturating_add(claim) > footer_offset {
            problems.push(Problem::LocatorOutOfFile {
                index,
                offset: loc.data_offset,
                len: claim,
            });
        } else {
            metadata.push((loc.data_offset, claim, "parent locator"));
        }
    }
    if !differencing
        && (!header.parent_unique_id.is_nil()
            || !header.parent_name.is_empty()
            || header.locators.iter().any(|l| !l.is_empty()))
    {
        problems.push(Problem::UnexpectedParentFields);
    }
    // blktap keeps a private "batmap" right after the padded BAT (reference §2, §11.11);
    // nothing in the header points at it, but it is not leaked space.
    let mut data_end = metadata.iter().map(|&(at, n, _)| at + n).max().unwrap_or(0);
    let batmap_at = table + table_len.next_multiple_of(SECTOR);
    let mut batmap = None;
    if let Some(end) = batmap_end(storage, batmap_at)?
        && end <= footer_offset
    {
        data_end = data_end.max(end);
        batmap = Some((batmap_at, end - batmap_at));
    }

    // The BAT.
    let mut bat_raw = vec![0u8; table_len as usize];
    read(storage, &mut bat_raw, table, "reading the BAT")?;
    let bat: Vec<u32> = bat_raw
        .chunks_exact(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]))
        .collect();
    let span = bitmap_len + block_size;
    let mut clear = Vec::new();
    let mut placed: Vec<(u64, u32)> = Vec::new();
    for (block, &entry) in (0u32..).zip(&bat) {
        if entry == UNALLOCATED {
            continue;
        }
        let block_offset = u64::from(entry) * SECTOR;
        let entry_offset = table + 4 * u64::from(block);
        if block_offset.saturating_add(span) > footer_offset {
            problems.push(Problem::BatEntryOutOfFile {
                block,
                entry_offset,
                block_offset,
            });
            clear.push((block, entry));
        } else if let Some(&(_, _, structure)) = metadata
            .iter()
            .find(|&&(at, n, _)| overlaps(block_offset, span, at, n))
        {
            problems.push(Problem::BatEntryInMetadata {
                block,
                entry_offset,
                block_offset,
                structure,
            });
            clear.push((block, entry));
        } else {
            placed.push((block_offset, block));
        }
    }
    placed.sort_unstable();
    let mut kept: Vec<(u64, u32)> = Vec::with_capacity(placed.len());
    for (start, block) in placed {
        // Blocks have one length, so the last block kept reaches furthest.
        if let Some(&(a_offset, a)) = kept.last()
            && start < a_offset + span
        {
            problems.push(Problem::BatEntriesOverlap {
                a,
                b: block,
                a_offset,
                b_offset: start,
            });
            clear.push((block, bat[block as usize]));
            continue;
        }
        kept.push((start, block));
    }
    clear.sort_unstable();
    report.allocated_blocks = kept.len() as u64;
    if let Some(&(start, _)) = kept.last() {
        data_end = data_end.max(start + span);
    }
    let mut data_end = data_end.next_multiple_of(SECTOR);
    // Windows (and this crate) start each block's data on a 4 KiB boundary and keep the
    // trailing footer where the next block will start, so up to 3.5 KiB before it are
    // padding, not leaked space.
    if data_end < footer_offset && aligned_block_start(data_end, bitmap_len) == footer_offset {
        data_end = footer_offset;
    }
    report.data_end = Some(data_end);
    // Space of 4 KiB or more before a block that nothing references (discarded blocks);
    // smaller gaps are the same alignment padding.
    let mut extents: Vec<(u64, u64, bool)> = metadata
        .iter()
        .map(|&(at, n, _)| (at, n, false))
        .chain(batmap.map(|(at, n)| (at, n, false)))
        .chain(kept.iter().map(|&(start, _)| (start, span, true)))
        .collect();
    extents.sort_unstable();
    let mut covered = 0;
    for (at, n, is_block) in extents {
        if is_block && at >= covered + DATA_ALIGNMENT {
            problems.push(Problem::UnusedSpace {
                offset: covered,
                len: at - covered,
            });
        }
        covered = covered.max(at + n);
    }

    // Optionally, the data behind clear bits of a dynamic disk.
    let mut zero = Vec::new();
    if options.scan_unwritten_sectors && footer.disk_type == DiskType::Dynamic {
        let mut bm = vec![0u8; bitmap_len as usize];
        let mut data = Vec::new();
        kept.sort_unstable_by_key(|&(_, block)| block);
        for &(start, block) in &kept {
            read(storage, &mut bm, start, "reading a sector bitmap")?;
            let sectors = block_size / SECTOR;
            if bitmap::all_set(&bm, 0, sectors) {
                continue;
            }
            data.resize(block_size as usize, 0);
            read(storage, &mut data, start + bitmap_len, "reading a block")?;
            let dirty = |s: u64| {
                !bitmap::is_set(&bm, s)
                    && data
                        .get((s * SECTOR) as usize..((s + 1) * SECTOR) as usize)
                        .is_some_and(|d| d.iter().any(|&b| b != 0))
            };
            let mut s = 0;
            while s < sectors {
                if !dirty(s) {
                    s += 1;
                    continue;
                }
                let first = s;
                while s < sectors && dirty(s) {
                    s += 1;
                }
                let offset = start + bitmap_len + first * SECTOR;
                let len = (s - first) * SECTOR;
                problems.push(Problem::BitmapClearButDataNonZero { block, offset, len });
                zero.push((block, offset, len));
            }
        }
    }

    if data_end < footer_offset {
        problems.push(Problem::LeakedSpace {
            offset: data_end,
            len: footer_offset - data_end,
        });
    }
    Ok(Inspection {
        report,
        layout: Some(Layout {
            footer: raw,
            trailing_good,
            copy_good,
            footer_offset,
            header_offset,
            header_checksum,
            table_offset: table,
            clear,
            zero,
            data_end,
        }),
    })
}

/// The end of a blktap batmap at `at` ("tdbatmap" cookie, then the batmap's byte offset and
/// its size in sectors), if there is one.
fn batmap_end<S: Storage>(storage: &S, at: u64) -> Result<Option<u64>> {
    let len = storage
        .len()
        .map_err(Error::io("reading the file length", 0))?;
    if at.saturating_add(SECTOR) > len {
        return Ok(None);
    }
    let mut raw = [0u8; 24];
    read(storage, &mut raw, at, "reading a batmap header")?;
    if &raw[..8] != b"tdbatmap" {
        return Ok(None);
    }
    let offset = be64(&raw, 8);
    let sectors = u64::from(be32(&raw, 16));
    let end = offset.saturating_add(sectors.saturating_mul(SECTOR));
    Ok(Some(end.max(at + SECTOR)))
}
