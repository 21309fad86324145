//! Command handlers, one module per family. Each handler gets a [`Ctx`] whose CDB has passed
//! the dispatcher's checks (known opcode and service action, length, usage data, unit
//! attention, reservations) and returns an [`Outcome`].

pub(crate) mod copy;
pub(crate) mod info;
pub(crate) mod inquiry;
pub(crate) mod io;
pub(crate) mod mode;
pub(crate) mod provisioning;
pub(crate) mod reserve;
pub(crate) mod supported;

use bytes::{Bytes, BytesMut};

use crate::cdb::field;
use crate::device::DeviceError;
use crate::lu::{LogicalUnit, NexusKey};
use crate::sense::{AscAscq, Sense, SenseKey};
use crate::status::Status;
use crate::target::{CommandRequest, ItNexus, ScsiTarget};

/// What a handler sees.
pub(crate) struct Ctx<'a> {
    pub(crate) lu: &'a LogicalUnit,
    #[allow(dead_code)]
    pub(crate) nexus: &'a ItNexus,
    pub(crate) key: &'a NexusKey,
    pub(crate) request: &'a CommandRequest<'a>,
    /// The CDB, exactly as long as the command's CDB length.
    pub(crate) cdb: &'a [u8],
    pub(crate) target: Option<&'a ScsiTarget>,
}

/// A completed command.
#[derive(Debug)]
pub(crate) struct Done {
    pub(crate) status: Status,
    pub(crate) data: Bytes,
    pub(crate) transfer_length: u32,
}

/// A failed command.
#[derive(Debug)]
pub(crate) enum Fail {
    /// CHECK CONDITION with sense data.
    Check(Sense),
    /// A status without sense data.
    Status(Status),
}

impl From<Sense> for Fail {
    fn from(s: Sense) -> Self {
        Fail::Check(s)
    }
}

impl From<crate::Error> for Fail {
    fn from(e: crate::Error) -> Self {
        Fail::Check(e.to_sense())
    }
}

impl From<DeviceError> for Fail {
    fn from(e: DeviceError) -> Self {
        Fail::Check(match e {
            DeviceError::Io { op: "read", .. } => {
                Sense::new(SenseKey::MEDIUM_ERROR, AscAscq::UNRECOVERED_READ_ERROR)
            }
            DeviceError::Io { op: "write", .. } => {
                Sense::new(SenseKey::MEDIUM_ERROR, AscAscq::WRITE_ERROR)
            }
            DeviceError::Io { .. } => {
                Sense::new(SenseKey::HARDWARE_ERROR, AscAscq::INTERNAL_TARGET_FAILURE)
            }
            DeviceError::OutOfRange { .. } => LBA_OUT_OF_RANGE,
            DeviceError::ReadOnly => WRITE_PROTECTED,
            DeviceError::Unsupported => {
                Sense::new(SenseKey::ILLEGAL_REQUEST, AscAscq::INVALID_FIELD_IN_CDB)
            }
        })
    }
}

/// The result of a handler.
pub(crate) type Outcome = Result<Done, Fail>;

/// ILLEGAL REQUEST / LOGICAL BLOCK ADDRESS OUT OF RANGE.
pub(crate) const LBA_OUT_OF_RANGE: Sense =
    Sense::new(SenseKey::ILLEGAL_REQUEST, AscAscq::LBA_OUT_OF_RANGE);
/// DATA PROTECT / WRITE PROTECTED.
pub(crate) const WRITE_PROTECTED: Sense =
    Sense::new(SenseKey::DATA_PROTECT, AscAscq::WRITE_PROTECTED);
/// ILLEGAL REQUEST / PARAMETER LIST LENGTH ERROR.
pub(crate) const PARAMETER_LIST_LENGTH_ERROR: Sense = Sense::new(
    SenseKey::ILLEGAL_REQUEST,
    AscAscq::PARAMETER_LIST_LENGTH_ERROR,
);

impl Done {
    /// GOOD, no data, no transfer (for struct update syntax).
    pub(crate) fn empty() -> Done {
        Done {
            status: Status::GOOD,
            data: Bytes::new(),
            transfer_length: 0,
        }
    }

    /// GOOD, no data.
    pub(crate) fn good() -> Outcome {
        Ok(Done {
            status: Status::GOOD,
            data: Bytes::new(),
            transfer_length: 0,
        })
    }

    /// GOOD with `data` truncated to `allocation_length`.
    pub(crate) fn data(mut data: Vec<u8>, allocation_length: usize) -> Outcome {
        data.truncate(allocation_length);
        let n = data.len() as u32;
        Ok(Done {
            status: Status::GOOD,
            data: Bytes::from(data),
            transfer_length: n,
        })
    }

    /// GOOD with block data (the transfer length is what the CDB asked for).
    pub(crate) fn blocks(data: BytesMut, transfer_length: u32) -> Outcome {
        Ok(Done {
            status: Status::GOOD,
            data: data.freeze(),
            transfer_length,
        })
    }
}

