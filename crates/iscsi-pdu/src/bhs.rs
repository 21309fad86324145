//! The Basic Header Segment (RFC 7143 §11.2.1): a view over the 48 fixed bytes that begin
//! every PDU, in the style of smoltcp's `wire` views.

use crate::{Error, Itt, Lun, Opcode, SerialNumber};

/// Length of the Basic Header Segment.
///
/// ```
/// use iscsi_pdu::{BHS_LEN, Digests, Pdu, ScsiCommand};
/// // A PDU without AHS, data segment or digests is just its BHS.
/// let wire = Pdu::ScsiCommand(ScsiCommand::default()).to_bytes(Digests::NONE)?;
/// assert_eq!(wire.len(), BHS_LEN);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
pub const BHS_LEN: usize = 48;

/// Byte offsets of the fields that every BHS shares (RFC 7143 §11.2.1).
pub(crate) mod field {
    /// Byte 0: bit 6 is the Immediate bit, bits 0–5 the opcode.
    pub(crate) const OPCODE: usize = 0;
    /// Byte 1: the Final bit (0x80) and opcode-specific flags.
    pub(crate) const FLAGS: usize = 1;
    /// Byte 4: TotalAHSLength, in 4-byte words.
    pub(crate) const TOTAL_AHS_LEN: usize = 4;
    /// Bytes 5–7: DataSegmentLength, in bytes, without padding.
    pub(crate) const DATA_SEG_LEN: usize = 5;
    /// Bytes 8–15: LUN, or opcode-specific fields.
    pub(crate) const LUN: usize = 8;
    /// Bytes 16–19: Initiator Task Tag.
    pub(crate) const ITT: usize = 16;
    /// Bytes 20–23 of most PDUs: Target Transfer Tag.
    pub(crate) const TTT: usize = 20;
    /// Bytes 24–27 of initiator PDUs: CmdSN.
    pub(crate) const CMD_SN: usize = 24;
    /// Bytes 28–31 of initiator PDUs: ExpStatSN.
    pub(crate) const EXP_STAT_SN: usize = 28;
    /// Bytes 24–27 of target PDUs: StatSN.
    pub(crate) const STAT_SN: usize = 24;
    /// Bytes 28–31 of target PDUs: ExpCmdSN.
    pub(crate) const EXP_CMD_SN: usize = 28;
    /// Bytes 32–35 of target PDUs: MaxCmdSN.
    pub(crate) const MAX_CMD_SN: usize = 32;
}

/// The Immediate delivery bit in byte 0.
pub(crate) const IMMEDIATE: u8 = 0x40;
/// The Final bit in byte 1.
pub(crate) const FINAL: u8 = 0x80;

/// A read (and, over `AsMut<[u8]>`, write) view of a Basic Header Segment.
///
/// `new_checked` is for input and fails on fewer than 48 bytes; every getter of a checked view
/// is then infallible. `new_unchecked` is for emitting into a buffer known to be 48 bytes.
///
/// ```
/// use iscsi_pdu::{Bhs, Opcode};
/// let mut raw = [0u8; 48];
/// let mut bhs = Bhs::new_unchecked(&mut raw[..]);
/// bhs.set_opcode(Opcode::NopOut, true);
/// bhs.set_data_segment_len(5);
/// let bhs = Bhs::new_checked(&raw[..])?;
/// assert_eq!(bhs.opcode(), Opcode::NopOut);
/// assert!(bhs.immediate());
/// assert_eq!(bhs.data_segment_len(), 5);
/// # Ok::<(), iscsi_pdu::Error>(())
/// ```
#[derive(Debug, Clone)]
pub struct Bhs<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Bhs<T> {
    /// Wraps a buffer without checking its length.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, Itt};
    /// let mut raw = [0u8; 48];
    /// Bhs::new_unchecked(&mut raw[..]).set_itt(Itt(0x1234));
    /// assert_eq!(&raw[16..20], &[0, 0, 0x12, 0x34]);
    /// ```
    pub fn new_unchecked(buffer: T) -> Self {
        Bhs { buffer }
    }

