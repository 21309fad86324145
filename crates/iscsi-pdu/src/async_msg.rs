//! Asynchronous Message (RFC 7143 §11.9): events the target reports unasked.

use bytes::Bytes;

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{AsyncEvent, Error, Itt, Lun, Opcode, SerialNumber};

const EVENT: usize = 36;
const VCODE: usize = 37;
const PARAMETER1: usize = 38;
const PARAMETER2: usize = 40;
const PARAMETER3: usize = 42;

/// Asynchronous Message. Its ITT is always the reserved value.
///
/// ```
/// use iscsi_pdu::*;
/// let msg = AsyncMessage { lun: Lun::ZERO, stat_sn: SerialNumber(4), exp_cmd_sn: SerialNumber(8),
///     max_cmd_sn: SerialNumber(40), event: AsyncEvent::LogoutRequest, vcode: 0,
///     parameter1: 0, parameter2: 0, parameter3: 5, data: bytes::Bytes::new() };
/// let wire = Pdu::AsyncMessage(msg.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[16..20], &[0xff; 4]);
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::AsyncMessage(msg));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsyncMessage {
    /// LUN (for SCSI events), else zero.
    pub lun: Lun,
    /// StatSN.
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// AsyncEvent.
    pub event: AsyncEvent,
    /// AsyncVCode (vendor code).
    pub vcode: u8,
    /// Parameter1 (e.g. the CID to drop).
    pub parameter1: u16,
    /// Parameter2 (e.g. Time2Wait).
    pub parameter2: u16,
    /// Parameter3 (e.g. Time2Retain, or the seconds to log out within).
    pub parameter3: u16,
    /// Sense data (SenseLength first) and iSCSI event data.
    pub data: Bytes,
}

impl Codec for AsyncMessage {
    const OPCODE: Opcode = Opcode::AsyncMessage;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        Ok(AsyncMessage {
            lun: b.lun(),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
            event: AsyncEvent::from(b.u8_at(EVENT)),
            vcode: b.u8_at(VCODE),
            parameter1: b.u16_at(PARAMETER1),
            parameter2: b.u16_at(PARAMETER2),
            parameter3: b.u16_at(PARAMETER3),
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        b.set_flags(FINAL);
        b.set_lun(self.lun);
        b.set_itt(Itt::RESERVED);
        b.set_sn(field::STAT_SN, self.stat_sn);
        b.set_sn(field::EXP_CMD_SN, self.exp_cmd_sn);
        b.set_sn(field::MAX_CMD_SN, self.max_cmd_sn);
        b.set_u8(EVENT, self.event.into());
        b.set_u8(VCODE, self.vcode);
        b.set_u16(PARAMETER1, self.parameter1);
        b.set_u16(PARAMETER2, self.parameter2);
        b.set_u16(PARAMETER3, self.parameter3);
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}
