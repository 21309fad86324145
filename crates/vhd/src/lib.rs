//! # vhd
//!
//! VHD (Virtual Hard Disk v1) images, as Microsoft's "Virtual Hard Disk Image Format
//! Specification" defines them and Hyper-V, qemu and libvhdi read them: create, open, read and
//! write fixed, dynamic and differencing disks, over any [`Storage`].
#![forbid(unsafe_code)]

mod bitmap;
mod checksum;
mod create;
mod disk;
mod dyn_header;
mod error;
mod footer;
mod geometry;
mod locator;
mod storage;
mod timestamp;

pub use checksum::checksum;
pub use create::{MAX_DISK_SIZE, ParentLink, VhdBuilder};
pub use disk::{COPY_UP_GRANULE, Disk, OpenOptions, ParentDisk, UNALLOCATED};
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
pub use storage::{FileStorage, MemStorage, Storage};
pub use timestamp::VhdTime;
