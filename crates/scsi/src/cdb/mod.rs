//! Typed CDBs (SPC-4 §4.2, SBC-3 §5): `parse` from the received bytes, `buffer_len`, and
//! `emit` back, for the commands whose fields the target reads in more than one place.
//! Commands with one or two fields read them with `field` helpers in their handlers; every
//! command's reserved bits are checked against its CDB usage data before dispatch.
//!
//! ```
//! use scsi::cdb::{BlockCdb, InquiryCdb};
//! // A standard INQUIRY asking for 36 bytes.
//! assert_eq!(InquiryCdb::parse(&[0x12, 0, 0, 0, 36, 0])?.allocation_length, 36);
//! // WRITE(16): the opcode's group selects the 16 byte layout.
//! let write = BlockCdb { opcode: 0x8a, flags: 0, lba: 1 << 40, length: 8, group: 0, control: 0 };
//! let mut cdb = [0u8; 16];
//! write.emit(&mut cdb);
//! assert_eq!(BlockCdb::parse(&cdb)?, write);
//! # Ok::<(), scsi::Error>(())
//! ```

mod block;
mod inquiry;
mod mode;
mod read_capacity;
mod report_luns;

pub use block::BlockCdb;
pub use inquiry::InquiryCdb;
pub use mode::{ModeSelectCdb, ModeSenseCdb};
pub use read_capacity::{ReadCapacity10Cdb, ReadCapacity16Cdb};
pub use report_luns::ReportLunsCdb;

use crate::error::Error;

/// Big-endian field readers over a CDB that the dispatcher has checked to be long enough;
/// bytes past the end read as zero, so no reader panics.
pub(crate) mod field {
    /// Byte `i`, or 0.
    pub(crate) fn u8_at(b: &[u8], i: usize) -> u8 {
        b.get(i).copied().unwrap_or(0)
    }

    /// `N` bytes from `i`, zero-padded.
    fn array<const N: usize>(b: &[u8], i: usize) -> [u8; N] {
        let mut out = [0u8; N];
        for (k, o) in out.iter_mut().enumerate() {
            *o = u8_at(b, i + k);
        }
        out
    }

    /// Big-endian u16 at `i`.
    pub(crate) fn u16_at(b: &[u8], i: usize) -> u16 {
        u16::from_be_bytes(array(b, i))
    }

    /// Big-endian u24 at `i`.
    pub(crate) fn u24_at(b: &[u8], i: usize) -> u32 {
        let [x, y, z] = array(b, i);
        u32::from_be_bytes([0, x, y, z])
    }

    /// Big-endian u32 at `i`.
    pub(crate) fn u32_at(b: &[u8], i: usize) -> u32 {
        u32::from_be_bytes(array(b, i))
    }

    /// Big-endian u64 at `i`.
    pub(crate) fn u64_at(b: &[u8], i: usize) -> u64 {
        u64::from_be_bytes(array(b, i))
    }
}

/// The CDB length that an operation code's group implies (SPC-4 §4.2.5.1), or `None` for the
/// vendor-specific and variable-length groups this crate does not decode.
///
/// ```
/// assert_eq!(scsi::cdb::cdb_len(0x28), Some(10));
/// assert_eq!(scsi::cdb::cdb_len(0x88), Some(16));
/// assert_eq!(scsi::cdb::cdb_len(0x7f), None);
/// ```
pub fn cdb_len(opcode: u8) -> Option<usize> {
    match opcode >> 5 {
        0 => Some(6),
        1 | 2 => Some(10),
        4 => Some(16),
        5 => Some(12),
        _ => None,
    }
}

/// The first `n` bytes of `cdb`, or [`Error::Truncated`].
pub(crate) fn take(cdb: &[u8], n: usize) -> Result<&[u8], Error> {
    cdb.get(..n).ok_or(Error::Truncated {
        needed: n,
        have: cdb.len(),
    })
}

/// [`Error::InvalidCdbField`] for the lowest set bit of `bits` at `byte`.
pub(crate) fn reserved(field: &'static str, byte: u16, bits: u8) -> Error {
    Error::InvalidCdbField {
        field,
        byte,
        bit: Some(bits.trailing_zeros().min(7) as u8),
    }
}

/// proptest strategies producing canonical CDB values (every field within what its form
/// encodes), so that `parse(emit(c)) == c`.
#[cfg(feature = "arbitrary")]
pub mod strategy {
    use proptest::prelude::*;

