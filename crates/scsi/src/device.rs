//! The storage a logical unit serves: the [`BlockDevice`] trait and its small companion types.

/// Why a [`BlockDevice`] operation failed. The logical unit maps each to sense data:
/// [`Io`](DeviceError::Io) to MEDIUM ERROR, [`OutOfRange`](DeviceError::OutOfRange) to
/// ILLEGAL REQUEST / LOGICAL BLOCK ADDRESS OUT OF RANGE, [`ReadOnly`](DeviceError::ReadOnly) to
/// DATA PROTECT / WRITE PROTECTED, [`Unsupported`](DeviceError::Unsupported) to ILLEGAL REQUEST /
/// INVALID FIELD IN CDB.
///
/// ```
/// use scsi::DeviceError;
/// let e = DeviceError::Io { op: "read", lba: 7 };
/// assert_eq!(e.to_string(), "I/O error during read at LBA 7");
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// The storage failed.
    #[error("I/O error during {op} at LBA {lba}")]
    Io {
        /// `"read"`, `"write"`, `"flush"`, `"unmap"`, ...
        op: &'static str,
        /// First block of the failed operation.
        lba: u64,
    },
    /// The blocks are outside the device.
    #[error("LBA {lba} + {blocks} blocks is outside the device")]
    OutOfRange {
        /// First block asked for.
        lba: u64,
        /// Number of blocks asked for.
        blocks: u64,
    },
    /// A write to a read-only device.
    #[error("the device is read-only")]
    ReadOnly,
    /// The device does not implement this optional operation.
    #[error("operation not supported by the device")]
    Unsupported,
}

/// Whether a device can unmap (deallocate) blocks, and what unmapped blocks read as.
///
/// ```
/// use scsi::UnmapSupport;
/// assert!(UnmapSupport::Zeroes.supported());
/// assert!(!UnmapSupport::None.supported());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum UnmapSupport {
    /// No thin provisioning: every block is always mapped.
    #[default]
    None,
    /// Unmap works; unmapped blocks read as zeros (LBPRZ = 1).
    Zeroes,
    /// Unmap works; unmapped blocks read as unspecified data (LBPRZ = 0).
    Unspecified,
}

impl UnmapSupport {
    /// Whether `unmap` works.
    ///
    /// ```
    /// use scsi::UnmapSupport;
    /// assert!(UnmapSupport::Unspecified.supported());
    /// assert!(!UnmapSupport::default().supported());
    /// ```
    pub fn supported(self) -> bool {
        self != UnmapSupport::None
    }

    /// Whether unmapped blocks read as zeros.
    ///
    /// ```
    /// use scsi::UnmapSupport;
    /// assert!(UnmapSupport::Zeroes.reads_zeroes());
    /// assert!(!UnmapSupport::Unspecified.reads_zeroes());
    /// ```
    pub fn reads_zeroes(self) -> bool {
        self == UnmapSupport::Zeroes
    }
}

/// The provisioning status of a run of blocks (GET LBA STATUS).
///
/// ```
/// use scsi::Allocation;
/// let a = Allocation::mapped(8);
/// assert!(a.mapped && a.blocks == 8);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Allocation {
    /// Whether the blocks hold data (mapped) or are deallocated.
    pub mapped: bool,
    /// How many blocks from the asked LBA share this status (at least 1 inside the device).
    pub blocks: u64,
}

impl Allocation {
    /// `blocks` mapped blocks.
    ///
    /// ```
    /// use scsi::{Allocation, BlockDevice, MemDevice};
    /// // Without thin provisioning, everything from the LBA to the end is one mapped run.
    /// let dev = MemDevice::new(512, 8);
    /// assert_eq!(dev.allocation(3)?, Allocation::mapped(5));
    /// # Ok::<(), scsi::DeviceError>(())
    /// ```
    pub fn mapped(blocks: u64) -> Self {
        Allocation {
            mapped: true,
            blocks,
        }
    }

