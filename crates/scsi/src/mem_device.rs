//! [`MemDevice`]: a [`BlockDevice`] in memory, for tests, fuzzing and examples.

use std::sync::RwLock;

use crate::device::{Allocation, BlockDevice, DeviceError, UnmapSupport};

/// The bytes of a [`MemDevice`] and which blocks are mapped.
#[derive(Debug)]
struct MemState {
    bytes: Vec<u8>,
    /// One flag per block, used only when unmap is supported.
    mapped: Vec<bool>,
}

/// A [`BlockDevice`] held in memory, with optional thin provisioning and a read-only flag.
///
/// Blocks start zeroed and, when unmap is supported, unmapped. Reads run concurrently
/// (an `RwLock`).
///
/// ```
/// use scsi::{BlockDevice, MemDevice, UnmapSupport};
/// let dev = MemDevice::new(512, 16).with_unmap(UnmapSupport::Zeroes);
/// dev.write(2, &[1; 512], false)?;
/// assert!(dev.allocation(2)?.mapped);
/// dev.unmap(2, 1)?;
/// assert!(!dev.allocation(2)?.mapped);
/// assert_eq!(dev.contents()[2 * 512], 0);
/// # Ok::<(), scsi::DeviceError>(())
/// ```
#[derive(Debug)]
pub struct MemDevice {
    block_size: u32,
    unmap: UnmapSupport,
    read_only: bool,
    physical_exponent: u8,
    state: RwLock<MemState>,
}

impl MemDevice {
    /// A zeroed device of `blocks` blocks of `block_size` bytes (`block_size` is clamped to at
    /// least 1).
    ///
    /// ```
    /// use scsi::{BlockDevice, MemDevice};
    /// let dev = MemDevice::new(4096, 16);
    /// assert_eq!((dev.block_size(), dev.block_count()), (4096, 16));
    /// assert!(dev.contents().iter().all(|&b| b == 0));
    /// assert_eq!(MemDevice::new(0, 4).block_size(), 1);
    /// ```
    pub fn new(block_size: u32, blocks: u64) -> Self {
        let block_size = block_size.max(1);
        let len = (blocks as usize).saturating_mul(block_size as usize);
        MemDevice {
            block_size,
            unmap: UnmapSupport::None,
            read_only: false,
            physical_exponent: 0,
            state: RwLock::new(MemState {
                bytes: vec![0; len],
                mapped: Vec::new(),
            }),
        }
    }

    /// The device with thin provisioning `support` (all blocks start unmapped).
    ///
    /// ```
    /// use scsi::{BlockDevice, MemDevice, UnmapSupport};
    /// let dev = MemDevice::new(512, 8).with_unmap(UnmapSupport::Unspecified);
    /// assert_eq!(dev.unmap_support(), UnmapSupport::Unspecified);
    /// assert!(!dev.allocation(0)?.mapped);
    /// dev.write(0, &[1; 512], false)?;
    /// assert!(dev.allocation(0)?.mapped);
    /// # Ok::<(), scsi::DeviceError>(())
    /// ```
    pub fn with_unmap(mut self, support: UnmapSupport) -> Self {
        self.unmap = support;
        let blocks = self.block_count() as usize;
        if let Ok(state) = self.state.get_mut() {
            state.mapped = if support.supported() {
                vec![false; blocks]
            } else {
                Vec::new()
            };
        }
        self
    }

    /// The device, read-only when `read_only` is true.
    ///
    /// ```
    /// use scsi::{BlockDevice, DeviceError, MemDevice};
    /// let dev = MemDevice::new(512, 8).with_read_only(true);
    /// assert!(dev.read_only());
    /// assert_eq!(dev.write(0, &[1; 512], false), Err(DeviceError::ReadOnly));
    /// ```
    pub fn with_read_only(mut self, read_only: bool) -> Self {
        self.read_only = read_only;
        self
    }

