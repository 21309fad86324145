//! The bridge from files to the SCSI layer: [`VhdDevice`] serves a VHD (fixed, dynamic or a
//! differencing disk over a shared golden image) and [`RawDevice`] a raw image, each as a
//! [`scsi::BlockDevice`] of 512-byte blocks.
//!
//! The device methods block (they call `pread`/`pwrite`); the server runs them on tokio's
//! blocking pool.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use anyhow::{Context, Result, bail};
use scsi::{Allocation, BlockDevice, DeviceError, UnmapSupport};
use vhd::{DiskType, FileStorage, OpenOptions, SharedParents};

/// The logical block size every LUN is served with (what VHD sectors are, and what iPXE's
/// INT 13h and every OS expect of a boot disk).
pub(crate) const BLOCK_SIZE: u32 = 512;

/// Logs a failed disk operation (the initiator sees only MEDIUM ERROR sense) and turns it into
/// the device error.
fn io_error(
    path: &Path,
    op: &'static str,
    lba: u64,
    e: &(dyn std::error::Error + 'static),
) -> DeviceError {
    let mut text = e.to_string();
    let mut cause = e.source();
    while let Some(c) = cause {
        text = format!("{text}: {c}");
        cause = c.source();
    }
    eprintln!(
        "diskless-target: {}: {op} at LBA {lba}: {text}",
        path.display()
    );
    DeviceError::Io { op, lba }
}

/// Checks that `lba` and `len` bytes lie inside a device of `blocks` blocks.
fn check_range(lba: u64, len: usize, blocks: u64) -> Result<u64, DeviceError> {
    let count = (len as u64).div_ceil(u64::from(BLOCK_SIZE));
    match lba.checked_add(count) {
        Some(end) if end <= blocks => Ok(lba * u64::from(BLOCK_SIZE)),
        _ => Err(DeviceError::OutOfRange { lba, blocks: count }),
    }
}

/// A VHD served as a block device. Reads share a read lock (the golden image underneath is
/// shared by every client without any lock); writes take the write lock of this client's disk
/// only.
pub(crate) struct VhdDevice {
    disk: RwLock<vhd::Disk<FileStorage>>,
    path: PathBuf,
    blocks: u64,
    read_only: bool,
    disk_type: DiskType,
}

impl std::fmt::Debug for VhdDevice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VhdDevice")
            .field("path", &self.path)
            .field("blocks", &self.blocks)
            .field("read_only", &self.read_only)
            .finish_non_exhaustive()
    }
}

impl VhdDevice {
    /// Opens the VHD at `path` (read-only if `read_only`), taking its parents from `parents`
    /// (so that every child of the golden image shares one open, read-only golden disk).
    ///
    /// # Errors
    /// The file cannot be opened, is not a valid VHD, its parent chain cannot be resolved, or
    /// its size is not a multiple of 512 bytes.
    pub(crate) fn open(path: &Path, read_only: bool, parents: &mut SharedParents) -> Result<Self> {
        let options = if read_only {
            OpenOptions::read_only()
        } else {
            OpenOptions::read_write()
        };
        let disk = parents
            .open(path, options)
            .with_context(|| format!("opening the VHD {}", path.display()))?;
        let size = disk.size();
        if size % u64::from(BLOCK_SIZE) != 0 {
            bail!(
                "{}: the disk size ({size} bytes) is not a multiple of {BLOCK_SIZE}",
                path.display()
            );
        }
        Ok(VhdDevice {
            blocks: size / u64::from(BLOCK_SIZE),
            disk_type: disk.disk_type(),
            disk: RwLock::new(disk),
            path: path.to_path_buf(),
            read_only,
        })
    }

    /// Flushes the disk, for shutdown.
    pub(crate) fn flush_now(&self) -> Result<()> {
        let disk = self
            .disk
            .read()
            .map_err(|_| anyhow::anyhow!("{}: a writer panicked", self.path.display()))?;
        disk.flush()
            .with_context(|| format!("flushing {}", self.path.display()))
    }
}

impl Drop for VhdDevice {
    /// A device dropped while serving (its client was reset, removed or changed) is flushed
    /// first, as the shutdown flushes the others.
    fn drop(&mut self) {
        if !self.read_only
            && let Err(e) = self.flush_now()
        {
            eprintln!("diskless-target: {e:#}");
        }
    }
}

impl BlockDevice for VhdDevice {
    fn block_size(&self) -> u32 {
        BLOCK_SIZE
    }

