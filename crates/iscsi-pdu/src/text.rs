//! Text Request (RFC 7143 §11.10) and Text Response (§11.11): key=value exchanges in the full
//! feature phase, such as SendTargets discovery.

use bytes::Bytes;

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{Error, Itt, Lun, Opcode, SerialNumber, Ttt};

const CONTINUE: u8 = 0x40;

/// Reads F and C, which "MUST NOT both be set" (§11.10.1, §11.11.1).
fn final_and_continue(p: &Parts<'_>) -> Result<(bool, bool), Error> {
    let flags = p.bhs.flags();
    let (f, c) = (flags & FINAL != 0, flags & CONTINUE != 0);
    if f && c {
        return Err(p.invalid("flags (both F and C)", 1));
    }
    Ok((f, c))
}

fn flags(final_bit: bool, continue_bit: bool) -> u8 {
    (if final_bit { FINAL } else { 0 }) | if continue_bit { CONTINUE } else { 0 }
}

/// Text Request.
///
/// ```
/// use iscsi_pdu::*;
/// let req = TextRequest { immediate: true, final_bit: true, continue_bit: false, lun: Lun::ZERO,
///     itt: Itt(1), ttt: Ttt::RESERVED, cmd_sn: SerialNumber(2), exp_stat_sn: SerialNumber(1),
///     data: bytes::Bytes::from_static(b"SendTargets=All\0") };
/// let wire = Pdu::TextRequest(req.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::TextRequest(req));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextRequest {
    /// Immediate delivery.
    pub immediate: bool,
    /// F: the last request of this exchange.
    pub final_bit: bool,
    /// C: the text continues in the next Text Request.
    pub continue_bit: bool,
    /// LUN (with a valid TTT), else zero.
    pub lun: Lun,
    /// Initiator Task Tag.
    pub itt: Itt,
    /// Reserved, or the TTT of the Text Response this continues.
    pub ttt: Ttt,
    /// CmdSN.
    pub cmd_sn: SerialNumber,
    /// ExpStatSN.
    pub exp_stat_sn: SerialNumber,
    /// `key=value\0` text.
    pub data: Bytes,
}

impl Codec for TextRequest {
    const OPCODE: Opcode = Opcode::TextRequest;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let (final_bit, continue_bit) = final_and_continue(p)?;
        let b = &p.bhs;
        Ok(TextRequest {
            immediate: b.immediate(),
            final_bit,
            continue_bit,
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
        b.set_flags(flags(self.final_bit, self.continue_bit));
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

/// Text Response.
///
/// ```
/// use iscsi_pdu::*;
/// let rsp = TextResponse { final_bit: true, continue_bit: false, lun: Lun::ZERO, itt: Itt(1),
///     ttt: Ttt::RESERVED, stat_sn: SerialNumber(1), exp_cmd_sn: SerialNumber(3),
///     max_cmd_sn: SerialNumber(34),
///     data: bytes::Bytes::from_static(b"TargetName=iqn.2026-11.test:t\0") };
/// let wire = Pdu::TextResponse(rsp.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::TextResponse(rsp));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextResponse {
    /// F: the last response of this exchange.
    pub final_bit: bool,
    /// C: the text continues in the next Text Response.
    pub continue_bit: bool,
    /// LUN.
    pub lun: Lun,
    /// Initiator Task Tag, echoed.
    pub itt: Itt,
    /// A tag for the initiator to continue with, or reserved when done.
    pub ttt: Ttt,
    /// StatSN.
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// `key=value\0` text.
    pub data: Bytes,
}

impl Codec for TextResponse {
    const OPCODE: Opcode = Opcode::TextResponse;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let (final_bit, continue_bit) = final_and_continue(p)?;
        let b = &p.bhs;
        Ok(TextResponse {
            final_bit,
            continue_bit,
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
        b.set_flags(flags(self.final_bit, self.continue_bit));
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
