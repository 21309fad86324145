//! SCSI Response (RFC 7143 §11.4).

use bytes::{BufMut, Bytes, BytesMut};

use crate::bhs::{Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::{Error, Itt, Opcode, ScsiStatus, SerialNumber, ServiceResponse};

const BIDI_OVERFLOW: u8 = 0x10;
const BIDI_UNDERFLOW: u8 = 0x08;
pub(crate) const OVERFLOW: u8 = 0x04;
pub(crate) const UNDERFLOW: u8 = 0x02;
const RESPONSE: usize = 2;
const STATUS: usize = 3;
const SNACK_TAG: usize = 20;
const EXP_DATA_SN: usize = 36;
const BIDI_RESIDUAL: usize = 40;
pub(crate) const RESIDUAL: usize = 44;

/// A residual count with its overflow/underflow flag (RFC 7143 §11.4.5).
///
/// ```
/// use iscsi_pdu::Residual;
/// assert_eq!(Residual::from_lengths(4096, 512), Residual::Underflow(3584));
/// assert_eq!(Residual::from_lengths(512, 4096), Residual::Overflow(3584));
/// assert_eq!(Residual::from_lengths(512, 512), Residual::None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Residual {
    /// Exactly the expected amount was transferred; the count is zero.
    #[default]
    None,
    /// U: fewer bytes than expected were transferred; the count is the shortfall.
    Underflow(u32),
    /// O: the command wanted more bytes than expected; the count is the excess.
    Overflow(u32),
}

impl Residual {
    /// The residual of a transfer the initiator expected to be `expected` bytes when the command
    /// wanted `actual` bytes.
    ///
    /// ```
    /// use iscsi_pdu::Residual;
    /// // The initiator expected 8192 bytes; the CDB asked for 8 blocks of 512.
    /// assert_eq!(Residual::from_lengths(8192, 8 * 512), Residual::Underflow(4096));
    /// assert_eq!(Residual::from_lengths(4096, 8 * 512), Residual::None);
    /// ```
    pub fn from_lengths(expected: u32, actual: u32) -> Self {
        match expected.cmp(&actual) {
            core::cmp::Ordering::Equal => Residual::None,
            core::cmp::Ordering::Greater => Residual::Underflow(expected - actual),
            core::cmp::Ordering::Less => Residual::Overflow(actual - expected),
        }
    }

    /// The count on the wire.
    ///
    /// ```
    /// use iscsi_pdu::Residual;
    /// assert_eq!(Residual::Overflow(512).count(), 512);
    /// assert_eq!(Residual::None.count(), 0);
    /// ```
    pub fn count(self) -> u32 {
        match self {
            Residual::None => 0,
            Residual::Underflow(n) | Residual::Overflow(n) => n,
        }
    }

    /// Decodes flags (`overflow`, `underflow` bits of `flags`) and a count. A count without a
    /// flag is ignored, as the RFC asks; both flags at once are an error.
    pub(crate) fn parse(
        p: &Parts<'_>,
        flags: u8,
        (over, under): (u8, u8),
        count: u32,
    ) -> Result<Self, Error> {
        match (flags & over != 0, flags & under != 0) {
            (false, false) => Ok(Residual::None),
            (true, false) => Ok(Residual::Overflow(count)),
            (false, true) => Ok(Residual::Underflow(count)),
            (true, true) => Err(p.invalid("flags (both O and U)", 1)),
        }
    }

    /// The flag bits for this residual, given the (overflow, underflow) masks.
    pub(crate) fn flags(self, (over, under): (u8, u8)) -> u8 {
        match self {
            Residual::None => 0,
            Residual::Overflow(_) => over,
            Residual::Underflow(_) => under,
        }
    }
}

/// SCSI Response: the status of a command, with sense data after a CHECK CONDITION.
///
/// The data segment holds SenseLength (2 bytes), the sense data, and any response data
/// (§11.4.7); [`ScsiResponse::sense_segment`] builds it and [`ScsiResponse::sense`] reads it.
///
/// ```
/// use iscsi_pdu::{Digests, Itt, Pdu, Residual, ScsiResponse, ScsiStatus};
/// let sense = [0x70, 0, 0x05, 0, 0, 0, 0, 10, 0, 0, 0, 0, 0x24, 0, 0, 0, 0, 0];
/// let rsp = ScsiResponse { status: ScsiStatus::CHECK_CONDITION, itt: Itt(7),
///     residual: Residual::Underflow(512), data: ScsiResponse::sense_segment(&sense),
///     ..ScsiResponse::default() };
/// let wire = Pdu::ScsiResponse(rsp.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(wire[1], 0x82); // F, U
/// let Pdu::ScsiResponse(back) = Pdu::parse(wire.into(), Digests::NONE)? else { panic!() };
/// assert_eq!(back.sense().as_deref(), Some(&sense[..]));
/// assert_eq!(back, rsp);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScsiResponse {
    /// o/u: residual of the read part of a bidirectional command.
    pub bidi_residual: Residual,
    /// O/U: residual of the (write part of the) command.
    pub residual: Residual,
    /// Response: whether the target completed the command.
    pub response: ServiceResponse,
    /// Status: the SCSI status (valid when `response` is CommandCompleted).
    pub status: ScsiStatus,
    /// Initiator Task Tag.
    pub itt: Itt,
    /// SNACK Tag (0 unless answering an R-Data SNACK).
    pub snack_tag: u32,
    /// StatSN.
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// ExpDataSN: number of Data-In PDUs sent for the command (0 if none).
    pub exp_data_sn: u32,
    /// Sense and response data, as on the wire.
    pub data: Bytes,
}