    /// Wraps a buffer of at least [`BHS_LEN`] bytes.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, Error};
    /// let received = [0u8; 60]; // a BHS and the start of a data segment
    /// assert!(Bhs::new_checked(&received[..]).is_ok());
    /// let short = Bhs::new_checked(&received[..20]);
    /// assert!(matches!(short, Err(Error::Truncated { needed: 48, have: 20 })));
    /// ```
    ///
    /// # Errors
    /// [`Error::Truncated`] if the buffer is shorter.
    pub fn new_checked(buffer: T) -> Result<Self, Error> {
        let have = buffer.as_ref().len();
        if have < BHS_LEN {
            return Err(Error::Truncated {
                needed: BHS_LEN,
                have,
            });
        }
        Ok(Bhs { buffer })
    }

    /// The underlying buffer.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_data_segment_len(512);
    /// let raw: [u8; 48] = bhs.into_inner();
    /// assert_eq!(&raw[5..8], &[0x00, 0x02, 0x00]);
    /// ```
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn b(&self) -> &[u8] {
        self.buffer.as_ref()
    }

    /// The opcode (bits 0–5 of byte 0).
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, Opcode};
    /// let mut raw = [0u8; 48];
    /// raw[0] = 0x43; // Immediate bit and opcode 0x03
    /// assert_eq!(Bhs::new_unchecked(raw).opcode(), Opcode::LoginRequest);
    /// ```
    pub fn opcode(&self) -> Opcode {
        Opcode::from(self.b()[field::OPCODE] & 0x3f)
    }

    /// The Immediate bit (bit 6 of byte 0).
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut raw = [0u8; 48];
    /// raw[0] = 0x41; // immediate SCSI Command
    /// assert!(Bhs::new_unchecked(raw).immediate());
    /// raw[0] = 0x01;
    /// assert!(!Bhs::new_unchecked(raw).immediate());
    /// ```
    pub fn immediate(&self) -> bool {
        self.b()[field::OPCODE] & IMMEDIATE != 0
    }

    /// Byte 1: the Final bit and the opcode-specific flags.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut raw = [0u8; 48];
    /// raw[0] = 0x01;
    /// raw[1] = 0xc1; // SCSI Command: F, R, ATTR=Simple
    /// assert_eq!(Bhs::new_unchecked(raw).flags(), 0xc1);
    /// ```
    pub fn flags(&self) -> u8 {
        self.b()[field::FLAGS]
    }

    /// The Final bit (bit 7 of byte 1).
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut raw = [0u8; 48];
    /// raw[1] = 0x80;
    /// assert!(Bhs::new_unchecked(raw).final_bit());
    /// raw[1] = 0x40; // another flag only
    /// assert!(!Bhs::new_unchecked(raw).final_bit());
    /// ```
    pub fn final_bit(&self) -> bool {
        self.flags() & FINAL != 0
    }

    /// TotalAHSLength converted to bytes.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut raw = [0u8; 48];
    /// raw[4] = 5; // 5 words
    /// assert_eq!(Bhs::new_unchecked(raw).total_ahs_len(), 20);
    /// ```
    pub fn total_ahs_len(&self) -> usize {
        usize::from(self.b()[field::TOTAL_AHS_LEN]) * 4
    }

    /// DataSegmentLength, without padding.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut raw = [0u8; 48];
    /// raw[5..8].copy_from_slice(&[0x01, 0x00, 0x00]); // 24 bits, big-endian
    /// assert_eq!(Bhs::new_unchecked(raw).data_segment_len(), 65536);
    /// ```
    pub fn data_segment_len(&self) -> u32 {
        let b = self.b();
        u32::from_be_bytes([0, b[5], b[6], b[7]])
    }

    /// Bytes 8–15 as a LUN.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut raw = [0u8; 48];
    /// raw[9] = 3; // peripheral device addressing, LUN 3
    /// assert_eq!(Bhs::new_unchecked(raw).lun().index(), Some(3));
    /// ```
    pub fn lun(&self) -> Lun {
        Lun(self.bytes::<8>(field::LUN))
    }

    /// The Initiator Task Tag.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, Itt};
    /// let mut raw = [0u8; 48];
    /// raw[16..20].copy_from_slice(&[0xde, 0xad, 0xbe, 0xef]);
    /// assert_eq!(Bhs::new_unchecked(raw).itt(), Itt(0xdead_beef));
    /// ```
    pub fn itt(&self) -> Itt {
        Itt(self.u32_at(field::ITT))
    }

    /// The byte at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, RejectReason};
    /// let mut raw = [0u8; 48];
    /// raw[2] = 0x09; // a Reject's reason
    /// let reason = RejectReason::from(Bhs::new_unchecked(raw).u8_at(2));
    /// assert_eq!(reason, RejectReason::InvalidPduField);
    /// ```
    pub fn u8_at(&self, offset: usize) -> u8 {
        self.b()[offset]
    }

    /// The big-endian `u16` at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, LoginStatus};
    /// let mut raw = [0u8; 48];
    /// raw[36..38].copy_from_slice(&[0x02, 0x03]); // a Login Response's Status-Class and -Detail
    /// assert_eq!(LoginStatus(Bhs::new_unchecked(raw).u16_at(36)), LoginStatus::NOT_FOUND);
    /// ```
    pub fn u16_at(&self, offset: usize) -> u16 {
        u16::from_be_bytes(self.bytes::<2>(offset))
    }

    /// The big-endian `u32` at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut raw = [0u8; 48];
    /// raw[20..24].copy_from_slice(&[0, 0, 0x10, 0]); // Expected Data Transfer Length
    /// assert_eq!(Bhs::new_unchecked(raw).u32_at(20), 4096);
    /// ```
    pub fn u32_at(&self, offset: usize) -> u32 {
        u32::from_be_bytes(self.bytes::<4>(offset))
    }

    /// The serial number at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, SerialNumber};
    /// let mut raw = [0u8; 48];
    /// raw[27] = 7; // CmdSN, bytes 24–27 of an initiator PDU
    /// assert_eq!(Bhs::new_unchecked(raw).sn_at(24), SerialNumber(7));
    /// ```
    pub fn sn_at(&self, offset: usize) -> SerialNumber {
        SerialNumber(self.u32_at(offset))
    }

    /// `N` bytes starting at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut raw = [0u8; 48];
    /// raw[32] = 0x28; // a SCSI Command's CDB starts at byte 32: READ(10)
    /// let cdb = Bhs::new_unchecked(raw).bytes::<16>(32);
    /// assert_eq!(cdb[0], 0x28);
    /// ```
    pub fn bytes<const N: usize>(&self, offset: usize) -> [u8; N] {
        let mut out = [0u8; N];
        out.copy_from_slice(&self.b()[offset..offset + N]);
        out
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Bhs<T> {
    fn m(&mut self) -> &mut [u8] {
        self.buffer.as_mut()
    }

    /// Sets the opcode and the Immediate bit.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, Opcode};
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_opcode(Opcode::TextRequest, true);
    /// assert_eq!(bhs.into_inner()[0], 0x44); // Immediate bit | 0x04
    /// ```
    pub fn set_opcode(&mut self, opcode: Opcode, immediate: bool) {
        self.m()[field::OPCODE] = u8::from(opcode) & 0x3f | if immediate { IMMEDIATE } else { 0 };
    }

    /// Sets byte 1.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_flags(0x80);
    /// assert!(bhs.final_bit());
    /// assert_eq!(bhs.into_inner()[1], 0x80);
    /// ```
    pub fn set_flags(&mut self, flags: u8) {
        self.m()[field::FLAGS] = flags;
    }

    /// Sets TotalAHSLength from a length in bytes (a multiple of 4, at most 1020).
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_total_ahs_len(8); // one Bidirectional Read Length AHS
    /// assert_eq!(bhs.u8_at(4), 2); // counted in 4-byte words
    /// assert_eq!(bhs.total_ahs_len(), 8);
    /// ```
    pub fn set_total_ahs_len(&mut self, bytes: usize) {
        self.m()[field::TOTAL_AHS_LEN] = (bytes / 4) as u8;
    }

    /// Sets DataSegmentLength (24 bits).
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_data_segment_len(0x01_0203);
    /// assert_eq!(&bhs.into_inner()[5..8], &[0x01, 0x02, 0x03]);
    /// ```
    pub fn set_data_segment_len(&mut self, len: u32) {
        let [_, a, b, c] = len.to_be_bytes();
        self.m()[field::DATA_SEG_LEN..field::DATA_SEG_LEN + 3].copy_from_slice(&[a, b, c]);
    }

    /// Sets bytes 8–15.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, Lun};
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_lun(Lun([0x41, 0x2c, 0, 0, 0, 0, 0, 0])); // flat space addressing, LUN 300
    /// assert_eq!(bhs.lun().index(), Some(300));
    /// assert_eq!(&bhs.into_inner()[8..10], &[0x41, 0x2c]);
    /// ```
    pub fn set_lun(&mut self, lun: Lun) {
        self.set_bytes(field::LUN, &lun.0);
    }

    /// Sets the Initiator Task Tag.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, Itt};
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_itt(Itt(0xdead_beef));
    /// assert_eq!(&bhs.into_inner()[16..20], &[0xde, 0xad, 0xbe, 0xef]);
    /// ```
    pub fn set_itt(&mut self, itt: Itt) {
        self.set_u32(field::ITT, itt.0);
    }

    /// Sets the byte at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, RejectReason};
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_u8(2, RejectReason::InvalidPduField.into()); // a Reject's reason
    /// assert_eq!(bhs.into_inner()[2], 0x09);
    /// ```
    pub fn set_u8(&mut self, offset: usize, value: u8) {
        self.m()[offset] = value;
    }

    /// Sets the big-endian `u16` at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, LoginStatus};
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_u16(36, LoginStatus::AUTH_FAILURE.0); // a Login Response's status
    /// assert_eq!(&bhs.into_inner()[36..38], &[0x02, 0x01]);
    /// ```
    pub fn set_u16(&mut self, offset: usize, value: u16) {
        self.set_bytes(offset, &value.to_be_bytes());
    }

    /// Sets the big-endian `u32` at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_u32(20, 4096); // a SCSI Command's Expected Data Transfer Length
    /// assert_eq!(&bhs.into_inner()[20..24], &[0, 0, 0x10, 0]);
    /// ```
    pub fn set_u32(&mut self, offset: usize, value: u32) {
        self.set_bytes(offset, &value.to_be_bytes());
    }

    /// Sets the serial number at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::{Bhs, SerialNumber};
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_sn(24, SerialNumber(7)); // StatSN of a target PDU
    /// assert_eq!(bhs.sn_at(24), SerialNumber(7));
    /// assert_eq!(&bhs.into_inner()[24..28], &[0, 0, 0, 7]);
    /// ```
    pub fn set_sn(&mut self, offset: usize, value: SerialNumber) {
        self.set_u32(offset, value.0);
    }

    /// Copies `bytes` in at `offset`.
    ///
    /// ```
    /// use iscsi_pdu::Bhs;
    /// let mut bhs = Bhs::new_unchecked([0u8; 48]);
    /// bhs.set_bytes(32, &[0x28, 0, 0, 0, 0x10, 0, 0, 0, 8, 0]); // a READ(10) CDB
    /// assert_eq!(bhs.bytes::<2>(40), [8, 0]);
    /// ```
    pub fn set_bytes(&mut self, offset: usize, bytes: &[u8]) {
        self.m()[offset..offset + bytes.len()].copy_from_slice(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_short_buffer() {
        assert_eq!(
            Bhs::new_checked(&[0u8; 47][..]).unwrap_err(),
            Error::Truncated {
                needed: 48,
                have: 47
            }
        );
    }

    #[test]
    fn common_fields_deconstruct() {
        let raw: [u8; 48] = [
            0x41, // Immediate, SCSI Command
            0xc1, // F, R, ATTR=simple
            0x00, 0x00, // reserved
            0x04, // TotalAHSLength = 4 words
            0x01, 0x02, 0x03, // DataSegmentLength = 0x010203
            0x00, 0x07, 0, 0, 0, 0, 0, 0, // LUN 7
            0xde, 0xad, 0xbe, 0xef, // ITT
            0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        let bhs = Bhs::new_checked(&raw[..]).unwrap();
        assert_eq!(bhs.opcode(), Opcode::ScsiCommand);
        assert!(bhs.immediate());
        assert!(bhs.final_bit());
        assert_eq!(bhs.total_ahs_len(), 16);
        assert_eq!(bhs.data_segment_len(), 0x010203);
        assert_eq!(bhs.lun().index(), Some(7));
        assert_eq!(bhs.itt(), Itt(0xdead_beef));
    }

    #[test]
    fn common_fields_construct() {
        let mut raw = [0u8; 48];
        let mut bhs = Bhs::new_unchecked(&mut raw[..]);
        bhs.set_opcode(Opcode::ScsiCommand, true);
        bhs.set_flags(0xc1);
        bhs.set_total_ahs_len(16);
        bhs.set_data_segment_len(0x010203);
        bhs.set_lun(Lun::from_index(7).unwrap());
        bhs.set_itt(Itt(0xdead_beef));
        assert_eq!(
            &raw[..20],
            &[
                0x41, 0xc1, 0, 0, 4, 1, 2, 3, 0, 7, 0, 0, 0, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef
            ]
        );
    }
}
