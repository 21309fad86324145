//! Reject (RFC 7143 §11.17): the target refuses a PDU and returns its header.

use bytes::Bytes;

use crate::bhs::{BHS_LEN, Bhs, FINAL, field};
use crate::codec::{Codec, Parts};
use crate::data_out::DATA_SN;
use crate::{Error, Itt, Opcode, RejectReason, SerialNumber};

const REASON: usize = 2;

/// Reject. Its data segment is "the complete header (including AHS, if any) of the rejected PDU"
/// (§11.17.4); its ITT is always the reserved value.
///
/// ```
/// use iscsi_pdu::*;
/// let bad = [0x1cu8; 48]; // a vendor-specific opcode nobody here understands
/// let reject = Reject::for_header(RejectReason::CommandNotSupported, &bad, SerialNumber(4),
///     SerialNumber(8), SerialNumber(40));
/// let wire = Pdu::Reject(reject.clone()).to_bytes(Digests::NONE)?;
/// assert_eq!(&wire[..3], &[0x3f, 0x80, 0x05]);
/// assert_eq!(&wire[48..], &bad[..]);
/// assert_eq!(Pdu::parse(wire.into(), Digests::NONE)?, Pdu::Reject(reject));
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reject {
    /// Why.
    pub reason: RejectReason,
    /// StatSN.
    pub stat_sn: SerialNumber,
    /// ExpCmdSN.
    pub exp_cmd_sn: SerialNumber,
    /// MaxCmdSN.
    pub max_cmd_sn: SerialNumber,
    /// DataSN/R2TSN (for a rejected SNACK), else 0.
    pub data_sn: u32,
    /// The rejected PDU's header.
    pub data: Bytes,
}

impl Reject {
    /// A Reject carrying the first 48 bytes of `header` (the BHS of the offending PDU).
    ///
    /// ```
    /// use iscsi_pdu::{Reject, RejectReason, SerialNumber};
    /// let pdu = [0u8; 60]; // a NOP-Out with 12 bytes of data
    /// let sn = SerialNumber(1);
    /// let reject = Reject::for_header(RejectReason::InvalidPduField, &pdu, sn, sn, sn);
    /// assert_eq!(reject.data.len(), 48); // only the BHS goes back
    /// assert_eq!(reject.data_sn, 0);
    /// ```
    pub fn for_header(
        reason: RejectReason,
        header: &[u8],
        stat_sn: SerialNumber,
        exp_cmd_sn: SerialNumber,
        max_cmd_sn: SerialNumber,
    ) -> Self {
        Reject {
            reason,
            stat_sn,
            exp_cmd_sn,
            max_cmd_sn,
            data_sn: 0,
            data: Bytes::copy_from_slice(&header[..header.len().min(BHS_LEN)]),
        }
    }
}

impl Codec for Reject {
    const OPCODE: Opcode = Opcode::Reject;

    #[inline]
    fn parse(p: &Parts<'_>) -> Result<Self, Error> {
        p.no_ahs()?;
        let b = &p.bhs;
        Ok(Reject {
            reason: RejectReason::from(b.u8_at(REASON)),
            stat_sn: b.sn_at(field::STAT_SN),
            exp_cmd_sn: b.sn_at(field::EXP_CMD_SN),
            max_cmd_sn: b.sn_at(field::MAX_CMD_SN),
            data_sn: b.u32_at(DATA_SN),
            data: p.data.clone(),
        })
    }

    fn write_bhs(&self, b: &mut Bhs<&mut [u8]>) {
        b.set_opcode(Self::OPCODE, false);
        b.set_flags(FINAL);
        b.set_u8(REASON, self.reason.into());
        b.set_itt(Itt::RESERVED);
        b.set_sn(field::STAT_SN, self.stat_sn);
        b.set_sn(field::EXP_CMD_SN, self.exp_cmd_sn);
        b.set_sn(field::MAX_CMD_SN, self.max_cmd_sn);
        b.set_u32(DATA_SN, self.data_sn);
    }

    fn data(&self) -> Option<&Bytes> {
        Some(&self.data)
    }
}
