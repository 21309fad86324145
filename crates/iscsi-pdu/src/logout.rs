//! Logout Request (RFC 7143 §11.14) and Logout Response (§11.15).

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{Cid, Error, Itt, LogoutReason, LogoutResult, Opcode, SerialNumber};

const REASON_MASK: u8 = 0x7f;
const CID: usize = 20;
const RESPONSE: usize = 2;
const TIME2WAIT: usize = 40;
const TIME2RETAIN: usize = 42;

/// Logout Request.
///
/// ```
/// use iscsi_pdu::*;
/// let req = LogoutRequest { immediate: true, reason: LogoutReason::CloseSession, itt: Itt(3),
///     cid: Cid(0), cmd_sn: SerialNumber(9), exp_stat_sn: SerialNumber(8) };
/// let wire = Pdu::LogoutRequest(req.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[..2], &[0x46, 0x80]);
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::LogoutRequest(req));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutRequest {
    /// Immediate delivery.
    pub immediate: bool,
    /// What to close.
    pub reason: LogoutReason,
    /// Initiator Task Tag.
    pub itt: Itt,
    /// The connection to close (for CloseConnection and RemoveForRecovery).
    pub cid: Cid,
    /// CmdSN.
    pub cmd_sn: SerialNumber,
    /// ExpStatSN.
    pub exp_stat_sn: SerialNumber,
}

impl Codec for LogoutRequest {
    const OPCODE: Opcode = Opcode::LogoutRequest;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        p.no_data()?;
        let b = &p.bhs;
        Ok(LogoutRequest {
            immediate: b.immediate(),
            reason: LogoutReason::from(b.flags() & REASON_MASK),
            itt: b.itt(),
            cid: Cid(b.u16_at(CID)),
            cmd_sn: b.sn_at(field::CMD_SN),
            exp_stat_sn: b.sn_at(field::EXP_STAT_SN),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, self.immediate);
        b.set_flags(FINAL | u8::from(self.reason) & REASON_MASK);
        b.set_itt(self.itt);
        b.set_u16(CID, self.cid.0);
        b.set_sn(field::CMD_SN, self.cmd_sn);
        b.set_sn(field::EXP_STAT_SN, self.exp_stat_sn);
    }
}

/// Logout Response.
///
/// ```
/// use iscsi_pdu::*;
/// let rsp = LogoutResponse { response: LogoutResult::Success, itt: Itt(3),
///     stat_sn: SerialNumber(8), exp_cmd_sn: SerialNumber(10), max_cmd_sn: SerialNumber(41),
///     time2wait: 0, time2retain: 0 };
/// let wire = Pdu::LogoutResponse(rsp.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::LogoutResponse(rsp));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogoutResponse {
    /// The outcome.
    pub response: LogoutResult,
    /// Initiator Task Tag, echoed.
    pub itt: Itt,
    /// StatSN.
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// Seconds to wait before reconnecting (recovery only).
    pub time2wait: u16,
    /// Seconds the target keeps the connection's state (recovery only).
    pub time2retain: u16,
}

impl Codec for LogoutResponse {
    const OPCODE: Opcode = Opcode::LogoutResponse;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        p.no_data()?;
        let b = &p.bhs;
        Ok(LogoutResponse {
            response: LogoutResult::from(b.u8_at(RESPONSE)),
            itt: b.itt(),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
            time2wait: b.u16_at(TIME2WAIT),
            time2retain: b.u16_at(TIME2RETAIN),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        b.set_flags(FINAL);
        b.set_u8(RESPONSE, self.response.into());
        b.set_itt(self.itt);
        b.set_sn(field::STAT_SN, self.stat_sn);
        b.set_sn(field::EXP_CMD_SN, self.exp_cmd_sn);
        b.set_sn(field::MAX_CMD_SN, self.max_cmd_sn);
        b.set_u16(TIME2WAIT, self.time2wait);
        b.set_u16(TIME2RETAIN, self.time2retain);
    }
}
