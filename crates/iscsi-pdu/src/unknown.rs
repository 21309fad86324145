//! PDUs with opcodes this crate does not know: kept whole, so a target can Reject them
//! ("Command not supported") and a proxy can pass them on unchanged.

use bytes::Bytes;

use crate::bhs::{BHS_LEN, Bhs, field};
use crate::{Itt, Opcode};

/// A PDU whose opcode is not one of RFC 7143's (vendor-specific or unassigned).
///
/// `header` is the BHS as received except TotalAHSLength and DataSegmentLength (bytes 4–7),
/// which are zero here and computed by the encoder from `ahs` and `data`.
///
/// ```
/// use iscsi_pdu::*;
/// let mut header = [0u8; 48];
/// header[0] = 0x1c; // vendor-specific initiator opcode
/// let pdu = Pdu::Unknown(UnknownPdu { header, ahs: bytes::Bytes::new(),
///     data: bytes::Bytes::from_static(b"abcd") });
/// let wire = pdu.to_bytes(Digests::NONE)?;
/// assert_eq!(wire[7], 4);
/// let back = Pdu::parse(wire.into(), Digests::NONE)?;
/// assert_eq!(back.opcode(), Opcode::Unknown(0x1c));
/// assert_eq!(back, pdu);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownPdu {
    /// The BHS, with bytes 4–7 zero.
    pub header: [u8; BHS_LEN],
    /// The AHS bytes (a multiple of 4, at most 1020).
    pub ahs: Bytes,
    /// The data segment.
    pub data: Bytes,
}

impl UnknownPdu {
    /// The opcode.
    ///
    /// ```
    /// use iscsi_pdu::{Opcode, UnknownPdu};
    /// let mut header = [0u8; 48];
    /// header[0] = 0x3c; // a vendor-specific target opcode
    /// let pdu = UnknownPdu { header, ahs: bytes::Bytes::new(), data: bytes::Bytes::new() };
    /// assert_eq!(pdu.opcode(), Opcode::Unknown(0x3c));
    /// ```
    pub fn opcode(&self) -> Opcode {
        Bhs::new_unchecked(&self.header[..]).opcode()
    }

    /// The Initiator Task Tag field.
    ///
    /// ```
    /// use iscsi_pdu::{Itt, UnknownPdu};
    /// let mut header = [0u8; 48];
    /// header[0] = 0x1c; // a vendor-specific initiator opcode
    /// header[16..20].copy_from_slice(&[0, 0, 0, 5]);
    /// let pdu = UnknownPdu { header, ahs: bytes::Bytes::new(), data: bytes::Bytes::new() };
    /// assert_eq!(pdu.itt(), Itt(5));
    /// ```
    pub fn itt(&self) -> Itt {
        Bhs::new_unchecked(&self.header[..]).itt()
    }

    pub(crate) fn from_parts(bhs: &[u8; BHS_LEN], ahs: Bytes, data: Bytes) -> Self {
        let mut header = *bhs;
        header[field::TOTAL_AHS_LEN..field::DATA_SEG_LEN + 3].fill(0);
        UnknownPdu { header, ahs, data }
    }
}
