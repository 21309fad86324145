//! Login Request (RFC 7143 §11.12) and Login Response (§11.13).

use bytes::Bytes;

use crate::bhs::{Bhs, field};
use crate::codec::{Codec, Parts};
use crate::{Cid, Error, Isid, Itt, LoginStatus, Opcode, SerialNumber, Stage, Tsih};

const TRANSIT: u8 = 0x80;
const CONTINUE: u8 = 0x40;
const VERSION_MAX: usize = 2;
const VERSION_MIN_OR_ACTIVE: usize = 3;
const ISID: usize = 8;
const TSIH: usize = 14;
const CID: usize = 20;
const STATUS: usize = 36;

/// The login stage fields of byte 1, shared by requests and responses (§11.12.1–§11.12.4).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct StageFlags {
    transit: bool,
    continue_bit: bool,
    csg: Stage,
    nsg: Stage,
}

impl StageFlags {
    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        let flags = p.bhs.flags();
        let s = StageFlags {
            transit: flags & TRANSIT != 0,
            continue_bit: flags & CONTINUE != 0,
            csg: Stage::from(flags >> 2 & 3),
            nsg: Stage::from(flags & 3),
        };
        // "If the T bit is set to 1 ... the C bit MUST be set to 0" (§11.12.2).
        if s.transit && s.continue_bit {
            return Err(p.invalid("flags (both T and C)", 1));
        }
        Ok(s)
    }

    fn byte(self) -> u8 {
        (if self.transit { TRANSIT } else { 0 })
            | (if self.continue_bit { CONTINUE } else { 0 })
            | (u8::from(self.csg) & 3) << 2
            | u8::from(self.nsg) & 3
    }
}

/// Login Request: one step of login, carrying `key=value` text (see
/// [`TextPairs`](crate::text_data::TextPairs)).
///
/// ```
/// use iscsi_pdu::{Cid, Digests, Isid, Itt, LoginRequest, Pdu, SerialNumber, Stage, Tsih};
/// let req = LoginRequest { transit: true, continue_bit: false,
///     csg: Stage::SecurityNegotiation, nsg: Stage::LoginOperationalNegotiation,
///     version_max: 0, version_min: 0, isid: Isid([0x80, 0, 0, 0x12, 0, 0]), tsih: Tsih(0),
///     itt: Itt(0), cid: Cid(0), cmd_sn: SerialNumber(1), exp_stat_sn: SerialNumber(0),
///     data: bytes::Bytes::from_static(b"AuthMethod=None\0") };
/// let wire = Pdu::LoginRequest(req.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[..2], &[0x43, 0x81]); // Immediate + Login; T, CSG=0, NSG=1
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::LoginRequest(req));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRequest {
    /// T: the initiator is ready to move to `nsg`.
    pub transit: bool,
    /// C: the text continues in the next Login Request.
    pub continue_bit: bool,
    /// CSG: current stage.
    pub csg: Stage,
    /// NSG: next stage (meaningful when `transit` is set).
    pub nsg: Stage,
    /// Version-max (0 for RFC 7143).
    pub version_max: u8,
    /// Version-min (0 for RFC 7143).
    pub version_min: u8,
    /// ISID.
    pub isid: Isid,
    /// TSIH: 0 for a new session, the target's handle to add a connection or reinstate.
    pub tsih: Tsih,
    /// Initiator Task Tag.
    pub itt: Itt,
    /// Connection ID.
    pub cid: Cid,
    /// CmdSN.
    pub cmd_sn: SerialNumber,
    /// ExpStatSN.
    pub exp_stat_sn: SerialNumber,
    /// `key=value\0` text.
    pub data: Bytes,
}