impl Default for ScsiResponse {
    /// GOOD status, command completed, everything else zero.
    fn default() -> Self {
        ScsiResponse {
            bidi_residual: Residual::None,
            residual: Residual::None,
            response: ServiceResponse::CommandCompleted,
            status: ScsiStatus::GOOD,
            itt: Itt(0),
            snack_tag: 0,
            stat_sn: SerialNumber(0),
            exp_cmd_sn: SerialNumber(0),
            max_cmd_sn: SerialNumber(0),
            exp_data_sn: 0,
            data: Bytes::new(),
        }
    }
}

impl ScsiResponse {
    /// A data segment carrying `sense` (SenseLength, then the sense bytes).
    ///
    /// ```
    /// use iscsi_pdu::ScsiResponse;
    /// let sense = [0x70, 0, 0x02]; // the first bytes of fixed-format sense data: NOT READY
    /// assert_eq!(&ScsiResponse::sense_segment(&sense)[..], &[0, 3, 0x70, 0, 0x02]);
    /// ```
    ///
    /// # Panics
    /// Never: sense data longer than 65535 bytes is truncated to that length.
    pub fn sense_segment(sense: &[u8]) -> Bytes {
        let sense = &sense[..sense.len().min(usize::from(u16::MAX))];
        let mut out = BytesMut::with_capacity(2 + sense.len());
        out.put_u16(sense.len() as u16);
        out.put_slice(sense);
        out.freeze()
    }

    /// The sense data, if the data segment holds any (SenseLength > 0 and within the
    /// segment). Does not copy.
    ///
    /// ```
    /// use iscsi_pdu::{ScsiResponse, ScsiStatus};
    /// let rsp = ScsiResponse { status: ScsiStatus::CHECK_CONDITION,
    ///     data: ScsiResponse::sense_segment(&[0x70, 0, 0x05]), ..ScsiResponse::default() };
    /// assert_eq!(rsp.sense().as_deref(), Some(&[0x70, 0, 0x05][..]));
    /// assert_eq!(ScsiResponse::default().sense(), None); // GOOD status, no sense data
    /// ```
    pub fn sense(&self) -> Option<Bytes> {
        let len = usize::from(u16::from_be_bytes([
            *self.data.first()?,
            *self.data.get(1)?,
        ]));
        (len > 0 && 2 + len <= self.data.len()).then(|| self.data.slice(2..2 + len))
    }
}

impl Codec for ScsiResponse {
    const OPCODE: Opcode = Opcode::ScsiResponse;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        let flags = b.flags();
        Ok(ScsiResponse {
            bidi_residual: Residual::parse(
                p,
                flags,
                (BIDI_OVERFLOW, BIDI_UNDERFLOW),
                b.u32_at(BIDI_RESIDUAL),
            )?,
            residual: Residual::parse(p, flags, (OVERFLOW, UNDERFLOW), b.u32_at(RESIDUAL))?,
            response: ServiceResponse::from(b.u8_at(RESPONSE)),
            status: ScsiStatus(b.u8_at(STATUS)),
            itt: b.itt(),
            snack_tag: b.u32_at(SNACK_TAG),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
            exp_data_sn: b.u32_at(EXP_DATA_SN),
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        b.set_flags(
            FINAL
                | self.bidi_residual.flags((BIDI_OVERFLOW, BIDI_UNDERFLOW))
                | self.residual.flags((OVERFLOW, UNDERFLOW)),
        );
        b.set_u8(RESPONSE, self.response.into());
        b.set_u8(STATUS, self.status.0);
        b.set_itt(self.itt);
        b.set_u32(SNACK_TAG, self.snack_tag);
        b.set_sn(field::STAT_SN, self.stat_sn);
        b.set_sn(field::EXP_CMD_SN, self.exp_cmd_sn);
        b.set_sn(field::MAX_CMD_SN, self.max_cmd_sn);
        b.set_u32(EXP_DATA_SN, self.exp_data_sn);
        b.set_u32(BIDI_RESIDUAL, self.bidi_residual.count());
        b.set_u32(RESIDUAL, self.residual.count());
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}