    fn block_count(&self) -> u64 {
        self.blocks
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read(&self, lba: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let offset = check_range(lba, buf.len(), self.blocks)?;
        let disk = self
            .disk
            .read()
            .map_err(|_| DeviceError::Io { op: "read", lba })?;
        disk.read_at(buf, offset)
            .map_err(|e| io_error(&self.path, "read", lba, &e))
    }

    fn write(&self, lba: u64, data: &[u8], fua: bool) -> Result<(), DeviceError> {
        if self.read_only {
            return Err(DeviceError::ReadOnly);
        }
        let offset = check_range(lba, data.len(), self.blocks)?;
        let mut disk = self
            .disk
            .write()
            .map_err(|_| DeviceError::Io { op: "write", lba })?;
        disk.write_at(data, offset)
            .map_err(|e| io_error(&self.path, "write", lba, &e))?;
        if fua {
            disk.flush()
                .map_err(|e| io_error(&self.path, "flush", lba, &e))?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), DeviceError> {
        let disk = self.disk.read().map_err(|_| DeviceError::Io {
            op: "flush",
            lba: 0,
        })?;
        disk.flush()
            .map_err(|e| io_error(&self.path, "flush", 0, &e))
    }

    fn unmap_support(&self) -> UnmapSupport {
        // Dynamic disks release whole blocks; differencing and fixed disks write zeros. Either
        // way the range reads as zeros afterwards. A read-only LU still reports the capability,
        // so that UNMAP is refused with DATA PROTECT, not as an unknown command.
        UnmapSupport::Zeroes
    }

    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), DeviceError> {
        if self.read_only {
            return Err(DeviceError::ReadOnly);
        }
        let end = lba.checked_add(blocks).filter(|&e| e <= self.blocks);
        if end.is_none() {
            return Err(DeviceError::OutOfRange { lba, blocks });
        }
        let mut disk = self
            .disk
            .write()
            .map_err(|_| DeviceError::Io { op: "unmap", lba })?;
        disk.discard(lba * u64::from(BLOCK_SIZE), blocks * u64::from(BLOCK_SIZE))
            .map_err(|e| io_error(&self.path, "unmap", lba, &e))
    }

    fn allocation(&self, lba: u64) -> Result<Allocation, DeviceError> {
        if lba >= self.blocks {
            return Err(DeviceError::OutOfRange { lba, blocks: 1 });
        }
        let disk = self.disk.read().map_err(|_| DeviceError::Io {
            op: "get lba status",
            lba,
        })?;
        let (mapped, len) = disk
            .allocation(lba * u64::from(BLOCK_SIZE))
            .map_err(|e| io_error(&self.path, "get lba status", lba, &e))?;
        // In a differencing disk a sector not stored here is the parent's data: mapped, as far
        // as the initiator can tell.
        let mapped = mapped || self.disk_type == DiskType::Differencing;
        let blocks = (len / u64::from(BLOCK_SIZE)).max(1);
        Ok(Allocation { mapped, blocks })
    }
}

/// A raw image file served as a block device.
#[derive(Debug)]
pub(crate) struct RawDevice {
    file: File,
    path: PathBuf,
    blocks: u64,
    read_only: bool,
}

impl RawDevice {
    /// Opens the raw image at `path`.
    ///
    /// # Errors
    /// The file cannot be opened or its size is not a multiple of 512 bytes.
    pub(crate) fn open(path: &Path, read_only: bool) -> Result<Self> {
        let file = std::fs::OpenOptions::new()
            .read(true)
            .write(!read_only)
            .open(path)
            .with_context(|| format!("opening the raw image {}", path.display()))?;
        let size = file
            .metadata()
            .with_context(|| format!("reading the size of {}", path.display()))?
            .len();
        if size % u64::from(BLOCK_SIZE) != 0 || size == 0 {
            bail!(
                "{}: the image size ({size} bytes) is not a non-zero multiple of {BLOCK_SIZE}",
                path.display()
            );
        }
        Ok(RawDevice {
            file,
            path: path.to_path_buf(),
            blocks: size / u64::from(BLOCK_SIZE),
            read_only,
        })
    }
}

impl BlockDevice for RawDevice {
    fn block_size(&self) -> u32 {
        BLOCK_SIZE
    }