    /// `blocks` deallocated blocks.
    ///
    /// ```
    /// use scsi::{Allocation, BlockDevice, MemDevice, UnmapSupport};
    /// // A thin device starts out deallocated.
    /// let dev = MemDevice::new(512, 8).with_unmap(UnmapSupport::Zeroes);
    /// assert_eq!(dev.allocation(0)?, Allocation::unmapped(8));
    /// # Ok::<(), scsi::DeviceError>(())
    /// ```
    pub fn unmapped(blocks: u64) -> Self {
        Allocation {
            mapped: false,
            blocks,
        }
    }
}

/// A logical unit's storage: fixed-size blocks addressed by LBA. Implementations do their own
/// locking (`&self` everywhere) so one device can serve many connections.
///
/// The logical unit checks every range against [`block_count`](BlockDevice::block_count) before
/// calling `read`, `write` or `unmap`, and never calls `write` or `unmap` when
/// [`read_only`](BlockDevice::read_only) is true; implementations may still refuse.
///
/// ```
/// use scsi::{BlockDevice, MemDevice};
/// let dev = MemDevice::new(512, 8);
/// dev.write(1, &[0xab; 512], false)?;
/// let mut buf = [0u8; 1024];
/// dev.read(0, &mut buf)?;
/// assert_eq!((buf[0], buf[512]), (0, 0xab));
/// # Ok::<(), scsi::DeviceError>(())
/// ```
pub trait BlockDevice: Send + Sync {
    /// Bytes per logical block (512 for VHD).
    fn block_size(&self) -> u32;

    /// Number of logical blocks.
    fn block_count(&self) -> u64;

    /// Whether writes are refused (the LU then reports write protection).
    fn read_only(&self) -> bool {
        false
    }

    /// Reads `buf.len() / block_size` blocks starting at `lba` (`buf` is a whole number of
    /// blocks, in range).
    ///
    /// # Errors
    ///
    /// [`DeviceError::Io`] when the storage fails.
    fn read(&self, lba: u64, buf: &mut [u8]) -> Result<(), DeviceError>;

    /// Writes `data` (a whole number of blocks, in range) at `lba`; `fua` asks for the data to
    /// be durable before returning.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Io`] when the storage fails, [`DeviceError::ReadOnly`].
    fn write(&self, lba: u64, data: &[u8], fua: bool) -> Result<(), DeviceError>;

    /// Makes every completed write durable.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Io`] when the storage fails.
    fn flush(&self) -> Result<(), DeviceError>;

    /// log2 of the logical blocks per physical block (READ CAPACITY(16) LOGICAL BLOCKS PER
    /// PHYSICAL BLOCK EXPONENT): 3 for 512 byte blocks on 4 KiB storage. Initiators align IO
    /// and unmaps to it. At most 15.
    fn physical_block_exponent(&self) -> u8 {
        0
    }

    /// Thin provisioning: whether [`unmap`](BlockDevice::unmap) works, and whether unmapped
    /// blocks read as zeros (LBPRZ).
    fn unmap_support(&self) -> UnmapSupport {
        UnmapSupport::None
    }

    /// Deallocates `blocks` blocks from `lba` (in range). Afterwards the blocks read as
    /// zeros when [`unmap_support`](BlockDevice::unmap_support) is
    /// [`UnmapSupport::Zeroes`]. A device that deallocates only whole granules (a VHD block)
    /// zeroes the rest of the range and keeps it mapped: [`allocation`](BlockDevice::allocation)
    /// must report exactly what is deallocated, since initiators check GET LBA STATUS
    /// block by block.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Unsupported`] unless [`unmap_support`](BlockDevice::unmap_support) says
    /// otherwise; [`DeviceError::Io`].
    fn unmap(&self, lba: u64, blocks: u64) -> Result<(), DeviceError> {
        let _ = (lba, blocks);
        Err(DeviceError::Unsupported)
    }

    /// Provisioning status of the run starting at `lba` (`lba` < `block_count`): mapped or
    /// not, and the number of blocks in the run.
    ///
    /// # Errors
    ///
    /// [`DeviceError::Io`] when the storage fails.
    fn allocation(&self, lba: u64) -> Result<Allocation, DeviceError> {
        Ok(Allocation::mapped(self.block_count().saturating_sub(lba)))
    }
}