    use super::{
        BlockCdb, InquiryCdb, ModeSelectCdb, ModeSenseCdb, ReadCapacity10Cdb, ReadCapacity16Cdb,
        ReportLunsCdb,
    };

    /// Block command opcodes of every size.
    const BLOCK_OPCODES: &[u8] = &[
        0x08, 0x0a, 0x28, 0x2a, 0x2e, 0x2f, 0x34, 0x35, 0x41, 0x88, 0x8a, 0x8b, 0x8e, 0x8f, 0x90,
        0x91, 0x93, 0xa8, 0xaa, 0xae, 0xaf,
    ];

    /// A [`BlockCdb`] in any of its four sizes.
    pub fn block_cdb() -> impl Strategy<Value = BlockCdb> {
        (
            proptest::sample::select(BLOCK_OPCODES),
            any::<u8>(),
            any::<u64>(),
            any::<u32>(),
            any::<u8>(),
            any::<u8>(),
        )
            .prop_map(
                |(opcode, flags, lba, length, group, control)| match super::cdb_len(opcode) {
                    Some(6) => BlockCdb {
                        opcode,
                        flags: flags & 0xe0,
                        lba: lba & 0x1f_ffff,
                        length: length & 0xff,
                        group: 0,
                        control,
                    },
                    Some(10) => BlockCdb {
                        opcode,
                        flags,
                        lba: lba & 0xffff_ffff,
                        length: length & 0xffff,
                        group,
                        control,
                    },
                    Some(12) => BlockCdb {
                        opcode,
                        flags,
                        lba: lba & 0xffff_ffff,
                        length,
                        group,
                        control,
                    },
                    _ => BlockCdb {
                        opcode,
                        flags,
                        lba,
                        length,
                        group,
                        control,
                    },
                },
            )
    }

    /// An [`InquiryCdb`].
    pub fn inquiry_cdb() -> impl Strategy<Value = InquiryCdb> {
        (any::<bool>(), any::<u8>(), any::<u16>(), any::<u8>()).prop_map(
            |(evpd, page_code, allocation_length, control)| InquiryCdb {
                evpd,
                page_code,
                allocation_length,
                control,
            },
        )
    }

    /// A [`ModeSenseCdb`] of either size.
    pub fn mode_sense_cdb() -> impl Strategy<Value = ModeSenseCdb> {
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            0u8..4,
            0u8..64,
            any::<u8>(),
            any::<u16>(),
            any::<u8>(),
        )
            .prop_map(
                |(ten, llbaa, dbd, pc, page, subpage, len, control)| ModeSenseCdb {
                    ten,
                    llbaa: ten && llbaa,
                    dbd,
                    pc,
                    page,
                    subpage,
                    allocation_length: if ten { len } else { len & 0xff },
                    control,
                },
            )
    }

    /// A [`ModeSelectCdb`] of either size.
    pub fn mode_select_cdb() -> impl Strategy<Value = ModeSelectCdb> {
        (
            any::<bool>(),
            any::<bool>(),
            any::<bool>(),
            any::<u16>(),
            any::<u8>(),
        )
            .prop_map(|(ten, pf, sp, len, control)| ModeSelectCdb {
                ten,
                pf,
                sp,
                parameter_list_length: if ten { len } else { len & 0xff },
                control,
            })
    }

    /// A [`ReadCapacity10Cdb`].
    pub fn read_capacity_10_cdb() -> impl Strategy<Value = ReadCapacity10Cdb> {
        (any::<u32>(), any::<bool>(), any::<u8>())
            .prop_map(|(lba, pmi, control)| ReadCapacity10Cdb { lba, pmi, control })
    }

    /// A [`ReadCapacity16Cdb`].
    pub fn read_capacity_16_cdb() -> impl Strategy<Value = ReadCapacity16Cdb> {
        (any::<u64>(), any::<u32>(), any::<bool>(), any::<u8>()).prop_map(
            |(lba, allocation_length, pmi, control)| ReadCapacity16Cdb {
                lba,
                allocation_length,
                pmi,
                control,
            },
        )
    }

    /// A [`ReportLunsCdb`].
    pub fn report_luns_cdb() -> impl Strategy<Value = ReportLunsCdb> {
        (any::<u8>(), any::<u32>(), any::<u8>()).prop_map(
            |(select_report, allocation_length, control)| ReportLunsCdb {
                select_report,
                allocation_length,
                control,
            },
        )
    }
}
