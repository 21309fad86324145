//! The crate's one error type.

use uuid::Uuid;

/// The broad class of an [`Error`], for callers that map errors to replies (a SCSI sense key,
/// an exit code) rather than to messages.
///
/// ```
/// use vhd::{Error, ErrorKind};
/// fn exit_code(e: &Error) -> i32 {
///     match e.kind() {
///         ErrorKind::InvalidInput => 2,
///         ErrorKind::Io => 74,
///         _ => 1,
///     }
/// }
/// assert_eq!(exit_code(&Error::InvalidInput { what: "size", reason: "must be positive" }), 2);
/// assert_eq!(exit_code(&Error::ReadOnly), 1);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorKind {
    /// The storage failed. Its message says what was being done; the storage's own error
    /// is its [`source`](std::error::Error::source) (print the chain, as `anyhow`'s `{:#}`
    /// does, to show both).
    Io,
    /// The bytes are not a VHD structure of the expected kind (cookie, version, type).
    InvalidFormat,
    /// A valid VHD feature this crate does not handle.
    Unsupported,
    /// The structures contradict each other or the file (checksums, BAT entries, sizes).
    Corrupt,
    /// An access outside the virtual disk.
    OutOfBounds,
    /// A write to a disk opened read-only.
    ReadOnly,
    /// A differencing disk's parent cannot be found or does not match.
    Parent,
    /// A caller's argument is invalid (a size, a block size, a path).
    InvalidInput,
}

/// Everything that can go wrong with a VHD file.
///
/// Variants carry the context a user needs: what structure, at which byte offset of the file,
/// and for parent problems the paths that were tried.
///
/// ```
/// use vhd::{Disk, Error, ErrorKind, MemStorage, OpenOptions};
/// let err = Disk::open(MemStorage::new(vec![0; 1024]), OpenOptions::read_only()).unwrap_err();
/// assert_eq!(err.kind(), ErrorKind::InvalidFormat);
/// assert!(err.to_string().contains("cookie"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The storage failed.
    #[error("I/O error while {op} at byte {offset}")]
    Io {
        /// What was being done, e.g. `"reading the BAT"`.
        op: &'static str,
        /// Byte offset in the file.
        offset: u64,
        /// The storage's error.
        #[source]
        source: std::io::Error,
    },
    /// A structure's cookie, version or a fixed field is wrong.
    #[error("not a VHD: {what} at byte {offset}")]
    InvalidFormat {
        /// What is wrong, e.g. `"footer cookie is not \"conectix\""`.
        what: &'static str,
        /// Byte offset of the structure in the file.
        offset: u64,
    },
    /// A structure's checksum does not match its contents.
    #[error(
        "{structure} checksum at byte {offset} is {found:#010x}, contents give {expected:#010x}"
    )]
    Checksum {
        /// `"footer"` or `"dynamic header"`.
        structure: &'static str,
        /// Byte offset of the structure in the file.
        offset: u64,
        /// Checksum computed from the contents.
        expected: u32,
        /// Checksum stored.
        found: u32,
    },
    /// A feature this crate does not handle.
    #[error("unsupported: {what}")]
    Unsupported {
        /// What, e.g. `"disk type 5"`.
        what: &'static str,
    },
    /// Structures contradict each other or the file.
    #[error("corrupt image: {what} (byte {offset})")]
    Corrupt {
        /// What, e.g. `"BAT entry points past the end of the file"`.
        what: &'static str,
        /// The byte offset concerned.
        offset: u64,
    },
    /// An access outside the virtual disk.
    #[error("access of {len} bytes at offset {offset} is outside the disk's {size} bytes")]
    OutOfBounds {
        /// Requested offset.
        offset: u64,
        /// Requested length.
        len: u64,
        /// The disk's size.
        size: u64,
    },
    /// A write to a disk opened read-only.
    #[error("the disk is open read-only")]
    ReadOnly,
    /// A caller's argument is invalid.
    #[error("invalid {what}: {reason}")]
    InvalidInput {
        /// The argument, e.g. `"size"`.
        what: &'static str,
        /// Why, e.g. `"must be a multiple of 512 bytes"`.
        reason: &'static str,
    },
    /// A differencing disk's parent was not found.
    #[error("parent {name:?} not found; tried: {}", tried.join(", "))]
    ParentNotFound {
        /// The parent name recorded in the child.
        name: String,
        /// Every path tried, in order.
        tried: Vec<String>,
    },
    /// A parent was found but is not the disk the child was made from.
    #[error("parent {path} has unique id {found}, the child expects {expected}")]
    ParentMismatch {
        /// The parent's path.
        path: String,
        /// The Parent Unique ID the child records.
        expected: Uuid,
        /// The unique id of the file found.
        found: Uuid,
    },
    /// The parent chain loops or is deeper than allowed.
    #[error("parent chain of {path} {problem}")]
    ParentChain {
        /// The disk at which the problem was found.
        path: String,
        /// `"loops back to itself"` or `"is deeper than the limit"`.
        problem: &'static str,
    },
    /// A differencing disk was opened without a parent.
    #[error("differencing disk needs its parent {name:?} to be opened")]
    ParentRequired {
        /// The parent name recorded in the child.
        name: String,
    },
}

