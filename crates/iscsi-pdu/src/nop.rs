//! NOP-Out (RFC 7143 §11.18) and NOP-In (§11.19): pings in either direction.

use bytes::Bytes;

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{Error, Itt, Lun, Opcode, SerialNumber, Ttt};

/// NOP-Out: an initiator's ping, or its answer to a target's NOP-In.
///
/// "If the Initiator Task Tag contains 0xffffffff, the I bit MUST be set to 1" (§11.18.1) and no
/// NOP-In answers it; otherwise the target answers with a NOP-In echoing the data.
///
/// ```
/// use iscsi_pdu::{Digests, Itt, Lun, NopOut, Pdu, SerialNumber, Ttt};
/// let ping = NopOut { immediate: true, lun: Lun::ZERO, itt: Itt(1), ttt: Ttt::RESERVED,
///     cmd_sn: SerialNumber(5), exp_stat_sn: SerialNumber(9), data: bytes::Bytes::from_static(b"hi") };
/// let wire = Pdu::NopOut(ping.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(wire.len(), 48 + 4); // "hi" padded to 4 bytes
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::NopOut(ping));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NopOut {
    /// Immediate delivery.
    pub immediate: bool,
    /// LUN (echoed from a NOP-In with a valid TTT).
    pub lun: Lun,
    /// Initiator Task Tag; reserved (0xffffffff) when no answer is wanted.
    pub itt: Itt,
    /// The NOP-In's Target Transfer Tag when answering a target ping, else reserved.
    pub ttt: Ttt,
    /// CmdSN.
    pub cmd_sn: SerialNumber,
    /// ExpStatSN.
    pub exp_stat_sn: SerialNumber,
    /// Ping data.
    pub data: Bytes,
}

impl Codec for NopOut {
    const OPCODE: Opcode = Opcode::NopOut;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        Ok(NopOut {
            immediate: b.immediate(),
            lun: b.lun(),
            itt: b.itt(),
            ttt: Ttt(b.u32_at(field::TTT)),
            cmd_sn: b.sn_at(field::CMD_SN),
            exp_stat_sn: b.sn_at(field::EXP_STAT_SN),
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, self.immediate);
        b.set_flags(FINAL);
        b.set_lun(self.lun);
        b.set_itt(self.itt);
        b.set_u32(field::TTT, self.ttt.0);
        b.set_sn(field::CMD_SN, self.cmd_sn);
        b.set_sn(field::EXP_STAT_SN, self.exp_stat_sn);
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}

/// NOP-In: a target's answer to a NOP-Out, or its own ping (with a valid TTT and reserved ITT).
///
/// ```
/// use iscsi_pdu::{Digests, Itt, Lun, NopIn, Pdu, SerialNumber, Ttt};
/// let pong = NopIn { lun: Lun::ZERO, itt: Itt(1), ttt: Ttt::RESERVED, stat_sn: SerialNumber(9),
///     exp_cmd_sn: SerialNumber(6), max_cmd_sn: SerialNumber(70), data: bytes::Bytes::new() };
/// let wire = Pdu::NopIn(pong.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(wire[0], 0x20);
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::NopIn(pong));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NopIn {
    /// LUN.
    pub lun: Lun,
    /// The NOP-Out's ITT, or reserved for a target ping.
    pub itt: Itt,
    /// Reserved, or the tag the initiator must echo when this is a target ping.
    pub ttt: Ttt,
    /// StatSN.
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// Ping data (echoed).
    pub data: Bytes,
}

impl Codec for NopIn {
    const OPCODE: Opcode = Opcode::NopIn;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        Ok(NopIn {
            lun: b.lun(),
            itt: b.itt(),
            ttt: Ttt(b.u32_at(field::TTT)),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
            data: p.data.clone(),
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
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}