    fn block_count(&self) -> u64 {
        self.blocks
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read(&self, lba: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let offset = check_range(lba, buf.len(), self.blocks)?;
        self.file
            .read_exact_at(buf, offset)
            .map_err(|e| io_error(&self.path, "read", lba, &e))
    }

    fn write(&self, lba: u64, data: &[u8], fua: bool) -> Result<(), DeviceError> {
        if self.read_only {
            return Err(DeviceError::ReadOnly);
        }
        let offset = check_range(lba, data.len(), self.blocks)?;
        self.file
            .write_all_at(data, offset)
            .map_err(|e| io_error(&self.path, "write", lba, &e))?;
        if fua {
            self.file
                .sync_data()
                .map_err(|e| io_error(&self.path, "flush", lba, &e))?;
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), DeviceError> {
        if self.read_only {
            return Ok(());
        }
        self.file
            .sync_data()
            .map_err(|e| io_error(&self.path, "flush", 0, &e))
    }
}

/// Opens every LUN device a config names, sharing the golden image among the VHD children.
pub(crate) struct Devices {
    parents: SharedParents,
    /// The VHD devices still in use, for the flush at shutdown. Weak: a device that no target
    /// holds any more (its client was reset or removed) closes its file when dropped.
    vhds: Vec<std::sync::Weak<VhdDevice>>,
}

impl Devices {
    /// Opens the golden image (if any) read-only and registers it as the shared parent, behind
    /// a memory cache of `cache_bytes` shared by every child (0: no cache).
    ///
    /// # Errors
    /// The golden image cannot be opened.
    pub(crate) fn new(golden: Option<&Path>, cache_bytes: u64) -> Result<Self> {
        let mut parents = SharedParents::new();
        if let Some(golden) = golden {
            let storage = FileStorage::open_read_only(golden)
                .with_context(|| format!("opening the golden image {}", golden.display()))?;
            let disk = vhd::Disk::open(storage, OpenOptions::read_only())
                .with_context(|| format!("opening the golden image {}", golden.display()))?;
            let disk: Arc<dyn vhd::ParentDisk> = Arc::new(disk);
            let parent: Arc<dyn vhd::ParentDisk> = if cache_bytes == 0 {
                disk
            } else {
                Arc::new(
                    vhd::CachedParent::new(disk, vhd::CacheOptions::with_budget(cache_bytes))
                        .with_context(|| format!("caching {}", golden.display()))?,
                )
            };
            parents
                .add(golden, parent)
                .with_context(|| format!("resolving {}", golden.display()))?;
        }
        Ok(Devices {
            parents,
            vhds: Vec::new(),
        })
    }

    /// Opens one LUN's file.
    ///
    /// # Errors
    /// As [`VhdDevice::open`] and [`RawDevice::open`].
    pub(crate) fn open(
        &mut self,
        path: &Path,
        kind: crate::config::LunKind,
        read_only: bool,
    ) -> Result<Arc<dyn BlockDevice>> {
        Ok(match kind {
            crate::config::LunKind::Vhd => {
                let dev = Arc::new(VhdDevice::open(path, read_only, &mut self.parents)?);
                self.vhds.retain(|d| d.strong_count() > 0);
                self.vhds.push(Arc::downgrade(&dev));
                dev
            }
            crate::config::LunKind::Raw => Arc::new(RawDevice::open(path, read_only)?),
        })
    }

    /// Flushes every writable VHD (at shutdown); reports the first failure after trying all.
    ///
    /// # Errors
    /// A flush failed.
    pub(crate) fn flush_all(&self) -> Result<()> {
        let mut first = Ok(());
        for dev in self.vhds.iter().filter_map(std::sync::Weak::upgrade) {
            if let Err(e) = dev.flush_now()
                && first.is_ok()
            {
                first = Err(e);
            }
        }
        first
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("dt-backend-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn child_writes_never_reach_the_golden_image() {
        let dir = temp_dir("golden");
        let golden = dir.join("golden.vhd");
        let mut g = vhd::VhdBuilder::dynamic(4 << 20)
            .create(FileStorage::create_new(&golden).unwrap())
            .unwrap();
        g.write_at(&[0xaa; 4096], 0).unwrap();
        g.flush().unwrap();
        drop(g);
        let before = std::fs::read(&golden).unwrap();
        let parent = vhd::open_file(&golden, OpenOptions::read_only()).unwrap();
        for name in ["a.vhd", "b.vhd"] {
            let child = dir.join(name);
            let link = vhd::ParentLink::for_files(&parent, &golden, &child).unwrap();
            vhd::VhdBuilder::differencing(link)
                .create(FileStorage::create_new(&child).unwrap())
                .unwrap()
                .flush()
                .unwrap();
        }
        let mut devices = Devices::new(Some(&golden), 1 << 20).unwrap();
        let a = devices
            .open(&dir.join("a.vhd"), crate::config::LunKind::Vhd, false)
            .unwrap();
        let b = devices
            .open(&dir.join("b.vhd"), crate::config::LunKind::Vhd, false)
            .unwrap();
        assert_eq!(a.block_count(), 8192);
        a.write(1, &[0x11; 512], true).unwrap();
        let mut buf = [0u8; 1024];
        a.read(0, &mut buf).unwrap();
        assert_eq!(&buf[..512], &[0xaa; 512]);
        assert_eq!(&buf[512..], &[0x11; 512]);
        b.read(0, &mut buf).unwrap();
        assert_eq!(buf, [0xaa; 1024]);
        assert_eq!(
            a.read(8191, &mut buf),
            Err(DeviceError::OutOfRange {
                lba: 8191,
                blocks: 2
            })
        );
        devices.flush_all().unwrap();
        assert_eq!(std::fs::read(&golden).unwrap(), before);
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn read_only_devices_refuse_writes() {
        let dir = temp_dir("ro");
        let raw = dir.join("d.raw");
        std::fs::write(&raw, vec![7u8; 8192]).unwrap();
        let dev = RawDevice::open(&raw, true).unwrap();
        assert_eq!(dev.write(0, &[0; 512], false), Err(DeviceError::ReadOnly));
        let mut buf = [0u8; 512];
        dev.read(15, &mut buf).unwrap();
        assert_eq!(buf, [7; 512]);
        assert!(dev.read(16, &mut buf).is_err());
        let _ = std::fs::remove_dir_all(&dir);
    }
}