    /// The device reporting 2^`exponent` logical blocks per physical block (at most 15).
    ///
    /// ```
    /// use scsi::{BlockDevice, MemDevice};
    /// // 512 byte logical blocks on 4 KiB physical blocks.
    /// let exponent = |e| MemDevice::new(512, 64).with_physical_block_exponent(e);
    /// assert_eq!(exponent(3).physical_block_exponent(), 3);
    /// assert_eq!(exponent(20).physical_block_exponent(), 15);
    /// ```
    pub fn with_physical_block_exponent(mut self, exponent: u8) -> Self {
        self.physical_exponent = exponent.min(15);
        self
    }

    /// The device filled from `bytes` (truncated or zero-extended to the device's size).
    ///
    /// ```
    /// use scsi::{BlockDevice, MemDevice};
    /// let dev = MemDevice::new(512, 2).with_contents(b"boot");
    /// let mut block = [0xff; 512];
    /// dev.read(0, &mut block)?;
    /// assert_eq!(&block[..5], b"boot\0");
    /// assert_eq!(MemDevice::new(512, 1).with_contents(&[7; 2048]).contents(), [7; 512]);
    /// # Ok::<(), scsi::DeviceError>(())
    /// ```
    pub fn with_contents(self, bytes: &[u8]) -> Self {
        if let Ok(mut state) = self.state.write() {
            let n = bytes.len().min(state.bytes.len());
            state.bytes[..n].copy_from_slice(&bytes[..n]);
            let bs = self.block_size as usize;
            let mapped_blocks = n.div_ceil(bs);
            for m in state.mapped.iter_mut().take(mapped_blocks) {
                *m = true;
            }
        }
        self
    }

    /// A copy of the whole device's bytes.
    ///
    /// ```
    /// use scsi::{BlockDevice, MemDevice};
    /// let dev = MemDevice::new(512, 2);
    /// dev.write(1, &[7; 512], false)?;
    /// let bytes = dev.contents();
    /// assert_eq!(bytes.len(), 1024);
    /// assert_eq!((bytes[511], bytes[512]), (0, 7));
    /// # Ok::<(), scsi::DeviceError>(())
    /// ```
    pub fn contents(&self) -> Vec<u8> {
        self.state
            .read()
            .map(|s| s.bytes.clone())
            .unwrap_or_default()
    }

    /// Changes the number of blocks (new blocks are zeroed), as a volume resize would.
    ///
    /// ```
    /// use scsi::{BlockDevice, MemDevice};
    /// let dev = MemDevice::new(512, 8).with_contents(&[9; 512]);
    /// dev.resize(16);
    /// assert_eq!(dev.block_count(), 16);
    /// let bytes = dev.contents();
    /// assert_eq!((bytes[0], bytes[8 * 512]), (9, 0)); // old data kept, new blocks zeroed
    /// ```
    pub fn resize(&self, blocks: u64) {
        if let Ok(mut state) = self.state.write() {
            let len = (blocks as usize).saturating_mul(self.block_size as usize);
            state.bytes.resize(len, 0);
            if self.unmap.supported() {
                state.mapped.resize(blocks as usize, false);
            }
        }
    }

    /// The byte range of `blocks` blocks at `lba`, if inside a device of `len` bytes.
    fn range(
        &self,
        lba: u64,
        blocks: u64,
        len: usize,
    ) -> Result<std::ops::Range<usize>, DeviceError> {
        let bs = u64::from(self.block_size);
        let start = lba.checked_mul(bs);
        let end = lba.checked_add(blocks).and_then(|e| e.checked_mul(bs));
        match (start, end) {
            (Some(s), Some(e)) if e <= len as u64 => Ok(s as usize..e as usize),
            _ => Err(DeviceError::OutOfRange { lba, blocks }),
        }
    }

    fn blocks_of(&self, len: usize) -> u64 {
        (len / self.block_size as usize) as u64
    }
}

impl BlockDevice for MemDevice {
    fn block_size(&self) -> u32 {
        self.block_size
    }

    fn block_count(&self) -> u64 {
        self.state
            .read()
            .map(|s| (s.bytes.len() / self.block_size as usize) as u64)
            .unwrap_or(0)
    }