impl Error {
    /// `Ok` when `len` bytes at `offset` lie within a disk of `size` bytes, else
    /// [`Error::OutOfBounds`].
    pub(crate) fn check_range(offset: u64, len: u64, size: u64) -> Result<(), Error> {
        match offset.checked_add(len) {
            Some(end) if end <= size => Ok(()),
            _ => Err(Error::OutOfBounds { offset, len, size }),
        }
    }

    /// The broad class of this error.
    ///
    /// ```
    /// use vhd::{Error, ErrorKind};
    /// assert_eq!(Error::ReadOnly.kind(), ErrorKind::ReadOnly);
    /// let e = Error::Checksum { structure: "footer", offset: 0, expected: 1, found: 2 };
    /// assert_eq!(e.kind(), ErrorKind::Corrupt);
    /// ```
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Io { .. } => ErrorKind::Io,
            Error::InvalidFormat { .. } => ErrorKind::InvalidFormat,
            Error::Unsupported { .. } => ErrorKind::Unsupported,
            Error::Checksum { .. } | Error::Corrupt { .. } => ErrorKind::Corrupt,
            Error::OutOfBounds { .. } => ErrorKind::OutOfBounds,
            Error::ReadOnly => ErrorKind::ReadOnly,
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::ParentNotFound { .. }
            | Error::ParentMismatch { .. }
            | Error::ParentChain { .. }
            | Error::ParentRequired { .. } => ErrorKind::Parent,
        }
    }

    /// The byte offset in the file the error concerns, where there is one.
    ///
    /// ```
    /// use vhd::{FOOTER_LEN, Footer};
    /// let err = Footer::parse(&[0; FOOTER_LEN], 4096).err(); // no cookie at byte 4096
    /// assert_eq!(err.and_then(|e| e.offset()), Some(4096));
    /// assert_eq!(vhd::Error::ReadOnly.offset(), None);
    /// ```
    pub fn offset(&self) -> Option<u64> {
        match self {
            Error::Io { offset, .. }
            | Error::InvalidFormat { offset, .. }
            | Error::Checksum { offset, .. }
            | Error::Corrupt { offset, .. } => Some(*offset),
            _ => None,
        }
    }

    pub(crate) fn io(op: &'static str, offset: u64) -> impl FnOnce(std::io::Error) -> Error {
        move |source| Error::Io { op, offset, source }
    }
}

impl From<Error> for std::io::Error {
    fn from(e: Error) -> Self {
        use std::io::ErrorKind as K;
        let kind = match e.kind() {
            ErrorKind::Io => match &e {
                Error::Io { source, .. } => source.kind(),
                _ => K::Other,
            },
            ErrorKind::InvalidFormat | ErrorKind::Corrupt => K::InvalidData,
            ErrorKind::Unsupported => K::Unsupported,
            ErrorKind::OutOfBounds | ErrorKind::InvalidInput => K::InvalidInput,
            ErrorKind::ReadOnly => K::PermissionDenied,
            ErrorKind::Parent => K::NotFound,
        };
        std::io::Error::new(kind, e)
    }
}

/// `Result` with this crate's error.
///
/// ```
/// use vhd::{MemStorage, VhdBuilder};
/// fn blocks_after_one_write(size: u64) -> vhd::Result<u64> {
///     let mut disk = VhdBuilder::dynamic(size).create(MemStorage::default())?;
///     disk.write_at(b"x", 0)?;
///     Ok(disk.allocated_blocks())
/// }
/// assert_eq!(blocks_after_one_write(1 << 20)?, 1);
/// assert!(blocks_after_one_write(1000).is_err());
/// # Ok::<(), vhd::Error>(())
/// ```
pub type Result<T, E = Error> = core::result::Result<T, E>;