impl Ctx<'_> {
    /// The device's block size.
    pub(crate) fn block_size(&self) -> u32 {
        self.lu.block_size
    }

    /// Fails with LBA OUT OF RANGE unless `blocks` blocks from `lba` lie inside the device
    /// (an LBA past the end fails even for zero blocks).
    pub(crate) fn check_range(&self, lba: u64, blocks: u64) -> Result<(), Fail> {
        let count = self.lu.device.block_count();
        if lba > count || count - lba < blocks {
            return Err(LBA_OUT_OF_RANGE.into());
        }
        Ok(())
    }

    /// Fails with DATA PROTECT / WRITE PROTECTED if the unit is read-only or software
    /// write protected.
    pub(crate) fn check_writable(&self) -> Result<(), Fail> {
        if self.lu.read_only() || self.lu.lock().mode.swp {
            return Err(WRITE_PROTECTED.into());
        }
        Ok(())
    }

    /// The data-out bytes the command uses: the first `len` bytes, or fewer if fewer arrived.
    pub(crate) fn data_out(&self, len: usize) -> &[u8] {
        let d = self.request.data_out;
        &d[..len.min(d.len())]
    }

    /// The whole parameter list of `len` bytes, or PARAMETER LIST LENGTH ERROR if less
    /// arrived.
    pub(crate) fn parameter_list(&self, len: usize) -> Result<&[u8], Fail> {
        self.request
            .data_out
            .get(..len)
            .ok_or(Fail::Check(PARAMETER_LIST_LENGTH_ERROR))
    }

    /// Whether writes should be forced to the medium (FUA, or write cache disabled).
    pub(crate) fn force_unit_access(&self, fua: bool) -> bool {
        fua || !self.lu.lock().mode.wce
    }
}

/// The bytes a CDB calls for in either direction, for residual accounting when it fails
/// before its handler runs (0 when unknown).
pub(crate) fn cdb_transfer_length(cdb: &[u8], block_size: u32) -> u32 {
    if let Some(n) = data_out_length(cdb, block_size) {
        return n;
    }
    let op = cdb.first().copied().unwrap_or(0);
    match op {
        0x08 => {
            let n = u32::from(field::u8_at(cdb, 4));
            (if n == 0 { 256 } else { n }).saturating_mul(block_size)
        }
        0x28 => u32::from(field::u16_at(cdb, 7)).saturating_mul(block_size),
        0xa8 => field::u32_at(cdb, 6).saturating_mul(block_size),
        0x88 => field::u32_at(cdb, 10).saturating_mul(block_size),
        0x12 => u32::from(field::u16_at(cdb, 3)),
        0x1a | 0x03 => u32::from(field::u8_at(cdb, 4)),
        0x5a | 0x5e | 0x37 => u32::from(field::u16_at(cdb, 7)),
        0x25 => 8,
        0x9e => field::u32_at(cdb, 10),
        0xa0 | 0xa3 => field::u32_at(cdb, 6),
        0x84 => field::u32_at(cdb, 10),
        0xb7 => field::u32_at(cdb, 6),
        _ => 0,
    }
}

/// How many bytes a command wants from the initiator (its data-out length), given the LU's
/// block size; `None` for commands that take no data-out or that this crate does not know.
///
/// ```
/// // WRITE(10) of 8 blocks, UNMAP with a 24 byte parameter list, READ(10)
/// assert_eq!(scsi::data_out_length(&[0x2a, 0, 0, 0, 0, 0, 0, 0, 8, 0], 512), Some(4096));
/// assert_eq!(scsi::data_out_length(&[0x42, 0, 0, 0, 0, 0, 0, 0, 24, 0], 512), Some(24));
/// assert_eq!(scsi::data_out_length(&[0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0], 512), None);
/// ```
pub fn data_out_length(cdb: &[u8], block_size: u32) -> Option<u32> {
    let op = *cdb.first()?;
    let b1 = field::u8_at(cdb, 1);
    let blocks = |n: u32| Some(n.saturating_mul(block_size));
    match op {
        0x0a => {
            let n = u32::from(field::u8_at(cdb, 4));
            blocks(if n == 0 { 256 } else { n })
        }
        0x2a | 0x2e => blocks(u32::from(field::u16_at(cdb, 7))),
        0xaa | 0xae => blocks(field::u32_at(cdb, 6)),
        0x8a | 0x8e | 0x8b => blocks(field::u32_at(cdb, 10)),
        0x9c => blocks(u32::from(field::u16_at(cdb, 12))),
        // VERIFY: BYTCHK 01b sends the blocks, 11b one block.
        0x2f | 0xaf | 0x8f => {
            let n = match op {
                0x2f => u32::from(field::u16_at(cdb, 7)),
                0xaf => field::u32_at(cdb, 6),
                _ => field::u32_at(cdb, 10),
            };
            match (b1 >> 1) & 3 {
                1 => blocks(n),
                3 if n > 0 => Some(block_size),
                _ => None,
            }
        }
        0x41 => Some(block_size),
        0x93 => (b1 & 1 == 0).then_some(block_size),
        0x89 => blocks(u32::from(field::u8_at(cdb, 13)).saturating_mul(2)),
        0x15 => Some(u32::from(field::u8_at(cdb, 4))),
        0x55 | 0x42 => Some(u32::from(field::u16_at(cdb, 7))),
        0x5f => Some(field::u32_at(cdb, 5)),
        0x83 => Some(field::u32_at(cdb, 10)),
        _ => None,
    }
}
