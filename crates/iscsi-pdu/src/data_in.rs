//! SCSI Data-In (RFC 7143 §11.7): read data, optionally with the command's status.

use bytes::Bytes;

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::data_out::{BUFFER_OFFSET, DATA_SN};
use crate::scsi_rsp::{OVERFLOW, RESIDUAL, UNDERFLOW};
use crate::{Error, Itt, Lun, Opcode, Residual, ScsiStatus, SerialNumber, Ttt};

const ACKNOWLEDGE: u8 = 0x40;
const STATUS_PRESENT: u8 = 0x01;
const STATUS: usize = 3;

/// SCSI Data-In. With `status` set (the S bit), this PDU also ends the command: no SCSI
/// Response follows, and `stat_sn` and `residual` are meaningful.
///
/// ```
/// use iscsi_pdu::*;
/// let data_in = DataIn { final_bit: true, acknowledge: false, status: Some(ScsiStatus::GOOD),
///     residual: Residual::None, lun: Lun::ZERO, itt: Itt(7), ttt: Ttt::RESERVED,
///     stat_sn: SerialNumber(4), exp_cmd_sn: SerialNumber(8), max_cmd_sn: SerialNumber(40),
///     data_sn: SerialNumber(0), buffer_offset: 0, data: bytes::Bytes::from(vec![1u8; 512]) };
/// let encoded = Pdu::DataIn(data_in.clone()).encode(Digests::NONE)?;
/// assert_eq!(encoded.len(), 48 + 512);
/// let wire = Pdu::DataIn(data_in.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(wire[1], 0x81); // F, S
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::DataIn(data_in));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataIn {
    /// F: the last Data-In of the command (or of an R-Data burst).
    pub final_bit: bool,
    /// A: the target asks for a DataACK SNACK (ErrorRecoveryLevel ≥ 1).
    pub acknowledge: bool,
    /// S and Status: the command's status, when this PDU carries it.
    pub status: Option<ScsiStatus>,
    /// O/U and Residual Count (meaningful with `status`).
    pub residual: Residual,
    /// LUN (with the A bit), else zero.
    pub lun: Lun,
    /// Initiator Task Tag.
    pub itt: Itt,
    /// Target Transfer Tag (with the A bit), else reserved.
    pub ttt: Ttt,
    /// StatSN (with `status`).
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// DataSN, counted per command from 0.
    pub data_sn: SerialNumber,
    /// Offset of this data within the command's buffer.
    pub buffer_offset: u32,
    /// The data; encoding does not copy it.
    pub data: Bytes,
}

impl Codec for DataIn {
    const OPCODE: Opcode = Opcode::DataIn;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        let flags = b.flags();
        Ok(DataIn {
            final_bit: flags & FINAL != 0,
            acknowledge: flags & ACKNOWLEDGE != 0,
            status: (flags & STATUS_PRESENT != 0).then(|| ScsiStatus(b.u8_at(STATUS))),
            residual: Residual::parse(p, flags, (OVERFLOW, UNDERFLOW), b.u32_at(RESIDUAL))?,
            lun: b.lun(),
            itt: b.itt(),
            ttt: Ttt(b.u32_at(field::TTT)),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
            data_sn: b.sn_at(DATA_SN),
            buffer_offset: b.u32_at(BUFFER_OFFSET),
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        let mut flags = self.residual.flags((OVERFLOW, UNDERFLOW));
        if self.final_bit {
            flags |= FINAL;
        }
        if self.acknowledge {
            flags |= ACKNOWLEDGE;
        }
        if let Some(status) = self.status {
            flags |= STATUS_PRESENT;
            b.set_u8(STATUS, status.0);
        }
        b.set_flags(flags);
        b.set_lun(self.lun);
        b.set_itt(self.itt);
        b.set_u32(field::TTT, self.ttt.0);
        b.set_sn(field::STAT_SN, self.stat_sn);
        b.set_sn(field::EXP_CMD_SN, self.exp_cmd_sn);
        b.set_sn(field::MAX_CMD_SN, self.max_cmd_sn);
        b.set_sn(DATA_SN, self.data_sn);
        b.set_u32(BUFFER_OFFSET, self.buffer_offset);
        b.set_u32(RESIDUAL, self.residual.count());
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}
