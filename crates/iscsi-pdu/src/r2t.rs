//! Ready To Transfer (RFC 7143 §11.8): the target asks for a range of write data.

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::data_out::{BUFFER_OFFSET, DATA_SN as R2T_SN};
use crate::{Error, Itt, Lun, Opcode, SerialNumber, Ttt};

const DESIRED_LENGTH: usize = 44;

/// Ready To Transfer (R2T).
///
/// ```
/// use iscsi_pdu::*;
/// let r2t = ReadyToTransfer { lun: Lun::ZERO, itt: Itt(7), ttt: Ttt(0x100),
///     stat_sn: SerialNumber(4), exp_cmd_sn: SerialNumber(8), max_cmd_sn: SerialNumber(40),
///     r2t_sn: SerialNumber(0), buffer_offset: 65536, desired_length: 65536 };
/// let wire = Pdu::ReadyToTransfer(r2t.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[..2], &[0x31, 0x80]);
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::ReadyToTransfer(r2t));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadyToTransfer {
    /// LUN.
    pub lun: Lun,
    /// Initiator Task Tag of the command.
    pub itt: Itt,
    /// The tag the Data-Out PDUs must carry.
    pub ttt: Ttt,
    /// StatSN (the next StatSN; not advanced by the R2T).
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// R2TSN, counted per command from 0.
    pub r2t_sn: SerialNumber,
    /// Offset of the requested data within the command's buffer.
    pub buffer_offset: u32,
    /// Desired Data Transfer Length (at most MaxBurstLength).
    pub desired_length: u32,
}

impl Codec for ReadyToTransfer {
    const OPCODE: Opcode = Opcode::ReadyToTransfer;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        p.no_data()?;
        let b = &p.bhs;
        Ok(ReadyToTransfer {
            lun: b.lun(),
            itt: b.itt(),
            ttt: Ttt(b.u32_at(field::TTT)),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
            r2t_sn: b.sn_at(R2T_SN),
            buffer_offset: b.u32_at(BUFFER_OFFSET),
            desired_length: b.u32_at(DESIRED_LENGTH),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        b.set_flags(FINAL);
        b.set_lun(self.lun);
        b.set_itt(self.itt);
        b.set_u32(field::TTT, self.ttt.0);
        b.set_sn(field::STAT_SN, self.stat_sn);
        b.set_sn(field::EXP_CMD_SN, self.exp_cmd_sn);
        b.set_sn(field::MAX_CMD_SN, self.max_cmd_sn);
        b.set_sn(R2T_SN, self.r2t_sn);
        b.set_u32(BUFFER_OFFSET, self.buffer_offset);
        b.set_u32(DESIRED_LENGTH, self.desired_length);
    }
}