impl Codec for LoginRequest {
    const OPCODE: Opcode = Opcode::LoginRequest;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        let s = StageFlags::parse(p)?;
        Ok(LoginRequest {
            transit: s.transit,
            continue_bit: s.continue_bit,
            csg: s.csg,
            nsg: s.nsg,
            version_max: b.u8_at(VERSION_MAX),
            version_min: b.u8_at(VERSION_MIN_OR_ACTIVE),
            isid: Isid(b.bytes::<6>(ISID)),
            tsih: Tsih(b.u16_at(TSIH)),
            itt: b.itt(),
            cid: Cid(b.u16_at(CID)),
            cmd_sn: b.sn_at(field::CMD_SN),
            exp_stat_sn: b.sn_at(field::EXP_STAT_SN),
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        // "The I bit is always 1 for a Login Request" (§11.12).
        b.set_opcode(Self::OPCODE, true);
        let s = StageFlags {
            transit: self.transit,
            continue_bit: self.continue_bit,
            csg: self.csg,
            nsg: self.nsg,
        };
        b.set_flags(s.byte());
        b.set_u8(VERSION_MAX, self.version_max);
        b.set_u8(VERSION_MIN_OR_ACTIVE, self.version_min);
        b.set_bytes(ISID, &self.isid.0);
        b.set_u16(TSIH, self.tsih.0);
        b.set_itt(self.itt);
        b.set_u16(CID, self.cid.0);
        b.set_sn(field::CMD_SN, self.cmd_sn);
        b.set_sn(field::EXP_STAT_SN, self.exp_stat_sn);
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}

/// Login Response.
///
/// ```
/// use iscsi_pdu::*;
/// let rsp = LoginResponse { transit: false, continue_bit: false,
///     csg: Stage::SecurityNegotiation, nsg: Stage::SecurityNegotiation, version_max: 0,
///     version_active: 0, isid: Isid([0x80, 0, 0, 0x12, 0, 0]), tsih: Tsih(0), itt: Itt(0),
///     stat_sn: SerialNumber(0), exp_cmd_sn: SerialNumber(1), max_cmd_sn: SerialNumber(1),
///     status: LoginStatus::AUTHORIZATION_FAILURE, data: bytes::Bytes::new() };
/// let wire = Pdu::LoginResponse(rsp.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[36..38], &[2, 2]);
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::LoginResponse(rsp));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginResponse {
    /// T: the target agrees to move to `nsg`.
    pub transit: bool,
    /// C: the text continues in the next Login Response.
    pub continue_bit: bool,
    /// CSG: current stage.
    pub csg: Stage,
    /// NSG: next stage.
    pub nsg: Stage,
    /// Version-max.
    pub version_max: u8,
    /// Version-active.
    pub version_active: u8,
    /// ISID, echoed.
    pub isid: Isid,
    /// TSIH: set by the target in the final response of a new session's leading login.
    pub tsih: Tsih,
    /// Initiator Task Tag, echoed.
    pub itt: Itt,
    /// StatSN.
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// Status-Class and Status-Detail.
    pub status: LoginStatus,
    /// `key=value\0` text.
    pub data: Bytes,
}

impl Codec for LoginResponse {
    const OPCODE: Opcode = Opcode::LoginResponse;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        let s = StageFlags::parse(p)?;
        Ok(LoginResponse {
            transit: s.transit,
            continue_bit: s.continue_bit,
            csg: s.csg,
            nsg: s.nsg,
            version_max: b.u8_at(VERSION_MAX),
            version_active: b.u8_at(VERSION_MIN_OR_ACTIVE),
            isid: Isid(b.bytes::<6>(ISID)),
            tsih: Tsih(b.u16_at(TSIH)),
            itt: b.itt(),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
            status: LoginStatus(b.u16_at(STATUS)),
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        let s = StageFlags {
            transit: self.transit,
            continue_bit: self.continue_bit,
            csg: self.csg,
            nsg: self.nsg,
        };
        b.set_flags(s.byte());
        b.set_u8(VERSION_MAX, self.version_max);
        b.set_u8(VERSION_MIN_OR_ACTIVE, self.version_active);
        b.set_bytes(ISID, &self.isid.0);
        b.set_u16(TSIH, self.tsih.0);
        b.set_itt(self.itt);
        b.set_sn(field::STAT_SN, self.stat_sn);
        b.set_sn(field::EXP_CMD_SN, self.exp_cmd_sn);
        b.set_sn(field::MAX_CMD_SN, self.max_cmd_sn);
        b.set_u16(STATUS, self.status.0);
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}
