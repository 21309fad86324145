//! # vhd
//!
//! VHD (Virtual Hard Disk v1) images, as Microsoft's "Virtual Hard Disk Image Format
//! Specification" defines them and Hyper-V, qemu and libvhdi read them: create, open, read and
//! write fixed, dynamic and differencing disks, over any [`Storage`].
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
