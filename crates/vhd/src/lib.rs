//! # vhd
//!
//! VHD (Virtual Hard Disk v1) images, as Microsoft's "Virtual Hard Disk Image Format
//! Specification" defines them and Hyper-V, qemu and libvhdi read them: create, open, read and
//! write fixed, dynamic and differencing disks, over any [`Storage`]; check and repair them,
//! merge a child into its parent, and convert between raw and every VHD type.
//!
//! It is the disk layer of a diskless-boot server: one read-only golden image, and one small
//! differencing disk per client over it, which takes every write of that client.
//!
//! ## Layers
//!
//! - **Storage**: [`Storage`] is positional read, write, flush and length. [`FileStorage`]
//!   (`pread`/`pwrite`/`fdatasync`; [`FileStorage::open_read_only`] for parents) and
//!   [`MemStorage`] (tests, fuzzing) implement it.
//! - **Format**: [`Footer`], [`DynamicHeader`], [`ParentLocator`] and [`Chs`] parse and emit
//!   their sectors with checksums; [`VhdBuilder`] lays out a new disk. Sizes are exact by
//!   default ([`VhdBuilder::round_to_chs`] for tools that want CHS sizes).
//! - **Disk**: [`Disk`] opens any of the three types, validating cookies, checksums, the footer
//!   copy, the header and every block's placement, and reads and writes at any byte offset and
//!   length. Reads take `&self` and run concurrently; writes take `&mut self`, allocate blocks
//!   in a crash-safe order (documented on [`Disk`]) and, in a differencing disk, copy up from
//!   the parent in whole 4 KiB groups ([`COPY_UP_GRANULE`]).
//! - **Chains**: a differencing disk reads through a [`ParentDisk`]. [`open_file`] finds the
//!   parents through their locators (relative first, then absolute, then the name), checks
//!   each Unique Id and opens them read-only. [`SharedParents`] gives many children one open
//!   golden image. [`CachedParent`] keeps that image's data in a bounded shared memory cache.
//!   [`ParentLink::for_files`] (files) and [`ParentLink::without_locators`] (anything else)
//!   describe the parent to a new child.
//! - **Tools**: [`check`] / [`repair`] (as `qemu-img check`), [`merge`] (commit a child into
//!   its parent), [`convert`] / [`to_raw`] (streaming, between raw and any type; a
//!   differencing output stores only what differs from its parent).
//!
//! ## Invariants
//!
//! - Opening or reading a damaged or hostile file never panics. It returns a typed [`Error`]
//!   with the offset and the reason ([`Error::kind`] sorts them). No allocation is sized by a
//!   field that the file's length does not back.
//! - Parents are never written: they are opened read-only, and [`Disk::write_at`] needs
//!   `&mut` access, which a shared parent never gives.
//! - Every bitmap byte this crate writes is `0x00` or `0xff`, so that libvhdi, qemu and
//!   Windows read the same data.
//! - After a crash at any point, the disk opens, or [`check`] finds only repairable problems
//!   (such as leaked space) and [`repair`] makes it open; every write completed before the
//!   last [`Disk::flush`] reads back, and no byte reads as garbage or another block's data.
//!   `tests/crash.rs` checks this at every write index of several scenarios.
//!
//! ## Example
//!
//! A golden image and a client's differencing disk over it, in memory:
//!
//! ```
//! use std::sync::Arc;
//! use vhd::{Disk, MemStorage, OpenOptions, ParentLink, VhdBuilder};
//!
//! // The golden image, made once and then opened read-only, as a server keeps it.
//! let mut golden = VhdBuilder::dynamic(64 << 20).create(MemStorage::default())?;
//! golden.write_at(b"golden", 0)?;
//! let bytes = golden.into_storage().into_inner();
//! let golden = Arc::new(Disk::open(MemStorage::read_only(bytes), OpenOptions::read_only())?);
//!
//! // A client's disk: its reads fall through to the golden image, its writes stay in it.
//! let link = ParentLink::without_locators(golden.as_ref(), "golden.vhd");
//! let mut client = VhdBuilder::differencing(link).create(MemStorage::default())?;
//! client.attach_parent(golden.clone())?;
//! client.write_at(b"client", 4096)?;
//! client.flush()?;
//!
//! let mut buf = [0u8; 6];
//! client.read_at(&mut buf, 0)?;
//! assert_eq!(&buf, b"golden");
//! client.read_at(&mut buf, 4096)?;
//! assert_eq!(&buf, b"client");
//! golden.read_at(&mut buf, 4096)?;
//! assert_eq!(buf, [0; 6]); // the golden image is untouched
//! assert!(vhd::check(client.storage())?.is_clean());
//! # Ok::<(), vhd::Error>(())
//! ```
//!
//! With files, [`VhdBuilder::create`] over [`FileStorage::create_new`] and
//! [`ParentLink::for_files`] make the same chain on disk, and [`open_file`] opens a client
//! with its whole chain.
#![forbid(unsafe_code)]

mod bitmap;
mod blocks;
mod cache;
mod chain;
mod check;
mod checksum;
mod convert;
mod create;
mod disk;
mod dyn_header;
mod error;
mod footer;
#[doc(hidden)]
pub mod fuzzing;
mod geometry;
mod locator;
mod merge;
mod storage;
mod timestamp;

pub use cache::{
    CacheOptions, CacheStats, CachedParent, DEFAULT_CACHE_EXTENT, MAX_CACHE_EXTENT,
    MIN_CACHE_EXTENT,
};
pub use chain::{
    FsResolver, MAX_CHAIN_DEPTH, MAX_LOCATOR_PAYLOAD, ParentRef, ParentResolver, SharedParents,
    find_parent, find_parent_with_path, open_file, open_file_with, open_parent,
};
pub use check::{
    CheckOptions, CheckReport, FooterDamage, Problem, RepairAction, RepairReport, Severity, check,
    check_with, repair, repair_with,
};
pub use checksum::checksum;
pub use convert::{RawFile, RawImage, convert, to_raw, to_writer};
pub use create::{MAX_DISK_SIZE, ParentLink, VhdBuilder};
pub use disk::{
    ALIGNED_BLOCK_SIZE, COPY_UP_GRANULE, DATA_ALIGNMENT, Disk, OpenOptions, ParentDisk, UNALLOCATED,
};
pub use dyn_header::{
    DEFAULT_BLOCK_SIZE, DynamicHeader, HEADER_LEN, MAX_BLOCK_SIZE, MIN_BLOCK_SIZE,
};
pub use error::{Error, ErrorKind, Result};
pub use footer::{
    CREATOR_APP, CREATOR_VERSION, DiskType, FEATURE_RESERVED, FEATURE_TEMPORARY, FOOTER_LEN,
    Footer, NO_DATA_OFFSET,
};
pub use geometry::{Chs, MAX_CHS};
pub use locator::{ParentLocator, PlatformCode, decode_locator_path, encode_locator_path};
pub use merge::{MergeStats, merge};
pub use storage::{FileStorage, MemStorage, Storage};
pub use timestamp::VhdTime;