    fn read_only(&self) -> bool {
        self.read_only
    }

    fn read(&self, lba: u64, buf: &mut [u8]) -> Result<(), DeviceError> {
        let state = self
            .state
            .read()
            .map_err(|_| DeviceError::Io { op: "read", lba })?;
        let r = self.range(lba, self.blocks_of(buf.len()), state.bytes.len())?;
        let n = r.len().min(buf.len());
        buf[..n].copy_from_slice(&state.bytes[r][..n]);
        Ok(())
    }

    fn write(&self, lba: u64, data: &[u8], _fua: bool) -> Result<(), DeviceError> {
        if self.read_only {
            return Err(DeviceError::ReadOnly);
        }
        let mut state = self
            .state
            .write()
            .map_err(|_| DeviceError::Io { op: "write", lba })?;
        let blocks = self.blocks_of(data.len());
        let r = self.range(lba, blocks, state.bytes.len())?;
        let n = r.len().min(data.len());
        state.bytes[r][..n].copy_from_slice(&data[..n]);
        let (first, end) = (lba as usize, (lba + blocks) as usize);
        if let Some(m) = state.mapped.get_mut(first..end) {
            m.fill(true);
        }
        Ok(())
    }

    fn flush(&self) -> Result<(), DeviceError> {
        Ok(())
    }

    fn physical_block_exponent(&self) -> u8 {
        self.physical_exponent
    }

    fn unmap_support(&self) -> UnmapSupport {
        self.unmap
    }

    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), DeviceError> {
        if !self.unmap.supported() {
            return Err(DeviceError::Unsupported);
        }
        if self.read_only {
            return Err(DeviceError::ReadOnly);
        }
        let mut state = self
            .state
            .write()
            .map_err(|_| DeviceError::Io { op: "unmap", lba })?;
        let r = self.range(lba, blocks, state.bytes.len())?;
        state.bytes[r].fill(0);
        let (first, end) = (lba as usize, (lba + blocks) as usize);
        if let Some(m) = state.mapped.get_mut(first..end) {
            m.fill(false);
        }
        Ok(())
    }

    fn allocation(&self, lba: u64) -> Result<Allocation, DeviceError> {
        let state = self.state.read().map_err(|_| DeviceError::Io {
            op: "allocation",
            lba,
        })?;
        let count = (state.bytes.len() / self.block_size as usize) as u64;
        if lba >= count {
            return Err(DeviceError::OutOfRange { lba, blocks: 1 });
        }
        if state.mapped.is_empty() {
            return Ok(Allocation::mapped(count - lba));
        }
        let rest = &state.mapped[lba as usize..];
        let first = rest[0];
        let run = rest.iter().take_while(|&&m| m == first).count() as u64;
        Ok(Allocation {
            mapped: first,
            blocks: run,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_writes_and_rejects_out_of_range() {
        let dev = MemDevice::new(512, 4);
        dev.write(3, &[7; 512], true).unwrap();
        let mut buf = vec![0; 512];
        dev.read(3, &mut buf).unwrap();
        assert!(buf.iter().all(|&b| b == 7));
        assert_eq!(
            dev.read(4, &mut buf),
            Err(DeviceError::OutOfRange { lba: 4, blocks: 1 })
        );
    }

    #[test]
    fn read_only_refuses_writes() {
        let dev = MemDevice::new(512, 4).with_read_only(true);
        assert_eq!(dev.write(0, &[1; 512], false), Err(DeviceError::ReadOnly));
    }

    #[test]
    fn allocation_reports_runs() {
        let dev = MemDevice::new(512, 8).with_unmap(UnmapSupport::Zeroes);
        dev.write(2, &[1; 1024], false).unwrap();
        assert_eq!(dev.allocation(0).unwrap(), Allocation::unmapped(2));
        assert_eq!(dev.allocation(2).unwrap(), Allocation::mapped(2));
        assert_eq!(dev.allocation(4).unwrap(), Allocation::unmapped(4));
    }
}
